//! A person's change to a lead (status, owner, notes), from the API or the
//! console: checked, applied, audited, and handed to sales when a person
//! qualifies it.

use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::app::Ctx;
use crate::config::LeadEvent;
use crate::domain::{LeadId, LeadStatus};
use crate::store::leads::{self, StoredLead};
use crate::store::{audit, StoreError};

/// Why a change to a lead was refused.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error("handed_off is set by replyd once every sales webhook took the lead")]
    HandedOffIsReplyds,
    #[error("at most {max} characters")]
    TooLong {
        field: &'static str,
        max: &'static str,
    },
    /// PostgreSQL's text cannot hold U+0000, so no field may.
    #[error("{0} must not contain the NUL character (U+0000)")]
    Nul(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `null` clears a field; a missing field leaves it be.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A change to a lead, from the API or the console.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    pub status: Option<LeadStatus>,
    #[serde(default, deserialize_with = "present")]
    pub owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Option<String>>,
}

/// Changes status, owner or notes, and writes the change to the audit log.
/// Moving a lead to `qualified` by hand hands it off like replyd would,
/// unless it was handed off before; `handed_off` itself is replyd's to set.
pub async fn update(
    ctx: &Ctx,
    id: &LeadId,
    patch: LeadPatch,
    actor: &str,
) -> Result<StoredLead, LeadError> {
    if patch.status == Some(LeadStatus::HandedOff) {
        return Err(LeadError::HandedOffIsReplyds);
    }
    let too_long = |v: &Option<Option<String>>, max: usize| {
        v.as_ref()
            .and_then(|v| v.as_ref())
            .is_some_and(|s| s.chars().count() > max)
    };
    if too_long(&patch.owner, 200) {
        return Err(LeadError::TooLong {
            field: "owner",
            max: "200",
        });
    }
    if too_long(&patch.notes, 10_000) {
        return Err(LeadError::TooLong {
            field: "notes",
            max: "10,000",
        });
    }
    for (field, value) in [("owner", &patch.owner), ("notes", &patch.notes)] {
        if value
            .as_ref()
            .and_then(|v| v.as_deref())
            .is_some_and(|v| v.contains('\0'))
        {
            return Err(LeadError::Nul(field));
        }
    }
    let mut tx = ctx.db.begin_durable().await?;
    let before = leads::get(&mut tx, id).await?;
    let mut queued = false;
    // What sales hears of the change: the hand-off, a close, or an update.
    let mut event = None;
    if let Some(to) = patch.status.filter(|s| *s != before.status) {
        if !leads::transition(&mut tx, id, &[before.status], to).await? {
            return Err(
                StoreError::Conflict("the lead changed meanwhile; try again".into()).into(),
            );
        }
        let handed_off_before = leads::deliveries(&mut tx, id)
            .await?
            .iter()
            .any(|d| d.event == LeadEvent::Qualified.as_str());
        event = Some(match to {
            LeadStatus::Qualified if !handed_off_before => LeadEvent::Qualified,
            LeadStatus::Won | LeadStatus::Lost => LeadEvent::Closed,
            _ => LeadEvent::Updated,
        });
    }
    leads::set_owner_and_notes(
        &mut tx,
        id,
        patch.owner.as_ref().map(|o| o.as_deref()),
        patch.notes.as_ref().map(|n| n.as_deref()),
    )
    .await?;
    let after = leads::get(&mut tx, id).await?;
    if event.is_none() && (after.owner != before.owner || after.notes != before.notes) {
        event = Some(LeadEvent::Updated);
    }
    if let Some(event) = event {
        queued = super::handoff::queue(&mut tx, &ctx.config.leads, id, event).await?;
    }
    audit::record(
        &mut tx,
        actor,
        "lead.update",
        Some(id.as_str()),
        &json!({
            "before": {"status": before.status, "owner": before.owner, "notes": before.notes},
            "after": {"status": after.status, "owner": after.owner, "notes": after.notes},
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    if queued {
        ctx.wake.notify_one();
    }
    Ok(after)
}
