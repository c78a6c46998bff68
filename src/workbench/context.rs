//! Ownership and context: a message's owner and labels, the team's
//! internal notes on it (never sent anywhere), and the brand's saved
//! replies, whose text may use the reply templates' variables.

use crate::app::Ctx;
use crate::domain::{Lang, MessageId};
use crate::draft::templates::check_saved_text;
use crate::store::context::{self, MessageContext, Note, SavedReply};
use crate::store::{audit, messages, StoreError};

use super::WorkbenchError;

/// Most labels a message carries.
pub const MAX_LABELS: usize = 20;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 40;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Longest saved reply's name and text, in characters.
pub const MAX_SAVED_NAME_CHARS: usize = 100;
pub const MAX_SAVED_TEXT_CHARS: usize = 5000;

/// A change to a message's owner or labels: `None` leaves it be;
/// `Some(None)` unassigns the owner.
#[derive(Debug, Clone, Default)]
pub struct ContextPatch {
    pub owner: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
}

/// Labels as stored: trimmed, lower-cased, each once, in the order given.
pub fn parse_labels(raw: &[String]) -> Result<Vec<String>, WorkbenchError> {
    let invalid = |why: String| WorkbenchError::Invalid("labels", why);
    let mut labels: Vec<String> = Vec::new();
    for label in raw {
        let label = label.trim().to_lowercase();
        let chars = label.chars().count();
        if chars == 0 || chars > MAX_LABEL_CHARS {
            return Err(invalid(format!(
                "a label has 1 to {MAX_LABEL_CHARS} characters; `{label}` has {chars}"
            )));
        }
        if label.chars().any(char::is_control) {
            return Err(invalid(
                "a label must not contain control characters".into(),
            ));
        }
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if labels.len() > MAX_LABELS {
        return Err(invalid(format!(
            "at most {MAX_LABELS} labels; {} given",
            labels.len()
        )));
    }
    Ok(labels)
}

fn message_id(id: &str) -> Result<MessageId, WorkbenchError> {
    id.parse()
        .map_err(|_| WorkbenchError::Store(StoreError::NotFound("message")))
}

/// Changes the owner and labels of a message, and audits who and when.
pub async fn set_context(
    ctx: &Ctx,
    id: &str,
    patch: &ContextPatch,
    actor: &str,
) -> Result<MessageContext, WorkbenchError> {
    let id = message_id(id)?;
    let labels = patch.labels.as_deref().map(parse_labels).transpose()?;
    let owner = match &patch.owner {
        Some(Some(owner)) if !owner.trim().is_empty() => Some(Some(owner.trim().to_owned())),
        Some(_) => Some(None),
        None => None,
    };
    let mut tx = ctx.db.begin_durable().await?;
    messages::get(&mut tx, &id).await?;
    if let Some(Some(owner)) = &owner {
        if !context::user_exists(&mut tx, owner).await? {
            return Err(WorkbenchError::Invalid(
                "owner",
                format!("no console user is named `{owner}`"),
            ));
        }
    }
    let before = context::get(&mut tx, &id).await?;
    let owner = owner.unwrap_or_else(|| before.owner.clone());
    let labels = labels.unwrap_or_else(|| before.labels.clone());
    let after = context::set(&mut tx, &id, owner.as_deref(), &labels, actor).await?;
    audit::record(
        &mut tx,
        actor,
        "message.context",
        Some(id.as_str()),
        &serde_json::json!({
            "owner": after.owner,
            "labels": after.labels,
            "owner_before": before.owner,
            "labels_before": before.labels,
        }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(after)
}

/// The note's text, checked: 1 to 2000 characters, no NUL.
pub fn parse_note(text: &str) -> Result<String, WorkbenchError> {
    let text = text.replace("\r\n", "\n").trim().to_owned();
    if text.is_empty() {
        return Err(WorkbenchError::Missing(
            "text",
            "a note needs its text".into(),
        ));
    }
    if text.contains('\0') {
        return Err(WorkbenchError::Invalid(
            "text",
            "text must not contain the NUL character (U+0000)".into(),
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(WorkbenchError::Invalid(
            "text",
            format!("a note has at most {MAX_NOTE_CHARS} characters; this one has {chars}"),
        ));
    }
    Ok(text)
}

/// Adds an internal note to a message: stored and audited, never sent.
pub async fn add_note(
    ctx: &Ctx,
    id: &str,
    text: &str,
    actor: &str,
) -> Result<Note, WorkbenchError> {
    let id = message_id(id)?;
    let text = parse_note(text)?;
    let mut tx = ctx.db.begin_durable().await?;
    messages::get(&mut tx, &id).await?;
    let note = context::add_note(&mut tx, &id, &text, actor).await?;
    audit::record(
        &mut tx,
        actor,
        "message.note",
        Some(id.as_str()),
        &serde_json::json!({ "note": note.id }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(note)
}

/// A saved reply as sent.
#[derive(Debug, Clone, Default)]
pub struct SavedReplyRequest {
    pub name: String,
    pub lang: String,
    pub text: String,
}

/// The request checked: a name, a language of replyd's, and a text that
/// renders with the templates' variables.
pub fn parse_saved_reply(
    request: &SavedReplyRequest,
) -> Result<(String, Lang, String), WorkbenchError> {
    let name = request.name.trim().to_owned();
    let name_chars = name.chars().count();
    if name_chars == 0 {
        return Err(WorkbenchError::Missing(
            "name",
            "a saved reply needs a name".into(),
        ));
    }
    if name_chars > MAX_SAVED_NAME_CHARS {
        return Err(WorkbenchError::Invalid(
            "name",
            format!("a name has at most {MAX_SAVED_NAME_CHARS} characters"),
        ));
    }
    let lang = request.lang.trim().parse::<Lang>().map_err(|_| {
        WorkbenchError::Invalid(
            "lang",
            format!(
                "unknown language `{}`, expected one of: nl, en, de, fr, es",
                request.lang
            ),
        )
    })?;
    let text = request.text.replace("\r\n", "\n").trim().to_owned();
    if text.is_empty() {
        return Err(WorkbenchError::Missing(
            "text",
            "a saved reply needs its text".into(),
        ));
    }
    if text.chars().count() > MAX_SAVED_TEXT_CHARS {
        return Err(WorkbenchError::Invalid(
            "text",
            format!("a saved reply has at most {MAX_SAVED_TEXT_CHARS} characters"),
        ));
    }
    for (field, value) in [("name", &name), ("text", &text)] {
        if value.contains('\0') {
            return Err(WorkbenchError::Invalid(
                field,
                format!("{field} must not contain the NUL character (U+0000)"),
            ));
        }
    }
    check_saved_text(&text).map_err(|why| WorkbenchError::Invalid("text", why))?;
    Ok((name, lang, text))
}

/// Creates (`id` None) or replaces a saved reply, and audits it.
pub async fn save_reply(
    ctx: &Ctx,
    id: Option<&str>,
    request: &SavedReplyRequest,
    actor: &str,
) -> Result<SavedReply, WorkbenchError> {
    let (name, lang, text) = parse_saved_reply(request)?;
    let mut tx = ctx.db.begin_durable().await?;
    let reply = match id {
        None => context::insert_saved_reply(&mut tx, &name, lang, &text, actor).await?,
        Some(id) => context::update_saved_reply(&mut tx, id, &name, lang, &text, actor).await?,
    };
    audit::record(
        &mut tx,
        actor,
        if id.is_none() {
            "saved_reply.create"
        } else {
            "saved_reply.update"
        },
        Some(&reply.id),
        &serde_json::json!({ "name": reply.name, "lang": reply.lang, "text": reply.text }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(reply)
}

pub async fn delete_reply(ctx: &Ctx, id: &str, actor: &str) -> Result<(), WorkbenchError> {
    let mut tx = ctx.db.begin_durable().await?;
    let reply = context::delete_saved_reply(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        "saved_reply.delete",
        Some(&reply.id),
        &serde_json::json!({ "name": reply.name, "lang": reply.lang }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_lower_cased_and_bounded() {
        let labels = parse_labels(&[" Urgent ".into(), "urgent".into(), "Billing".into()]).unwrap();
        assert_eq!(labels, vec!["urgent", "billing"]);
        assert!(parse_labels(&["  ".into()]).is_err());
        assert!(parse_labels(&["x".repeat(41)]).is_err());
        assert!(parse_labels(&["é".repeat(40)]).is_ok());
        let many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
        assert!(matches!(
            parse_labels(&many),
            Err(WorkbenchError::Invalid("labels", _))
        ));
        assert!(parse_labels(&many[..20]).is_ok());
    }

    #[test]
    fn a_note_has_one_to_two_thousand_characters() {
        assert!(matches!(
            parse_note("  "),
            Err(WorkbenchError::Missing("text", _))
        ));
        assert!(parse_note(&"a".repeat(2000)).is_ok());
        assert!(matches!(
            parse_note(&"a".repeat(2001)),
            Err(WorkbenchError::Invalid("text", _))
        ));
    }
}
