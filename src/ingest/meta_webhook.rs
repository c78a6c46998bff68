//! Facebook page and Instagram account webhooks (`/webhooks/meta`): their
//! signature and their payload.
//!
//! Meta proves a POST is its own with `X-Hub-Signature-256: sha256=<hex
//! HMAC-SHA256(app secret, raw body)>`, so the body is checked as bytes
//! before anything is parsed; the route refuses a request without a
//! [`well_formed_signature`] before reading its body at all. Each comment
//! or DM becomes a [`NewMessage`] keyed by its comment id or message `mid`,
//! and goes through [`super::accept`] like any other message: a redelivered
//! webhook (Meta retries anything not answered 200 in time) is recognised
//! and not processed again.
//!
//! What the brand wrote itself (its own replies and DMs, echoes) is dropped
//! here, so replyd never answers itself. Events replyd does not act on are
//! logged and acknowledged: an error would only make Meta retry them, and
//! eventually disable the subscription.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::generic::{MAX_BATCH, MAX_TEXT_CHARS};
use super::Refused;
use crate::config::{MetaConfig, MetaPlatform, Secret};
use crate::domain::Kind;
use crate::store::messages::{Author, NewMessage};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Meta batches up to 1,000 changes in a POST, each about a kilobyte of
/// JSON (a Facebook comment holds at most 8,000 characters, an Instagram
/// one 2,200): a full batch of long comments stays well inside this.
pub const MAX_WEBHOOK_BYTES: usize = 8 * 1024 * 1024;

/// Whether a signature header has Meta's shape, `sha256=` and 64 hex digits:
/// a request without one is refused before its body is read.
pub fn well_formed_signature(header: Option<&str>) -> bool {
    header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `sha256=<hex HMAC-SHA256(app_secret, body)>`, as Meta signs.
pub fn signature(app_secret: &Secret, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a [`signature`] header over the raw body in constant time.
pub fn verify_signature(app_secret: &Secret, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_mac) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose().as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The subscription handshake's check: Meta sends `hub.mode=subscribe`
/// and the verify token configured in the app dashboard.
pub fn subscription_verified(meta: &MetaConfig, mode: Option<&str>, token: Option<&str>) -> bool {
    let token_ok = token.is_some_and(|t| {
        subtle::ConstantTimeEq::ct_eq(t.as_bytes(), meta.verify_token.expose().as_bytes()).into()
    });
    mode == Some("subscribe") && token_ok
}

// ------------------------------------------------------------ the payload

#[derive(Debug, Deserialize)]
struct Notification {
    object: String,
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    id: String,
    /// Seconds for changes; milliseconds for messaging.
    time: Option<i64>,
    #[serde(default)]
    changes: Vec<Change>,
    #[serde(default)]
    messaging: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct Change {
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Deserialize)]
struct FromUser {
    id: String,
    name: Option<String>,
    username: Option<String>,
}

/// `page` / `feed`: something happened on the page's feed.
#[derive(Debug, Deserialize)]
struct FeedChange {
    item: String,
    verb: String,
    comment_id: Option<String>,
    post_id: Option<String>,
    parent_id: Option<String>,
    from: Option<FromUser>,
    message: Option<String>,
    created_time: Option<Value>,
    post: Option<FeedPost>,
}

#[derive(Debug, Deserialize)]
struct FeedPost {
    permalink_url: Option<String>,
}

/// `instagram` / `comments` and `live_comments`.
#[derive(Debug, Deserialize)]
struct IgComment {
    id: String,
    text: Option<String>,
    from: Option<FromUser>,
    media: Option<IgMedia>,
    parent_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IgMedia {
    id: String,
    media_product_type: Option<String>,
}

/// One `messaging` event; only those carrying a message or a postback are
/// read.
#[derive(Debug, Deserialize)]
struct MessagingEvent {
    sender: IdOnly,
    timestamp: Option<i64>,
    message: Option<MessengerMessage>,
    postback: Option<Postback>,
}

/// A tap on a button the page offered: Instagram's ice breakers and
/// Messenger's conversation starters and "Get Started" arrive this way, with
/// the question the person chose as the title.
#[derive(Debug, Deserialize)]
struct Postback {
    mid: Option<String>,
    title: Option<String>,
    payload: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Debug, Deserialize)]
struct MessengerMessage {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    reply_to: Option<Value>,
}

/// Turns a verified webhook body into the messages it carries.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<NewMessage>, Refused> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refused::new("invalid_json", format!("body is not valid JSON: {e}")))?;
    let notification: Notification = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        Refused::new("invalid_body", e.into_inner().to_string()).field(field)
    })?;
    if notification.entry.len() > MAX_BATCH {
        return Err(Refused::new(
            "batch_too_large",
            format!("at most {MAX_BATCH} entries per notification"),
        ));
    }
    let platform = match notification.object.as_str() {
        "page" => MetaPlatform::Facebook,
        "instagram" => MetaPlatform::Instagram,
        other => {
            tracing::info!(
                object = other,
                "meta webhook for an object replyd does not handle; acknowledged"
            );
            return Ok(Vec::new());
        }
    };
    let mut messages = Vec::new();
    for entry in &notification.entry {
        for change in &entry.changes {
            let parsed = match (platform, change.field.as_str()) {
                (MetaPlatform::Facebook, "feed") => feed_change(entry, &change.value),
                (MetaPlatform::Instagram, "comments") => ig_comment(entry, &change.value, false),
                (MetaPlatform::Instagram, "live_comments") => {
                    ig_comment(entry, &change.value, true)
                }
                (_, field) => {
                    tracing::info!(%platform, field, "meta webhook field replyd does not handle; acknowledged");
                    Ok(None)
                }
            };
            push_event(&mut messages, parsed, platform, &change.field);
        }
        for event in &entry.messaging {
            let parsed = messaging_event(platform, entry, event);
            push_event(&mut messages, parsed, platform, "messaging");
        }
    }
    Ok(messages)
}

