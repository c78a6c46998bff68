//! Messages, their classification and the decision taken on them.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_ms, to_json, AnyConnection, BindValue, Filtered, StoreError};
use crate::domain::{Classification, Kind, MessageId, Platform, Stage};
use crate::text::normalize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Author {
    pub id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
}

/// A message as it arrives, already validated by its ingestion route.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub platform: Platform,
    pub kind: Kind,
    pub external_id: String,
    pub thread_id: Option<String>,
    pub parent_id: Option<String>,
    /// The Meta page or Instagram account the message was addressed to.
    pub page_id: Option<String>,
    pub author: Author,
    pub text: String,
    /// The language tag the source gave, if any (not necessarily one replyd writes).
    pub lang: Option<String>,
    pub url: Option<String>,
    pub meta: serde_json::Value,
    pub created_at: Option<i64>,
    /// Which route accepted it: `api` or `meta`.
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredMessage {
    pub id: MessageId,
    pub platform: Platform,
    pub kind: Kind,
    pub external_id: String,
    pub thread_id: Option<String>,
    pub parent_id: Option<String>,
    pub page_id: Option<String>,
    pub author: Author,
    pub text: String,
    pub lang: Option<String>,
    pub url: Option<String>,
    pub meta: serde_json::Value,
    pub source: String,
    pub created_at: Option<i64>,
    pub received_at: i64,
    pub stage: Stage,
    pub stage_at: i64,
}

pub(super) const MESSAGE_COLUMNS: &str =
    "m.id, m.platform, m.kind, m.external_id, m.thread_id, m.parent_id, m.page_id, \
     m.author_id, m.author_name, m.author_handle, m.text, m.lang, m.url, m.meta, m.source, \
     m.created_at, m.received_at, m.stage, m.stage_at";

pub(super) fn message_from_row(row: &AnyRow) -> Result<StoredMessage, StoreError> {
    Ok(StoredMessage {
        id: row.try_get::<String, _>("id")?.parse()?,
        platform: row.try_get::<String, _>("platform")?.parse()?,
        kind: row.try_get::<String, _>("kind")?.parse()?,
        external_id: row.try_get("external_id")?,
        thread_id: row.try_get("thread_id")?,
        parent_id: row.try_get("parent_id")?,
        page_id: row.try_get("page_id")?,
        author: Author {
            id: row.try_get("author_id")?,
            name: row.try_get("author_name")?,
            handle: row.try_get("author_handle")?,
        },
        text: row.try_get("text")?,
        lang: row.try_get("lang")?,
        url: row.try_get("url")?,
        meta: serde_json::from_str(&row.try_get::<String, _>("meta")?)?,
        source: row.try_get("source")?,
        created_at: row.try_get("created_at")?,
        received_at: row.try_get("received_at")?,
        stage: row.try_get::<String, _>("stage")?.parse()?,
        stage_at: row.try_get("stage_at")?,
    })
}

/// The form inbox search compares: folded as the rules read text, so case,
/// accents and invisible characters never hide a match, on either backend.
fn searchable(text: &str) -> String {
    nul_free(&normalize(text))
}

/// `text` matched as itself inside a `LIKE … ESCAPE '\'` pattern: a `%`
/// or `_` someone searches for is a character, not a wildcard.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Folds the search text of messages stored before `search_text` existed,
/// a batch at a time; returns how many. Runs at start, after the
/// migrations.
pub async fn fold_unsearchable(conn: &mut AnyConnection) -> Result<u64, StoreError> {
    let mut folded = 0;
    loop {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, text FROM messages WHERE search_text IS NULL LIMIT 500")
                .fetch_all(&mut *conn)
                .await?;
        if rows.is_empty() {
            return Ok(folded);
        }
        for (id, text) in rows {
            sqlx::query("UPDATE messages SET search_text = $1 WHERE id = $2")
                .bind(searchable(&text))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            folded += 1;
        }
    }
}

