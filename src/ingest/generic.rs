//! The generic JSON messages any source can push (`POST /v1/messages`):
//! parsed and checked here, before [`super::accept`] stores them.

use serde::Deserialize;

use super::Refused;
use crate::config::Config;
use crate::domain::{Kind, Platform};
use crate::store::messages::{Author, NewMessage};

pub const MAX_BATCH: usize = 1000;
pub const MAX_TEXT_CHARS: usize = 10_000;
const MAX_ID_CHARS: usize = 256;
/// An author's display name or handle: platforms allow far less.
const MAX_NAME_CHARS: usize = 256;

/// Whether a text shows anything: NUL, control and format characters
/// (zero-width spaces and joiners, the byte-order mark, soft hyphens,
/// variation selectors) and whitespace alone make a message with nothing
/// to read, answer or review.
pub fn has_visible_text(text: &str) -> bool {
    text.chars().any(|c| {
        !(c.is_whitespace()
            || c.is_control()
            || matches!(c,
                '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{180e}'
                | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
                | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}'
                | '\u{e0000}'..='\u{e007f}'))
    })
}

/// The wire form; [`parse_message`] turns it into a checked [`NewMessage`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incoming {
    platform: String,
    kind: String,
    external_id: String,
    thread_id: Option<String>,
    parent_id: Option<String>,
    author: IncomingAuthor,
    text: String,
    created_at: Option<String>,
    lang: Option<String>,
    url: Option<String>,
    #[serde(default)]
    meta: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncomingAuthor {
    id: String,
    name: Option<String>,
    handle: Option<String>,
}

fn field_error(field: &str, message: impl Into<String>) -> Refused {
    Refused::new("invalid_field", message).field(field)
}

/// Parses and checks one message object.
pub fn parse_message(value: serde_json::Value) -> Result<NewMessage, Refused> {
    let incoming: Incoming = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let missing = inner.starts_with("missing field");
        let field = if missing {
            let name = inner.split('`').nth(1).unwrap_or_default();
            if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        } else {
            path
        };
        let code = if missing {
            "missing_field"
        } else {
            "invalid_field"
        };
        Refused::new(code, inner).field(field)
    })?;
    let platform: Platform = incoming
        .platform
        .parse()
        .map_err(|e: crate::domain::ParseError| field_error("platform", e.message))?;
    let kind: Kind = incoming
        .kind
        .parse()
        .map_err(|e: crate::domain::ParseError| field_error("kind", e.message))?;
    let id_field = |name: &str, value: String| -> Result<String, Refused> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            Err(field_error(name, "must not be empty"))
        } else if trimmed.chars().count() > MAX_ID_CHARS {
            Err(field_error(
                name,
                format!("at most {MAX_ID_CHARS} characters"),
            ))
        } else {
            Ok(trimmed.to_owned())
        }
    };
    let optional_id =
        |name: &str, value: Option<String>| value.map(|v| id_field(name, v)).transpose();
    let text = incoming.text;
    if !has_visible_text(&text) {
        return Err(field_error(
            "text",
            "must not be empty (whitespace, NUL and invisible characters alone count as empty)",
        ));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(field_error(
            "text",
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    let created_at = incoming
        .created_at
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|t| t.timestamp_millis())
                .map_err(|_| field_error("created_at", "must be an RFC 3339 timestamp"))
        })
        .transpose()?;
    if let Some(lang) = &incoming.lang {
        let valid = (2..=35).contains(&lang.len())
            && lang
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(field_error(
                "lang",
                "must be a language tag such as nl or en-GB",
            ));
        }
    }
    if let Some(url) = &incoming.url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
            return Err(field_error(
                "url",
                "must be an http(s) URL of at most 2048 characters",
            ));
        }
    }
    let name_field = |name: &str, value: Option<String>| -> Result<Option<String>, Refused> {
        match value {
            Some(v) if v.chars().count() > MAX_NAME_CHARS => Err(field_error(
                name,
                format!("at most {MAX_NAME_CHARS} characters"),
            )),
            Some(v) if has_visible_text(&v) => Ok(Some(v)),
            _ => Ok(None),
        }
    };
    Ok(NewMessage {
        platform,
        kind,
        external_id: id_field("external_id", incoming.external_id)?,
        thread_id: optional_id("thread_id", incoming.thread_id)?,
        parent_id: optional_id("parent_id", incoming.parent_id)?,
        page_id: None,
        author: Author {
            id: id_field("author.id", incoming.author.id)?,
            name: name_field("author.name", incoming.author.name)?,
            handle: name_field("author.handle", incoming.author.handle)?,
        },
        text,
        lang: incoming.lang,
        url: incoming.url,
        meta: serde_json::Value::Object(incoming.meta.unwrap_or_default()),
        created_at,
        source: "api",
    })
}

/// Parses a request body: one message object, or an array of 1 to 1,000.
/// Returns the messages and whether the body was an array.
pub fn parse_body(body: &[u8]) -> Result<(Vec<NewMessage>, bool), Refused> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Refused::new("invalid_json", format!("body is not valid JSON: {e}")))?;
    let (items, is_array) = match value {
        serde_json::Value::Array(items) => (items, true),
        object @ serde_json::Value::Object(_) => (vec![object], false),
        _ => {
            return Err(Refused::new(
                "invalid_body",
                "body must be a message object or an array of them",
            ))
        }
    };
    if is_array && items.is_empty() {
        return Err(Refused::new("empty_batch", "the array holds no messages"));
    }
    if items.len() > MAX_BATCH {
        return Err(Refused::new(
            "batch_too_large",
            format!(
                "at most {MAX_BATCH} messages per request, got {}",
                items.len()
            ),
        ));
    }
    let mut messages = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let parsed = parse_message(item).map_err(|e| in_batch(e, is_array, index))?;
        messages.push(parsed);
    }
    refuse_conflicting_repeats(&messages)?;
    Ok((messages, is_array))
}

