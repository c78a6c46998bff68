//! Sales hears of every lead: each event (`lead.created`, `lead.qualified`
//! — the hand-off —, `lead.updated`, `lead.closed`) is POSTed to every
//! `[[leads.webhooks]]` destination that takes it, one durable job per
//! destination and event: replyd's signed JSON, or a Slack `{"text"}`.
//!
//! Headers: `X-Replyd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<raw body>")>` (the same scheme as the webhook connector) and
//! `X-Replyd-Delivery: <delivery id>`, unchanged across retries so the
//! receiver can drop repeats. Any answer but a 2xx is retried with backoff;
//! the lead is `handed_off` once every destination took it.

use std::sync::LazyLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::Ctx;
use crate::config::{LeadEvent, LeadsConfig, WebhookFormat};
use crate::deliver::webhook::signature_header;
use crate::domain::{HandoffStatus, LeadId, LeadStatus};
use crate::store::leads;
use crate::store::{AnyConnection, StoreError};
use crate::worker::{BackgroundJob, JobError};

/// Queues a delivery of `event` about the lead to every destination that
/// hears of it, inside the caller's transaction. False when none does.
pub async fn queue(
    conn: &mut AnyConnection,
    cfg: &LeadsConfig,
    lead_id: &LeadId,
    event: LeadEvent,
) -> Result<bool, StoreError> {
    let mut queued = false;
    for hook in cfg.webhooks.iter().filter(|h| h.hears(event)) {
        let delivery_id = leads::insert_delivery(conn, lead_id, &hook.url, event.as_str()).await?;
        let job = DeliverLead { delivery_id };
        job.enqueue(conn, Some(&job.dedupe_key()), Duration::ZERO)
            .await?;
        queued = true;
    }
    Ok(queued)
}

/// The body sales receives: the event, the lead and its messages.
pub async fn body(
    conn: &mut AnyConnection,
    delivery_id: &str,
    event: &str,
    lead_id: &LeadId,
) -> Result<Vec<u8>, StoreError> {
    let lead = leads::get(conn, lead_id).await?;
    let messages = leads::messages(conn, lead_id).await?;
    Ok(serde_json::to_vec(&json!({
        "delivery_id": delivery_id,
        "event": event,
        "lead": lead,
        "messages": messages,
    }))
    .expect("JSON of plain values"))
}

/// A Slack incoming webhook's body: one line on what happened, the first
/// message's text quoted, and a link to the lead in the console.
pub async fn slack_body(
    conn: &mut AnyConnection,
    event: &str,
    lead_id: &LeadId,
    console_url: &str,
) -> Result<Vec<u8>, StoreError> {
    let lead = leads::get(conn, lead_id).await?;
    let messages = leads::messages(conn, lead_id).await?;
    let what = match event.parse::<LeadEvent>() {
        Ok(LeadEvent::Created) => "New lead",
        Ok(LeadEvent::Qualified) => "Qualified lead",
        Ok(LeadEvent::Closed) => "Lead closed",
        _ => "Lead updated",
    };
    // Slack reads `<`, `>` and `&` as markup.
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let who = lead.author_name.as_deref().unwrap_or(&lead.author_id);
    let mut text = format!(
        "{what} on {}: {} ({}, score {:.2})",
        lead.platform.as_str(),
        escape(who),
        lead.status.as_str(),
        lead.score
    );
    if let Some(email) = &lead.email {
        text.push_str(&format!(", {}", escape(email)));
    }
    if let Some(first) = messages.first() {
        let quoted: String = first.text.chars().take(500).collect();
        text.push_str(&format!("\n> {}", escape(&quoted).replace('\n', "\n> ")));
    }
    text.push_str(&format!(
        "\n<{}/leads/{}|Open the lead in replyd>",
        console_url.trim_end_matches('/'),
        lead.id.as_str()
    ));
    Ok(serde_json::to_vec(&json!({ "text": text })).expect("JSON of plain values"))
}

/// Where the console is for a link: the first `console.public_urls`, or the
/// address replyd listens at.
pub fn console_url(config: &crate::config::Config) -> String {
    config
        .console
        .public_urls
        .first()
        .cloned()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

/// One lead to one destination.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliverLead {
    pub delivery_id: String,
}

impl DeliverLead {
    pub fn dedupe_key(&self) -> String {
        format!("lead-delivery:{}", self.delivery_id)
    }
}

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .build()
        .expect("TLS backend available")
});

