//! The lead rows of the playbook, which [`super::policy::plan`] reads: a
//! new lead is thanked and pre-qualified in private, a follow-up joins its
//! lead, a message the model took for a lead that detection did not is
//! answered as `other`. What the lead step
//! found comes in as [`LeadFacts`]; detection and the lead's records live in
//! `leads`.

use super::Proposal;
use crate::domain::{ActionKind, Intent, Kind, LeadId, LeadStatus};

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

pub(crate) const HELD_FOR_THE_COMPLAINT: &str =
    "the lead came with a complaint: sales questions wait for a person";

/// The pre-qualifying questions, in private: a DM reply, or a private reply
/// to a comment.
pub(crate) fn prequalify(kind: Kind) -> Proposal {
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

/// What a message that is neither removed nor left to a troll is answered
/// as, once the lead step has spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The intent's own row of the playbook.
    Intent(Intent),
    /// A new lead: thanked and pre-qualified.
    NewLead,
    /// A new lead that is also a complaint: the apology first.
    ComplaintAndLead,
    /// A message the model took for a lead, from an author whose lead is
    /// open: acknowledged, sales follows up.
    FollowUp,
}

/// The lead rows of the playbook. With detection on, a new lead is
/// answered as a lead whatever else the model read (a complaint excepted),
/// and a message the model took for a lead that detection did not (or a
/// follow-up of an open lead) as `other`. The reasons say which.
pub(crate) fn lead_rows(intent: Intent, step: &LeadFacts, reasons: &mut Vec<String>) -> Answer {
    if !step.enabled {
        return Answer::Intent(intent);
    }
    if step.opens_lead() {
        reasons.push(format!("lead (score {:.2})", step.score));
        reasons.extend(step.reasons.iter().map(|r| format!("lead: {r}")));
        return if intent == Intent::Complaint {
            Answer::ComplaintAndLead
        } else {
            Answer::NewLead
        };
    }
    if let Some(lead) = &step.open_lead {
        reasons.push(format!("follow-up of lead {} ({})", lead.id, lead.status));
    } else if intent == Intent::Lead || step.score >= 0.25 {
        // Only where a lead was in question: not on every message.
        match step.reasons.first().filter(|_| step.score == 0.0) {
            Some(veto) => reasons.push(format!("not a lead: {veto}")),
            None => reasons.push(format!("not a lead (score {:.2})", step.score)),
        }
    }
    match intent {
        // "Thanks for reaching out about working together" would be wrong
        // for a message that opens no lead; a follow-up of an open lead is
        // always acknowledged.
        Intent::Lead if step.open_lead.is_some() => Answer::FollowUp,
        Intent::Lead => Answer::Intent(Intent::Other),
        other => Answer::Intent(other),
    }
}

