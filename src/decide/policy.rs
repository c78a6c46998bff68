//! The playbook, in one place: what replyd proposes for each kind of message.
//!
//! | message                                   | proposal                                                   |
//! |-------------------------------------------|------------------------------------------------------------|
//! | threat of violence with no real issue,    | hide a comment now (when `hide` is auto-sent); delete and  |
//! | also when it is hate or spam too          | block held for a person                                    |
//! | hate, spam or scam                        | delete and block, recorded for reporting                   |
//! | hate against a group around a complaint   | delete and block, held for a person                        |
//! | troll (no real issue)                     | hide, or nothing (`troll_action`); never answered          |
//! | complaint on a comment                    | a short public apology moving to private, plus a private   |
//! |                                           | reply asking for the order number and e-mail               |
//! | complaint in a DM                         | the private reply itself                                   |
//! | complaint in a review                     | a public apology inviting contact by DM                    |
//! | feedback                                  | thank, say it is passed on; recorded for the team          |
//! | question the facts file answers           | the answer (and an acknowledgement while it is held)       |
//! | other question                            | acknowledge; a reply drafted and held for a person         |
//! | praise                                    | a personal thank-you, its whole answer                     |
//! | lead                                      | acknowledge; sales takes it from there                     |
//! | other                                     | DMs and reviews are acknowledged; other comments left be   |
//!
//! A real complaint or feedback is never hidden or deleted, whatever its
//! words: the removal rows apply only to other intents. No template ever
//! offers money; the guardrails refuse any draft that does.

use crate::config::{PolicyConfig, TrollAction};
use crate::domain::{ActionKind, Classification, Flag, Intent, Kind, Lang, Sentiment};
use crate::draft::facts::Facts;

use super::risk::{is_risky, removal_needs_a_person};
use super::{Plan, Proposal, Subject};

/// Whether a message answered as `other` is left be: a plain comment is; a
/// risky one is never left unseen, its draft waits for a person. The lead
/// step falls back to this too.
pub(crate) fn other_left_be(kind: Kind, c: &Classification) -> bool {
    matches!(kind, Kind::Comment | Kind::Mention) && !is_risky(c)
}

/// The acknowledgement of a message answered as `other`.
pub(crate) fn acknowledge_other(kind: Kind) -> Proposal {
    Proposal::reply(
        ActionKind::Acknowledge,
        "acknowledge.other",
        "thank the customer for the message and say the team will get back to them",
        kind != Kind::Dm,
        "a message that deserves an answer",
    )
}

/// Delete (where the platform lets replyd) and block, each held for a
/// person with `hold` when given.
fn removal(why: &str, removable: bool, hold: Option<&str>) -> Vec<Proposal> {
    let kinds: &[ActionKind] = if removable {
        &[ActionKind::Delete, ActionKind::Block]
    } else {
        &[ActionKind::Block]
    };
    kinds
        .iter()
        .map(|kind| {
            let proposal = Proposal::moderation(*kind, why);
            match hold {
                Some(hold) => proposal.held(hold),
                None => proposal,
            }
        })
        .collect()
}

