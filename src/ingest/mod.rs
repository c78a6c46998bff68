//! Ingestion: every route that accepts messages ends in [`accept`], which
//! stores them and queues their processing in one transaction, so a message
//! is either fully accepted or not at all, and a repeat is recognised by its
//! `(platform, external_id)` and not processed again.

pub mod generic;
pub mod meta_webhook;

use std::time::Duration;

use serde::Serialize;

use crate::app::Ctx;
use crate::domain::MessageId;
use crate::pipeline::ProcessMessage;
use crate::store::messages::{self, NewMessage};
use crate::store::StoreError;
use crate::worker::BackgroundJob;

/// Why messages were not accepted. Nothing of a refused request is kept.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The request is wrong as sent; sending it again will not help.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with a request's messages, and where, in words for the
/// sender: `code` names the kind of problem for scripts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// The message's place in the request, when the request was a batch.
    pub index: Option<usize>,
}

impl Refused {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Refused {
            code,
            message: message.into(),
            field: None,
            index: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted {
    pub id: MessageId,
    pub duplicate: bool,
}

pub async fn accept(ctx: &Ctx, batch: &[NewMessage]) -> Result<Vec<Accepted>, IngestError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let stored = store(ctx, batch).await;
    // Readiness follows what ingestion meets: see `Db::probe_write`.
    match &stored {
        Ok(_) => ctx.db.note_writes_refused(false),
        Err(e) if e.is_unavailable() => ctx.db.note_writes_refused(true),
        Err(_) => {}
    }
    Ok(stored?)
}

async fn store(ctx: &Ctx, batch: &[NewMessage]) -> Result<Vec<Accepted>, StoreError> {
    // Durable: the caller is answered once this commits.
    let mut tx = ctx.db.begin_durable().await?;
    // Every batch inserts in the same order, by key: on PostgreSQL an insert
    // waits for another transaction's uncommitted row with the same key, so
    // two batches sharing messages in opposite orders would each wait for
    // the other and one would fail as a deadlock. The sort is stable: of a
    // key given twice in one batch, the first in the request is the new one.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_cached_key(|&i| messages::key(&batch[i]));
    let mut accepted = vec![None; batch.len()];
    for i in order {
        let (id, duplicate) = messages::insert(&mut tx, &batch[i]).await?;
        if !duplicate {
            let job = ProcessMessage {
                message_id: id.clone(),
            };
            job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
                .await?;
        }
        accepted[i] = Some(Accepted { id, duplicate });
    }
    tx.commit().await?;
    let accepted: Vec<Accepted> = accepted.into_iter().flatten().collect();
    for (msg, result) in batch.iter().zip(&accepted) {
        if !result.duplicate {
            metrics::counter!(
                "replyd_messages_received_total",
                "platform" => crate::telemetry::platform_label(&msg.platform),
                "kind" => msg.kind.as_str()
            )
            .increment(1);
        }
    }
    ctx.wake.notify_one();
    Ok(accepted)
}
