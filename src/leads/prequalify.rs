//! The lead step of the decision: detect and look up the author's open
//! lead before the playbook decides (its lead rows are `decide::lead`), then
//! record the lead, or attach a follow-up to the open lead, in the
//! decision's transaction.

use std::sync::LazyLock;

use regex::Regex;

use super::detect::{detect, Detection};
use super::handoff;
use crate::config::{LeadEvent, LeadsConfig};
use crate::decide::lead::{LeadFacts, OpenLead};
use crate::domain::{Classification, LeadStatus};
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
    /// The message is the first DM answering the private reply of a lead
    /// that was never pre-qualified (its comment was also a complaint, so the
    /// apology took the comment's one private reply): the questions go here.
    pub prequalify_in_private: bool,
    enabled: bool,
}

impl LeadStep {
    /// What the playbook reads of it.
    pub fn facts(&self) -> LeadFacts {
        LeadFacts {
            enabled: self.enabled,
            is_lead: self.detection.is_lead,
            score: self.detection.score,
            reasons: self.detection.reasons.clone(),
            open_lead: self.open_lead.as_ref().map(|lead| OpenLead {
                id: lead.id.clone(),
                status: lead.status,
            }),
            prequalify_in_private: self.prequalify_in_private,
        }
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
            prequalify_in_private: false,
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
    let prequalify_in_private = open_lead
        .as_ref()
        .is_some_and(|lead| lead.status == LeadStatus::New && lead.answered_in_private(message));
    Ok(LeadStep {
        detection,
        open_lead,
        contact,
        prequalify_in_private,
        enabled: true,
    })
}

/// Without a thread on both sides (a review, a mention) nothing ties a
/// later message to the lead: it is not a follow-up.
fn same_conversation(lead: &StoredLead, message: &StoredMessage) -> bool {
    lead.thread_id.is_some() && lead.thread_id == message.thread_id
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
        // Read outside this transaction: sales may have closed it since.
        // A closed lead takes no more messages.
        leads::lock(tx, &open.id).await?;
        if !leads::get(tx, &open.id).await?.status.is_open() {
            return Ok(false);
        }
        leads::attach(tx, &open.id, &message.id).await?;
        if prequalifying {
            leads::transition(tx, &open.id, &[LeadStatus::New], LeadStatus::Prequalifying).await?;
        }
        leads::add_contact(
            tx,
            &open.id,
            step.contact.email.as_deref(),
            step.contact.website.as_deref(),
        )
        .await?;
        (leads::get(tx, &open.id).await?, LeadEvent::Updated)
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
        (leads::get(tx, &id).await?, LeadEvent::Created)
    } else {
        return Ok(false);
    };
    let (lead, event) = lead;
    let answered = lead.email.is_some();
    let qualifying = [LeadStatus::New, LeadStatus::Prequalifying];
    let qualified = answered
        && qualifying.contains(&lead.status)
        && leads::transition(tx, &lead.id, &qualifying, LeadStatus::Qualified).await?;
    // A follow-up that qualifies the lead is told as the hand-off alone; a
    // new lead that arrives qualified is told as both, in order.
    let mut queued = false;
    if event == LeadEvent::Created || !qualified {
        queued |= handoff::queue(tx, cfg, &lead.id, event).await?;
    }
    if qualified {
        queued |= handoff::queue(tx, cfg, &lead.id, LeadEvent::Qualified).await?;
    }
    Ok(queued)
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
    use crate::decide::lead::tests::classification;
    use crate::domain::Kind;

    fn new_lead() -> LeadStep {
        LeadStep {
            detection: Detection {
                is_lead: true,
                score: 0.7,
                reasons: vec!["business: stockist".into()],
            },
            open_lead: None,
            contact: Contact::default(),
            prequalify_in_private: false,
            enabled: true,
        }
    }

    #[tokio::test]
    async fn a_lead_sales_closed_after_the_look_takes_no_more_messages() {
        use crate::store::messages::{Author, NewMessage};
        use crate::store::{messages, Db};

        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite:{}", dir.path().join("leads.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let mut conn = db.conn().await.unwrap();
        let store = |external_id: &str, text: &str| NewMessage {
            platform: "facebook".parse().unwrap(),
            kind: Kind::Dm,
            external_id: external_id.into(),
            thread_id: Some("t-701".into()),
            parent_id: None,
            page_id: None,
            author: Author {
                id: "701".into(),
                name: None,
                handle: None,
            },
            text: text.into(),
            lang: None,
            url: None,
            meta: serde_json::Value::Null,
            created_at: None,
            source: "api",
        };
        let (first, _) = messages::insert(&mut conn, &store("m-1", "Wholesale?"))
            .await
            .unwrap();
        let (second, _) = messages::insert(&mut conn, &store("m-2", "We are at inkoop@shop.nl"))
            .await
            .unwrap();
        let platform: crate::domain::Platform = "facebook".parse().unwrap();
        let id = leads::insert(
            &mut conn,
            &NewLead {
                platform: &platform,
                author_id: "701",
                author_name: None,
                message_id: &first,
                thread_id: Some("t-701"),
                kind: Kind::Dm,
                lang: None,
                score: 0.7,
                reasons: &[],
                status: LeadStatus::New,
                email: None,
                website: None,
            },
            0,
        )
        .await
        .unwrap();
        // The decision looked while the lead was open...
        let step = LeadStep {
            open_lead: Some(leads::get(&mut conn, &id).await.unwrap()),
            contact: Contact::find("We are at inkoop@shop.nl"),
            ..new_lead()
        };
        // ...and sales marked it lost before the decision was written.
        assert!(
            leads::transition(&mut conn, &id, &[LeadStatus::New], LeadStatus::Lost)
                .await
                .unwrap()
        );
        let message = messages::get(&mut conn, &second).await.unwrap();
        drop(conn);
        let mut tx = db.begin().await.unwrap();
        let queued = record(
            &mut tx,
            &LeadsConfig::default(),
            &message,
            &classification(&[]),
            &step,
            false,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(!queued, "no hand-off for a closed lead");
        let mut conn = db.conn().await.unwrap();
        let lead = leads::get(&mut conn, &id).await.unwrap();
        assert_eq!(lead.status, LeadStatus::Lost);
        assert_eq!(lead.email, None, "the closed lead was not changed");
        let attached = leads::messages(&mut conn, &id).await.unwrap();
        assert_eq!(attached.len(), 1, "only its own message");
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