pub fn plan(subject: &Subject<'_>, c: &Classification, cfg: &PolicyConfig, facts: &Facts) -> Plan {
    let intent = c.intent.label;
    let is_criticism = matches!(intent, Intent::Complaint | Intent::Feedback);
    let kind = subject.kind;
    let mut reasons = vec![format!(
        "intent {} ({:.2}), sentiment {} ({:.2})",
        intent,
        c.intent.confidence(),
        c.sentiment.label,
        c.sentiment.confidence()
    )];
    reasons.extend(c.rules.iter().map(|hit| format!("rule {} fired", hit.name)));

    let hateful = c.has_flag(Flag::Hate) || c.toxicity.hate >= cfg.toxicity_threshold;
    let spam = intent == Intent::Spam || (c.has_flag(Flag::Spam) && !is_criticism);
    let removable = kind != Kind::Dm && kind != Kind::Review;

    // A threat outranks every other reason to remove: it may be evidence,
    // so a person sees it before it is deleted, whatever else the message is
    // (hate, spam). Hiding it keeps it out of view meanwhile.
    if !is_criticism && c.has_flag(Flag::Threat) {
        let also: Vec<&str> = [(hateful, "hate speech"), (spam, "spam")]
            .into_iter()
            .filter_map(|(is, what)| is.then_some(what))
            .collect();
        let hide = kind == Kind::Comment && cfg.auto_sends(subject.platform, ActionKind::Hide);
        reasons.push(format!(
            "threat of violence{}: {}a person confirms the removal",
            if also.is_empty() {
                String::new()
            } else {
                format!(" (also {})", also.join(", "))
            },
            if hide { "hide at once, " } else { "" }
        ));
        let mut proposals = Vec::new();
        if hide {
            proposals.push(Proposal::moderation(
                ActionKind::Hide,
                "threat of violence hidden until a person decides",
            ));
        }
        proposals.extend(removal(
            "threat of violence",
            removable,
            Some("threat of violence: a person confirms the removal"),
        ));
        return Plan {
            summary: format!(
                "threat: {}delete and block held for review",
                if hide { "hide, " } else { "" }
            ),
            reasons,
            proposals,
            record: Some("moderation.threat"),
        };
    }
    if !is_criticism && (hateful || spam) {
        let why = if hateful {
            "hate speech"
        } else {
            "spam or scam"
        };
        reasons.push(format!(
            "{why}: remove, block the author, record for reporting"
        ));
        return Plan {
            summary: format!("{why}: delete and block"),
            reasons,
            proposals: removal(why, removable, None),
            record: Some("moderation.removed"),
        };
    }
    // Hate against a group is not criticism, even wrapped around a real
    // issue; whether it goes is a person's call.
    let group_hate = c.rules.iter().any(|hit| hit.flag == Flag::Hate);
    if is_criticism && group_hate {
        reasons.push("hate speech around a complaint: a person decides on removal".into());
        return Plan {
            summary: "hate around a complaint: removal held for review".into(),
            reasons,
            proposals: removal(
                "hate speech",
                removable,
                Some("hate speech around a complaint"),
            ),
            record: Some("moderation.hate"),
        };
    }
    // A troll's words that also threaten legal steps, come from the press
    // or speak of self-harm are not waved away unseen: they are answered
    // as `other`, which holds the draft for a person.
    if intent == Intent::Troll && removal_needs_a_person(c) {
        reasons.push("troll words with a flag a person must see: held, not hidden".into());
    } else if intent == Intent::Troll {
        let hide = cfg.troll_action(subject.platform) == TrollAction::Hide && kind == Kind::Comment;
        reasons.push(format!(
            "troll: not fed, {}",
            if hide { "hide" } else { "ignored" }
        ));
        return Plan {
            summary: format!("troll: {}", if hide { "hide" } else { "ignore" }),
            reasons,
            proposals: if hide {
                vec![Proposal::moderation(
                    ActionKind::Hide,
                    "troll comment hidden, not answered",
                )]
            } else {
                Vec::new()
            },
            record: None,
        };
    }
    if is_criticism && (hateful || c.has_flag(Flag::Offensive)) {
        reasons.push("strong words around a real issue: answered, never removed".into());
    }

    let public = kind != Kind::Dm;
    let ack = |template: &'static str, goal: &'static str, reason: &str| {
        Proposal::reply(ActionKind::Acknowledge, template, goal, public, reason)
    };
    let (summary, proposals, record): (&str, Vec<Proposal>, Option<&'static str>) = match intent {
        Intent::Complaint => match kind {
            Kind::Comment | Kind::Mention => (
                "complaint: apologise in public, continue in private",
                vec![
                    ack(
                        "acknowledge.complaint",
                        "apologise sincerely and briefly, and invite the customer to continue by private message",
                        "a public apology moving the conversation to private",
                    ),
                    Proposal::reply(
                        ActionKind::PrivateReply,
                        "private.complaint",
                        "empathise, apologise, ask for the order number and e-mail address, promise to look into it; promise no money",
                        false,
                        "the details are asked for in private",
                    ),
                ],
                None,
            ),
            Kind::Dm => (
                "complaint: apologise and ask for the details",
                vec![ack(
                    "private.complaint",
                    "empathise, apologise, ask for the order number and e-mail address, promise to look into it; promise no money",
                    "a private apology asking for the details",
                )],
                None,
            ),
            Kind::Review => (
                "complaint: apologise publicly and invite contact",
                vec![ack(
                    "acknowledge.complaint",
                    "apologise sincerely and briefly, and invite the customer to continue by private message",
                    "a public apology inviting private contact",
                )],
                None,
            ),
        },
        Intent::Feedback => (
            "feedback: thank and pass on",
            vec![ack(
                "acknowledge.feedback",
                "thank the customer, acknowledge their point and say it has been passed on to the team",
                "constructive feedback is thanked and passed on",
            )],
            Some("feedback.recorded"),
        ),
        Intent::Question => match facts.answer(subject.text, c.lang) {
            Some(answer) => {
                let mut reply = Proposal::reply(
                    ActionKind::Reply,
                    "answer.question",
                    "answer the question with the fact given, and nothing else",
                    public,
                    if answer.lang == c.lang.unwrap_or(Lang::En) {
                        format!("the facts file answers it ({})", answer.topic)
                    } else {
                        format!(
                            "the facts file answers it ({topic}) only in {lang}: the reply is in {lang}",
                            topic = answer.topic,
                            lang = answer.lang
                        )
                    },
                );
                reply.answer = Some(answer.text.to_owned());
                let mut proposals = Vec::new();
                if !cfg.auto_sends(subject.platform, ActionKind::Reply) {
                    proposals.push(ack(
                        "acknowledge.question",
                        "thank the customer for the question and say an answer follows shortly",
                        "acknowledged while the answer waits for a reviewer",
                    ));
                }
                proposals.push(reply);
                ("question: answered from the facts file", proposals, None)
            }
            None => (
                "question: acknowledge, answer held for a person",
                vec![
                    ack(
                        "acknowledge.question",
                        "thank the customer for the question and say an answer follows shortly",
                        "acknowledged at once",
                    ),
                    Proposal::reply(
                        ActionKind::Reply,
                        "answer.unknown",
                        "start a reply a person will complete",
                        public,
                        "the facts file does not answer it",
                    )
                    .held("question needs an answer from a person"),
                ],
                None,
            ),
        },
        Intent::Praise => (
            "praise: thank personally",
            vec![ack(
                "thank.praise",
                "thank the customer warmly and personally, referring to what they said",
                "praise gets a personal thank-you, its whole answer",
            )],
            None,
        ),
        Intent::Lead => (
            "lead: acknowledge and hand to sales",
            vec![ack(
                "acknowledge.lead",
                "thank them for reaching out about working together and say the team will follow up privately",
                "a business opportunity is acknowledged",
            )],
            None,
        ),
        Intent::Other if other_left_be(kind, c) => {
            return Plan {
                summary: "other: no reply needed".into(),
                reasons,
                proposals: Vec::new(),
                record: None,
            };
        }
        Intent::Other | Intent::Troll => ("other: acknowledge", vec![acknowledge_other(kind)], None),
        Intent::Spam => unreachable!("handled above"),
    };
    let mut proposals = proposals;
    if intent == Intent::Praise && c.sentiment.label == Sentiment::Negative {
        reasons.push("praise with negative sentiment may be sarcasm".into());
        for p in &mut proposals {
            p.hold.push("possible sarcasm".into());
        }
    }
    Plan {
        summary: summary.into(),
        reasons,
        proposals,
        record,
    }
}
