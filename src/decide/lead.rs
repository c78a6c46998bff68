//! The lead rows of the playbook: a new lead is thanked and pre-qualified
//! in private, a follow-up joins its lead, a message the model took for a
//! lead that detection did not is answered as `other`. What the lead step
//! found comes in as [`LeadFacts`]; detection and the lead's records live in
//! `leads`.

use super::policy::{acknowledge_other, other_left_be};
use super::{Plan, Proposal};
use crate::domain::{ActionKind, Classification, Kind, LeadId, LeadStatus};

/// What the lead step found for one message, as the playbook reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFacts {
    /// Lead detection is on (`leads.enabled`).
    pub enabled: bool,
    /// Detection's verdict: a business opportunity.
    pub is_lead: bool,
    /// 0..1.
    pub score: f64,
    pub reasons: Vec<String>,
    /// The author's open lead this message belongs to.
    pub open_lead: Option<OpenLead>,
    /// The message is the first DM answering the private reply of a lead
    /// that was never pre-qualified (its comment was also a complaint, so
    /// the apology took the comment's one private reply): the questions go
    /// here.
    pub prequalify_in_private: bool,
}

/// An open lead, as far as the playbook cares.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenLead {
    pub id: LeadId,
    pub status: LeadStatus,
}

impl LeadFacts {
    /// A message that opens a new lead.
    pub fn opens_lead(&self) -> bool {
        self.enabled && self.is_lead && self.open_lead.is_none()
    }

    /// The author is in a conversation with sales: nothing of theirs is
    /// removed or blocked without a person.
    pub fn is_prospect(&self) -> bool {
        self.enabled && (self.is_lead || self.open_lead.is_some())
    }
}

const HELD_FOR_THE_COMPLAINT: &str =
    "the lead came with a complaint: sales questions wait for a person";

/// The pre-qualifying questions, in private: a DM reply, or a private reply
/// to a comment.
fn prequalify_proposal(kind: Kind) -> Proposal {
    let channel = if kind == Kind::Dm {
        "a DM reply"
    } else {
        "a private reply to the comment"
    };
    Proposal::reply(
        ActionKind::Prequalify,
        "prequalify.lead",
        "thank them and ask the pre-qualifying questions listed in the example, in private",
        false,
        format!("lead: pre-qualifying questions as {channel}"),
    )
}