/// An event that cannot be read is skipped with a warning rather than the
/// whole notification refused: Meta would resend it forever.
fn push_event(
    messages: &mut Vec<NewMessage>,
    parsed: Result<Option<NewMessage>, serde_json::Error>,
    platform: MetaPlatform,
    field: &str,
) {
    match parsed {
        Ok(Some(mut message)) => {
            mark_truncated(&mut message);
            messages.push(message)
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(%platform, field, error = %e, "meta webhook event not understood; skipped")
        }
    }
}

fn feed_change(entry: &Entry, value: &Value) -> Result<Option<NewMessage>, serde_json::Error> {
    let change = FeedChange::deserialize(value)?;
    if change.item != "comment" {
        tracing::debug!(item = %change.item, "feed item other than a comment; ignored");
        return Ok(None);
    }
    match change.verb.as_str() {
        // An edit of a comment replyd already has is a duplicate by id and
        // is not answered again; one it never saw is taken as new.
        "add" | "edited" => {}
        "remove" => {
            tracing::info!(comment = ?change.comment_id, "comment removed on facebook");
            return Ok(None);
        }
        other => {
            tracing::debug!(verb = other, "feed verb replyd does not handle; ignored");
            return Ok(None);
        }
    }
    let (Some(comment_id), Some(from)) = (change.comment_id, change.from) else {
        return Err(serde::de::Error::custom(
            "a comment needs comment_id and from",
        ));
    };
    if from.id == entry.id {
        return Ok(None);
    }
    let Some(text) = usable_text(change.message) else {
        tracing::debug!(comment = %comment_id, "comment without text (a photo or sticker); ignored");
        return Ok(None);
    };
    // A top-level comment's parent is the post itself.
    let parent_id = change
        .parent_id
        .filter(|p| Some(p) != change.post_id.as_ref());
    let created_at = change
        .created_time
        .as_ref()
        .and_then(Value::as_i64)
        .or(entry.time)
        .map(to_ms);
    let url = change
        .post
        .and_then(|p| p.permalink_url)
        .filter(|u| u.starts_with("https://") && u.len() <= 2048);
    Ok(Some(NewMessage {
        platform: MetaPlatform::Facebook.platform(),
        kind: Kind::Comment,
        external_id: comment_id,
        thread_id: change.post_id.clone(),
        parent_id,
        page_id: Some(entry.id.clone()),
        author: Author {
            id: from.id,
            name: from.name,
            handle: None,
        },
        text,
        lang: None,
        url,
        meta: json!({"object": "page", "field": "feed", "verb": change.verb, "post_id": change.post_id}),
        created_at,
        source: "meta",
    }))
}

