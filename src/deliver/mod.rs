//! Delivery: sending actions through a platform's connector, exactly once
//! as far as the platform can tell.
//!
//! An action is marked `sending` (and the attempt counted) before the
//! request leaves. If the process dies there, the next attempt first asks
//! the connector to [`Connector::reconcile`]: a connector that can read the
//! platform back finds the earlier reply; the webhook connector resends
//! under the same idempotency key, which its receiver deduplicates.

pub mod graph;
pub mod ratelimit;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::classify::BoxFuture;
use crate::domain::{ActionId, ActionKind, ActionStatus, Kind, MessageId, Platform, Stage};
use crate::store::actions::{self, Change, StoredAction};
use crate::store::leads;
use crate::store::messages::{self, StoredMessage};
use crate::store::{Db, StoreError};
use crate::worker::JobError;

/// A `Retry-After` header in seconds, as platforms and receivers send it.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// What a connector reports after a successful send.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// The platform accepted it; `external_ref` is its id for what was
    /// created, `recipient` who a private message reached, by the id their
    /// DMs will come from (Meta answers a private reply to a comment with
    /// it, and on Facebook it is not the comment's author id).
    Delivered {
        external_ref: Option<String>,
        recipient: Option<String>,
    },
    /// Recorded only: no credentials for this platform.
    DryRun,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// May succeed later (timeouts, 5xx, rate limits).
    #[error("{message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Cannot succeed (bad token, no permission): the action fails.
    #[error("{message}")]
    Permanent { message: String },
    /// A platform rule forbids this action (a DM outside its window, a
    /// second private reply): nothing is wrong, so it ends `skipped` rather
    /// than `failed`, with the rule as its `last_error`.
    #[error("{reason}")]
    Refused { reason: String },
    /// The platform refused for its rate limit before doing anything: not
    /// sent, and tried again after the pause without using an attempt.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
}

/// An action with the message it acts on.
pub struct Outbound<'a> {
    pub action: &'a StoredAction,
    pub message: &'a StoredMessage,
}

pub trait Connector: Send + Sync {
    fn name(&self) -> &str;

    fn send<'a>(&'a self, out: &'a Outbound<'a>) -> BoxFuture<'a, Result<Sent, DeliveryError>>;

    /// How long to wait before anything may be sent for this action (a page
    /// paused by the platform's rate limit); `None` when it may go now.
    fn hold_off<'a>(
        &'a self,
        _out: &'a Outbound<'a>,
    ) -> BoxFuture<'a, Result<Option<Duration>, DeliveryError>> {
        Box::pin(async { Ok(None) })
    }

    /// Why this connector cannot do `kind` on `message` at all (no API
    /// for it, a page it does not serve), checked before a person's action
    /// is stored; `None` when it may try. The pipeline's actions learn the
    /// same when they are sent, as `skipped`.
    fn refusal(&self, _kind: ActionKind, _message: &StoredMessage) -> Option<String> {
        None
    }

    /// Called before resending an action whose earlier attempt may have
    /// reached the platform. `Some` means it did, and nothing is resent.
    fn reconcile<'a>(
        &'a self,
        _out: &'a Outbound<'a>,
    ) -> BoxFuture<'a, Result<Option<Sent>, DeliveryError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Records actions for platforms replyd has no credentials for, so nothing
/// is silently dropped and the brand can see what would have gone out.
pub struct DryRun;

impl Connector for DryRun {
    fn name(&self) -> &str {
        "dry_run"
    }

    fn send<'a>(&'a self, out: &'a Outbound<'a>) -> BoxFuture<'a, Result<Sent, DeliveryError>> {
        Box::pin(async move {
            tracing::info!(
                action = %out.action.id,
                kind = %out.action.kind,
                platform = %out.message.platform,
                text = out.action.text.as_deref().unwrap_or(""),
                "dry run: no connector configured for this platform"
            );
            Ok(Sent::DryRun)
        })
    }
}

#[derive(Clone)]
pub struct Connectors {
    by_platform: HashMap<Platform, Arc<dyn Connector>>,
    fallback: Arc<dyn Connector>,
}

impl Connectors {
    pub fn new() -> Self {
        Connectors {
            by_platform: HashMap::new(),
            fallback: Arc::new(DryRun),
        }
    }

    pub fn insert(&mut self, platform: Platform, connector: Arc<dyn Connector>) {
        self.by_platform.insert(platform, connector);
    }

    pub fn for_platform(&self, platform: &Platform) -> &Arc<dyn Connector> {
        self.by_platform.get(platform).unwrap_or(&self.fallback)
    }
}

impl Default for Connectors {
    fn default() -> Self {
        Self::new()
    }
}

/// The job that sends one action ([`send_action`]; its job runs in
/// `pipeline`, with the application's context).
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliverAction {
    pub action_id: ActionId,
}

impl DeliverAction {
    pub fn dedupe_key(&self) -> String {
        format!("deliver:{}", self.action_id)
    }
}

