//! A person's corrections of the model's reading of a message: kept beside
//! the model's classification (never over it), the newest per message the
//! one shown and exported as a labelled example.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_ms, to_json, AnyConnection, StoreError};
use crate::domain::{Flag, Intent, MessageId, Sentiment};

/// What a person says the message is; `None` leaves the model's reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCorrection {
    pub intent: Option<Intent>,
    pub sentiment: Option<Sentiment>,
    pub flags: Option<Vec<Flag>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredCorrection {
    pub id: String,
    pub message_id: MessageId,
    pub intent: Option<Intent>,
    pub sentiment: Option<Sentiment>,
    pub flags: Option<Vec<Flag>>,
    pub corrected_by: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, message_id, intent, sentiment, flags, corrected_by, created_at";

fn from_row(row: &AnyRow) -> Result<StoredCorrection, StoreError> {
    let flags: Option<String> = row.try_get("flags")?;
    Ok(StoredCorrection {
        id: row.try_get("id")?,
        message_id: row.try_get::<String, _>("message_id")?.parse()?,
        intent: row
            .try_get::<Option<String>, _>("intent")?
            .map(|i| i.parse())
            .transpose()?,
        sentiment: row
            .try_get::<Option<String>, _>("sentiment")?
            .map(|s| s.parse())
            .transpose()?,
        flags: flags.map(|f| serde_json::from_str(&f)).transpose()?,
        corrected_by: row.try_get("corrected_by")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    message_id: &MessageId,
    correction: &NewCorrection,
    actor: &str,
) -> Result<StoredCorrection, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now_ms();
    sqlx::query(&format!(
        "INSERT INTO corrections ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&id)
    .bind(message_id.as_str())
    .bind(correction.intent.map(Intent::as_str))
    .bind(correction.sentiment.map(Sentiment::as_str))
    .bind(correction.flags.as_ref().map(to_json))
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(StoredCorrection {
        id,
        message_id: message_id.clone(),
        intent: correction.intent,
        sentiment: correction.sentiment,
        flags: correction.flags.clone(),
        corrected_by: actor.to_owned(),
        created_at: now,
    })
}

/// Every correction of a message, newest first.
pub async fn for_message(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<Vec<StoredCorrection>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM corrections WHERE message_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(message_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The reading a message's corrections add up to, from a list newest
/// first: each field as the newest correction that set it left it; who and
/// when are the newest's.
pub fn merged(newest_first: &[StoredCorrection]) -> Option<StoredCorrection> {
    let newest = newest_first.first()?;
    let mut out = newest.clone();
    for older in &newest_first[1..] {
        out.intent = out.intent.or(older.intent);
        out.sentiment = out.sentiment.or(older.sentiment);
        if out.flags.is_none() {
            out.flags = older.flags.clone();
        }
    }
    Some(out)
}

/// One labelled example: the message's words and what people say they
/// are, the model's reading standing in for what they left alone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabelledExample {
    pub text: String,
    pub lang: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub flags: Vec<String>,
    /// The fields a person set (the rest are the model's).
    pub corrected: Vec<&'static str>,
    pub message_id: String,
    pub platform: String,
    /// Who corrected it last, and when.
    pub corrected_by: String,
    pub corrected_at: i64,
}

/// Every corrected message as one labelled example, its corrections
/// merged ([`merged`]), in the order of their latest correction.
pub async fn export(conn: &mut AnyConnection) -> Result<Vec<LabelledExample>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM corrections ORDER BY message_id, created_at DESC, id DESC"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let all = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let mut examples = Vec::new();
    for group in all.chunk_by(|a, b| a.message_id == b.message_id) {
        let Some(reading) = merged(group) else {
            continue;
        };
        let message = super::messages::get(conn, &reading.message_id).await?;
        let model = super::messages::classification(conn, &reading.message_id).await?;
        let mut corrected = Vec::new();
        for (name, set) in [
            ("intent", reading.intent.is_some()),
            ("sentiment", reading.sentiment.is_some()),
            ("flags", reading.flags.is_some()),
        ] {
            if set {
                corrected.push(name);
            }
        }
        let flags = match (&reading.flags, &model) {
            (Some(flags), _) => flags.iter().map(|f| f.to_string()).collect(),
            (None, Some(m)) => m.flags.iter().map(|f| f.to_string()).collect(),
            (None, None) => Vec::new(),
        };
        examples.push(LabelledExample {
            text: message.text,
            lang: model
                .as_ref()
                .and_then(|m| m.lang)
                .map(|l| l.to_string())
                .or(message.lang),
            intent: reading
                .intent
                .map(|i| i.to_string())
                .or_else(|| model.as_ref().map(|m| m.intent.label.to_string())),
            sentiment: reading
                .sentiment
                .map(|s| s.to_string())
                .or_else(|| model.as_ref().map(|m| m.sentiment.label.to_string())),
            flags,
            corrected,
            message_id: reading.message_id.to_string(),
            platform: message.platform.to_string(),
            corrected_by: reading.corrected_by,
            corrected_at: reading.created_at,
        });
    }
    examples.sort_by(|a, b| (a.corrected_at, &a.message_id).cmp(&(b.corrected_at, &b.message_id)));
    Ok(examples)
}
