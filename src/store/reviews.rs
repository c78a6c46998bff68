//! Review items: held actions waiting for a person, and what they decided.

use serde::Serialize;
use sqlx::Row;

use super::{now_ms, AnyConnection, BindValue, Filtered, StoreError};
use crate::domain::{Flag, Intent, MessageId, Platform, ReviewStatus, Sentiment};

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
    pub author_handle: Option<String>,
    pub thread_id: Option<String>,
    pub received_at: i64,
    pub text: String,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub flags: Vec<String>,
    /// When the platform says the message was written, if it said.
    pub message_created_at: Option<i64>,
    /// A held item's rank in the queue (`urgent`, `risk`, `normal`), when
    /// its answer is due against `[sla]`, and whether that has passed; set
    /// on held items only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<crate::domain::Priority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
}

const COLUMNS: &str = "r.id, r.status, r.reasons, r.original_text, r.reviewer, r.note, r.created_at, \
     r.decided_at, a.id AS action_id, a.kind AS action_kind, a.status AS action_status, a.text AS draft, \
     m.id AS message_id, m.platform, m.kind AS message_kind, m.author_name, m.author_handle, \
     m.thread_id, m.received_at, m.text, c.intent, c.sentiment, c.flags, m.created_at AS message_created_at";

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
        author_handle: row.try_get("author_handle")?,
        thread_id: row.try_get("thread_id")?,
        received_at: row.try_get("received_at")?,
        text: row.try_get("text")?,
        intent: row.try_get("intent")?,
        sentiment: row.try_get("sentiment")?,
        flags: row
            .try_get::<Option<String>, _>("flags")?
            .map(|f| serde_json::from_str(&f))
            .transpose()?
            .unwrap_or_default(),
        message_created_at: row.try_get("message_created_at")?,
        priority: None,
        due_at: None,
        overdue: None,
    })
}

/// Which review items to list; every filter optional.
#[derive(Debug, Clone)]
pub struct ReviewFilter {
    pub status: ReviewStatus,
    pub platform: Option<Platform>,
    pub intent: Option<Intent>,
    pub sentiment: Option<Sentiment>,
    pub flag: Option<Flag>,
    /// Only items waiting at least this long (ms).
    pub min_age_ms: Option<i64>,
    /// Only items after this `(created_at, id)`, when paging.
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

impl ReviewFilter {
    pub fn new(status: ReviewStatus) -> Self {
        ReviewFilter {
            status,
            platform: None,
            intent: None,
            sentiment: None,
            flag: None,
            min_age_ms: None,
            after: None,
            limit: 50,
        }
    }
}

/// Review items, oldest first (the queue's order), or for decided items the
/// most recently decided first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &ReviewFilter,
) -> Result<Vec<ReviewItem>, StoreError> {
    list_up_to(conn, filter, filter.limit.clamp(1, 500), true).await
}

/// Every held item the filter matches, up to `max`, in no particular order
/// beyond the oldest first: the queue orders them by priority itself.
pub async fn held_unpaged(
    conn: &mut AnyConnection,
    filter: &ReviewFilter,
    max: u32,
) -> Result<Vec<ReviewItem>, StoreError> {
    let filter = ReviewFilter {
        status: ReviewStatus::Held,
        ..filter.clone()
    };
    list_up_to(conn, &filter, max, false).await
}

async fn list_up_to(
    conn: &mut AnyConnection,
    filter: &ReviewFilter,
    limit: u32,
    paged: bool,
) -> Result<Vec<ReviewItem>, StoreError> {
    let mut query = Filtered::new(format!("SELECT {COLUMNS} {FROM} WHERE 1 = 1"));
    query.and(
        "r.status = ?",
        BindValue::Text(filter.status.as_str().into()),
    );
    if let Some(platform) = &filter.platform {
        query.and("m.platform = ?", BindValue::Text(platform.as_str().into()));
    }
    if let Some(intent) = filter.intent {
        query.and("c.intent = ?", BindValue::Text(intent.as_str().into()));
    }
    if let Some(sentiment) = filter.sentiment {
        query.and(
            "c.sentiment = ?",
            BindValue::Text(sentiment.as_str().into()),
        );
    }
    if let Some(flag) = filter.flag {
        // Flags are a JSON array of names; a quoted name matches one element.
        let element = format!("%\"{}\"%", flag.as_str());
        query.and("c.flags LIKE ?", BindValue::Text(element));
    }
    if let Some(age) = filter.min_age_ms {
        query.and("r.created_at <= ?", BindValue::Int(now_ms() - age));
    }
    // The queue pages oldest first; decided items newest decision first.
    let held = filter.status == ReviewStatus::Held;
    let (at_column, order) = if held {
        ("r.created_at", "r.created_at, r.id")
    } else {
        ("r.decided_at", "r.decided_at DESC, r.id DESC")
    };
    if let Some((at, id)) = filter.after.as_ref().filter(|_| paged) {
        query.page_past(at_column, "r.id", *at, id, held);
    }
    let rows = query.finish(order, limit).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// The review items of one message, oldest first.
pub async fn for_message(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<Vec<ReviewItem>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE r.message_id = $1 ORDER BY r.created_at, r.id"
    ))
    .bind(message_id.as_str())
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