/// Sends one action, the work of its [`DeliverAction`] job: resumes an
/// attempt that may have reached the platform, marks it `sending` before
/// the request leaves, and settles it with the connector's answer.
pub async fn send_action(
    db: &Db,
    connectors: &Connectors,
    action_id: &ActionId,
) -> Result<(), JobError> {
    let mut conn = db.conn().await?;
    let action = actions::get(&mut conn, action_id).await?;
    let ready = [ActionStatus::Pending, ActionStatus::Approved];
    let resumed = match action.status {
        status if ready.contains(&status) => false,
        ActionStatus::Sending => true,
        // Final, or waiting for a person: nothing to send.
        _ => return Ok(()),
    };
    let message = messages::get(&mut conn, &action.message_id).await?;
    // Connectors may use the database themselves: holding a connection
    // across their calls could exhaust a small pool.
    drop(conn);
    let connector = connectors.for_platform(&message.platform).clone();
    let out = Outbound {
        action: &action,
        message: &message,
    };

    match connector.hold_off(&out).await {
        Ok(None) => {}
        Ok(Some(wait)) => {
            return Err(JobError::Defer {
                reason: "paused by the platform's rate limit".into(),
                after: wait,
            })
        }
        Err(e) => return delivery_error(db, &action, e).await,
    }
    if resumed {
        match connector.reconcile(&out).await {
            Ok(Some(sent)) => {
                tracing::info!(action = %action.id, "an earlier attempt had reached the platform");
                return finish(db, &action, &message, sent).await;
            }
            Ok(None) => {}
            // Still unknown whether the earlier attempt landed: stay
            // `sending` (not back to ready) and read back after the pause.
            Err(DeliveryError::RateLimited {
                message,
                retry_after,
            }) => {
                return Err(JobError::Defer {
                    reason: message,
                    after: retry_after,
                })
            }
            Err(e) => return delivery_error(db, &action, e).await,
        }
    }
    let from: &[ActionStatus] = if resumed {
        &[ActionStatus::Sending]
    } else {
        &ready
    };
    // Durable: the request leaves once this commits, and a `sending`
    // mark lost to a power cut would let it leave again unchecked.
    let mut conn = db.durable_conn().await?;
    let claimed = actions::transition(
        &mut conn,
        &action.id,
        from,
        ActionStatus::Sending,
        Change {
            count_attempt: true,
            ..Change::default()
        },
    )
    .await?;
    if !claimed {
        // Another worker moved it on; its job owns it now.
        return Ok(());
    }
    drop(conn);
    match connector.send(&out).await {
        Ok(sent) => finish(db, &action, &message, sent).await,
        Err(e) => delivery_error(db, &action, e).await,
    }
}

/// Records an action whose last attempt failed as `failed`, with `error`.
pub async fn fail_action(db: &Db, action_id: &ActionId, error: &str) -> Result<(), JobError> {
    let mut conn = db.conn().await?;
    let action = actions::get(&mut conn, action_id).await?;
    drop(conn);
    let change = Change {
        last_error: Some(error),
        ..Change::default()
    };
    if finalize(db, &action, ActionStatus::Failed, change, None).await? {
        metrics::counter!("replyd_actions_failed_total", "kind" => action.kind.as_str())
            .increment(1);
    }
    Ok(())
}

async fn finish(
    db: &Db,
    action: &StoredAction,
    message: &StoredMessage,
    sent: Sent,
) -> Result<(), JobError> {
    let (status, external_ref, recipient) = match &sent {
        Sent::Delivered {
            external_ref,
            recipient,
        } => (
            ActionStatus::Sent,
            external_ref.as_deref(),
            recipient.as_deref(),
        ),
        Sent::DryRun => (ActionStatus::DryRun, None, None),
    };
    let change = Change {
        external_ref,
        sent: true,
        ..Change::default()
    };
    // A private reply to a lead's comment (the questions, or the apology
    // when the comment was also a complaint) opens a DM conversation with
    // its author; their answers there belong to the lead.
    let private = matches!(
        action.kind,
        ActionKind::Prequalify | ActionKind::PrivateReply
    );
    let reached = recipient
        .filter(|_| private && message.kind != Kind::Dm)
        .map(|recipient| (&message.id, recipient));
    if finalize(db, action, status, change, reached).await?
        && action.kind == ActionKind::Acknowledge
    {
        let latency = (crate::store::now_ms() - message.received_at).max(0) as f64 / 1000.0;
        metrics::histogram!("replyd_ack_latency_seconds", "platform" => crate::telemetry::platform_label(&message.platform))
            .record(latency);
    }
    Ok(())
}

/// Ends an action in a final status and, in the same transaction, marks its
/// message done when nothing else is open and records who a lead's private
/// reply reached; false if another worker got there first.
async fn finalize(
    db: &Db,
    action: &StoredAction,
    to: ActionStatus,
    change: Change<'_>,
    reached: Option<(&MessageId, &str)>,
) -> Result<bool, JobError> {
    let open = [
        ActionStatus::Pending,
        ActionStatus::Approved,
        ActionStatus::Sending,
    ];
    let mut tx = db.begin().await?;
    let moved = actions::transition(&mut tx, &action.id, &open, to, change).await?;
    if moved {
        // What a person did by hand does not move the message's stage.
        if action.requested_by.is_none() {
            settle_message(&mut tx, &action.message_id).await?;
        }
        if let Some((message_id, recipient)) = reached {
            leads::reached_in_private(&mut tx, message_id, recipient).await?;
        }
    }
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    if moved {
        metrics::counter!("replyd_actions_total", "kind" => action.kind.as_str(), "status" => to.as_str())
            .increment(1);
    }
    Ok(moved)
}

