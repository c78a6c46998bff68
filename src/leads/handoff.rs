//! Hand-off to sales: each qualified lead is POSTed, signed, to every
//! `[[leads.webhooks]]` destination, one durable job per destination.
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
use crate::config::LeadsConfig;
use crate::deliver::webhook::signature_header;
use crate::domain::{HandoffStatus, LeadId, LeadStatus};
use crate::store::leads;
use crate::store::{AnyConnection, StoreError};
use crate::worker::{BackgroundJob, JobError};

/// Queues a hand-off of the lead to every configured destination, inside the
/// caller's transaction. False when no destination is configured.
pub async fn queue(
    conn: &mut AnyConnection,
    cfg: &LeadsConfig,
    lead_id: &LeadId,
) -> Result<bool, StoreError> {
    for hook in &cfg.webhooks {
        let delivery_id = leads::insert_delivery(conn, lead_id, &hook.url).await?;
        let job = DeliverLead { delivery_id };
        job.enqueue(conn, Some(&job.dedupe_key()), Duration::ZERO)
            .await?;
    }
    Ok(!cfg.webhooks.is_empty())
}

/// The body sales receives: the lead and its messages.
pub async fn body(
    conn: &mut AnyConnection,
    delivery_id: &str,
    lead_id: &LeadId,
) -> Result<Vec<u8>, StoreError> {
    let lead = leads::get(conn, lead_id).await?;
    let messages = leads::messages(conn, lead_id).await?;
    Ok(serde_json::to_vec(&json!({
        "delivery_id": delivery_id,
        "lead": lead,
        "messages": messages,
    }))
    .expect("JSON of plain values"))
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
                return settle(&ctx, &delivery.id, &delivery.lead_id).await;
            }
            _ => return Ok(()),
        }
        let Some(hook) = ctx
            .config
            .leads
            .webhooks
            .iter()
            .find(|h| h.url == delivery.url)
        else {
            return Err(JobError::Fatal(
                "the destination is no longer configured".into(),
            ));
        };
        let body = body(&mut conn, &delivery.id, &delivery.lead_id).await?;
        drop(conn);
        let signature = signature_header(&hook.secret, chrono::Utc::now().timestamp(), &body);
        let sent = CLIENT
            .post(&hook.url)
            .timeout(Duration::from_secs(ctx.config.delivery.timeout_secs))
            .header("content-type", "application/json")
            .header("x-replyd-signature", signature)
            .header("x-replyd-delivery", &delivery.id)
            .body(body)
            .send()
            .await;
        let (error, retry_after) = match sent {
            Ok(response) if response.status().is_success() => {
                return settle(&ctx, &delivery.id, &delivery.lead_id).await;
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
async fn settle(ctx: &Ctx, delivery_id: &str, lead_id: &LeadId) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    leads::lock(&mut tx, lead_id).await?;
    leads::record_attempt(&mut tx, delivery_id, HandoffStatus::Delivered, None).await?;
    if leads::all_delivered(&mut tx, lead_id).await? {
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