/// A new lead: on a comment, thanked in public and pre-qualified in a
/// private reply; on a DM the pre-qualifying reply is the whole answer.
/// Reviews and mentions cannot be answered privately: they keep the public
/// acknowledgement and the lead waits for sales as `new`.
pub(crate) fn new_lead(kind: Kind) -> (&'static str, Vec<Proposal>, Option<&'static str>) {
    let mut proposals = Vec::new();
    if kind != Kind::Dm {
        proposals.push(Proposal::reply(
            ActionKind::Acknowledge,
            "acknowledge.lead",
            "thank them for reaching out about working together and say the team follows up privately",
            true,
            "lead: thanked in public",
        ));
    }
    if matches!(kind, Kind::Comment | Kind::Dm) {
        proposals.push(prequalify(kind));
        ("lead: pre-qualify and hand to sales", proposals, None)
    } else {
        ("lead: acknowledge and hand to sales", proposals, None)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::PolicyConfig;
    use crate::decide::{decide, Context, Plan, Subject};
    use crate::domain::{Classification, Flag, Platform, Scored, Sentiment, Toxicity};
    use crate::draft::facts::Facts;

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

    /// A Dutch message the model reads as `intent`, with `flags`.
    fn read_as(intent: Intent, flags: &[Flag]) -> Classification {
        let intents: Vec<f32> = Intent::ALL
            .iter()
            .map(|i| if *i == intent { 0.9 } else { 0.01 })
            .collect();
        Classification {
            lang: Some(crate::domain::Lang::Nl),
            sentiment: Scored::from_probs(Sentiment::ALL, &[0.1, 0.8, 0.1]),
            intent: Scored::from_probs(Intent::ALL, &intents),
            toxicity: Toxicity::default(),
            flags: flags.to_vec(),
            rules: Vec::new(),
            nearest: Vec::new(),
            classifier: "test".into(),
        }
    }

    /// A Dutch message the model reads as a lead, with `flags`.
    pub(crate) fn classification(flags: &[Flag]) -> Classification {
        read_as(Intent::Lead, flags)
    }

    /// The playbook's plan for a Facebook message of `kind`.
    fn plan(kind: Kind, c: &Classification, lead: &LeadFacts) -> Plan {
        let platform: Platform = "facebook".parse().unwrap();
        let subject = Subject {
            platform: &platform,
            kind,
            text: "wij willen graag samenwerken",
            author_id: "a1",
            author_handle: None,
            reach: None,
            first_contact: true,
        };
        let policy = PolicyConfig::default();
        let facts = Facts::default();
        decide(
            &subject,
            &Context {
                classification: c,
                lead,
                policy: &policy,
                facts: &facts,
            },
        )
    }

    fn templates(plan: &Plan) -> Vec<&'static str> {
        plan.proposals.iter().filter_map(|p| p.template).collect()
    }

    #[test]
    fn a_complaint_that_is_also_a_lead_keeps_its_apology_and_sales_waits() {
        let complaint = read_as(Intent::Complaint, &[]);
        for kind in [Kind::Comment, Kind::Dm] {
            let plan = plan(kind, &complaint, &new_lead());
            let templates = templates(&plan);
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
                _ => {
                    assert!(
                        templates.contains(&"acknowledge.complaint"),
                        "{templates:?}"
                    );
                    assert!(prequalify.is_none(), "{:?}", plan.proposals);
                }
            }
            assert!(plan.reasons.iter().any(|r| r == "lead: business: stockist"));
        }
        // Without a complaint, a lead on a comment is thanked and asked at
        // once, whatever else the model read.
        for intent in [
            Intent::Lead,
            Intent::Question,
            Intent::Praise,
            Intent::Other,
        ] {
            let plan = plan(Kind::Comment, &read_as(intent, &[]), &new_lead());
            assert_eq!(
                templates(&plan),
                ["acknowledge.lead", "prequalify.lead"],
                "{intent}"
            );
            assert!(plan.proposals.iter().all(|p| p.hold.is_empty()), "{intent}");
        }
        // A DM's answer is the questions alone; a review cannot be answered
        // in private.
        let lead = classification(&[]);
        assert_eq!(
            templates(&plan(Kind::Dm, &lead, &new_lead())),
            ["prequalify.lead"]
        );
        assert_eq!(
            templates(&plan(Kind::Review, &lead, &new_lead())),
            ["acknowledge.lead"]
        );
        // Detection off: the playbook's own lead row.
        let off = LeadFacts::default();
        assert_eq!(
            templates(&plan(Kind::Comment, &lead, &off)),
            ["acknowledge.lead"]
        );
    }

    #[test]
    fn a_lead_showing_personal_data_is_hidden_and_asked_in_private() {
        let plan = plan(Kind::Comment, &classification(&[Flag::Pii]), &new_lead());
        let kinds: Vec<ActionKind> = plan.proposals.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ActionKind::Hide, ActionKind::Prequalify]);
    }

    #[test]
    fn feedback_that_opens_a_lead_is_still_recorded_for_the_team() {
        let plan = plan(Kind::Comment, &read_as(Intent::Feedback, &[]), &new_lead());
        assert_eq!(plan.record, Some("feedback.recorded"));
        assert_eq!(templates(&plan), ["acknowledge.lead", "prequalify.lead"]);
    }

    #[test]
    fn a_comment_the_model_took_for_a_lead_is_left_be_unless_it_is_risky() {
        let not_a_lead = LeadFacts {
            is_lead: false,
            score: 0.3,
            reasons: vec!["an existing partnership".into()],
            ..new_lead()
        };
        let plan_of = |c: &Classification| plan(Kind::Comment, c, &not_a_lead);
        let quiet = plan_of(&classification(&[]));
        assert!(templates(&quiet).is_empty(), "{:?}", quiet.proposals);
        assert!(!quiet.summary.starts_with("lead"), "{}", quiet.summary);
        assert!(quiet.reasons.iter().any(|r| r == "not a lead (score 0.30)"));

        // A journalist's question with a phone number is never dropped
        // unseen: the draft stays, for the risk gate to hold.
        let press = plan_of(&classification(&[Flag::Press]));
        assert_eq!(templates(&press), ["acknowledge.other"]);
        assert_eq!(press.summary, "other: acknowledge");
        assert!(!press.proposals[0].goal.contains("working together"));
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
        let first = plan(Kind::Dm, &classification(&[]), &answer);
        assert_eq!(templates(&first), ["acknowledge.other", "prequalify.lead"]);
        let prequalify = &first.proposals[1];
        assert!(!prequalify.public);
        assert_eq!(prequalify.hold, [HELD_FOR_THE_COMPLAINT]);
        assert!(first
            .reasons
            .iter()
            .any(|r| r.starts_with("follow-up of lead")));
        // A later answer, once the lead is pre-qualifying, gets none.
        let later = LeadFacts {
            prequalify_in_private: false,
            ..answer
        };
        let later = plan(Kind::Dm, &classification(&[]), &later);
        assert_eq!(templates(&later), ["acknowledge.other"]);
    }
}