/// One message twice in a batch is a repeat, taken once; the same
/// `external_id` with another text is two messages claiming one id, and
/// only one of them could be kept: refused, naming both.
fn refuse_conflicting_repeats(messages: &[NewMessage]) -> Result<(), Refused> {
    let mut first_of = std::collections::HashMap::with_capacity(messages.len());
    for (index, m) in messages.iter().enumerate() {
        let key = (m.platform.as_str(), m.external_id.as_str());
        match first_of.entry(key) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(index);
            }
            std::collections::hash_map::Entry::Occupied(first) => {
                let first = *first.get();
                if messages[first].text != m.text {
                    return Err(Refused::new(
                        "conflicting_duplicate",
                        format!(
                            "messages {first} and {index} have the same platform and \
                             external_id ({}) but different texts",
                            m.external_id
                        ),
                    )
                    .field("external_id")
                    .index(index));
                }
            }
        }
    }
    Ok(())
}

/// A message's refusal names its place only when the body was an array.
fn in_batch(refused: Refused, is_array: bool, index: usize) -> Refused {
    if is_array {
        refused.index(index)
    } else {
        refused
    }
}

/// Where Meta's webhook serves a platform, its messages come only that
/// way: one posted here first would take the comment's id and the
/// webhook's copy would be dropped as a repeat, and replyd does not act on
/// Meta for messages whose ids an ingest token supplied.
pub fn refuse_meta_platforms(
    config: &Config,
    messages: &[NewMessage],
    is_array: bool,
) -> Result<(), Refused> {
    let Some(meta) = &config.meta else {
        return Ok(());
    };
    let served = |m: &NewMessage| {
        meta.pages
            .iter()
            .any(|p| p.platform.as_str() == m.platform.as_str())
    };
    match messages.iter().enumerate().find(|(_, m)| served(m)) {
        Some((index, message)) => Err(in_batch(
            Refused::new(
                "meta_platform",
                format!(
                    "{} messages reach this replyd through Meta's webhook (/webhooks/meta), not this API",
                    message.platform
                ),
            )
            .field("platform"),
            is_array,
            index,
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> serde_json::Value {
        json!({"platform": "shop", "kind": "review", "external_id": "r1",
               "author": {"id": "a1"}, "text": "Mooi!", "created_at": "2026-01-02T03:04:05Z"})
    }

    #[test]
    fn a_valid_message_parses() {
        let msg = parse_message(valid()).unwrap();
        assert_eq!(msg.platform.as_str(), "shop");
        assert_eq!(msg.created_at, Some(1_767_323_045_000));
    }

    #[test]
    fn errors_name_the_field() {
        let mut v = valid();
        v["author"] = json!({"name": "x"});
        let err = parse_message(v).unwrap_err();
        assert_eq!(err.code, "missing_field");
        assert_eq!(err.field.as_deref(), Some("author.id"));

        let mut v = valid();
        v["kind"] = json!("tweet");
        assert_eq!(parse_message(v).unwrap_err().field.as_deref(), Some("kind"));

        let mut v = valid();
        v["text"] = json!("x".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(parse_message(v).unwrap_err().field.as_deref(), Some("text"));

        let mut v = valid();
        v["surprise"] = json!(1);
        assert!(parse_message(v).is_err());
    }

    #[test]
    fn invisible_text_is_empty_text() {
        for text in [
            "\0\0",
            "\u{200b}\u{feff} \u{2060}",
            "\u{ad}\n\t",
            "\u{fe0f}",
        ] {
            let mut v = valid();
            v["text"] = json!(text);
            let err = parse_message(v).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("text"), "{text:?}");
        }
        for text in ["ok", "\u{200b}ok", "👍", "١"] {
            let mut v = valid();
            v["text"] = json!(text);
            assert!(parse_message(v).is_ok(), "{text:?}");
        }
    }

    #[test]
    fn an_overlong_author_name_is_refused_by_name() {
        let mut v = valid();
        v["author"]["name"] = json!("n".repeat(MAX_NAME_CHARS + 1));
        let err = parse_message(v).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("author.name"));
    }

    #[test]
    fn a_batch_repeat_is_fine_but_one_id_with_two_texts_names_both() {
        let body = serde_json::to_vec(&json!([valid(), valid()])).unwrap();
        assert_eq!(parse_body(&body).unwrap().0.len(), 2);
        let mut other = valid();
        other["text"] = json!("Something else");
        let body = serde_json::to_vec(&json!([valid(), {"platform": "shop", "kind": "review",
            "external_id": "r2", "author": {"id": "a"}, "text": "x"}, other]))
        .unwrap();
        let err = parse_body(&body).unwrap_err();
        assert_eq!(err.code, "conflicting_duplicate");
        assert_eq!(err.index, Some(2));
        assert!(err.message.contains("messages 0 and 2"), "{}", err.message);
    }

    #[test]
    fn batch_errors_carry_the_index() {
        let body = serde_json::to_vec(&json!([valid(), {"platform": "Bad"}])).unwrap();
        let err = parse_body(&body).unwrap_err();
        assert_eq!(err.index, Some(1));
    }
}
