//! Leads, the messages attached to them, and their hand-offs to sales.
//!
//! A lead's status only moves through compare-and-set updates, so the
//! pipeline and a person editing the lead cannot overwrite each other.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::messages::{message_from_row, StoredMessage, MESSAGE_COLUMNS};
use super::{now_ms, to_json, AnyConnection, BindValue, Filtered, StoreError};
use crate::domain::{HandoffStatus, Kind, Lang, LeadId, LeadStatus, MessageId, Platform};

/// A lead as detection creates it.
#[derive(Debug, Clone)]
pub struct NewLead<'a> {
    pub platform: &'a Platform,
    pub author_id: &'a str,
    pub author_name: Option<&'a str>,
    pub message_id: &'a MessageId,
    pub thread_id: Option<&'a str>,
    pub kind: Kind,
    pub lang: Option<Lang>,
    pub score: f64,
    pub reasons: &'a [String],
    pub status: LeadStatus,
    pub email: Option<&'a str>,
    pub website: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredLead {
    pub id: LeadId,
    pub platform: Platform,
    pub author_id: String,
    pub author_name: Option<String>,
    /// The message the lead was detected in.
    pub message_id: MessageId,
    /// The conversation: later messages of the author in it attach here.
    pub thread_id: Option<String>,
    pub kind: Option<Kind>,
    pub lang: Option<Lang>,
    pub score: f64,
    pub reasons: Vec<String>,
    pub status: LeadStatus,
    pub owner: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub handed_off_at: Option<i64>,
    /// Who the private reply that pre-qualified a comment's lead reached,
    /// by their messaging id: their DMs are the lead's conversation too.
    pub dm_author_id: Option<String>,
}

impl StoredLead {
    /// A DM from the person the lead's private reply reached: their answer
    /// to the pre-qualifying questions.
    pub fn answered_in_private(&self, message: &StoredMessage) -> bool {
        message.kind == Kind::Dm
            && message.platform == self.platform
            && self.dm_author_id.as_deref() == Some(message.author.id.as_str())
    }
}

const LEAD_COLUMNS: &str = "id, platform, author_id, author_name, message_id, thread_id, kind, \
     lang, score, reasons, status, owner, notes, email, website, created_at, updated_at, \
     handed_off_at, dm_author_id";

fn lead_from_row(row: &AnyRow) -> Result<StoredLead, StoreError> {
    Ok(StoredLead {
        id: row.try_get::<String, _>("id")?.parse()?,
        platform: row.try_get::<String, _>("platform")?.parse()?,
        author_id: row.try_get("author_id")?,
        author_name: row.try_get("author_name")?,
        message_id: row.try_get::<String, _>("message_id")?.parse()?,
        thread_id: row.try_get("thread_id")?,
        kind: row
            .try_get::<Option<String>, _>("kind")?
            .map(|k| k.parse())
            .transpose()?,
        lang: row
            .try_get::<Option<String>, _>("lang")?
            .map(|l| l.parse())
            .transpose()?,
        score: row.try_get("score")?,
        reasons: serde_json::from_str(&row.try_get::<String, _>("reasons")?)?,
        status: row.try_get::<String, _>("status")?.parse()?,
        owner: row.try_get("owner")?,
        notes: row.try_get("notes")?,
        email: row.try_get("email")?,
        website: row.try_get("website")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        handed_off_at: row.try_get("handed_off_at")?,
        dm_author_id: row.try_get("dm_author_id")?,
    })
}

fn open_key(platform: &Platform, author_id: &str) -> String {
    format!("{platform}:{author_id}")
}

/// The author's open lead on `platform` created at or after `since`, if any:
/// theirs, or one whose private reply reached them under this id (the
/// newer, should both exist).
pub async fn find_open(
    conn: &mut AnyConnection,
    platform: &Platform,
    author_id: &str,
    since: i64,
) -> Result<Option<StoredLead>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads \
         WHERE (open_key = $1 OR (platform = $2 AND dm_author_id = $3)) \
         AND open_key IS NOT NULL AND created_at >= $4 ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(open_key(platform, author_id))
    .bind(platform.as_str())
    .bind(author_id)
    .bind(since)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(lead_from_row).transpose()
}

