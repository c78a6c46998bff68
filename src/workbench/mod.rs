//! The reviewer's workbench: what a person does to a message by hand.
//!
//! A moderation action (like, hide, unhide, delete, block, unblock, reply,
//! private reply) is recorded as an action of the message, approved by the
//! person who asked for it, and sent by the same delivery job, through the
//! same connector and under the same idempotency key (the action's id) as
//! the pipeline's actions; it is written to the audit log with who asked.
//! What the platform cannot do is refused before anything is stored, and a
//! reply a person writes passes the guardrails an edited draft passes.
//!
//! A correction records a person's reading of a message (intent,
//! sentiment, flags) beside the model's, as a labelled example.

pub mod context;

use std::time::{Duration, Instant};

use crate::app::Ctx;
use crate::deliver::DeliverAction;
use crate::domain::{ActionKind, Flag, Intent, Kind, MessageId, Sentiment, Stage};
use crate::review::{person_text_failures, ReviewError};
use crate::store::actions::{self, StoredAction};
use crate::store::corrections::{self, NewCorrection, StoredCorrection};
use crate::store::messages::{self, StoredMessage};
use crate::store::{audit, StoreError};
use crate::worker::BackgroundJob;

/// The kinds a person may ask for, in the order the console offers them.
pub const MANUAL_KINDS: &[ActionKind] = &[
    ActionKind::Like,
    ActionKind::Hide,
    ActionKind::Unhide,
    ActionKind::Delete,
    ActionKind::Block,
    ActionKind::Unblock,
    ActionKind::Reply,
    ActionKind::PrivateReply,
];

