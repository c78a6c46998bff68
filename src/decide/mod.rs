//! Deciding what to do about a classified message: the playbook
//! ([`policy`]) proposes actions, the risk gate ([`risk`]) decides which of
//! them may go out alone. Every choice carries its reasons, which are stored
//! with the decision and shown to reviewers.

pub mod lead;
pub mod policy;
pub mod risk;

use crate::config::PolicyConfig;
use crate::domain::{ActionKind, Classification, Kind, Platform};
use crate::draft::facts::Facts;
use lead::LeadFacts;

/// Everything the decision reads beside the message itself.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub classification: &'a Classification,
    /// What the lead step found: detection, the author's open lead.
    pub lead: &'a LeadFacts,
    pub policy: &'a PolicyConfig,
    pub facts: &'a Facts,
}

/// The playbook: what to do about one message, each proposal with its
/// reasons. Pure, so the daemon, `replyd eval --pipeline` and the tests all
/// call this one function; drafting and the risk gate come after it.
pub fn decide(subject: &Subject<'_>, ctx: &Context<'_>) -> Plan {
    policy::plan(subject, ctx)
}

/// The message being decided on, with what the store knows about its author.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub platform: &'a Platform,
    pub kind: Kind,
    pub text: &'a str,
    pub author_id: &'a str,
    pub author_handle: Option<&'a str>,
    /// How many people can see the thread (`meta.reach` from the source).
    pub reach: Option<i64>,
    /// No earlier message from this author on this platform.
    pub first_contact: bool,
}

/// `meta.reach` as sources send it: an integer, a float (`25000.0`) or a
/// numeric string (`"25000"`). Anything else is no reach.
pub fn reach(value: &serde_json::Value) -> Option<i64> {
    let float = |f: f64| f.is_finite().then_some(f as i64);
    match value {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(float)),
        serde_json::Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(float))
        }
        _ => None,
    }
}

/// An action the playbook proposes, before drafting and the risk gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub kind: ActionKind,
    /// The reply template to draft from (`acknowledge.complaint`...), for
    /// actions that carry text.
    pub template: Option<&'static str>,
    /// What the words must achieve, for the LLM.
    pub goal: &'static str,
    /// Whether everyone sees the reply, or only the author.
    pub public: bool,
    /// A fact from the facts file the reply gives.
    pub answer: Option<String>,
    pub reasons: Vec<String>,
    /// Reasons this action must wait for a person whatever the gate says.
    pub hold: Vec<String>,
}

impl Proposal {
    /// An action without words (hide, like, delete, block).
    pub fn moderation(kind: ActionKind, reason: impl Into<String>) -> Self {
        Proposal {
            kind,
            template: None,
            goal: "",
            public: false,
            answer: None,
            reasons: vec![reason.into()],
            hold: Vec::new(),
        }
    }

    /// A reply drafted from `template`.
    pub fn reply(
        kind: ActionKind,
        template: &'static str,
        goal: &'static str,
        public: bool,
        reason: impl Into<String>,
    ) -> Self {
        Proposal {
            kind,
            template: Some(template),
            goal,
            public,
            answer: None,
            reasons: vec![reason.into()],
            hold: Vec::new(),
        }
    }

    /// Part of the playbook's answer to an unhappy customer (the apology,
    /// the move to private).
    pub fn answers_a_complaint(&self) -> bool {
        self.template.is_some_and(|t| t.ends_with(".complaint"))
    }

    pub fn held(mut self, reason: impl Into<String>) -> Self {
        self.hold.push(reason.into());
        self
    }
}

/// The playbook's answer for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One line for people: "complaint: apologise and move to private".
    pub summary: String,
    pub reasons: Vec<String>,
    pub proposals: Vec<Proposal>,
    /// Recorded for the team (feedback) or for reporting (removals).
    pub record: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::reach;

    #[test]
    fn reach_is_read_from_integers_floats_and_numeric_strings() {
        assert_eq!(reach(&json!(25000)), Some(25000));
        assert_eq!(reach(&json!(25000.0)), Some(25000));
        assert_eq!(reach(&json!("25000")), Some(25000));
        assert_eq!(reach(&json!(" 25000.0 ")), Some(25000));
        assert_eq!(reach(&json!(u64::MAX)), Some(i64::MAX));
        assert_eq!(reach(&json!("many")), None);
        assert_eq!(reach(&json!(null)), None);
        assert_eq!(reach(&json!([25000])), None);
    }
}