/// Creates a lead as the author's open one, with its message attached. An
/// open lead of the author older than `since` stops being the open one (it
/// keeps its status for sales). Two racing inserts for one author conflict on
/// the unique `open_key`: the loser's transaction fails and is retried.
pub async fn insert(
    conn: &mut AnyConnection,
    lead: &NewLead<'_>,
    since: i64,
) -> Result<LeadId, StoreError> {
    let id = LeadId::new();
    let now = now_ms();
    let key = open_key(lead.platform, lead.author_id);
    sqlx::query("UPDATE leads SET open_key = NULL WHERE open_key = $1 AND created_at < $2")
        .bind(&key)
        .bind(since)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO leads (id, platform, author_id, author_name, message_id, thread_id, kind, lang, \
         score, reasons, status, email, website, open_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(id.as_str())
    .bind(lead.platform.as_str())
    .bind(lead.author_id)
    .bind(lead.author_name)
    .bind(lead.message_id.as_str())
    .bind(lead.thread_id)
    .bind(lead.kind.as_str())
    .bind(lead.lang.map(Lang::as_str))
    .bind(lead.score)
    .bind(to_json(&lead.reasons))
    .bind(lead.status.as_str())
    .bind(lead.email)
    .bind(lead.website)
    .bind(key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    attach(conn, &id, lead.message_id).await?;
    Ok(id)
}

/// Records who the private reply pre-qualifying the lead found in
/// `message_id` reached (`recipient`, their messaging id), while the lead is
/// still open.
pub async fn reached_in_private(
    conn: &mut AnyConnection,
    message_id: &MessageId,
    recipient: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE leads SET dm_author_id = $1 WHERE message_id = $2 AND open_key IS NOT NULL",
    )
    .bind(recipient)
    .bind(message_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a message to a lead; attaching twice is a no-op.
pub async fn attach(
    conn: &mut AnyConnection,
    lead_id: &LeadId,
    message_id: &MessageId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO lead_messages (lead_id, message_id, attached_at) VALUES ($1, $2, $3) \
         ON CONFLICT (lead_id, message_id) DO NOTHING",
    )
    .bind(lead_id.as_str())
    .bind(message_id.as_str())
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Fills in contact details the lead does not have yet; never overwrites.
pub async fn add_contact(
    conn: &mut AnyConnection,
    id: &LeadId,
    email: Option<&str>,
    website: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE leads SET email = COALESCE(email, $1), website = COALESCE(website, $2), \
         updated_at = $3 WHERE id = $4",
    )
    .bind(email)
    .bind(website)
    .bind(now_ms())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Holds the lead's row until the transaction ends (PostgreSQL; SQLite's
/// single writer already serialises), so decisions that look at all of a
/// lead's deliveries run one after the other.
pub async fn lock(conn: &mut AnyConnection, id: &LeadId) -> Result<(), StoreError> {
    super::lock_row(conn, "leads", id.as_str()).await
}

/// Moves a lead to `to` if it is in one of `from`; returns whether it moved.
/// A lead that is won or lost stops being its author's open lead.
pub async fn transition(
    conn: &mut AnyConnection,
    id: &LeadId,
    from: &[LeadStatus],
    to: LeadStatus,
) -> Result<bool, StoreError> {
    let from_list = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let now = now_ms();
    let result = sqlx::query(&format!(
        "UPDATE leads SET status = $1, updated_at = $2, \
         open_key = CASE WHEN $3 = 1 THEN open_key ELSE NULL END, \
         handed_off_at = CASE WHEN $1 = 'handed_off' THEN $2 ELSE handed_off_at END \
         WHERE id = $4 AND status IN ({from_list})"
    ))
    .bind(to.as_str())
    .bind(now)
    .bind(i64::from(to.is_open()))
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets what a person may edit besides the status; `None` leaves a field be,
/// `Some(None)` clears it.
pub async fn set_owner_and_notes(
    conn: &mut AnyConnection,
    id: &LeadId,
    owner: Option<Option<&str>>,
    notes: Option<Option<&str>>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE leads SET owner = CASE WHEN $1 = 1 THEN $2 ELSE owner END, \
         notes = CASE WHEN $3 = 1 THEN $4 ELSE notes END, updated_at = $5 WHERE id = $6",
    )
    .bind(i64::from(owner.is_some()))
    .bind(owner.flatten())
    .bind(i64::from(notes.is_some()))
    .bind(notes.flatten())
    .bind(now_ms())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &LeadId) -> Result<StoredLead, StoreError> {
    let row = sqlx::query(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("lead"))?;
    lead_from_row(&row)
}

/// The lead a message is attached to, if any.
pub async fn for_message(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<Option<StoredLead>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE id IN \
         (SELECT lead_id FROM lead_messages WHERE message_id = $1)"
    ))
    .bind(message_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(lead_from_row).transpose()
}

/// The lead's messages, oldest first.
pub async fn messages(
    conn: &mut AnyConnection,
    id: &LeadId,
) -> Result<Vec<StoredMessage>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN lead_messages lm ON lm.message_id = m.id \
         WHERE lm.lead_id = $1 ORDER BY m.received_at, m.id"
    ))
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(message_from_row).collect()
}