/// Marks the message done once none of its actions can still change.
pub async fn settle_message(
    conn: &mut crate::store::AnyConnection,
    message_id: &MessageId,
) -> Result<(), StoreError> {
    messages::lock(conn, message_id).await?;
    if actions::all_settled(conn, message_id).await? {
        messages::set_stage(conn, message_id, Stage::Done).await?;
    }
    Ok(())
}

/// Keeps the error on the action, and turns it into the job's retry,
/// deferral or failure; an action a platform rule refuses ends `skipped`.
async fn delivery_error(
    db: &Db,
    action: &StoredAction,
    error: DeliveryError,
) -> Result<(), JobError> {
    let message = error.to_string();
    tracing::warn!(action = %action.id, kind = %action.kind, error = %message, "delivery attempt failed");
    let keep_error = Change {
        last_error: Some(&message),
        ..Change::default()
    };
    let from = [ActionStatus::Sending];
    match error {
        DeliveryError::Retryable { retry_after, .. } => {
            // It may have reached the platform: stay `sending`, so the next
            // attempt reconciles first.
            let mut conn = db.conn().await?;
            actions::transition(
                &mut conn,
                &action.id,
                &from,
                ActionStatus::Sending,
                keep_error,
            )
            .await?;
            Err(JobError::Retry {
                reason: message,
                after: retry_after,
            })
        }
        DeliveryError::RateLimited { retry_after, .. } => {
            // Certainly not sent: back to where it was, with nothing to reconcile.
            let ready = if action.decided_by.is_some() {
                ActionStatus::Approved
            } else {
                ActionStatus::Pending
            };
            let mut conn = db.conn().await?;
            actions::transition(&mut conn, &action.id, &from, ready, keep_error).await?;
            Err(JobError::Defer {
                reason: message,
                after: retry_after,
            })
        }
        DeliveryError::Permanent { .. } => Err(JobError::Fatal(message)),
        DeliveryError::Refused { .. } => {
            // No connection of ours is held here: `finalize` takes its own,
            // and holding one while waiting for another lets a burst of
            // refusals take the whole pool and wait on each other.
            let change = Change {
                last_error: Some(&message),
                ..Change::default()
            };
            finalize(db, action, ActionStatus::Skipped, change, None).await?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::actions::NewAction;
    use crate::store::messages::{Author, NewMessage};

    async fn db_on_sqlite(dir: &std::path::Path) -> Db {
        let db = Db::connect(&format!("sqlite:{}", dir.join("replyd.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db
    }

    async fn sending_block(db: &Db) -> StoredAction {
        let mut conn = db.conn().await.unwrap();
        let (message_id, _) = messages::insert(
            &mut conn,
            &NewMessage {
                platform: "instagram".parse().unwrap(),
                kind: Kind::Comment,
                external_id: "c-1".into(),
                thread_id: None,
                parent_id: None,
                page_id: None,
                author: Author {
                    id: "troll".into(),
                    name: None,
                    handle: None,
                },
                text: "you are all idiots".into(),
                lang: None,
                url: None,
                meta: serde_json::Value::Null,
                created_at: None,
                source: "api",
            },
        )
        .await
        .unwrap();
        let id = actions::insert(
            &mut conn,
            &message_id,
            &NewAction {
                kind: ActionKind::Block,
                status: ActionStatus::Sending,
                text: None,
                draft_source: None,
                reasons: Vec::new(),
            },
        )
        .await
        .unwrap()
        .unwrap();
        actions::get(&mut conn, &id).await.unwrap()
    }

    /// Refusals come in bursts (every Instagram block is one): each must
    /// get by with the connections the pool can still give, or a burst as
    /// large as the pool waits on itself until the acquire timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refusal_settles_with_one_free_connection_in_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let db = db_on_sqlite(dir.path()).await;
        let action = sending_block(&db).await;
        // The SQLite pool has 4: three are busy with other refusals.
        let mut busy = Vec::new();
        for _ in 0..3 {
            busy.push(db.conn().await.unwrap());
        }
        let refused = DeliveryError::Refused {
            reason: "Instagram has no API to block anyone".into(),
        };
        tokio::time::timeout(
            Duration::from_secs(5),
            delivery_error(&db, &action, refused),
        )
        .await
        .expect("the refusal waited for a second connection")
        .unwrap();
        drop(busy);
        let mut conn = db.conn().await.unwrap();
        let after = actions::get(&mut conn, &action.id).await.unwrap();
        assert_eq!(after.status, ActionStatus::Skipped);
        assert_eq!(
            after.last_error.as_deref(),
            Some("Instagram has no API to block anyone")
        );
    }
}
