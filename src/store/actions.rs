//! Outbound actions and the review items of those held for a person.
//!
//! An action's status only moves forward through compare-and-set updates
//! (`UPDATE ... WHERE status IN (...)`), so two workers racing on the same
//! action cannot both send it.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_ms, to_json, AnyConnection, StoreError};
use crate::domain::{ActionId, ActionKind, ActionStatus, MessageId};

#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub kind: ActionKind,
    pub status: ActionStatus,
    pub text: Option<String>,
    /// Where the text came from: `template:<name>`, `llm`, or `reviewer`.
    pub draft_source: Option<String>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredAction {
    pub id: ActionId,
    pub message_id: MessageId,
    pub kind: ActionKind,
    pub status: ActionStatus,
    pub text: Option<String>,
    pub draft_source: Option<String>,
    pub reasons: Vec<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub external_ref: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    /// Who asked for it by hand on the workbench; `None` for what the
    /// pipeline planned (a reviewer who approved a held draft is
    /// `decided_by`).
    pub requested_by: Option<String>,
}

const ACTION_COLUMNS: &str =
    "id, message_id, kind, status, text, draft_source, reasons, attempts, \
     last_error, external_ref, decided_by, created_at, updated_at, sent_at, requested_by";

fn action_from_row(row: &AnyRow) -> Result<StoredAction, StoreError> {
    Ok(StoredAction {
        id: row.try_get::<String, _>("id")?.parse()?,
        message_id: row.try_get::<String, _>("message_id")?.parse()?,
        kind: row.try_get::<String, _>("kind")?.parse()?,
        status: row.try_get::<String, _>("status")?.parse()?,
        text: row.try_get("text")?,
        draft_source: row.try_get("draft_source")?,
        reasons: serde_json::from_str(&row.try_get::<String, _>("reasons")?)?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        external_ref: row.try_get("external_ref")?,
        decided_by: row.try_get("decided_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        sent_at: row.try_get("sent_at")?,
        requested_by: row.try_get("requested_by")?,
    })
}

/// Records a planned action; a held one also opens a review item. The
/// `(message, kind)` pair is unique among planned actions, so planning
/// twice creates nothing new: then `None` is returned.
pub async fn insert(
    conn: &mut AnyConnection,
    message_id: &MessageId,
    action: &NewAction,
) -> Result<Option<ActionId>, StoreError> {
    let id = ActionId::new();
    let now = now_ms();
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO actions (id, message_id, kind, status, text, draft_source, reasons, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (message_id, kind) WHERE requested_by IS NULL DO NOTHING RETURNING id",
    )
    .bind(id.as_str())
    .bind(message_id.as_str())
    .bind(action.kind.as_str())
    .bind(action.status.as_str())
    .bind(&action.text)
    .bind(&action.draft_source)
    .bind(to_json(&action.reasons))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Ok(None);
    }
    if action.status == ActionStatus::Held {
        sqlx::query(
            "INSERT INTO reviews (id, action_id, message_id, status, reasons, original_text, created_at) \
             VALUES ($1, $2, $3, 'held', $4, $5, $6)",
        )
        .bind(crate::domain::ReviewId::new().as_str())
        .bind(id.as_str())
        .bind(message_id.as_str())
        .bind(to_json(&action.reasons))
        .bind(&action.text)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(id))
}

/// Records an action a person asked for by hand, approved by them and
/// ready to send (`requested_by` and `decided_by` are theirs). Any number
/// of these may exist per message and kind.
pub async fn insert_requested(
    conn: &mut AnyConnection,
    message_id: &MessageId,
    kind: ActionKind,
    text: Option<&str>,
    actor: &str,
) -> Result<ActionId, StoreError> {
    let id = ActionId::new();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO actions (id, message_id, kind, status, text, draft_source, reasons, \
         decided_by, requested_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9)",
    )
    .bind(id.as_str())
    .bind(message_id.as_str())
    .bind(kind.as_str())
    .bind(ActionStatus::Approved.as_str())
    .bind(text)
    .bind(text.map(|_| "reviewer"))
    .bind(to_json(&vec![format!("asked for by {actor}")]))
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn get(conn: &mut AnyConnection, id: &ActionId) -> Result<StoredAction, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ACTION_COLUMNS} FROM actions WHERE id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("action"))?;
    action_from_row(&row)
}

pub async fn for_message(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<Vec<StoredAction>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ACTION_COLUMNS} FROM actions WHERE message_id = $1 ORDER BY created_at, id"
    ))
    .bind(message_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(action_from_row).collect()
}

/// What a status change also writes.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub text: Option<&'a str>,
    pub last_error: Option<&'a str>,
    pub external_ref: Option<&'a str>,
    pub decided_by: Option<&'a str>,
    pub count_attempt: bool,
    pub sent: bool,
}

/// Moves an action to `to` if it is in one of `from`; returns whether it moved.
pub async fn transition(
    conn: &mut AnyConnection,
    id: &ActionId,
    from: &[ActionStatus],
    to: ActionStatus,
    change: Change<'_>,
) -> Result<bool, StoreError> {
    let from_list = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let now = now_ms();
    let result = sqlx::query(&format!(
        "UPDATE actions SET status = $1, updated_at = $2, \
         text = COALESCE($3, text), last_error = COALESCE($4, last_error), \
         external_ref = COALESCE($5, external_ref), decided_by = COALESCE($6, decided_by), \
         attempts = attempts + $7, sent_at = CASE WHEN $8 = 1 THEN $2 ELSE sent_at END \
         WHERE id = $9 AND status IN ({from_list})"
    ))
    .bind(to.as_str())
    .bind(now)
    .bind(change.text)
    .bind(change.last_error)
    .bind(change.external_ref)
    .bind(change.decided_by)
    .bind(i64::from(change.count_attempt))
    .bind(i64::from(change.sent))
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The actions of several messages (a conversation), oldest first.
pub async fn for_messages(
    conn: &mut AnyConnection,
    message_ids: &[&str],
) -> Result<Vec<StoredAction>, StoreError> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=message_ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM actions WHERE message_id IN ({placeholders}) \
         ORDER BY created_at, id"
    );
    let mut query = sqlx::query(&sql);
    for id in message_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(action_from_row).collect()
}

/// True when no action the pipeline planned for the message can still
/// change on its own (what people do by hand does not hold its stage).
pub async fn all_settled(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<bool, StoreError> {
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM actions WHERE message_id = $1 AND requested_by IS NULL \
         AND status IN ('pending', 'held', 'approved', 'sending')",
    )
    .bind(message_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(open == 0)
}

pub async fn count_by_status(
    conn: &mut AnyConnection,
) -> Result<Vec<(ActionStatus, String, i64)>, StoreError> {
    let rows = sqlx::query("SELECT status, kind, COUNT(*) AS n FROM actions GROUP BY status, kind")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("status")?.parse()?,
                r.try_get("kind")?,
                r.try_get("n")?,
            ))
        })
        .collect()
}