fn ig_comment(
    entry: &Entry,
    value: &Value,
    live: bool,
) -> Result<Option<NewMessage>, serde_json::Error> {
    let comment = IgComment::deserialize(value)?;
    let Some(from) = comment.from else {
        return Err(serde::de::Error::custom("a comment needs from"));
    };
    if from.id == entry.id {
        return Ok(None);
    }
    let Some(text) = usable_text(comment.text) else {
        return Ok(None);
    };
    let media = comment.media;
    Ok(Some(NewMessage {
        platform: MetaPlatform::Instagram.platform(),
        kind: Kind::Comment,
        external_id: comment.id,
        thread_id: media.as_ref().map(|m| m.id.clone()),
        parent_id: comment.parent_id,
        page_id: Some(entry.id.clone()),
        author: Author {
            id: from.id,
            name: from.name,
            handle: from.username,
        },
        text,
        lang: None,
        url: None,
        meta: json!({
            "object": "instagram",
            "field": if live { "live_comments" } else { "comments" },
            "media_product_type": media.and_then(|m| m.media_product_type),
        }),
        created_at: entry.time.map(to_ms),
        source: "meta",
    }))
}

fn messaging_event(
    platform: MetaPlatform,
    entry: &Entry,
    event: &Value,
) -> Result<Option<NewMessage>, serde_json::Error> {
    let event = MessagingEvent::deserialize(event)?;
    if event.sender.id == entry.id {
        return Ok(None);
    }
    let object = if platform == MetaPlatform::Facebook {
        "page"
    } else {
        "instagram"
    };
    let (external_id, text, meta) = match (event.message, event.postback) {
        (Some(message), _) => {
            if message.is_echo || message.is_deleted {
                return Ok(None);
            }
            let Some(text) = usable_text(message.text) else {
                tracing::debug!(mid = %message.mid, "message without text (an attachment); ignored");
                return Ok(None);
            };
            let meta =
                json!({"object": object, "field": "messaging", "reply_to": message.reply_to});
            (message.mid, text, meta)
        }
        (None, Some(postback)) => {
            let Some(text) = usable_text(postback.title) else {
                return Ok(None);
            };
            // Older postbacks carry no mid: the sender and the moment name
            // the tap as well, and stay the same when Meta redelivers it.
            let external_id = postback.mid.unwrap_or_else(|| {
                let at = event.timestamp.or(entry.time).unwrap_or_default();
                format!("postback:{}:{at}", event.sender.id)
            });
            let meta = json!({
                "object": object, "field": "messaging_postbacks", "payload": postback.payload,
            });
            (external_id, text, meta)
        }
        // Deliveries, reads, reactions: nothing to answer.
        (None, None) => return Ok(None),
    };
    Ok(Some(NewMessage {
        platform: platform.platform(),
        kind: Kind::Dm,
        external_id,
        // The sender's id is scoped to the page: with the page it names the
        // conversation, which webhooks do not otherwise identify.
        thread_id: Some(event.sender.id.clone()),
        parent_id: None,
        page_id: Some(entry.id.clone()),
        author: Author {
            id: event.sender.id,
            name: None,
            handle: None,
        },
        text,
        lang: None,
        url: None,
        meta,
        created_at: event.timestamp.or(entry.time).map(to_ms),
        source: "meta",
    }))
}

