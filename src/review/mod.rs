//! Review: a person approves (optionally edited), or rejects, what the risk
//! gate held. Approval sends through the normal delivery path, with the
//! reviewer recorded as the one who decided (Meta then treats a DM reply as
//! human-approved); every decision is written to the audit log.

pub mod sla;

use std::time::Duration;

use crate::app::Ctx;
use crate::deliver::{self, DeliverAction};
use crate::domain::{ActionId, ActionKind, ActionStatus, Kind, Platform};
use crate::draft::guardrails::{DraftCheck, Purpose};
use crate::store::actions::{self, Change};
use crate::store::reviews::ReviewItem;
use crate::store::{audit, reviews, StoreError};
use crate::worker::BackgroundJob;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("review {0} is not waiting for a decision")]
    NotHeld(String),
    #[error("an edited draft must not be empty")]
    EmptyText,
    #[error("a rejection needs a reason")]
    MissingReason,
    /// Each failed guardrail as `name: detail`.
    #[error("the edited draft fails the guardrails: {}", .0.join("; "))]
    Guardrails(Vec<String>),
    /// The model could not read the edited text now; nothing changed.
    #[error("the edited draft could not be read: {0}")]
    Unread(String),
    /// PostgreSQL's text cannot hold U+0000, so neither field may.
    #[error("{0} must not contain the NUL character (U+0000)")]
    Nul(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub enum Verdict {
    /// Send it, with the reviewer's edited text when given.
    Approve {
        text: Option<String>,
    },
    Reject {
        reason: String,
    },
}

impl Verdict {
    /// What is wrong with the verdict itself, whichever review it is for;
    /// the API, its bulk form and the console all refuse the same things.
    pub fn validate(&self) -> Result<(), ReviewError> {
        match self {
            Verdict::Approve { text: Some(text) } if text.trim().is_empty() => {
                Err(ReviewError::EmptyText)
            }
            Verdict::Reject { reason } if reason.trim().is_empty() => {
                Err(ReviewError::MissingReason)
            }
            Verdict::Approve { text } if text.as_deref().is_some_and(|t| t.contains('\0')) => {
                Err(ReviewError::Nul("text"))
            }
            Verdict::Reject { reason } if reason.contains('\0') => Err(ReviewError::Nul("reason")),
            Verdict::Approve { .. } | Verdict::Reject { .. } => Ok(()),
        }
    }
}

pub async fn decide(
    ctx: &Ctx,
    review_id: &str,
    verdict: &Verdict,
    reviewer: &str,
) -> Result<(), ReviewError> {
    verdict.validate()?;
    // An id that is no review's (however odd: a NUL, which PostgreSQL's
    // text cannot even hold) is not found, on both databases alike.
    let review_id = review_id
        .parse::<crate::domain::ReviewId>()
        .map_err(|_| StoreError::NotFound("review"))?;
    let review_id = review_id.as_str();
    let mut tx = ctx.db.begin_durable().await?;
    let (status, note) = match verdict {
        Verdict::Approve { .. } => ("approved", None),
        Verdict::Reject { reason } => ("rejected", Some(reason.as_str())),
    };
    // Closing the review first takes the write lock and settles races
    // between two reviewers: only one of them finds it held.
    if !reviews::close(&mut tx, review_id, status, reviewer, note).await? {
        // Unknown is 404; known but already decided is a conflict.
        reviews::get(&mut tx, review_id).await?;
        return Err(ReviewError::NotHeld(review_id.to_owned()));
    }
    let item = reviews::get(&mut tx, review_id).await?;
    if let Verdict::Approve { text: Some(text) } = verdict {
        // Refusing drops the transaction: the review stays held.
        let failures = edit_failures(ctx, &item, text).await?;
        if !failures.is_empty() {
            return Err(ReviewError::Guardrails(failures));
        }
    }
    let action_id: ActionId = item.action_id.parse().map_err(StoreError::from)?;
    let (to, text) = match verdict {
        Verdict::Approve { text } => (ActionStatus::Approved, text.as_deref()),
        Verdict::Reject { .. } => (ActionStatus::Rejected, None),
    };
    let moved = actions::transition(
        &mut tx,
        &action_id,
        &[ActionStatus::Held],
        to,
        Change {
            text,
            decided_by: Some(reviewer),
            ..Change::default()
        },
    )
    .await?;
    if !moved {
        return Err(ReviewError::NotHeld(review_id.to_owned()));
    }
    if to == ActionStatus::Approved {
        let job = DeliverAction { action_id };
        job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
            .await?;
    } else {
        let message_id = item.message_id.parse().map_err(StoreError::from)?;
        deliver::settle_message(&mut tx, &message_id).await?;
    }
    audit::record(
        &mut tx,
        reviewer,
        &format!("review.{status}"),
        Some(review_id),
        &serde_json::json!({
            "action": item.action_id,
            "message": item.message_id,
            "edited": matches!(verdict, Verdict::Approve { text: Some(_) }),
            "reason": note,
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    ctx.wake.notify_one();
    Ok(())
}

/// An edit puts a reviewer's words where the drafter's were, so they pass
/// the drafter's guardrails too: a slip of the keyboard must not promise a
/// refund, echo an address or run past the platform's limit. Two checks are
/// the reviewer's to make: the language (not checked for templates either:
/// a person chose the words) and `unsupported_claim`, since a reviewer
/// completing an answer is the source of the facts the facts file lacks.
/// The draft as it was held needs no check here: the reviewer saw why it
/// was held, and approving it unedited is their decision.
async fn edit_failures(
    ctx: &Ctx,
    item: &ReviewItem,
    text: &str,
) -> Result<Vec<String>, ReviewError> {
    let platform: Platform = item.platform.parse().map_err(StoreError::from)?;
    let kind: Kind = item.message_kind.parse().map_err(StoreError::from)?;
    let action: ActionKind = item.action_kind.parse().map_err(StoreError::from)?;
    person_text_failures(ctx, &platform, kind, action, &item.text, text).await
}

/// The guardrails a text a person wrote must pass before it goes out as
/// `action` on a `kind` message of `platform` whose words are
/// `message_text`: an edited draft, or a reply written on the workbench.
/// Each failure as `name: detail`; see [`edit_failures`] for the two
/// checks left to the person.
pub async fn person_text_failures(
    ctx: &Ctx,
    platform: &Platform,
    kind: Kind,
    action: ActionKind,
    message_text: &str,
    text: &str,
) -> Result<Vec<String>, ReviewError> {
    let public = kind != Kind::Dm
        && !matches!(
            action,
            ActionKind::PrivateReply | ActionKind::DmReply | ActionKind::Prequalify
        );
    let drafter = &ctx.drafter;
    let mut failures = drafter.guardrails.check(&DraftCheck {
        text,
        expected_lang: None,
        public,
        platform,
        kind,
        message_text,
        facts_text: drafter.facts.all_text(),
        // A person may answer in their own way; hostility and the rest are
        // still refused.
        purpose: Purpose::Other,
    });
    failures.extend(
        drafter
            .model_failures(text, Purpose::Other)
            .await
            .map_err(|e| ReviewError::Unread(e.to_string()))?,
    );
    Ok(failures
        .into_iter()
        .filter(|f| !f.starts_with("unsupported_claim:"))
        .collect())
}
