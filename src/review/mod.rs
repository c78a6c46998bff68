//! Review: a person approves (optionally edited), or rejects, what the risk
//! gate held. Approval sends through the normal delivery path, with the
//! reviewer recorded as the one who decided (Meta then treats a DM reply as
//! human-approved); every decision is written to the audit log.

pub mod api;

use std::time::Duration;

use crate::deliver::{self, DeliverAction};
use crate::domain::{ActionId, ActionStatus};
use crate::pipeline::Ctx;
use crate::store::actions::{self, Change};
use crate::store::{audit, reviews, StoreError};
use crate::worker::BackgroundJob;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("review {0} is not waiting for a decision")]
    NotHeld(String),
    #[error("an edited draft must not be empty")]
    EmptyText,
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

pub async fn decide(
    ctx: &Ctx,
    review_id: &str,
    verdict: &Verdict,
    reviewer: &str,
) -> Result<(), ReviewError> {
    if let Verdict::Approve { text: Some(text) } = verdict {
        if text.trim().is_empty() {
            return Err(ReviewError::EmptyText);
        }
    }
    let mut tx = ctx.db.begin().await?;
    let (status, note) = match verdict {
        Verdict::Approve { .. } => ("approved", None),
        Verdict::Reject { reason } => ("rejected", Some(reason.as_str())),
    };
    // Closing the review first takes the write lock and settles races
    // between two reviewers: only one of them finds it held.
    if !reviews::close(&mut tx, review_id, status, reviewer, note).await? {
        return Err(ReviewError::NotHeld(review_id.to_owned()));
    }
    let item = reviews::get(&mut tx, review_id).await?;
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
        deliver::settle_message(&mut tx, &message_id)
            .await
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
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
