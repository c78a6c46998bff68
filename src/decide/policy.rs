//! The playbook, in one place: what replyd proposes for each kind of message.
//!
//! | message                                   | proposal                                         |
//! |-------------------------------------------|--------------------------------------------------|
//! | hate, spam or scam                        | delete and block                                 |
//! | threat of violence with no real issue     | delete and block, held for a person              |
//! | troll (no real issue)                     | hide, or nothing (`troll_action`)                |
//! | complaint                                 | empathetic acknowledgement moving to private     |
//! | feedback                                  | thank, say it is passed on                       |
//! | question                                  | acknowledge; the answer is held for a person     |
//! | praise                                    | a personal thank-you, its whole answer           |
//! | lead                                      | acknowledge (pre-qualification when configured)  |
//! | other                                     | acknowledge DMs and reviews; leave comments be   |
//!
//! A real complaint is never hidden or deleted, whatever its words: the
//! removal rows apply only when the intent is not a complaint or feedback.

use crate::config::PolicyConfig;
use crate::domain::{ActionKind, Classification, Flag, Intent, Kind, Sentiment};

use super::{Plan, Proposal};

pub fn plan(kind: Kind, c: &Classification, cfg: &PolicyConfig) -> Plan {
    let intent = c.intent.label;
    let is_criticism = matches!(intent, Intent::Complaint | Intent::Feedback);
    let mut reasons = vec![format!(
        "intent {} ({:.2}), sentiment {}",
        intent,
        c.intent.confidence(),
        c.sentiment.label
    )];
    reasons.extend(c.rules.iter().map(|hit| format!("rule {} fired", hit.name)));

    let hateful = c.has_flag(Flag::Hate) || c.toxicity.hate >= cfg.toxicity_threshold;
    let spam = intent == Intent::Spam || (c.has_flag(Flag::Spam) && !is_criticism);

    if !is_criticism && (hateful || spam) {
        let why = if hateful {
            "hate speech"
        } else {
            "spam or scam"
        };
        reasons.push(format!(
            "{why}: removed and author blocked, recorded for reporting"
        ));
        return Plan {
            summary: format!("{why}: delete and block"),
            reasons,
            proposals: vec![
                Proposal::new(ActionKind::Delete, why),
                Proposal::new(ActionKind::Block, why),
            ],
        };
    }
    if !is_criticism && c.has_flag(Flag::Threat) {
        reasons.push("threat of violence: a person confirms removal".into());
        return Plan {
            summary: "threat: delete and block, held for review".into(),
            reasons,
            proposals: vec![
                Proposal::new(ActionKind::Delete, "threat of violence").held("threat"),
                Proposal::new(ActionKind::Block, "threat of violence").held("threat"),
            ],
        };
    }
    if intent == Intent::Troll {
        reasons.push("troll: not fed".into());
        let proposals = if cfg.hide_trolls && kind == Kind::Comment {
            vec![Proposal::new(
                ActionKind::Hide,
                "troll comment hidden, not answered",
            )]
        } else {
            Vec::new()
        };
        return Plan {
            summary: "troll: ignore".into(),
            reasons,
            proposals,
        };
    }

    let (summary, template, answer_held) = match intent {
        Intent::Complaint => (
            "complaint: apologise and move to private",
            "acknowledge.complaint",
            false,
        ),
        Intent::Feedback => ("feedback: thank and pass on", "acknowledge.feedback", false),
        Intent::Question => (
            "question: acknowledge, answer held for a person",
            "acknowledge.question",
            true,
        ),
        Intent::Praise => ("praise: thank personally", "thank.praise", false),
        Intent::Lead => (
            "lead: acknowledge and hand to sales",
            "acknowledge.lead",
            false,
        ),
        Intent::Other if kind == Kind::Comment || kind == Kind::Mention => {
            return Plan {
                summary: "other: no reply needed".into(),
                reasons,
                proposals: Vec::new(),
            };
        }
        Intent::Other => ("other: acknowledge", "acknowledge.other", false),
        Intent::Troll | Intent::Spam => unreachable!("handled above"),
    };
    if is_criticism && (hateful || c.has_flag(Flag::Offensive)) {
        reasons.push("strong words around a real issue: answered, never removed".into());
    }
    if intent == Intent::Praise && c.sentiment.label == Sentiment::Negative {
        reasons.push("praise with negative sentiment may be sarcasm".into());
    }
    let mut proposals =
        vec![Proposal::new(ActionKind::Acknowledge, summary).with_template(template)];
    if answer_held {
        proposals.push(
            Proposal::new(
                ActionKind::Reply,
                "a full answer needs facts replyd does not hold",
            )
            .with_template("reply.question")
            .held("question needs an answer from a person"),
        );
    }
    Plan {
        summary: summary.into(),
        reasons,
        proposals,
    }
}