/// Stores a message unless `(platform, external_id)` is already stored.
/// Returns its id and whether it was a duplicate.
pub async fn insert(
    conn: &mut AnyConnection,
    msg: &NewMessage,
) -> Result<(MessageId, bool), StoreError> {
    let id = MessageId::new();
    let now = now_ms();
    let (_, external_id) = key(msg);
    let optional = |field: &Option<String>| field.as_deref().map(nul_free);
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO messages (id, platform, kind, external_id, thread_id, parent_id, page_id, \
         author_id, author_name, author_handle, text, lang, url, meta, source, created_at, \
         received_at, stage, stage_at, search_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $17, $19) \
         ON CONFLICT (platform, external_id) DO NOTHING RETURNING id",
    )
    .bind(id.as_str())
    .bind(msg.platform.as_str())
    .bind(msg.kind.as_str())
    .bind(&external_id)
    .bind(optional(&msg.thread_id))
    .bind(optional(&msg.parent_id))
    .bind(optional(&msg.page_id))
    .bind(nul_free(&msg.author.id))
    .bind(optional(&msg.author.name))
    .bind(optional(&msg.author.handle))
    .bind(nul_free(&msg.text))
    .bind(optional(&msg.lang))
    .bind(optional(&msg.url))
    .bind(to_json(&msg.meta))
    .bind(msg.source)
    .bind(msg.created_at)
    .bind(now)
    .bind(Stage::Received.as_str())
    .bind(searchable(&msg.text))
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_some() {
        return Ok((id, false));
    }
    let existing: String =
        sqlx::query_scalar("SELECT id FROM messages WHERE platform = $1 AND external_id = $2")
            .bind(msg.platform.as_str())
            .bind(&external_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok((existing.parse()?, true))
}

/// The `(platform, external_id)` a message is stored and recognised under.
pub fn key(msg: &NewMessage) -> (&str, String) {
    (msg.platform.as_str(), nul_free(&msg.external_id))
}

/// The text without U+0000. PostgreSQL's text cannot hold it (SQLite's
/// can): one NUL would fail its whole batch there, and the source would
/// resend the batch to the same failure forever. It carries nothing a
/// reader needs, so both backends store the text without it.
fn nul_free(text: &str) -> String {
    text.replace('\0', "")
}

pub async fn get(conn: &mut AnyConnection, id: &MessageId) -> Result<StoredMessage, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("message"))?;
    message_from_row(&row)
}

/// Holds the message's row until the transaction ends, so transactions that
/// look at all of a message's actions and then change the message run one
/// after the other. Without it, on PostgreSQL two actions of one message
/// finishing at once each see the other still open, and neither marks the
/// message done. SQLite's single writer already runs them one at a time.
pub async fn lock(conn: &mut AnyConnection, id: &MessageId) -> Result<(), StoreError> {
    super::lock_row(conn, "messages", id.as_str()).await
}