/// Filters of the lead list; every field optional.
#[derive(Debug, Default, Clone)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub platform: Option<Platform>,
    pub min_score: Option<f64>,
    /// Created at or after (ms).
    pub since: Option<i64>,
    /// Created before (ms).
    pub until: Option<i64>,
    /// Only leads created before this `(created_at, id)`, newest first.
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

/// Newest first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &LeadFilter,
) -> Result<Vec<StoredLead>, StoreError> {
    let mut query = Filtered::new(format!("SELECT {LEAD_COLUMNS} FROM leads WHERE 1 = 1"));
    if let Some(status) = filter.status {
        query.and("status = ?", BindValue::Text(status.as_str().into()));
    }
    if let Some(platform) = &filter.platform {
        query.and("platform = ?", BindValue::Text(platform.as_str().into()));
    }
    if let Some(min) = filter.min_score {
        query.and("score >= ?", BindValue::Float(min));
    }
    if let Some(since) = filter.since {
        query.and("created_at >= ?", BindValue::Int(since));
    }
    if let Some(until) = filter.until {
        query.and("created_at < ?", BindValue::Int(until));
    }
    if let Some((at, id)) = &filter.before {
        query.page_past("created_at", "id", *at, id, false);
    }
    let rows = query
        .finish("created_at DESC, id DESC", filter.limit.max(1))
        .fetch_all(conn)
        .await?;
    rows.iter().map(lead_from_row).collect()
}

// ---------------------------------------------------------------- hand-offs

#[derive(Debug, Clone, Serialize)]
pub struct LeadDelivery {
    /// Sent as `X-Replyd-Delivery`; the same on every retry.
    pub id: String,
    pub lead_id: LeadId,
    pub url: String,
    pub status: HandoffStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    /// What the delivery tells (`lead.qualified` is the hand-off).
    pub event: String,
}

fn delivery_from_row(row: &AnyRow) -> Result<LeadDelivery, StoreError> {
    Ok(LeadDelivery {
        id: row.try_get("id")?,
        lead_id: row.try_get::<String, _>("lead_id")?.parse()?,
        url: row.try_get("url")?,
        status: row.try_get::<String, _>("status")?.parse()?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
        event: row.try_get("event")?,
    })
}

const DELIVERY_COLUMNS: &str =
    "id, lead_id, url, status, attempts, last_error, created_at, delivered_at, event";

/// Records a pending delivery of `event` about the lead to `url`; returns
/// the delivery id.
pub async fn insert_delivery(
    conn: &mut AnyConnection,
    lead_id: &LeadId,
    url: &str,
    event: &str,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO lead_deliveries (id, lead_id, url, status, created_at, event) VALUES ($1, $2, $3, 'pending', $4, $5)",
    )
    .bind(&id)
    .bind(lead_id.as_str())
    .bind(url)
    .bind(now_ms())
    .bind(event)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn delivery(conn: &mut AnyConnection, id: &str) -> Result<LeadDelivery, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM lead_deliveries WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("lead delivery"))?;
    delivery_from_row(&row)
}

pub async fn deliveries(
    conn: &mut AnyConnection,
    lead_id: &LeadId,
) -> Result<Vec<LeadDelivery>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM lead_deliveries WHERE lead_id = $1 ORDER BY created_at, id"
    ))
    .bind(lead_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(delivery_from_row).collect()
}

/// Records one attempt's outcome. Only a pending delivery changes.
pub async fn record_attempt(
    conn: &mut AnyConnection,
    id: &str,
    status: HandoffStatus,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE lead_deliveries SET status = $1, attempts = attempts + 1, \
         last_error = COALESCE($2, last_error), \
         delivered_at = CASE WHEN $1 = 'delivered' THEN $3 ELSE delivered_at END \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks a pending delivery failed without counting an attempt (after the
/// last retry was already counted).
pub async fn fail_delivery(
    conn: &mut AnyConnection,
    id: &str,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE lead_deliveries SET status = 'failed', last_error = $1 WHERE id = $2 AND status = 'pending'",
    )
    .bind(error)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether every hand-off (`lead.qualified` delivery) of the lead reached
/// its destination; the other events' deliveries do not hold it back.
pub async fn all_delivered(conn: &mut AnyConnection, lead_id: &LeadId) -> Result<bool, StoreError> {
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM lead_deliveries WHERE lead_id = $1 AND event = 'lead.qualified' AND status <> 'delivered'",
    )
    .bind(lead_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(open == 0)
}
