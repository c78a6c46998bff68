//! The lead step of the decision: detect, shape the playbook's plan (a
//! pre-qualifying message instead of a plain acknowledgement), and record
//! the lead, or attach a follow-up to the author's open lead, in the
//! decision's transaction.

use std::sync::LazyLock;

use regex::Regex;

use super::detect::{detect, Detection};
use super::handoff;
use crate::config::LeadsConfig;
use crate::decide::policy::{acknowledge_other, other_left_be};
use crate::decide::{Plan, Proposal};
use crate::domain::{ActionKind, Classification, Kind, LeadStatus};
use crate::store::leads::{self, NewLead, StoredLead};
use crate::store::messages::StoredMessage;
use crate::store::{now_ms, AnyConnection, Db, StoreError};

/// What the lead step found for one message, before anything is written.
#[derive(Debug)]
pub struct LeadStep {
    pub detection: Detection,
    /// The author's open lead this message belongs to: it is in the lead's
    /// conversation, or it is a new lead and deduplicates into it.
    pub open_lead: Option<StoredLead>,
    pub contact: Contact,
    enabled: bool,
}

impl LeadStep {
    /// A message that opens a new lead.
    pub fn opens_lead(&self) -> bool {
        self.enabled && self.detection.is_lead && self.open_lead.is_none()
    }
}

/// Looks at the message before the decision is written: detection, and the
/// author's open lead (read outside the transaction; [`record`] rechecks).
pub async fn prepare(
    db: &Db,
    cfg: &LeadsConfig,
    message: &StoredMessage,
    c: &Classification,
) -> Result<LeadStep, StoreError> {
    let detection = detect(&message.text, c, cfg.min_score, &cfg.own_handles);
    let contact = Contact::find(&message.text);
    if !cfg.enabled {
        return Ok(LeadStep {
            detection,
            open_lead: None,
            contact,
            enabled: false,
        });
    }
    let mut conn = db.conn().await?;
    let open = leads::find_open(
        &mut conn,
        &message.platform,
        &message.author.id,
        now_ms() - cfg.window_ms(),
    )
    .await?;
    // A follow-up is the author's message in the lead's conversation, or
    // their DM answering its private reply; any lead-like message of theirs
    // joins the open lead instead of opening a second one.
    let open_lead = open.filter(|lead| {
        detection.is_lead || same_conversation(lead, message) || lead.answered_in_private(message)
    });
    Ok(LeadStep {
        detection,
        open_lead,
        contact,
        enabled: true,
    })
}

/// Without a thread on both sides (a review, a mention) nothing ties a
/// later message to the lead: it is not a follow-up.
fn same_conversation(lead: &StoredLead, message: &StoredMessage) -> bool {
    lead.thread_id.is_some() && lead.thread_id == message.thread_id
}

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
pub fn shape_plan(plan: &mut Plan, step: &LeadStep, kind: Kind, c: &Classification) {
    if !step.enabled {
        return;
    }
    let d = &step.detection;
    if step.opens_lead() {
        plan.reasons.push(format!("lead (score {:.2})", d.score));
        plan.reasons
            .extend(d.reasons.iter().map(|r| format!("lead: {r}")));
        if plan.proposals.iter().any(Proposal::answers_a_complaint) {
            // An unhappy customer comes first: a stockist whose order
            // arrived broken gets the apology, not "thanks for reaching out
            // about working together". The lead is recorded for sales, and
            // its questions wait for a person to choose the moment.
            plan.reasons.push(
                "also a complaint: the apology stays; pre-qualifying waits for a person".into(),
            );
            if matches!(kind, Kind::Comment | Kind::Dm) {
                plan.proposals
                    .push(prequalify_proposal(kind).held(
                        "the message is also a complaint: sales questions wait for a person",
                    ));
            }
            plan.summary =
                "complaint and lead: apologise; pre-qualifying waits for a person".into();
            return;
        }
        plan.proposals.retain(|p| !p.kind.carries_text());
        if kind != Kind::Dm {
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
    } else if playbook_saw_lead || d.score >= 0.25 {
        // Only where a lead was in question: not on every message.
        match d.reasons.first().filter(|_| d.score == 0.0) {
            Some(veto) => plan.reasons.push(format!("not a lead: {veto}")),
            None => plan
                .reasons
                .push(format!("not a lead (score {:.2})", d.score)),
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

/// Writes the lead step inside the decision's transaction: a new lead, or
/// the message attached to the open one with any contact details it holds.
/// A lead that now has an e-mail address is qualified and handed off.
/// Returns whether hand-off jobs were queued.
pub async fn record(
    tx: &mut AnyConnection,
    cfg: &LeadsConfig,
    message: &StoredMessage,
    c: &Classification,
    step: &LeadStep,
    prequalifying: bool,
) -> Result<bool, StoreError> {
    if !step.enabled {
        return Ok(false);
    }
    let since = now_ms() - cfg.window_ms();
    let lead = if let Some(open) = &step.open_lead {
        leads::attach(tx, &open.id, &message.id).await?;
        leads::add_contact(
            tx,
            &open.id,
            step.contact.email.as_deref(),
            step.contact.website.as_deref(),
        )
        .await?;
        leads::get(tx, &open.id).await?
    } else if step.detection.is_lead {
        let status = if prequalifying {
            LeadStatus::Prequalifying
        } else {
            LeadStatus::New
        };
        let id = leads::insert(
            tx,
            &NewLead {
                platform: &message.platform,
                author_id: &message.author.id,
                author_name: message.author.name.as_deref(),
                message_id: &message.id,
                thread_id: message.thread_id.as_deref(),
                kind: message.kind,
                lang: c.lang,
                score: step.detection.score,
                reasons: &step.detection.reasons,
                status,
                email: step.contact.email.as_deref(),
                website: step.contact.website.as_deref(),
            },
            since,
        )
        .await?;
        leads::get(tx, &id).await?
    } else {
        return Ok(false);
    };
    let answered = lead.email.is_some();
    let qualifying = [LeadStatus::New, LeadStatus::Prequalifying];
    if answered
        && qualifying.contains(&lead.status)
        && leads::transition(tx, &lead.id, &qualifying, LeadStatus::Qualified).await?
    {
        return handoff::queue(tx, cfg, &lead.id).await;
    }
    Ok(false)
}

/// Contact details a lead's author gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    pub email: Option<String>,
    pub website: Option<String>,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@([a-z0-9-]+\.)+[a-z]{2,24}\b").expect("valid regex")
});

static WEBSITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|nl|be|de|fr|es|eu|org|net|io|co|uk|at|ch|shop|store|agency|studio)\b(?:/[^\s]*)?")
        .expect("valid regex")
});