/// Shapes the playbook's plan for leads: a new lead on a comment is thanked
/// in public and pre-qualified in a private reply; on a DM the
/// pre-qualifying reply is the whole answer. Reviews and mentions cannot be
/// answered privately: they keep the public acknowledgement and the lead
/// waits for sales as `new`. A message the playbook took for a lead but
/// detection did not is answered as `other`.
pub fn shape_plan(plan: &mut Plan, step: &LeadFacts, kind: Kind, c: &Classification) {
    if !step.enabled {
        return;
    }
    if step.opens_lead() {
        plan.reasons.push(format!("lead (score {:.2})", step.score));
        plan.reasons
            .extend(step.reasons.iter().map(|r| format!("lead: {r}")));
        if plan.proposals.iter().any(Proposal::answers_a_complaint) {
            // An unhappy customer comes first: a stockist whose order
            // arrived broken gets the apology, not "thanks for reaching out
            // about working together". The lead is recorded for sales, and
            // its questions wait for a person to choose the moment: in the
            // DM, or, on a comment, in the DM conversation the apology's
            // private reply opens (Meta allows one private reply per
            // comment, and the apology is it).
            if kind == Kind::Dm {
                plan.reasons.push(
                    "also a complaint: the apology stays; pre-qualifying waits for a person".into(),
                );
                plan.proposals
                    .push(prequalify_proposal(kind).held(HELD_FOR_THE_COMPLAINT));
            } else {
                plan.reasons.push(
                    "also a complaint: the apology stays; pre-qualifying waits for the customer's answer in private"
                        .into(),
                );
            }
            plan.summary =
                "complaint and lead: apologise; pre-qualifying waits for a person".into();
            return;
        }
        let hidden = plan.proposals.iter().any(|p| p.kind == ActionKind::Hide);
        plan.proposals.retain(|p| !p.kind.carries_text());
        // No public word under a hidden comment; the questions are the one
        // private reply.
        if kind != Kind::Dm && !hidden {
            plan.proposals.push(
                Proposal::reply(
                    ActionKind::Acknowledge,
                    "acknowledge.lead",
                    "thank them for reaching out about working together and say the team follows up privately",
                    true,
                    "lead: thanked in public",
                ),
            );
        }
        if matches!(kind, Kind::Comment | Kind::Dm) {
            plan.proposals.push(prequalify_proposal(kind));
            plan.summary = "lead: pre-qualify and hand to sales".into();
        } else {
            plan.summary = "lead: acknowledge and hand to sales".into();
        }
        return;
    }
    // "Thanks for reaching out about working together" would be wrong for a
    // message that is not a new lead.
    let lead_ack = |p: &Proposal| p.template == Some("acknowledge.lead");
    let playbook_saw_lead = plan.proposals.iter().any(lead_ack);
    if let Some(lead) = &step.open_lead {
        plan.reasons
            .push(format!("follow-up of lead {} ({})", lead.id, lead.status));
        if step.prequalify_in_private {
            plan.reasons.push(
                "the lead's first answer in private: its pre-qualifying questions wait for a person"
                    .into(),
            );
            plan.proposals
                .push(prequalify_proposal(kind).held(HELD_FOR_THE_COMPLAINT));
        }
    } else if playbook_saw_lead || step.score >= 0.25 {
        // Only where a lead was in question: not on every message.
        match step.reasons.first().filter(|_| step.score == 0.0) {
            Some(veto) => plan.reasons.push(format!("not a lead: {veto}")),
            None => plan
                .reasons
                .push(format!("not a lead (score {:.2})", step.score)),
        }
    }
    if playbook_saw_lead {
        // Answered as `other`; a follow-up of an open lead always is.
        plan.proposals.retain(|p| !lead_ack(p));
        if step.open_lead.is_some() || !other_left_be(kind, c) {
            plan.proposals.push(acknowledge_other(kind));
            plan.summary = "other: acknowledge".into();
        } else {
            plan.summary = "other: no reply needed".into();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{Flag, Intent, Lang, Scored, Sentiment, Toxicity};

    fn new_lead() -> LeadFacts {
        LeadFacts {
            enabled: true,
            is_lead: true,
            score: 0.7,
            reasons: vec!["business: stockist".into()],
            open_lead: None,
            prequalify_in_private: false,
        }
    }

    /// A Dutch message the model reads as a lead, with `flags`.
    pub(crate) fn classification(flags: &[Flag]) -> Classification {
        let intents: Vec<f32> = Intent::ALL
            .iter()
            .map(|i| if *i == Intent::Lead { 0.9 } else { 0.01 })
            .collect();
        Classification {
            lang: Some(Lang::Nl),
            sentiment: Scored::from_probs(Sentiment::ALL, &[0.1, 0.8, 0.1]),
            intent: Scored::from_probs(Intent::ALL, &intents),
            toxicity: Toxicity::default(),
            flags: flags.to_vec(),
            rules: Vec::new(),
            nearest: Vec::new(),
            classifier: "test".into(),
        }
    }

    /// A stockist's complaint as the playbook plans it: apologise in public,
    /// move to private.
    fn complaint_plan() -> Plan {
        Plan {
            summary: "complaint: apologise and move to private".into(),
            reasons: Vec::new(),
            proposals: vec![
                Proposal::reply(
                    ActionKind::Acknowledge,
                    "acknowledge.complaint",
                    "",
                    true,
                    "complaint",
                ),
                Proposal::reply(
                    ActionKind::PrivateReply,
                    "private.complaint",
                    "",
                    false,
                    "complaint",
                ),
            ],
            record: None,
        }
    }

    #[test]
    fn a_complaint_that_is_also_a_lead_keeps_its_apology_and_sales_waits() {
        for kind in [Kind::Comment, Kind::Dm] {
            let mut plan = complaint_plan();
            shape_plan(&mut plan, &new_lead(), kind, &classification(&[]));
            let templates: Vec<_> = plan.proposals.iter().filter_map(|p| p.template).collect();
            assert!(
                templates.contains(&"acknowledge.complaint"),
                "{kind}: {templates:?}"
            );
            assert!(
                templates.contains(&"private.complaint"),
                "{kind}: {templates:?}"
            );
            assert!(
                !templates.contains(&"acknowledge.lead"),
                "{kind}: {templates:?}"
            );
            let prequalify = plan
                .proposals
                .iter()
                .find(|p| p.kind == ActionKind::Prequalify);
            match kind {
                Kind::Dm => assert!(
                    !prequalify.expect("questions in the DM").hold.is_empty(),
                    "a person chooses when"
                ),
                // The apology's private reply is the comment's only one: the
                // questions wait for the DM it opens.
                _ => assert!(prequalify.is_none(), "{:?}", plan.proposals),
            }
        }
        // Without a complaint, a lead on a comment is thanked and asked at once.
        let mut plan = Plan {
            proposals: vec![Proposal::reply(
                ActionKind::Acknowledge,
                "acknowledge.other",
                "",
                true,
                "other",
            )],
            ..complaint_plan()
        };
        shape_plan(&mut plan, &new_lead(), Kind::Comment, &classification(&[]));
        let templates: Vec<_> = plan.proposals.iter().filter_map(|p| p.template).collect();
        assert_eq!(templates, ["acknowledge.lead", "prequalify.lead"]);
        assert!(plan.proposals.iter().all(|p| p.hold.is_empty()));
    }

    fn lead_ack_plan() -> Plan {
        Plan {
            summary: "lead: acknowledge and hand to sales".into(),
            reasons: Vec::new(),
            proposals: vec![Proposal::reply(
                ActionKind::Acknowledge,
                "acknowledge.lead",
                "",
                true,
                "lead",
            )],
            record: None,
        }
    }

    #[test]
    fn a_comment_the_model_took_for_a_lead_is_left_be_unless_it_is_risky() {
        let not_a_lead = LeadFacts {
            is_lead: false,
            score: 0.3,
            reasons: vec!["an existing partnership".into()],
            ..new_lead()
        };
        let mut plan = lead_ack_plan();
        shape_plan(&mut plan, &not_a_lead, Kind::Comment, &classification(&[]));
        assert!(plan.proposals.is_empty(), "{:?}", plan.proposals);
        assert_eq!(plan.summary, "other: no reply needed");

        // A journalist's question with a phone number is never dropped
        // unseen: the draft stays, for the risk gate to hold.
        let mut plan = lead_ack_plan();
        let press = classification(&[Flag::Press, Flag::Pii]);
        shape_plan(&mut plan, &not_a_lead, Kind::Comment, &press);
        let templates: Vec<_> = plan.proposals.iter().filter_map(|p| p.template).collect();
        assert_eq!(templates, ["acknowledge.other"]);
        assert_eq!(plan.summary, "other: acknowledge");
        assert!(!plan.proposals[0].goal.contains("working together"));
    }

    fn open_lead(status: LeadStatus) -> OpenLead {
        OpenLead {
            id: LeadId::new(),
            status,
        }
    }

    #[test]
    fn the_first_answer_in_private_to_a_complaining_lead_drafts_its_questions_for_a_person() {
        let answer = LeadFacts {
            is_lead: false,
            score: 0.0,
            reasons: Vec::new(),
            open_lead: Some(open_lead(LeadStatus::New)),
            prequalify_in_private: true,
            ..new_lead()
        };
        let mut plan = Plan {
            proposals: vec![acknowledge_other(Kind::Dm)],
            ..lead_ack_plan()
        };
        shape_plan(&mut plan, &answer, Kind::Dm, &classification(&[]));
        let prequalify = plan
            .proposals
            .iter()
            .find(|p| p.kind == ActionKind::Prequalify)
            .expect("the questions, in the DM");
        assert!(!prequalify.public);
        assert_eq!(prequalify.hold, [HELD_FOR_THE_COMPLAINT]);
        // A later answer, once the lead is pre-qualifying, gets none.
        let later = LeadFacts {
            prequalify_in_private: false,
            ..answer
        };
        let mut plan = Plan {
            proposals: vec![acknowledge_other(Kind::Dm)],
            ..lead_ack_plan()
        };
        shape_plan(&mut plan, &later, Kind::Dm, &classification(&[]));
        assert!(plan
            .proposals
            .iter()
            .all(|p| p.kind != ActionKind::Prequalify));
    }
}
