//! The risk gate: whether a proposed action may go out without a person.
//! It only ever adds reasons to hold; it never releases what the playbook
//! or the guardrails held.

use crate::config::PolicyConfig;
use crate::domain::{ActionKind, ActionStatus, Classification, Flag, Platform};

use super::Proposal;

/// Flags that make any words replyd would say too risky to send alone.
const RISKY_FLAGS: &[(Flag, &str)] = &[
    (Flag::Legal, "legal threat"),
    (Flag::Threat, "threat of violence"),
    (Flag::SelfHarm, "self-harm"),
    (Flag::Press, "press enquiry"),
    (Flag::Pii, "personal data in the message"),
    (Flag::Injection, "prompt-injection attempt"),
];

/// The status an action starts in, and every reason it is held.
pub fn gate(
    platform: &Platform,
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
        held.extend(guardrail_failures.iter().map(|f| format!("guardrail: {f}")));
    }
    if c.intent.confidence() < cfg.min_confidence {
        held.push(format!(
            "low confidence ({:.2} < {:.2})",
            c.intent.confidence(),
            cfg.min_confidence
        ));
    }
    if !cfg.auto_sends(platform, proposal.kind) {
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

/// Whether a kind of action removes or restricts rather than speaks.
pub fn is_moderation(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Hide | ActionKind::Delete | ActionKind::Block
    )
}
