//! Drives one message through classify → decide → act. Each step commits
//! its result with the message's new stage, so a rerun after a crash starts
//! at the first step not yet committed and never plans an action twice.
//!
//! The jobs of both of the pipeline's steps are here: [`ProcessMessage`]
//! and [`DeliverAction`], whose work is `deliver`'s. They run with the
//! application's context, which `deliver` is handed the parts of rather
//! than import: the context holds the connectors, so it would be a cycle.

use std::time::{Duration, Instant};

use crate::app::Ctx;
use crate::classify::ClassifyError;
use crate::decide::{self, risk, Context, Plan, Subject};
use crate::deliver::{self, DeliverAction};
use crate::domain::{ActionKind, ActionStatus, Classification, MessageId, Stage};
use crate::draft::{DraftError, DraftRequest, Drafter};
use crate::leads;
use crate::store::actions::{self, NewAction};
use crate::store::audit;
use crate::store::messages::{self, StoredMessage};
use crate::worker::{BackgroundJob, JobError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessMessage {
    pub message_id: MessageId,
}

impl ProcessMessage {
    pub fn dedupe_key(&self) -> String {
        format!("process:{}", self.message_id)
    }
}

impl BackgroundJob for ProcessMessage {
    const JOB_NAME: &'static str = "process_message";
    type Context = Ctx;

    fn max_attempts(_ctx: &Ctx) -> u32 {
        // Processing only touches our own database and model: keep trying.
        u32::MAX
    }

    async fn run(&self, ctx: Ctx) -> Result<(), JobError> {
        let mut conn = ctx.db.conn().await?;
        let message = messages::get(&mut conn, &self.message_id).await?;
        drop(conn);
        let started = Instant::now();
        if message.stage == Stage::Received {
            classify(&ctx, &message).await?;
        }
        if matches!(message.stage, Stage::Received | Stage::Classified) {
            decide(&ctx, &message).await?;
            metrics::histogram!("replyd_processing_seconds")
                .record(started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Only a fault of replyd's own (a custom template that cannot render,
    /// a damaged row) ends here, never a passing one. The message must not
    /// sit unseen in `received` forever: it is marked failed with the reason,
    /// which the inbox shows, and nothing is sent for it.
    async fn on_exhausted(&self, ctx: Ctx, error: &str) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        let mut failed = false;
        for from in [Stage::Received, Stage::Classified] {
            failed = failed
                || messages::advance_stage(&mut tx, &self.message_id, from, Stage::Failed).await?;
        }
        if failed {
            let reasons = [
                format!("processing failed: {error}"),
                "nothing was sent; fix the cause and answer by hand".to_owned(),
            ];
            messages::save_decision(&mut tx, &self.message_id, "processing failed", &reasons)
                .await?;
            metrics::counter!("replyd_messages_failed_total").increment(1);
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }
}

impl BackgroundJob for DeliverAction {
    const JOB_NAME: &'static str = "deliver_action";
    type Context = Ctx;

    fn max_attempts(ctx: &Ctx) -> u32 {
        ctx.config.delivery.max_attempts
    }

    fn backoff(ctx: &Ctx, attempt: u32) -> Duration {
        ctx.config.delivery.backoff(attempt)
    }

    async fn run(&self, ctx: Ctx) -> Result<(), JobError> {
        deliver::send_action(&ctx.db, &ctx.connectors, &self.action_id).await
    }

    async fn on_exhausted(&self, ctx: Ctx, error: &str) -> Result<(), JobError> {
        deliver::fail_action(&ctx.db, &self.action_id, error).await
    }
}

/// The model is busy or failed: the step is tried again.
fn classify_failed(e: ClassifyError) -> JobError {
    match e {
        ClassifyError::Overloaded => JobError::Retry {
            reason: e.to_string(),
            after: Some(Duration::from_millis(250)),
        },
        ClassifyError::Failed(reason) => JobError::retry(reason),
    }
}

async fn classify(ctx: &Ctx, message: &StoredMessage) -> Result<(), JobError> {
    let started = Instant::now();
    let classification = ctx
        .classifier
        .classify(&message.text, message.lang.as_deref())
        .await
        .map_err(classify_failed)?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    metrics::histogram!("replyd_classify_seconds").record(elapsed_ms / 1000.0);
    let mut tx = ctx.db.begin().await?;
    if messages::advance_stage(&mut tx, &message.id, Stage::Received, Stage::Classified).await? {
        messages::save_classification(&mut tx, &message.id, &classification, elapsed_ms).await?;
    }
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(())
}

/// Drafts the plan's replies and puts every action through the risk gate:
/// what the daemon stores, and what `replyd eval --pipeline` reports.
pub async fn draft_actions(
    drafter: &Drafter,
    subject: &Subject<'_>,
    decision: &Context<'_>,
    plan: &Plan,
    author_name: Option<&str>,
    seed: &str,
) -> Result<Vec<NewAction>, DraftError> {
    let c = decision.classification;
    let mut planned = Vec::with_capacity(plan.proposals.len());
    for proposal in &plan.proposals {
        let draft = match proposal.template {
            Some(template) => Some(
                drafter
                    .draft(&DraftRequest {
                        template,
                        goal: proposal.goal,
                        lang: c.lang,
                        public: proposal.public,
                        platform: subject.platform,
                        kind: subject.kind,
                        message_text: subject.text,
                        author_name,
                        answer: proposal.answer.as_deref(),
                        seed,
                    })
                    .await?,
            ),
            None => None,
        };
        let failures = draft
            .as_ref()
            .map(|d| d.failures.as_slice())
            .unwrap_or_default();
        let (status, held) = risk::gate(subject, c, proposal, failures, decision.policy);
        let mut reasons = proposal.reasons.clone();
        if let Some(d) = &draft {
            reasons.extend(d.notes.iter().cloned());
        }
        reasons.extend(held.iter().map(|h| format!("{HELD}{h}")));
        planned.push(NewAction {
            kind: proposal.kind,
            status,
            text: draft.as_ref().map(|d| d.text.clone()),
            draft_source: draft.map(|d| d.source),
            reasons,
        });
    }
    Ok(planned)
}

/// One line of the decision per action, as decided: "acknowledge:
/// auto-send", "private reply: held because ...". The action's own status
/// tells what became of it since, so the decision never reads "pending"
/// beside a delivered reply.
fn what_was_decided(action: &NewAction) -> String {
    let kind = action.kind.to_string().replace('_', " ");
    match action.status {
        ActionStatus::Held => {
            let why: Vec<&str> = held_reasons(&action.reasons).collect();
            format!("{kind}: held because {}", why.join("; "))
        }
        ActionStatus::Pending => format!("{kind}: auto-send"),
        other => format!("{kind}: {other}"),
    }
}

/// How an action's reasons mark why it waits for a person.
const HELD: &str = "held: ";

/// Why an action waits for a person, from its reasons.
pub fn held_reasons(reasons: &[String]) -> impl Iterator<Item = &str> {
    reasons.iter().filter_map(|r| r.strip_prefix(HELD))
}

async fn decide(ctx: &Ctx, message: &StoredMessage) -> Result<(), JobError> {
    let mut conn = ctx.db.conn().await?;
    let classification: Classification = messages::classification(&mut conn, &message.id)
        .await?
        .ok_or_else(|| JobError::Fatal("classified message has no classification".into()))?;
    let first_contact = messages::is_first_contact(&mut conn, message).await?;
    drop(conn);
    let lead = leads::prepare(&ctx.db, &ctx.config.leads, message, &classification).await?;
    let lead_facts = lead.facts();
    let subject = Subject {
        platform: &message.platform,
        kind: message.kind,
        text: &message.text,
        author_id: &message.author.id,
        author_handle: message.author.handle.as_deref(),
        reach: message.meta.get("reach").and_then(crate::decide::reach),
        first_contact,
    };
    let decision = Context {
        classification: &classification,
        lead: &lead_facts,
        policy: &ctx.config.policy,
        facts: &ctx.drafter.facts,
    };
    let plan = decide::decide(&subject, &decision);
    let planned = draft_actions(
        &ctx.drafter,
        &subject,
        &decision,
        &plan,
        message.author.name.as_deref(),
        message.id.as_str(),
    )
    .await
    .map_err(|e| match e {
        DraftError::Reader(e) => classify_failed(e),
        DraftError::Template(e) => JobError::Fatal(e.to_string()),
    })?;

    let mut tx = ctx.db.begin().await?;
    // Moving the stage first takes SQLite's write lock at once, and a second
    // run that raced this one finds the decision made and stops.
    if !messages::advance_stage(&mut tx, &message.id, Stage::Classified, Stage::Decided).await? {
        return Ok(());
    }
    let mut reasons = plan.reasons.clone();
    reasons.extend(planned.iter().map(what_was_decided));
    messages::save_decision(&mut tx, &message.id, &plan.summary, &reasons).await?;
    if let Some(record) = plan.record {
        audit::record(
            &mut tx,
            "replyd",
            record,
            Some(message.id.as_str()),
            &serde_json::json!({ "platform": message.platform, "intent": classification.intent.label }),
        )
        .await?;
    }
    let prequalifying = planned.iter().any(|a| a.kind == ActionKind::Prequalify);
    let mut queued = leads::record(
        &mut tx,
        &ctx.config.leads,
        message,
        &classification,
        &lead,
        prequalifying,
    )
    .await?;
    for action in &planned {
        let Some(id) = actions::insert(&mut tx, &message.id, action).await? else {
            continue;
        };
        if action.status == ActionStatus::Pending {
            let job = DeliverAction { action_id: id };
            job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
                .await?;
            queued = true;
        }
    }
    deliver::settle_message(&mut tx, &message.id).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    if queued {
        ctx.wake.notify_one();
    }
    Ok(())
}