pub async fn set_stage(
    conn: &mut AnyConnection,
    id: &MessageId,
    stage: Stage,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE messages SET stage = $1, stage_at = $2 WHERE id = $3")
        .bind(stage.as_str())
        .bind(now_ms())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves a message from one stage to the next; false if it was not in `from`.
pub async fn advance_stage(
    conn: &mut AnyConnection,
    id: &MessageId,
    from: Stage,
    to: Stage,
) -> Result<bool, StoreError> {
    let result =
        sqlx::query("UPDATE messages SET stage = $1, stage_at = $2 WHERE id = $3 AND stage = $4")
            .bind(to.as_str())
            .bind(now_ms())
            .bind(id.as_str())
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// True when the author has no earlier message on the message's platform.
pub async fn is_first_contact(
    conn: &mut AnyConnection,
    msg: &StoredMessage,
) -> Result<bool, StoreError> {
    let earlier: Option<String> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE platform = $1 AND author_id = $2 AND received_at < $3 LIMIT 1",
    )
    .bind(msg.platform.as_str())
    .bind(&msg.author.id)
    .bind(msg.received_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(earlier.is_none())
}

pub async fn save_classification(
    conn: &mut AnyConnection,
    id: &MessageId,
    classification: &Classification,
    duration_ms: f64,
) -> Result<(), StoreError> {
    let flags: Vec<&str> = classification.flags.iter().map(|f| f.as_str()).collect();
    sqlx::query(
        "INSERT INTO classifications (message_id, intent, sentiment, confidence, flags, data, classifier, duration_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(classification.intent.label.as_str())
    .bind(classification.sentiment.label.as_str())
    .bind(f64::from(classification.intent.confidence()))
    .bind(to_json(&flags))
    .bind(to_json(classification))
    .bind(&classification.classifier)
    .bind(duration_ms)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn classification(
    conn: &mut AnyConnection,
    id: &MessageId,
) -> Result<Option<Classification>, StoreError> {
    let data: Option<String> =
        sqlx::query_scalar("SELECT data FROM classifications WHERE message_id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StoredDecision {
    pub summary: String,
    pub reasons: Vec<String>,
    pub created_at: i64,
}

pub async fn save_decision(
    conn: &mut AnyConnection,
    id: &MessageId,
    summary: &str,
    reasons: &[String],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO decisions (message_id, summary, reasons, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_str())
    .bind(summary)
    .bind(to_json(&reasons))
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn decision(
    conn: &mut AnyConnection,
    id: &MessageId,
) -> Result<Option<StoredDecision>, StoreError> {
    let row =
        sqlx::query("SELECT summary, reasons, created_at FROM decisions WHERE message_id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|row| {
        Ok(StoredDecision {
            summary: row.try_get("summary")?,
            reasons: serde_json::from_str(&row.try_get::<String, _>("reasons")?)?,
            created_at: row.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Filters of the message list; every field optional.
#[derive(Debug, Default, Clone)]
pub struct MessageFilter {
    pub stage: Option<Stage>,
    pub platform: Option<Platform>,
    pub intent: Option<crate::domain::Intent>,
    pub search: Option<String>,
    /// Only messages carrying this label.
    pub label: Option<String>,
    /// Only messages this person owns.
    pub owner: Option<String>,
    /// Only messages received before this `(received_at, id)`, newest first.
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageSummary {
    #[serde(flatten)]
    pub message: StoredMessage,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub flags: Vec<String>,
    /// Who owns the message (a console user), if anyone.
    pub owner: Option<String>,
    pub labels: Vec<String>,
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &MessageFilter,
) -> Result<Vec<MessageSummary>, StoreError> {
    let mut query = Filtered::new(format!(
        "SELECT {MESSAGE_COLUMNS}, c.intent, c.sentiment, c.flags, \
         mc.owner AS context_owner, mc.labels AS context_labels FROM messages m \
         LEFT JOIN classifications c ON c.message_id = m.id \
         LEFT JOIN message_context mc ON mc.message_id = m.id WHERE 1 = 1"
    ));
    if let Some(stage) = filter.stage {
        query.and("m.stage = ?", BindValue::Text(stage.as_str().into()));
    }
    if let Some(platform) = &filter.platform {
        query.and("m.platform = ?", BindValue::Text(platform.as_str().into()));
    }
    if let Some(intent) = filter.intent {
        query.and("c.intent = ?", BindValue::Text(intent.as_str().into()));
    }
    if let Some(search) = &filter.search {
        query.and(
            "m.search_text LIKE ? ESCAPE '\\'",
            BindValue::Text(format!("%{}%", like_literal(&searchable(search)))),
        );
    }
    if let Some(label) = &filter.label {
        query.and(
            "EXISTS (SELECT 1 FROM message_labels l WHERE l.message_id = m.id AND l.label = ?)",
            BindValue::Text(label.clone()),
        );
    }
    if let Some(owner) = &filter.owner {
        query.and("mc.owner = ?", BindValue::Text(owner.clone()));
    }
    if let Some((at, id)) = &filter.before {
        query.page_past("m.received_at", "m.id", *at, id, false);
    }
    let rows = query
        .finish("m.received_at DESC, m.id DESC", filter.limit.clamp(1, 500))
        .fetch_all(conn)
        .await?;
    rows.iter().map(summary_from_row).collect()
}

/// A listed message with its reading and its owner and labels.
fn summary_from_row(row: &AnyRow) -> Result<MessageSummary, StoreError> {
    let flags: Option<String> = row.try_get("flags")?;
    Ok(MessageSummary {
        message: message_from_row(row)?,
        intent: row.try_get("intent")?,
        sentiment: row.try_get("sentiment")?,
        flags: flags
            .map(|f| serde_json::from_str(&f))
            .transpose()?
            .unwrap_or_default(),
        owner: row.try_get("context_owner")?,
        labels: context_labels(row)?,
    })
}

fn context_labels(row: &sqlx::any::AnyRow) -> Result<Vec<String>, StoreError> {
    Ok(row
        .try_get::<Option<String>, _>("context_labels")?
        .map(|l| serde_json::from_str(&l))
        .transpose()?
        .unwrap_or_default())
}

/// Counts of messages per stage, for readiness and metrics.
pub async fn stage_counts(conn: &mut AnyConnection) -> Result<Vec<(Stage, i64)>, StoreError> {
    let rows = sqlx::query("SELECT stage, COUNT(*) AS n FROM messages GROUP BY stage")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("stage")?.parse()?, r.try_get("n")?)))
        .collect()
}

/// Age in milliseconds of the oldest message not yet decided on: the lag.
pub async fn oldest_undecided_ms(conn: &mut AnyConnection) -> Result<Option<i64>, StoreError> {
    let oldest: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(received_at) FROM messages WHERE stage IN ('received', 'classified')",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(oldest.map(|t| now_ms() - t))
}

/// Up to `limit` messages received before `before` in the same conversation,
/// oldest first: the context a reviewer reads a message in.
pub async fn thread_context(
    conn: &mut AnyConnection,
    platform: &str,
    thread_id: &str,
    before: i64,
    limit: u32,
) -> Result<Vec<StoredMessage>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.platform = $1 AND m.thread_id = $2 \
         AND m.received_at < $3 ORDER BY m.received_at DESC, m.id DESC LIMIT {}",
        limit.clamp(1, 50)
    ))
    .bind(platform)
    .bind(thread_id)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    oldest_first(&rows)
}

/// When the message was classified, if it was.
pub async fn classified_at(
    conn: &mut AnyConnection,
    id: &MessageId,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT created_at FROM classifications WHERE message_id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The author's messages on `platform`, in the thread `thread_id` when one
/// is given, oldest first, at most `limit` (the newest of them): one
/// customer's side of a conversation.
pub async fn conversation(
    conn: &mut AnyConnection,
    platform: &Platform,
    author_id: &str,
    thread_id: Option<&str>,
    limit: u32,
) -> Result<Vec<StoredMessage>, StoreError> {
    let mut query = Filtered::new(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE 1 = 1"
    ));
    query.and("m.platform = ?", BindValue::Text(platform.as_str().into()));
    query.and("m.author_id = ?", BindValue::Text(author_id.into()));
    if let Some(thread) = thread_id {
        query.and("m.thread_id = ?", BindValue::Text(thread.into()));
    }
    let rows = query
        .finish("m.received_at DESC, m.id DESC", limit.clamp(1, 500))
        .fetch_all(conn)
        .await?;
    oldest_first(&rows)
}

/// Rows fetched newest first (so that a limit keeps the newest), in the
/// order they were written.
fn oldest_first(rows: &[AnyRow]) -> Result<Vec<StoredMessage>, StoreError> {
    let mut messages = rows
        .iter()
        .map(message_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    messages.reverse();
    Ok(messages)
}

/// One of an author's messages with what replyd made of it.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorMessage {
    #[serde(flatten)]
    pub summary: MessageSummary,
    /// The decision's summary, once decided.
    pub decision: Option<String>,
}

/// The author's messages on `platform`, newest first, at most `limit`.
pub async fn by_author(
    conn: &mut AnyConnection,
    platform: &Platform,
    author_id: &str,
    limit: u32,
) -> Result<Vec<AuthorMessage>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS}, c.intent, c.sentiment, c.flags, d.summary, \
         mc.owner AS context_owner, mc.labels AS context_labels FROM messages m \
         LEFT JOIN classifications c ON c.message_id = m.id \
         LEFT JOIN decisions d ON d.message_id = m.id \
         LEFT JOIN message_context mc ON mc.message_id = m.id \
         WHERE m.platform = $1 AND m.author_id = $2 \
         ORDER BY m.received_at DESC, m.id DESC LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(platform.as_str())
    .bind(author_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuthorMessage {
                summary: summary_from_row(row)?,
                decision: row.try_get("summary")?,
            })
        })
        .collect()
}

/// How many messages the author wrote on `platform`.
pub async fn count_by_author(
    conn: &mut AnyConnection,
    platform: &Platform,
    author_id: &str,
) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE platform = $1 AND author_id = $2")
            .bind(platform.as_str())
            .bind(author_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}
