//! The audit log as people read it: the record an entry is about links to
//! its page, and its details read as fields, or as before and after for a
//! change, instead of the JSON they are stored as.

use serde::Serialize;
use serde_json::Value;

use crate::store::audit::AuditEntry;

#[derive(Debug, Serialize, PartialEq)]
pub struct AuditRow {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<Shown>,
    /// For an entry that records a change: each field that changed.
    pub changes: Vec<Change>,
    /// Everything else the entry says, one field each.
    pub fields: Vec<Field>,
}

/// A value as shown, and the page it opens when it names a record.
#[derive(Debug, Serialize, PartialEq)]
pub struct Shown {
    pub text: String,
    /// The template makes the link (`/messages/{id}`, `/leads/{id}`, the
    /// token's row on `/tokens`) from this and `text`, as every page does.
    pub page: Option<Page>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: Shown,
}

/// The console pages records open on, by the kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Page {
    Message,
    Lead,
    Token,
}

impl Page {
    /// What an entry's target is, by the action's family: `lead.update` is
    /// about a lead, `token.revoke` and `console.sign_in` about a token,
    /// `moderation.*` and `classification.*` about a message. A review has
    /// no page of its own.
    fn of_target(action: &str) -> Option<Page> {
        match action.split('.').next()? {
            "lead" => Some(Page::Lead),
            "token" | "console" => Some(Page::Token),
            "moderation" | "classification" => Some(Page::Message),
            _ => None,
        }
    }

    /// What a detail field holds, by its name.
    fn of_field(name: &str) -> Option<Page> {
        match name {
            "message" => Some(Page::Message),
            "lead" => Some(Page::Lead),
            "token" => Some(Page::Token),
            _ => None,
        }
    }

    /// The page, if `id` is an id as replyd makes them: a stored target
    /// may be any text (an old entry named a token by its name), and only
    /// ids go into a link.
    fn for_id(page: Option<Page>, id: &str) -> Option<Page> {
        let plain = (1..=100).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        page.filter(|_| plain)
    }
}

pub fn rows(entries: Vec<AuditEntry>) -> Vec<AuditRow> {
    entries.into_iter().map(row).collect()
}

fn row(entry: AuditEntry) -> AuditRow {
    let target = entry.target.map(|id| Shown {
        page: Page::for_id(Page::of_target(&entry.action), &id),
        text: id,
    });
    let (changes, fields) = match &entry.details {
        Value::Object(details) => {
            let before = details.get("before").and_then(Value::as_object);
            let after = details.get("after").and_then(Value::as_object);
            let changes = match (before, after) {
                (Some(before), Some(after)) => changes(before, after),
                _ => Vec::new(),
            };
            let fields = details
                .iter()
                .filter(|(name, _)| {
                    !(before.is_some()
                        && after.is_some()
                        && matches!(name.as_str(), "before" | "after"))
                })
                .filter(|(_, value)| !value.is_null())
                .map(|(name, value)| field(name, value))
                .collect();
            (changes, fields)
        }
        Value::Null => (Vec::new(), Vec::new()),
        other => (Vec::new(), vec![field("details", other)]),
    };
    AuditRow {
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        target,
        changes,
        fields,
    }
}

/// The fields whose value differs, by name.
fn changes(
    before: &serde_json::Map<String, Value>,
    after: &serde_json::Map<String, Value>,
) -> Vec<Change> {
    let mut names: Vec<&String> = after.keys().chain(before.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let was = before.get(name).unwrap_or(&Value::Null);
            let is = after.get(name).unwrap_or(&Value::Null);
            (was != is).then(|| Change {
                field: name.clone(),
                before: readable(was),
                after: readable(is),
            })
        })
        .collect()
}

fn field(name: &str, value: &Value) -> Field {
    let page = match value {
        Value::String(id) => Page::for_id(Page::of_field(name), id),
        _ => None,
    };
    Field {
        name: name.to_owned(),
        value: Shown {
            text: readable(value),
            page,
        },
    }
}

/// Text as it is, nothing as a dash, yes and no for flags; anything nested
/// stays compact JSON.
fn readable(value: &Value) -> String {
    match value {
        Value::Null => "–".to_owned(),
        Value::String(text) => text.clone(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::Number(n) => n.to_string(),
        nested => nested.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(action: &str, target: Option<&str>, details: Value) -> AuditEntry {
        AuditEntry {
            id: "e".into(),
            at: 0,
            actor: "console:sam".into(),
            action: action.into(),
            target: target.map(str::to_owned),
            details,
        }
    }

    #[test]
    fn a_lead_change_reads_as_before_and_after_of_what_changed() {
        let row = row(entry(
            "lead.update",
            Some("0193-lead"),
            json!({
                "before": {"status": "new", "owner": null, "notes": "x"},
                "after": {"status": "contacted", "owner": "sam", "notes": "x"},
            }),
        ));
        assert_eq!(row.target.unwrap().page, Some(Page::Lead));
        assert_eq!(
            row.changes,
            vec![
                Change {
                    field: "owner".into(),
                    before: "–".into(),
                    after: "sam".into()
                },
                Change {
                    field: "status".into(),
                    before: "new".into(),
                    after: "contacted".into()
                },
            ]
        );
        assert!(row.fields.is_empty(), "{:?}", row.fields);
    }

    #[test]
    fn ids_link_to_their_pages_and_anything_else_stays_text() {
        let review = row(entry(
            "review.approved",
            Some("0193-review"),
            json!({"action": "0193-action", "message": "0193-msg", "edited": true, "reason": null}),
        ));
        assert_eq!(review.target.as_ref().unwrap().page, None);
        let shown: Vec<(&str, &str, Option<Page>)> = review
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.text.as_str(), f.value.page))
            .collect();
        assert!(shown.contains(&("message", "0193-msg", Some(Page::Message))));
        assert!(shown.contains(&("edited", "yes", None)));
        assert!(
            !shown.iter().any(|(name, ..)| *name == "reason"),
            "nothing is left out as null"
        );

        let sign_in = row(entry(
            "console.sign_in",
            Some("0193-tok"),
            json!({"role": "admin"}),
        ));
        assert_eq!(sign_in.target.unwrap().page, Some(Page::Token));
        let named = row(entry("token.create", Some("\"><script>"), json!({})));
        assert_eq!(named.target.unwrap().page, None, "only ids become links");
        let moderated = row(entry(
            "moderation.removed",
            Some("m-1"),
            json!({"intent": "spam"}),
        ));
        assert_eq!(moderated.target.unwrap().page, Some(Page::Message));
    }
}