impl BackgroundJob for DeliverLead {
    const JOB_NAME: &'static str = "deliver_lead";
    type Context = Ctx;

    fn max_attempts(ctx: &Ctx) -> u32 {
        ctx.config.delivery.max_attempts
    }

    fn backoff(ctx: &Ctx, attempt: u32) -> Duration {
        ctx.config.delivery.backoff(attempt)
    }

    async fn run(&self, ctx: Ctx) -> Result<(), JobError> {
        let mut conn = ctx.db.conn().await?;
        let delivery = leads::delivery(&mut conn, &self.delivery_id).await?;
        match delivery.status {
            HandoffStatus::Pending => {}
            // Delivered by an earlier run: settle the lead in case that
            // run stopped before it could.
            HandoffStatus::Delivered => {
                drop(conn);
                return settle(&ctx, &delivery.id, &delivery.event, &delivery.lead_id).await;
            }
            _ => return Ok(()),
        }
        // The same URL may be configured twice (say, one format per event).
        let hooks = &ctx.config.leads.webhooks;
        let Some(hook) = hooks
            .iter()
            .find(|h| {
                h.url == delivery.url && h.events.iter().any(|e| e.as_str() == delivery.event)
            })
            .or_else(|| hooks.iter().find(|h| h.url == delivery.url))
        else {
            return Err(JobError::Fatal(
                "the destination is no longer configured".into(),
            ));
        };
        let request = CLIENT
            .post(&hook.url)
            .timeout(Duration::from_secs(ctx.config.delivery.timeout_secs))
            .header("content-type", "application/json")
            .header("x-replyd-delivery", &delivery.id);
        let request = match hook.format {
            WebhookFormat::Json => {
                let body =
                    body(&mut conn, &delivery.id, &delivery.event, &delivery.lead_id).await?;
                let signature =
                    signature_header(&hook.secret, chrono::Utc::now().timestamp(), &body);
                request.header("x-replyd-signature", signature).body(body)
            }
            WebhookFormat::Slack => {
                let console = console_url(&ctx.config);
                request.body(
                    slack_body(&mut conn, &delivery.event, &delivery.lead_id, &console).await?,
                )
            }
        };
        drop(conn);
        let sent = request.send().await;
        let (error, retry_after) = match sent {
            Ok(response) if response.status().is_success() => {
                return settle(&ctx, &delivery.id, &delivery.event, &delivery.lead_id).await;
            }
            Ok(response) => {
                let retry_after = crate::deliver::retry_after(response.headers());
                (
                    format!("lead webhook answered {}", response.status()),
                    retry_after,
                )
            }
            // reqwest errors print the URL, which may carry a token.
            Err(e) => (
                format!("lead webhook request failed: {}", e.without_url()),
                None,
            ),
        };
        tracing::warn!(delivery = %delivery.id, lead = %delivery.lead_id, %error, "lead hand-off attempt failed");
        let mut conn = ctx.db.conn().await?;
        leads::record_attempt(
            &mut conn,
            &delivery.id,
            HandoffStatus::Pending,
            Some(&error),
        )
        .await?;
        Err(JobError::Retry {
            reason: error,
            after: retry_after,
        })
    }

    async fn on_exhausted(&self, ctx: Ctx, error: &str) -> Result<(), JobError> {
        let mut conn = ctx.db.conn().await?;
        leads::fail_delivery(&mut conn, &self.delivery_id, error).await?;
        Ok(())
    }
}

/// Records the delivery as delivered and, once every destination has the
/// lead, marks it handed off: one transaction, so a crash between the two
/// cannot leave a lead delivered everywhere but never handed off. The lead's
/// row is locked first: two destinations finishing at once would otherwise
/// each see the other still pending on PostgreSQL, and neither would mark it.
/// Only a hand-off (`lead.qualified`) moves the lead: the other events are
/// news, not the hand-off.
async fn settle(
    ctx: &Ctx,
    delivery_id: &str,
    event: &str,
    lead_id: &LeadId,
) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    leads::lock(&mut tx, lead_id).await?;
    leads::record_attempt(&mut tx, delivery_id, HandoffStatus::Delivered, None).await?;
    if event == LeadEvent::Qualified.as_str() && leads::all_delivered(&mut tx, lead_id).await? {
        leads::transition(
            &mut tx,
            lead_id,
            &[LeadStatus::Qualified],
            LeadStatus::HandedOff,
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