/// Sets every `time`, `timestamp` and `created_time` in a payload to `now`
/// in the unit it had, so a sample payload reads as just sent (and a DM in
/// it falls inside the 24-hour window). Used by `replyd meta simulate --now`.
pub fn refresh_times(value: &mut Value, now_ms: i64) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), v.as_i64()) {
                    ("time" | "timestamp" | "created_time", Some(old)) => {
                        *v = json!(if old < 100_000_000_000 {
                            now_ms / 1000
                        } else {
                            now_ms
                        });
                    }
                    _ => refresh_times(v, now_ms),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| refresh_times(v, now_ms)),
        _ => {}
    }
}

fn usable_text(text: Option<String>) -> Option<String> {
    text.filter(|t| super::generic::has_visible_text(t))
}

/// A text over [`MAX_TEXT_CHARS`] is kept to that length (Meta allows
/// 8,000 characters, so only an odd sender gets here) and the message
/// says so in its `meta`: `truncated_from_chars` is the length it had.
fn mark_truncated(message: &mut NewMessage) {
    let chars = message.text.chars().count();
    if chars <= MAX_TEXT_CHARS {
        return;
    }
    message.text = message.text.chars().take(MAX_TEXT_CHARS).collect();
    if let Value::Object(meta) = &mut message.meta {
        meta.insert("truncated_from_chars".into(), json!(chars));
    }
}