/// How long a request waits for its action to be sent before answering
/// that it is still on its way.
pub const WAIT_FOR_DELIVERY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum WorkbenchError {
    /// A field's value is refused: the field, and why.
    #[error("{1}")]
    Invalid(&'static str, String),
    /// A field the request needs is missing.
    #[error("{1}")]
    Missing(&'static str, String),
    /// The platform, or its connector, cannot do this to this message.
    #[error("{0}")]
    NotPossible(String),
    /// The pipeline has not decided on the message yet: acting now could
    /// cross what it is about to do.
    #[error("the pipeline has not decided on this message yet; try again in a moment")]
    InPipeline,
    /// Each failed guardrail as `name: detail`.
    #[error("the reply fails the guardrails: {}", .0.join("; "))]
    Guardrails(Vec<String>),
    /// The model could not read the reply now; nothing was stored.
    #[error("the reply could not be read: {0}")]
    Unread(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReviewError> for WorkbenchError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Guardrails(failures) => WorkbenchError::Guardrails(failures),
            ReviewError::Unread(why) => WorkbenchError::Unread(why),
            ReviewError::Store(store) => WorkbenchError::Store(store),
            other => WorkbenchError::Invalid("text", other.to_string()),
        }
    }
}

/// What a person asked for, as sent (parsed here, so the API and the
/// console refuse the same things in the same words).
#[derive(Debug, Clone, Default)]
pub struct ActionRequest {
    pub kind: String,
    pub text: Option<String>,
}

/// The kind and text of a request, checked.
pub fn parse_request(
    request: &ActionRequest,
) -> Result<(ActionKind, Option<String>), WorkbenchError> {
    let expected = || {
        MANUAL_KINDS
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kind = request
        .kind
        .trim()
        .parse::<ActionKind>()
        .ok()
        .filter(|k| MANUAL_KINDS.contains(k))
        .ok_or_else(|| {
            WorkbenchError::Invalid(
                "kind",
                format!(
                    "unknown action `{}`, expected one of: {}",
                    request.kind,
                    expected()
                ),
            )
        })?;
    let text = request.text.as_deref();
    if text.is_some_and(|t| t.contains('\0')) {
        return Err(WorkbenchError::Invalid(
            "text",
            "text must not contain the NUL character (U+0000)".into(),
        ));
    }
    let text = text.map(|t| t.replace("\r\n", "\n"));
    match (kind.carries_text(), text) {
        (true, Some(text)) if !text.trim().is_empty() => Ok((kind, Some(text.trim().to_owned()))),
        (true, _) => Err(WorkbenchError::Missing(
            "text",
            format!("a {} needs its text", kind.as_str().replace('_', " ")),
        )),
        (false, Some(text)) if !text.trim().is_empty() => Err(WorkbenchError::Invalid(
            "text",
            format!("a {} takes no text", kind),
        )),
        (false, _) => Ok((kind, None)),
    }
}

/// Why no platform can do `kind` to this message, whatever its connector.
fn impossible(kind: ActionKind, message: &StoredMessage) -> Option<String> {
    use ActionKind as A;
    let platform = &message.platform;
    match (kind, message.kind) {
        (A::Hide | A::Unhide, Kind::Dm) => Some("a DM cannot be hidden or shown again".into()),
        (A::Delete, Kind::Dm) => Some("a DM cannot be deleted".into()),
        (A::Like, Kind::Dm) => Some("a DM cannot be liked".into()),
        (A::Like, _) if !platform.has_likes() => {
            Some(format!("{platform} has no likes for a {}", message.kind))
        }
        (A::PrivateReply, Kind::Review) => {
            Some("a review has no private reply: review sites have no private messages".into())
        }
        _ => None,
    }
}

/// Why `kind` cannot be done to this message, by any platform or by the
/// connector that serves its platform; `None` when it may be tried.
pub fn refusal(ctx: &Ctx, kind: ActionKind, message: &StoredMessage) -> Option<String> {
    impossible(kind, message).or_else(|| {
        ctx.connectors
            .for_platform(&message.platform)
            .refusal(kind, message)
    })
}

/// Whether the connector of the message's platform only records (no
/// connector is configured): nothing a person does there is sent.
pub fn dry_run(ctx: &Ctx, message: &StoredMessage) -> bool {
    ctx.connectors.for_platform(&message.platform).name() == "dry_run"
}

/// Asks for `request` on the message as `actor`, and waits up to `wait`
/// for it to be sent: the action as it then is (sent, dry run, skipped,
/// failed, or still on its way).
pub async fn act(
    ctx: &Ctx,
    message_id: &str,
    request: &ActionRequest,
    actor: &str,
    wait: Duration,
) -> Result<StoredAction, WorkbenchError> {
    let message_id: MessageId = message_id
        .parse()
        .map_err(|_| StoreError::NotFound("message"))?;
    let (kind, text) = parse_request(request)?;
    let message = {
        let mut conn = ctx.db.conn().await?;
        messages::get(&mut conn, &message_id).await?
    };
    if matches!(message.stage, Stage::Received | Stage::Classified) {
        return Err(WorkbenchError::InPipeline);
    }
    if let Some(why) = refusal(ctx, kind, &message) {
        return Err(WorkbenchError::NotPossible(why));
    }
    let connector = ctx.connectors.for_platform(&message.platform).clone();
    if let Some(text) = &text {
        let failures = person_text_failures(
            ctx,
            &message.platform,
            message.kind,
            kind,
            &message.text,
            text,
        )
        .await?;
        if !failures.is_empty() {
            return Err(WorkbenchError::Guardrails(failures));
        }
    }
    // Durable, as a review's approval: the action leaves once this commits.
    let mut tx = ctx.db.begin_durable().await?;
    let action_id =
        actions::insert_requested(&mut tx, &message_id, kind, text.as_deref(), actor).await?;
    let job = DeliverAction {
        action_id: action_id.clone(),
    };
    job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
        .await?;
    audit::record(
        &mut tx,
        actor,
        &format!("moderation.{kind}"),
        Some(message_id.as_str()),
        &serde_json::json!({
            "action": action_id,
            "kind": kind,
            "text": text,
            "connector": connector.name(),
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    ctx.wake.notify_one();

    let deadline = Instant::now() + wait;
    loop {
        let action = {
            let mut conn = ctx.db.conn().await?;
            actions::get(&mut conn, &action_id).await?
        };
        if action.status.is_final() || Instant::now() >= deadline {
            return Ok(action);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a person says a message is, as sent.
#[derive(Debug, Clone, Default)]
pub struct CorrectionRequest {
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub flags: Option<Vec<String>>,
}

/// The request in the crate's types; an unknown value names its field.
pub fn parse_correction(request: &CorrectionRequest) -> Result<NewCorrection, WorkbenchError> {
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let intent = blank(&request.intent)
        .map(|v| v.parse::<Intent>())
        .transpose()
        .map_err(|e| WorkbenchError::Invalid("intent", e.to_string()))?;
    let sentiment = blank(&request.sentiment)
        .map(|v| v.parse::<Sentiment>())
        .transpose()
        .map_err(|e| WorkbenchError::Invalid("sentiment", e.to_string()))?;
    let flags = match &request.flags {
        None => None,
        Some(names) => {
            let mut flags = Vec::with_capacity(names.len());
            for name in names {
                let flag = name
                    .trim()
                    .parse::<Flag>()
                    .map_err(|e| WorkbenchError::Invalid("flags", e.to_string()))?;
                if !flags.contains(&flag) {
                    flags.push(flag);
                }
            }
            flags.sort();
            Some(flags)
        }
    };
    let correction = NewCorrection {
        intent,
        sentiment,
        flags,
    };
    if correction == NewCorrection::default() {
        return Err(WorkbenchError::Missing(
            "intent",
            "give at least one of intent, sentiment and flags".into(),
        ));
    }
    Ok(correction)
}

/// Stores a person's reading of the message, and audits it.
pub async fn correct(
    ctx: &Ctx,
    message_id: &str,
    request: &CorrectionRequest,
    actor: &str,
) -> Result<StoredCorrection, WorkbenchError> {
    let message_id: MessageId = message_id
        .parse()
        .map_err(|_| StoreError::NotFound("message"))?;
    let correction = parse_correction(request)?;
    let mut tx = ctx.db.begin_durable().await?;
    // Unknown is 404, before anything is written.
    messages::get(&mut tx, &message_id).await?;
    let model = messages::classification(&mut tx, &message_id).await?;
    let stored = corrections::insert(&mut tx, &message_id, &correction, actor).await?;
    audit::record(
        &mut tx,
        actor,
        "classification.correct",
        Some(message_id.as_str()),
        &serde_json::json!({
            "correction": stored.id,
            "intent": correction.intent,
            "sentiment": correction.sentiment,
            "flags": correction.flags,
            "model_intent": model.as_ref().map(|m| m.intent.label),
            "model_sentiment": model.as_ref().map(|m| m.sentiment.label),
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str, text: Option<&str>) -> ActionRequest {
        ActionRequest {
            kind: kind.into(),
            text: text.map(str::to_owned),
        }
    }

    #[test]
    fn replies_need_text_and_the_rest_take_none() {
        assert!(matches!(
            parse_request(&request("reply", None)),
            Err(WorkbenchError::Missing("text", _))
        ));
        assert!(matches!(
            parse_request(&request("private_reply", Some("  "))),
            Err(WorkbenchError::Missing("text", _))
        ));
        assert!(matches!(
            parse_request(&request("hide", Some("why"))),
            Err(WorkbenchError::Invalid("text", _))
        ));
        assert_eq!(
            parse_request(&request("unblock", None)).unwrap(),
            (ActionKind::Unblock, None)
        );
        for kind in [
            "acknowledge",
            "dm_reply",
            "prequalify",
            "lead_handoff",
            "smile",
        ] {
            assert!(
                matches!(
                    parse_request(&request(kind, None)),
                    Err(WorkbenchError::Invalid("kind", _))
                ),
                "{kind}"
            );
        }
    }

    #[test]
    fn a_correction_names_the_field_it_cannot_read() {
        let bad = CorrectionRequest {
            flags: Some(vec!["pii".into(), "rude".into()]),
            ..Default::default()
        };
        let err = parse_correction(&bad).unwrap_err();
        assert!(matches!(err, WorkbenchError::Invalid("flags", _)), "{err}");
        assert!(err.to_string().contains("rude"), "{err}");
        let empty = parse_correction(&CorrectionRequest::default()).unwrap_err();
        assert!(matches!(empty, WorkbenchError::Missing(..)));
        let ok = parse_correction(&CorrectionRequest {
            intent: Some("complaint".into()),
            flags: Some(vec!["threat".into(), "pii".into(), "pii".into()]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.intent, Some(Intent::Complaint));
        assert_eq!(ok.flags, Some(vec![Flag::Pii, Flag::Threat]));
    }
}
