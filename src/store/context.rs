//! Ownership and context of a message (owner, labels, internal notes) and
//! the brand's saved replies.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_ms, to_json, AnyConnection, StoreError};
use crate::domain::{Lang, MessageId};

/// Who owns a message and its labels, with who last changed them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MessageContext {
    pub owner: Option<String>,
    pub labels: Vec<String>,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

/// The owner and labels of a message (none when never set).
pub async fn get(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<MessageContext, StoreError> {
    let row = sqlx::query(
        "SELECT owner, labels, updated_by, updated_at FROM message_context WHERE message_id = $1",
    )
    .bind(message_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(MessageContext::default());
    };
    let labels: String = row.try_get("labels")?;
    Ok(MessageContext {
        owner: row.try_get("owner")?,
        labels: serde_json::from_str(&labels)?,
        updated_by: row.try_get("updated_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Sets the owner and labels of a message as a whole.
pub async fn set(
    conn: &mut AnyConnection,
    message_id: &MessageId,
    owner: Option<&str>,
    labels: &[String],
    actor: &str,
) -> Result<MessageContext, StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO message_context (message_id, owner, labels, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (message_id) DO UPDATE SET owner = excluded.owner, \
         labels = excluded.labels, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(message_id.as_str())
    .bind(owner)
    .bind(to_json(&labels))
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM message_labels WHERE message_id = $1")
        .bind(message_id.as_str())
        .execute(&mut *conn)
        .await?;
    for label in labels {
        sqlx::query("INSERT INTO message_labels (message_id, label) VALUES ($1, $2)")
            .bind(message_id.as_str())
            .bind(label)
            .execute(&mut *conn)
            .await?;
    }
    Ok(MessageContext {
        owner: owner.map(str::to_owned),
        labels: labels.to_vec(),
        updated_by: Some(actor.to_owned()),
        updated_at: Some(now),
    })
}

/// Whether a live API token (a console user) has this name.
pub async fn user_exists(conn: &mut AnyConnection, name: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens WHERE name = $1 AND revoked_at IS NULL",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// An internal note on a message: the team's, never sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Note {
    pub id: String,
    pub message_id: MessageId,
    pub text: String,
    pub author: String,
    pub created_at: i64,
}

pub async fn add_note(
    conn: &mut AnyConnection,
    message_id: &MessageId,
    text: &str,
    actor: &str,
) -> Result<Note, StoreError> {
    let note = Note {
        id: uuid::Uuid::now_v7().to_string(),
        message_id: message_id.clone(),
        text: text.to_owned(),
        author: actor.to_owned(),
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO message_notes (id, message_id, text, author, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&note.id)
    .bind(message_id.as_str())
    .bind(&note.text)
    .bind(&note.author)
    .bind(note.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(note)
}

/// A message's notes, oldest first.
pub async fn notes(
    conn: &mut AnyConnection,
    message_id: &MessageId,
) -> Result<Vec<Note>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, message_id, text, author, created_at FROM message_notes \
         WHERE message_id = $1 ORDER BY created_at, id",
    )
    .bind(message_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Note {
                id: r.try_get("id")?,
                message_id: r.try_get::<String, _>("message_id")?.parse()?,
                text: r.try_get("text")?,
                author: r.try_get("author")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// A reply a person picks from and edits.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SavedReply {
    pub id: String,
    pub name: String,
    pub lang: Lang,
    pub text: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

const SAVED_COLUMNS: &str = "id, name, lang, text, created_by, created_at, updated_by, updated_at";

fn saved_from_row(r: &AnyRow) -> Result<SavedReply, StoreError> {
    Ok(SavedReply {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        lang: r.try_get::<String, _>("lang")?.parse()?,
        text: r.try_get("text")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Saved replies by language and name; only `lang`'s when given.
pub async fn saved_replies(
    conn: &mut AnyConnection,
    lang: Option<Lang>,
) -> Result<Vec<SavedReply>, StoreError> {
    let rows = match lang {
        Some(lang) => {
            sqlx::query(&format!(
                "SELECT {SAVED_COLUMNS} FROM saved_replies WHERE lang = $1 ORDER BY name, id"
            ))
            .bind(lang.as_str())
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {SAVED_COLUMNS} FROM saved_replies ORDER BY lang, name, id"
            ))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter().map(saved_from_row).collect()
}

pub async fn saved_reply(conn: &mut AnyConnection, id: &str) -> Result<SavedReply, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SAVED_COLUMNS} FROM saved_replies WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("saved reply"))?;
    saved_from_row(&row)
}

/// Refuses a name another saved reply of the language has.
async fn name_free(
    conn: &mut AnyConnection,
    name: &str,
    lang: Lang,
    except: Option<&str>,
) -> Result<(), StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM saved_replies WHERE lang = $1 AND name = $2 AND id <> $3",
    )
    .bind(lang.as_str())
    .bind(name)
    .bind(except.unwrap_or(""))
    .fetch_one(&mut *conn)
    .await?;
    if n > 0 {
        return Err(StoreError::Conflict(format!(
            "a saved reply in `{lang}` is already named `{name}`"
        )));
    }
    Ok(())
}

pub async fn insert_saved_reply(
    conn: &mut AnyConnection,
    name: &str,
    lang: Lang,
    text: &str,
    actor: &str,
) -> Result<SavedReply, StoreError> {
    name_free(conn, name, lang, None).await?;
    let now = now_ms();
    let reply = SavedReply {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        lang,
        text: text.to_owned(),
        created_by: actor.to_owned(),
        created_at: now,
        updated_by: actor.to_owned(),
        updated_at: now,
    };
    sqlx::query(&format!(
        "INSERT INTO saved_replies ({SAVED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&reply.id)
    .bind(&reply.name)
    .bind(lang.as_str())
    .bind(&reply.text)
    .bind(actor)
    .bind(now)
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(reply)
}

pub async fn update_saved_reply(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    lang: Lang,
    text: &str,
    actor: &str,
) -> Result<SavedReply, StoreError> {
    saved_reply(conn, id).await?;
    name_free(conn, name, lang, Some(id)).await?;
    sqlx::query(
        "UPDATE saved_replies SET name = $1, lang = $2, text = $3, updated_by = $4, \
         updated_at = $5 WHERE id = $6",
    )
    .bind(name)
    .bind(lang.as_str())
    .bind(text)
    .bind(actor)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    saved_reply(conn, id).await
}

pub async fn delete_saved_reply(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<SavedReply, StoreError> {
    let reply = saved_reply(conn, id).await?;
    sqlx::query("DELETE FROM saved_replies WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(reply)
}
