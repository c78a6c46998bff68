//! Review items: held actions waiting for a person, and what they decided.

use serde::Serialize;
use sqlx::Row;

use super::{now_ms, AnyConnection, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct ReviewItem {
    pub id: String,
    pub status: String,
    pub reasons: Vec<String>,
    pub original_text: Option<String>,
    pub reviewer: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub action_id: String,
    pub action_kind: String,
    pub action_status: String,
    pub draft: Option<String>,
    pub message_id: String,
    pub platform: String,
    pub message_kind: String,
    pub author_name: Option<String>,
    pub text: String,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
}

const COLUMNS: &str = "r.id, r.status, r.reasons, r.original_text, r.reviewer, r.note, r.created_at, \
     r.decided_at, a.id AS action_id, a.kind AS action_kind, a.status AS action_status, a.text AS draft, \
     m.id AS message_id, m.platform, m.kind AS message_kind, m.author_name, m.text, c.intent, c.sentiment";

const FROM: &str =
    "FROM reviews r JOIN actions a ON a.id = r.action_id JOIN messages m ON m.id = r.message_id \
     LEFT JOIN classifications c ON c.message_id = m.id";

fn from_row(row: &sqlx::any::AnyRow) -> Result<ReviewItem, StoreError> {
    Ok(ReviewItem {
        id: row.try_get("id")?,
        status: row.try_get("status")?,
        reasons: serde_json::from_str(&row.try_get::<String, _>("reasons")?)?,
        original_text: row.try_get("original_text")?,
        reviewer: row.try_get("reviewer")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
        action_id: row.try_get("action_id")?,
        action_kind: row.try_get("action_kind")?,
        action_status: row.try_get("action_status")?,
        draft: row.try_get("draft")?,
        message_id: row.try_get("message_id")?,
        platform: row.try_get("platform")?,
        message_kind: row.try_get("message_kind")?,
        author_name: row.try_get("author_name")?,
        text: row.try_get("text")?,
        intent: row.try_get("intent")?,
        sentiment: row.try_get("sentiment")?,
    })
}

/// Review items, oldest first (the queue's order), after `after` when paging.
pub async fn list(
    conn: &mut AnyConnection,
    status: &str,
    platform: Option<&str>,
    after: Option<(i64, String)>,
    limit: u32,
) -> Result<Vec<ReviewItem>, StoreError> {
    let (after_at, after_id) = after.unwrap_or((i64::MIN, String::new()));
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE r.status = $1 AND ($2 = '' OR m.platform = $2) \
         AND (r.created_at > $3 OR (r.created_at = $3 AND r.id > $4)) \
         ORDER BY r.created_at, r.id LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(status)
    .bind(platform.unwrap_or_default())
    .bind(after_at)
    .bind(after_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<ReviewItem, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} {FROM} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("review"))?;
    from_row(&row)
}

/// Closes a held review as `approved` or `rejected`; false if it was not held.
pub async fn close(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    reviewer: &str,
    note: Option<&str>,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE reviews SET status = $1, reviewer = $2, note = $3, decided_at = $4 \
         WHERE id = $5 AND status = 'held'",
    )
    .bind(status)
    .bind(reviewer)
    .bind(note)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