/// Free mailboxes say nothing about a company; a business address wins.
const FREE_MAIL: &[&str] = &[
    "gmail.",
    "googlemail.",
    "hotmail.",
    "outlook.",
    "live.",
    "yahoo.",
    "icloud.",
    "me.com",
    "gmx.",
    "web.de",
    "aol.",
    "proton",
    "orange.fr",
    "free.fr",
    "ziggo.",
    "kpnmail.",
];

impl Contact {
    /// The e-mail address (a business one before a free mailbox) and the
    /// website (one that is not an e-mail's domain or a link shortener).
    pub fn find(text: &str) -> Contact {
        let emails: Vec<&str> = EMAIL.find_iter(text).map(|m| m.as_str()).collect();
        let is_free = |e: &&str| {
            let domain = e.rsplit('@').next().unwrap_or_default().to_lowercase();
            FREE_MAIL.iter().any(|f| domain.starts_with(f))
        };
        let email = emails
            .iter()
            .find(|e| !is_free(e))
            .or_else(|| emails.first())
            .map(|e| e.to_lowercase());
        let website = WEBSITE
            .find_iter(text)
            .filter(|m| {
                let before = &text[..m.start()];
                let after = &text[m.end()..];
                !before.ends_with('@')
                    && !after.starts_with('@')
                    && !emails.iter().any(|e| e.contains(m.as_str()))
            })
            .map(|m| m.as_str().trim_end_matches(['.', ',', ')']).to_owned())
            .next();
        Contact { email, website }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Flag, Intent, Lang, Scored, Sentiment, Toxicity};

    fn new_lead() -> LeadStep {
        LeadStep {
            detection: Detection {
                is_lead: true,
                score: 0.7,
                reasons: vec!["business: stockist".into()],
            },
            open_lead: None,
            contact: Contact::default(),
            enabled: true,
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
                .find(|p| p.kind == ActionKind::Prequalify)
                .expect("the lead is still pre-qualified");
            assert!(!prequalify.hold.is_empty(), "{kind}: a person chooses when");
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

    fn classification(flags: &[Flag]) -> Classification {
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
            classifier: "test".into(),
        }
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
        let not_a_lead = LeadStep {
            detection: Detection {
                is_lead: false,
                score: 0.3,
                reasons: vec!["an existing partnership".into()],
            },
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

    #[test]
    fn finds_business_email_and_website() {
        let c = Contact::find(
            "Mail me at jan.devries@gmail.com or better inkoop@tuincentrum-groen.nl, see www.tuincentrum-groen.nl.",
        );
        assert_eq!(c.email.as_deref(), Some("inkoop@tuincentrum-groen.nl"));
        assert_eq!(c.website.as_deref(), Some("www.tuincentrum-groen.nl"));
        let c = Contact::find("Reach me: sam@gmail.com");
        assert_eq!(c.email.as_deref(), Some("sam@gmail.com"));
        assert_eq!(c.website, None, "an e-mail's domain is not a website");
        assert_eq!(
            Contact::find("Wir sind ein Laden in Köln."),
            Contact::default()
        );
        let c = Contact::find("Unsere Seite: https://feinkost-bremen.de/ueber-uns");
        assert_eq!(
            c.website.as_deref(),
            Some("https://feinkost-bremen.de/ueber-uns")
        );
    }
}
