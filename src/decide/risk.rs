//! The risk gate: whether a proposed action may go out without a person.
//! It only ever adds reasons to hold; it never releases what the playbook
//! or the guardrails held.

use crate::config::PolicyConfig;
use crate::domain::{ActionStatus, Classification, Flag, Kind, Sentiment};

use super::{Proposal, Subject};

/// Flags that make any words replyd would say too risky to send alone.
pub(crate) const RISKY_FLAGS: &[(Flag, &str)] = &[
    (Flag::Legal, "legal threat"),
    (Flag::Threat, "threat of violence"),
    (Flag::SelfHarm, "self-harm"),
    (Flag::Press, "press enquiry"),
    (Flag::Pii, "personal data in the message"),
    (Flag::Injection, "prompt-injection attempt"),
];

/// Flags that make a message's removal a person's call: hiding or deleting
/// a lawyer's, a journalist's or a person in crisis's words out of sight
/// makes things worse, whatever else the message is. A threat has its own
/// row in the playbook; personal data does not hold a removal (spam or hate
/// that carries it goes at once).
pub(crate) const REMOVAL_NEEDS_A_PERSON: &[(Flag, &str)] = &[
    (Flag::Legal, "legal threat"),
    (Flag::SelfHarm, "self-harm"),
    (Flag::Press, "press enquiry"),
];

/// Whether the message carries any flag that keeps replyd's words from
/// going out alone.
pub(crate) fn is_risky(c: &Classification) -> bool {
    RISKY_FLAGS.iter().any(|(flag, _)| c.has_flag(*flag))
}

/// Whether removing (or ignoring) the message is a person's call.
pub(crate) fn removal_needs_a_person(c: &Classification) -> bool {
    REMOVAL_NEEDS_A_PERSON
        .iter()
        .any(|(flag, _)| c.has_flag(*flag))
}

/// "Strongly negative": the model is this sure of negative sentiment.
const STRONGLY_NEGATIVE: f32 = 0.8;

/// The status an action starts in, and every reason it is held.
pub fn gate(
    subject: &Subject<'_>,
    c: &Classification,
    proposal: &Proposal,
    guardrail_failures: &[String],
    cfg: &PolicyConfig,
) -> (ActionStatus, Vec<String>) {
    let mut held = proposal.hold.clone();
    if proposal.kind.carries_text() {
        held.extend(
            RISKY_FLAGS
                .iter()
                .filter(|(flag, _)| c.has_flag(*flag))
                .map(|(_, why)| (*why).to_owned()),
        );
        held.extend(guardrail_failures.iter().map(|f| format!("guardrail {f}")));
        let public_thread = subject.kind != Kind::Dm;
        if public_thread
            && c.sentiment.label == Sentiment::Negative
            && c.sentiment.confidence() >= STRONGLY_NEGATIVE
        {
            if let Some(reach) = subject.reach.filter(|r| *r >= cfg.negative_reach_threshold) {
                held.push(format!(
                    "strongly negative on a public thread with reach {reach}"
                ));
            }
        }
    } else {
        held.extend(
            REMOVAL_NEEDS_A_PERSON
                .iter()
                .filter(|(flag, _)| c.has_flag(*flag))
                .map(|(_, why)| format!("{why}: a person sees it before it is removed")),
        );
    }
    if c.intent.confidence() < cfg.min_confidence {
        held.push(format!(
            "low confidence ({:.2} < {:.2})",
            c.intent.confidence(),
            cfg.min_confidence
        ));
    }
    if is_vip(subject, cfg) {
        held.push("author is on the VIP list".into());
    }
    if subject.first_contact && cfg.review_first_contact.contains(subject.platform) {
        held.push(format!(
            "first contact on {}, which reviews everything",
            subject.platform
        ));
    }
    if !cfg.auto_sends(subject.platform, proposal.kind) {
        held.push(format!("auto-send is off for {}", proposal.kind));
    }
    held.dedup();
    let status = if held.is_empty() {
        ActionStatus::Pending
    } else {
        ActionStatus::Held
    };
    (status, held)
}

fn is_vip(subject: &Subject<'_>, cfg: &PolicyConfig) -> bool {
    let key = format!("{}:{}", subject.platform, subject.author_id);
    cfg.vip_authors.iter().any(|vip| {
        vip == &key
            || subject
                .author_handle
                .is_some_and(|h| vip.strip_prefix('@') == Some(h.trim_start_matches('@')))
    })
}
