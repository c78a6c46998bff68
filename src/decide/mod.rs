//! Deciding what to do about a classified message: the playbook
//! ([`policy`]) proposes actions, the risk gate ([`risk`]) decides which of
//! them may go out alone. Every choice carries its reasons, which are stored
//! with the decision and shown to reviewers.

pub mod policy;
pub mod risk;

use crate::domain::ActionKind;

/// An action the playbook proposes, before drafting and the risk gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub kind: ActionKind,
    /// The reply template to draft from (`acknowledge.complaint`...), for
    /// actions that carry text.
    pub template: Option<&'static str>,
    pub reasons: Vec<String>,
    /// Reasons this action must wait for a person whatever the gate says.
    pub hold: Vec<String>,
}

impl Proposal {
    pub fn new(kind: ActionKind, reason: impl Into<String>) -> Self {
        Proposal {
            kind,
            template: None,
            reasons: vec![reason.into()],
            hold: Vec::new(),
        }
    }

    pub fn with_template(mut self, template: &'static str) -> Self {
        self.template = Some(template);
        self
    }

    pub fn held(mut self, reason: impl Into<String>) -> Self {
        self.hold.push(reason.into());
        self
    }
}

/// The playbook's answer for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One line for people: "complaint: acknowledge in public, hold the reply".
    pub summary: String,
    pub reasons: Vec<String>,
    pub proposals: Vec<Proposal>,
}