/// Meta gives seconds in some places and milliseconds in others. The time
/// is the sender's word: an absurd one saturates rather than overflows.
fn to_ms(t: i64) -> i64 {
    if t < 100_000_000_000 {
        t.saturating_mul(1000)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Value) -> Vec<NewMessage> {
        parse_webhook(&serde_json::to_vec(&value).unwrap()).unwrap()
    }

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        let secret = Secret::new("app-secret");
        let body = br#"{"object":"page","entry":[]}"#;
        let header = signature(&secret, body);
        assert!(verify_signature(&secret, Some(&header), body));
        assert!(!verify_signature(&secret, Some(&header), b"{}"));
        assert!(!verify_signature(
            &Secret::new("other"),
            Some(&header),
            body
        ));
        assert!(!verify_signature(&secret, None, body));
        assert!(!verify_signature(&secret, Some("sha1=abcd"), body));
        assert!(!verify_signature(&secret, Some("sha256=zz"), body));
    }

    #[test]
    fn a_facebook_comment_becomes_a_message_and_the_pages_own_does_not() {
        let comment = |from: &str, id: &str| {
            json!({"field": "feed", "value": {
                "from": {"id": from, "name": "Sam"}, "item": "comment", "verb": "add",
                "comment_id": id, "post_id": "111_222", "parent_id": "111_222",
                "message": "Waar blijft mijn bestelling?", "created_time": 1_760_000_000}})
        };
        let messages = parse(json!({"object": "page", "entry": [
            {"id": "111", "time": 1_760_000_001, "changes": [comment("9", "222_1"), comment("111", "222_2")]}
        ]}));
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(
            (m.platform.as_str(), m.kind, m.external_id.as_str()),
            ("facebook", Kind::Comment, "222_1")
        );
        assert_eq!(m.page_id.as_deref(), Some("111"));
        assert_eq!(m.thread_id.as_deref(), Some("111_222"));
        assert_eq!(
            m.parent_id, None,
            "a top-level comment's parent is the post"
        );
        assert_eq!(m.created_at, Some(1_760_000_000_000));
        assert_eq!(m.source, "meta");
    }

    #[test]
    fn an_overlong_comment_is_kept_to_the_limit_and_says_how_long_it_was() {
        let long = "é".repeat(MAX_TEXT_CHARS + 5);
        let messages = parse(
            json!({"object": "instagram", "entry": [{"id": "17841", "time": 1,
            "changes": [{"field": "comments", "value": {"id": "c1", "text": long,
                "from": {"id": "55", "username": "sam"}}}]}]}),
        );
        assert_eq!(messages[0].text.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(messages[0].meta["truncated_from_chars"], MAX_TEXT_CHARS + 5);
        assert_eq!(messages[0].meta["object"], "instagram");
    }

    #[test]
    fn a_signature_header_is_judged_well_formed_before_the_body_is_read() {
        assert!(well_formed_signature(Some(&format!(
            "sha256={}",
            "ab".repeat(32)
        ))));
        assert!(!well_formed_signature(None));
        assert!(!well_formed_signature(Some("sha256=abcd")));
        assert!(!well_formed_signature(Some(&format!(
            "sha1={}",
            "ab".repeat(32)
        ))));
        assert!(!well_formed_signature(Some(&format!(
            "sha256={}",
            "zz".repeat(32)
        ))));
    }

    #[test]
    fn echoes_and_non_message_events_are_dropped() {
        let messages = parse(
            json!({"object": "instagram", "entry": [{"id": "17841", "time": 1, "messaging": [
                {"sender": {"id": "17841"}, "recipient": {"id": "55"}, "timestamp": 1,
                 "message": {"mid": "m1", "text": "our reply", "is_echo": true}},
                {"sender": {"id": "55"}, "recipient": {"id": "17841"}, "timestamp": 2, "read": {"mid": "m1"}},
                {"sender": {"id": "55"}, "recipient": {"id": "17841"}, "timestamp": 1_760_000_000_000_i64,
                 "message": {"mid": "m2", "text": "Hallo!"}}
            ]}]}),
        );
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].external_id, "m2");
        assert_eq!(messages[0].kind, Kind::Dm);
        assert_eq!(messages[0].thread_id.as_deref(), Some("55"));
    }

    #[test]
    fn a_tapped_ice_breaker_is_a_dm_with_its_title() {
        let messages = parse(
            json!({"object": "instagram", "entry": [{"id": "17841", "time": 5, "messaging": [
                {"sender": {"id": "55"}, "recipient": {"id": "17841"}, "timestamp": 1_760_000_000_000_i64,
                 "postback": {"mid": "m3", "title": "Wanneer zijn jullie open?", "payload": "HOURS"}},
                {"sender": {"id": "56"}, "recipient": {"id": "17841"}, "timestamp": 1_760_000_000_001_i64,
                 "postback": {"title": "Get Started", "payload": "GET_STARTED"}},
                {"sender": {"id": "57"}, "recipient": {"id": "17841"}, "timestamp": 3,
                 "postback": {"mid": "m4", "payload": "NO_TITLE"}}
            ]}]}),
        );
        assert_eq!(messages.len(), 2, "{messages:?}");
        let (hours, start) = (&messages[0], &messages[1]);
        assert_eq!(hours.kind, Kind::Dm);
        assert_eq!(hours.external_id, "m3");
        assert_eq!(hours.text, "Wanneer zijn jullie open?");
        assert_eq!(hours.thread_id.as_deref(), Some("55"));
        assert_eq!(hours.meta["field"], "messaging_postbacks");
        assert_eq!(hours.meta["payload"], "HOURS");
        assert_eq!(start.external_id, "postback:56:1760000000001");
        assert_eq!(start.text, "Get Started");
    }

    #[test]
    fn unknown_objects_and_fields_are_acknowledged_and_malformed_bodies_are_not() {
        assert!(parse(
            json!({"object": "user", "entry": [{"id": "1", "changes": [{"field": "x"}]}]})
        )
        .is_empty());
        assert!(parse(json!({"object": "page", "entry": [{"id": "1", "changes": [{"field": "ratings", "value": {}}]}]})).is_empty());
        assert!(parse_webhook(b"not json").is_err());
        assert!(parse_webhook(br#"{"object": "page"}"#).is_err());
        assert!(parse_webhook(br#"{"object": "page", "entry": {}}"#).is_err());
    }
}
