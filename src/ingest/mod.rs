//! Ingestion: every route that accepts messages ends in [`accept`], which
//! stores them and queues their processing in one transaction, so a message
//! is either fully accepted or not at all, and a repeat is recognised by its
//! `(platform, external_id)` and not processed again.

pub mod generic;
pub mod meta;

use std::time::Duration;

use serde::Serialize;

use crate::domain::MessageId;
use crate::pipeline::{Ctx, ProcessMessage};
use crate::store::messages::{self, NewMessage};
use crate::store::StoreError;
use crate::worker::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted {
    pub id: MessageId,
    pub duplicate: bool,
}

pub async fn accept(ctx: &Ctx, batch: &[NewMessage]) -> Result<Vec<Accepted>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    // Durable: the caller is answered once this commits.
    let mut tx = ctx.db.begin_durable().await?;
    let mut accepted = Vec::with_capacity(batch.len());
    for msg in batch {
        let (id, duplicate) = messages::insert(&mut tx, msg).await?;
        if !duplicate {
            let job = ProcessMessage {
                message_id: id.clone(),
            };
            job.enqueue(&mut tx, Some(&job.dedupe_key()), Duration::ZERO)
                .await?;
        }
        accepted.push(Accepted { id, duplicate });
    }
    tx.commit().await?;
    for (msg, result) in batch.iter().zip(&accepted) {
        if !result.duplicate {
            metrics::counter!(
                "replyd_messages_received_total",
                "platform" => msg.platform.to_string(),
                "kind" => msg.kind.as_str()
            )
            .increment(1);
        }
    }
    ctx.wake.notify_one();
    Ok(accepted)
}
