//! The playbook, in one place: what replyd proposes for each kind of message.
//!
//! | message                                   | proposal                                                   |
//! |-------------------------------------------|------------------------------------------------------------|
//! | threat of violence with no real issue,    | hide a comment now (when `hide` is auto-sent); delete and  |
//! | also when it is hate or spam too          | block held for a person                                    |
//! | hate, spam or scam                        | delete and block, recorded for reporting                   |
//! | hate against a group around a complaint   | delete and block, held for a person                        |
//! | threat of violence beside a complaint     | hide now, the complaint's answer held for a person         |
//! | troll (no real issue)                     | hide, or nothing (`troll_action`); never answered; hiding  |
//! |                                           | an injection attempt waits for a person                    |
//! | praise in words, a complaint in fact      | answered as the complaint (sarcasm: "thanks for nothing")  |
//! | troll's comment showing personal data     | delete and block                                           |
//! | any other comment showing personal data   | hide now; its answer goes in a private reply, held         |
//! | complaint on a comment                    | a short public apology moving to private, plus a private   |
//! |                                           | reply asking for the order number and e-mail               |
//! | complaint in a DM                         | the private reply itself                                   |
//! | complaint in a review                     | a public apology pointing to the facts file's contact route |
//! | feedback                                  | thank, say it is passed on; recorded for the team          |
//! | question the facts file answers           | the answer (and an acknowledgement while it is held)       |
//! | other question                            | acknowledge; a reply drafted and held for a person         |
//! | praise                                    | a personal thank-you, its whole answer                     |
//! | lead                                      | acknowledge; sales takes it from there                     |
//! | other                                     | DMs and reviews are acknowledged; a neutral comment is     |
//! |                                           | liked, or thanked in a few words where there are no likes  |
//!
//! A real complaint or feedback is never deleted, whatever its words, and
//! hidden only to take personal data it shows out of public view: its
//! author is then answered in private, never blocked. The other removal rows
//! apply only to other intents. No template ever
//! offers money; the guardrails refuse any draft that does.

use crate::config::{NeutralComments, PolicyConfig, TrollAction};
use crate::domain::{ActionKind, Classification, Flag, Intent, Kind, Lang, Sentiment};

use super::lead::{lead_rows, new_lead, prequalify, Answer, HELD_FOR_THE_COMPLAINT};
use super::risk::{is_risky, removal_needs_a_person};
use super::{Context, Plan, Proposal, Subject};

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

/// What replyd does where a removal is likely right but not its call
/// alone: a comment hidden now (when `hide`; reversible, its author still
/// sees it), delete and block held for a person with `hold`.
fn hide_and_hold(hide: bool, why: &str, removable: bool, hold: &str) -> Vec<Proposal> {
    let mut proposals = Vec::new();
    if hide {
        proposals.push(Proposal::moderation(
            ActionKind::Hide,
            format!("{why}, hidden until a person decides"),
        ));
    }
    proposals.extend(removal(why, removable, Some(hold)));
    proposals
}

/// A neutral comment (tag-a-friend, "first!", an emoji) is seen, not
/// answered at length: a like where the platform has likes, the light touch
/// brands use; where it has none (Instagram) a short thank-you, but only
/// for words with nothing in them to be careful about (no rule, no flag, no
/// nearness to a risk, no negative tone, no link): thanking an unnoticed
/// scam in public would endorse it.
fn acknowledge_neutral(
    subject: &Subject<'_>,
    c: &Classification,
    cfg: &PolicyConfig,
) -> Vec<Proposal> {
    if subject.kind != Kind::Comment || cfg.neutral_comments == NeutralComments::Ignore {
        return Vec::new();
    }
    if subject.platform.has_likes() {
        return vec![Proposal::moderation(
            ActionKind::Like,
            "a neutral comment: liked, no reply needed",
        )];
    }
    // Emoji and slang ("🤭🤭") tip the model's tone just past neutral
    // without anything snide in them, so for a comment it reads as `other`
    // a tone counts as negative only when it is as sure as a troll's bait
    // needs. A troll reading let through as neutral gets no such benefit:
    // a joke at a group's expense reads that way too, and a public thank-you
    // would endorse it.
    let negative = if c.intent.label == Intent::Troll {
        c.sentiment.label == Sentiment::Negative
    } else {
        c.sentiment.prob(Sentiment::Negative) >= BAITS
    };
    let quiet = c.rules.is_empty()
        && c.flags.is_empty()
        && c.nearest.is_empty()
        && !negative
        && linked_host(subject.text).is_none();
    if cfg.neutral_comments == NeutralComments::LikeOrThank && quiet {
        vec![Proposal::reply(
            ActionKind::Acknowledge,
            "thank.neutral",
            "thank the customer briefly and warmly for the comment, in a few words",
            true,
            format!(
                "a neutral comment on {}, which has no likes: a short thank-you",
                subject.platform
            ),
        )]
    } else {
        Vec::new()
    }
}

/// The first site a message links to. An e-mail address's domain is no
/// link, nor is a handle with a dot in it ("@mila.jansen" tagging a
/// friend).
fn linked_host(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    crate::draft::guardrails::linked_hosts(text)
        .into_iter()
        .find(|host| !lower.contains(&format!("@{host}")))
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

pub fn plan(subject: &Subject<'_>, ctx: &Context<'_>) -> Plan {
    let (c, cfg) = (ctx.classification, ctx.policy);
    let kind = subject.kind;
    let mut reasons = vec![format!(
        "intent {} ({:.2}), sentiment {} ({:.2})",
        c.intent.label,
        c.intent.confidence(),
        c.sentiment.label,
        c.sentiment.confidence()
    )];
    reasons.extend(c.rules.iter().map(|hit| format!("rule {} fired", hit.name)));
    // The model alone calling a customer's message spam (personal data
    // pulls it there) is no reason to treat it as spam: it is answered as
    // what it most likely is besides, and a person checks the answer.
    let signs = customer_signs(subject, ctx);
    let mut intent = c.intent.label;
    let mut doubt = None;
    if intent == Intent::Spam && spam_rule(c).is_none() && !c.near(Flag::Spam) && !signs.is_empty()
    {
        intent = best_but(c, Intent::Spam);
        reasons.push(format!(
            "the model read spam, but {}: answered as {intent}",
            signs.join(", ")
        ));
        doubt = Some("the model also read spam: a person checks the answer");
    }
    // "Thanks for nothing", a slow clap: praise's words around a complaint
    // are answered as the complaint they are, never thanked.
    if intent == Intent::Praise {
        if let Some(words) = crate::classify::rules::sarcasm(subject.text) {
            reasons.push(format!(
                "praise in words, a complaint in fact (\"{words}\"): answered as a complaint"
            ));
            intent = Intent::Complaint;
        }
    }
    // "This burger slaps", "kapot lekker", "me muero de lo rico": a fan's
    // hyperbole reads to the model as a troll's tone or a complaint's. Its
    // words, with nothing hostile, sarcastic or wrong in the message, are the
    // praise they look like.
    let hyperbole = fan_hyperbole(subject, c, intent);
    if let Some(words) = &hyperbole {
        reasons.push(format!(
            "the model read {intent}, but \"{words}\" is a fan's hyperbole, with no insult, complaint, sarcasm or flag: thanked as praise"
        ));
        intent = Intent::Praise;
    }
    let is_criticism = matches!(intent, Intent::Complaint | Intent::Feedback);

    // A troll's insult near the hate exemplars is still a troll's: hate
    // needs a rule, or the model's hate toxicity, beside the nearness.
    let near_hate_only = c.near(Flag::Hate) && !c.rules.iter().any(|h| h.flag == Flag::Hate);
    let hateful = (c.has_flag(Flag::Hate) && !(near_hate_only && c.intent.label == Intent::Troll))
        || c.toxicity.hate >= cfg.toxicity_threshold;
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
        let proposals = hide_and_hold(
            hide,
            "threat of violence",
            removable,
            "threat of violence: a person confirms the removal",
        );
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
        let harm = if hateful { Harm::Hate } else { Harm::Spam };
        return remove(subject, ctx, harm, &signs, reasons);
    }
    // Hate against a group is not criticism, even wrapped around a real
    // issue ("people like that don't belong in your ads"); whether it goes
    // is a person's call, and it is never apologised to.
    let group_hate = c.rules.iter().any(|hit| hit.flag == Flag::Hate) || c.near(Flag::Hate);
    if is_criticism && group_hate {
        let hide = kind == Kind::Comment;
        reasons.push(format!(
            "hate speech around a complaint: {}a person decides on removal; never answered",
            if hide { "hidden meanwhile, " } else { "" }
        ));
        let proposals = hide_and_hold(
            hide,
            "hate speech",
            removable,
            "hate speech around a complaint",
        );
        return Plan {
            summary: format!(
                "hate around a complaint: {}removal held for review",
                if hide { "hide, " } else { "" }
            ),
            reasons,
            proposals,
            record: Some("moderation.hate"),
        };
    }
    // A troll's words that also threaten legal steps, come from the press
    // or speak of self-harm are not waved away unseen: they are answered
    // as `other`, which holds the draft for a person.
    // Personal data on view under the brand's post: whose it is cannot be
    // told, so a troll's comment goes with its author (exposing someone, as
    // the playbook's hate and spam do), while anyone else's is hidden below
    // and answered in private.
    let exposed = kind == Kind::Comment && c.has_flag(Flag::Pii);
    if intent == Intent::Troll && removal_needs_a_person(c) {
        reasons.push("troll words with a flag a person must see: held, not hidden".into());
    } else if intent == Intent::Troll && exposed {
        return remove(subject, ctx, Harm::Exposure, &signs, reasons);
    } else if intent == Intent::Troll && !baits(subject, c) {
        // A troll reading without a hostile word, a negative tone or
        // toxicity is a neutral comment, and hiding it would silence a fan.
        reasons.push("the model read a troll, but nothing hostile: answered as other".into());
        intent = Intent::Other;
    } else if let Some(words) = (intent == Intent::Troll)
        .then(|| banter_not_bait(subject, c))
        .flatten()
    {
        // "Who's here after the TV ad? 😂" reads as a troll to the model,
        // tone and all: talk about the brand's own advert or post, with no
        // insult and no hate, is a fan's.
        reasons.push(format!(
            "the model read a troll, but \"{words}\" is banter about the brand's post: answered as other"
        ));
        intent = Intent::Other;
    } else if intent == Intent::Troll {
        let hide = cfg.troll_action(subject.platform) == TrollAction::Hide && kind == Kind::Comment;
        // Words aimed at whoever writes the replies are a person's to see,
        // not only a troll's to hide.
        let injection = c.has_flag(Flag::Injection);
        reasons.push(format!(
            "troll: not fed, {}{}",
            if hide { "hide" } else { "ignored" },
            if injection {
                "; an injection attempt, so a person sees it first"
            } else {
                ""
            }
        ));
        let mut proposals = Vec::new();
        if hide {
            let hidden =
                Proposal::moderation(ActionKind::Hide, "troll comment hidden, not answered");
            proposals.push(if injection {
                hidden.held("prompt-injection attempt in a troll's comment: a person sees it")
            } else {
                hidden
            });
        }
        return Plan {
            summary: format!("troll: {}", if hide { "hide" } else { "ignore" }),
            reasons,
            proposals,
            record: injection.then_some("moderation.injection"),
        };
    }
    if is_criticism && (hateful || c.has_flag(Flag::Offensive)) {
        reasons.push("strong words around a real issue: answered, never removed".into());
    }

    // The lead rows: what the lead step found decides whether the answer is
    // a lead's (pre-qualifying) or the intent's own.
    let lead = ctx.lead;
    let answer_as = lead_rows(intent, lead, &mut reasons);
    let (summary, mut proposals, mut record) = match answer_as {
        Answer::Intent(Intent::Other) if other_left_be(kind, c) => {
            let proposals = acknowledge_neutral(subject, c, cfg);
            return Plan {
                summary: match proposals.first().map(|p| p.kind) {
                    None => "other: no reply needed",
                    Some(ActionKind::Like) => "other: like",
                    Some(_) => "other: a short thank-you",
                }
                .into(),
                reasons,
                proposals,
                record: None,
            };
        }
        Answer::Intent(answer) => answer_intent(answer, subject, ctx),
        Answer::NewLead => new_lead(kind),
        Answer::FollowUp => ("other: acknowledge", vec![acknowledge_other(kind)], None),
        Answer::ComplaintAndLead => {
            let (_, mut proposals, record) = answer_intent(Intent::Complaint, subject, ctx);
            // An unhappy customer comes first: a stockist whose order
            // arrived broken gets the apology, not "thanks for reaching out
            // about working together". The lead is recorded for sales, and
            // its questions wait for a person to choose the moment: in the
            // DM, or, on a comment, in the DM conversation the apology's
            // private reply opens (Meta allows one private reply per
            // comment, and the apology is it).
            if kind == Kind::Dm {
                reasons.push(
                    "also a complaint: the apology stays; pre-qualifying waits for a person".into(),
                );
                proposals.push(prequalify(kind).held(HELD_FOR_THE_COMPLAINT));
            } else {
                reasons.push(
                    "also a complaint: the apology stays; pre-qualifying waits for the customer's answer in private"
                        .into(),
                );
            }
            (
                "complaint and lead: apologise; pre-qualifying waits for a person",
                proposals,
                record,
            )
        }
    };
    if lead.enabled && lead.prequalify_in_private && lead.open_lead.is_some() {
        reasons.push(
            "the lead's first answer in private: its pre-qualifying questions wait for a person"
                .into(),
        );
        proposals.push(prequalify(kind).held(HELD_FOR_THE_COMPLAINT));
    }
    if intent == Intent::Feedback {
        // Feedback that also opens a lead is still the team's to read.
        record = Some("feedback.recorded");
    }
    let mut summary = summary.to_owned();
    if exposed {
        reasons.push(
            "personal data on view in a comment: hide it, answer in private (never delete, never block)"
                .into(),
        );
        summary = format!("{intent}: personal data on view: hide, answer in private");
        proposals = answer_hidden(intent, answer_as == Answer::NewLead);
    }
    if let Some(doubt) = doubt {
        for p in &mut proposals {
            p.hold.push(doubt.into());
        }
    }
    // A threat beside a real complaint: the complaint deserves an answer,
    // the threat a person, and the thread should not show it meanwhile.
    // Hiding is reversible and its author still sees it; removal stays a
    // person's call. When in doubt: hide and hold.
    if is_criticism && c.has_flag(Flag::Threat) {
        reasons.push(
            "a threat of violence beside a real complaint: hidden meanwhile, a person answers; never removed alone"
                .into(),
        );
        for p in proposals.iter_mut().filter(|p| p.kind.carries_text()) {
            p.hold
                .push("threat of violence beside the complaint: a person answers".into());
        }
        if kind == Kind::Comment && !proposals.iter().any(|p| p.kind == ActionKind::Hide) {
            proposals.insert(
                0,
                Proposal::moderation(
                    ActionKind::Hide,
                    "threat of violence, hidden until a person decides",
                ),
            );
        } else if matches!(kind, Kind::Dm | Kind::Review) {
            // Nothing to hide: whether to block (and report) is a person's.
            proposals.push(
                Proposal::moderation(ActionKind::Block, "threat of violence")
                    .held("threat of violence beside the complaint: a person decides on a block"),
            );
        }
        summary = format!("{intent} with a threat: hide, the answer held for review");
        record = Some("moderation.threat");
    }
    let thanked = answer_as == Answer::Intent(Intent::Praise);
    if thanked && c.sentiment.label == Sentiment::Negative && hyperbole.is_none() {
        reasons.push("praise with negative sentiment may be sarcasm".into());
        for p in &mut proposals {
            p.hold.push("possible sarcasm".into());
        }
    }
    // "Lovely bakery! For the best gummies visit shop.example": praise that
    // sends readers elsewhere is how promotions and scams open; thanking it
    // in public endorses the link.
    if thanked {
        if let Some(host) = linked_host(subject.text) {
            reasons.push(format!("praise that links to {host}: a person checks it"));
            for p in proposals.iter_mut().filter(|p| p.kind.carries_text()) {
                p.hold.push(format!("praise linking to {host}"));
            }
        }
    }
    Plan {
        summary,
        reasons,
        proposals,
        record,
    }
}

/// The answer the playbook gives a message of `intent` that is neither
/// removed nor a lead's: its summary, proposals and what is recorded.
fn answer_intent(
    intent: Intent,
    subject: &Subject<'_>,
    ctx: &Context<'_>,
) -> (&'static str, Vec<Proposal>, Option<&'static str>) {
    let (c, cfg, facts) = (ctx.classification, ctx.policy, ctx.facts);
    let kind = subject.kind;
    let public = kind != Kind::Dm;
    let ack = |template: &'static str, goal: &'static str, reason: &str| {
        Proposal::reply(ActionKind::Acknowledge, template, goal, public, reason)
    };
    match intent {
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
            // Review sites have no private messages: the apology points to
            // the contact route of the facts file (topic `contact`), or to
            // customer service in general, never to "a DM".
            Kind::Review => {
                let mut apology = ack(
                    "review.complaint",
                    "apologise sincerely and briefly, and invite the customer to get in touch through the contact route given",
                    "a public apology pointing to the brand's contact route",
                );
                apology.answer = facts.topic("contact", c.lang).map(|a| a.text.to_owned());
                (
                    "complaint: apologise publicly and point to the contact route",
                    vec![apology],
                    None,
                )
            }
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
        Intent::Other | Intent::Troll => ("other: acknowledge", vec![acknowledge_other(kind)], None),
        Intent::Spam => unreachable!("removed before any answer"),
    }
}

/// A comment showing personal data: hidden at once (reversible, and the
/// author still sees it), and answered in the one private reply Meta allows
/// per comment, which says why. No public reply: the thread is hidden, and
/// Instagram refuses replies to a hidden comment.
fn answer_hidden(intent: Intent, new_lead: bool) -> Vec<Proposal> {
    let reply = if new_lead {
        // The questions are the comment's one private reply.
        prequalify(Kind::Comment)
    } else if intent == Intent::Complaint {
        Proposal::reply(
            ActionKind::PrivateReply,
            "hidden.complaint",
            "say the comment was hidden because it showed personal details, empathise, apologise, ask for the order number; promise no money",
            false,
            "the apology and the details go in private",
        )
    } else {
        Proposal::reply(
            ActionKind::PrivateReply,
            "hidden.other",
            "thank the customer, say the comment was hidden because it showed personal details, and continue in private",
            false,
            "the answer goes in private",
        )
    };
    vec![
        Proposal::moderation(ActionKind::Hide, "personal data hidden from public view"),
        reply,
    ]
}

/// The banter words of a comment the model reads as a troll's, when
/// nothing in it is an insult or hate.
fn banter_not_bait(subject: &Subject<'_>, c: &Classification) -> Option<String> {
    let words = crate::classify::rules::banter(subject.text)?;
    let hostile = crate::classify::rules::insult(subject.text).is_some()
        || c.toxicity.hate >= BAITS
        || c.has_flag(Flag::Hate)
        || c.has_flag(Flag::Threat);
    (!hostile).then_some(words)
}

/// The hyperbole words of a message the model reads as a troll's, or as a
/// complaint without conviction, when nothing else in it is hostile (an
/// insult, hate), sarcastic, a complaint's cue ("kapot", "late") or flagged
/// for a person (any flag but a lead). A real complaint names what went
/// wrong; a fan's "this is illegal 😭" names nothing.
fn fan_hyperbole(subject: &Subject<'_>, c: &Classification, intent: Intent) -> Option<String> {
    let doubtful_complaint =
        intent == Intent::Complaint && c.intent.confidence() < UNSURE_COMPLAINT;
    if intent != Intent::Troll && !doubtful_complaint {
        return None;
    }
    let words = crate::classify::rules::enthusiasm(subject.text)?;
    let text = subject.text;
    let clean = crate::classify::rules::insult(text).is_none()
        && crate::classify::rules::sarcasm(text).is_none()
        && crate::classify::rules::complaint_words(text).is_none()
        && c.toxicity.hate < BAITS
        && c.flags.iter().all(|f| *f == Flag::Lead)
        && c.nearest.is_empty();
    clean.then_some(words)
}

/// Below this certainty a complaint reading of a message full of a fan's
/// hyperbole is the model's misreading of slang.
const UNSURE_COMPLAINT: f32 = 0.6;

/// The model's certainty of a negative tone, or its toxicity, at which a
/// troll's comment baits.
const BAITS: f32 = 0.6;

/// Whether a comment the model reads as a troll's has anything hostile in
/// it: an insult or swear word, a negative tone, toxicity. Swearing in a
/// tone the model reads as positive ("this sauce is fucking insane 🔥") is
/// a fan's enthusiasm, not bait, unless it aims an insult or hate.
fn baits(subject: &Subject<'_>, c: &Classification) -> bool {
    if crate::classify::rules::insult(subject.text).is_some() || c.toxicity.hate >= BAITS {
        return true;
    }
    let enthusiastic = c.sentiment.prob(Sentiment::Positive) >= BAITS;
    c.sentiment.prob(Sentiment::Negative) >= BAITS
        || (c.toxicity.offensive >= BAITS && !enthusiastic)
}

/// What a message is removed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Harm {
    Spam,
    Hate,
    /// Personal data shown by a troll.
    Exposure,
}

impl Harm {
    fn name(self) -> &'static str {
        match self {
            Harm::Spam => "spam or scam",
            Harm::Hate => "hate speech",
            Harm::Exposure => "personal data exposed by a troll",
        }
    }
}

/// The model's probability at which it alone is evidence enough.
const MODEL_SURE: f32 = 0.9;
/// The model's toxicity at which it agrees with a hate rule.
const MODEL_AGREES: f32 = 0.5;
/// The weight the model gives a customer issue (complaint, feedback,
/// question) at which the message is taken for a customer's.
const CUSTOMER_ISSUE: f32 = 0.25;

/// The first rule that read spam or a scam.
fn spam_rule(c: &Classification) -> Option<&str> {
    c.rules
        .iter()
        .find(|h| h.flag == Flag::Spam)
        .map(|h| h.name.as_str())
}

/// The likeliest intent other than `not`.
fn best_but(c: &Classification, not: Intent) -> Intent {
    c.intent
        .scores
        .iter()
        .filter(|(intent, _)| **intent != not)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(Intent::Other, |(intent, _)| *intent)
}

/// Signs that a real customer or prospect wrote: any of them keeps replyd
/// from deleting and blocking on its own. Blocking a complaining customer
/// or a prospect is the worst thing it can do.
fn customer_signs(subject: &Subject<'_>, ctx: &Context<'_>) -> Vec<String> {
    let c = ctx.classification;
    let mut signs = Vec::new();
    let issue = c.intent.prob(Intent::Complaint)
        + c.intent.prob(Intent::Feedback)
        + c.intent.prob(Intent::Question);
    if issue >= CUSTOMER_ISSUE {
        signs.push(format!(
            "the model gives a customer issue weight ({issue:.2})"
        ));
    }
    let cues = crate::classify::rules::heuristic(subject.text).intent.label;
    if matches!(cues, Intent::Complaint | Intent::Feedback) {
        signs.push(format!("its words read as {cues}"));
    }
    if c.sentiment.label == Sentiment::Positive && spam_rule(c).is_none() {
        signs.push("a positive message no spam rule reads as spam".into());
    }
    if ctx.lead.is_prospect() {
        signs.push("the author is a prospect for sales".into());
    }
    if subject.kind == Kind::Dm && !subject.first_contact {
        signs.push("a conversation in progress".into());
    }
    signs
}

/// Delete and block when two independent signals agree (a rule and the
/// model, or the model sure on its own) and nothing says a customer wrote
/// it; otherwise hide what can be hidden and let a person confirm the rest.
/// Personal data is never a signal: it is what customers share to be helped.
fn remove(
    subject: &Subject<'_>,
    ctx: &Context<'_>,
    harm: Harm,
    signs: &[String],
    mut reasons: Vec<String>,
) -> Plan {
    let c = ctx.classification;
    let (rule, model, sure) = match harm {
        Harm::Spam => {
            let p = c.intent.prob(Intent::Spam);
            (
                spam_rule(c).map(|r| format!("rule {r}")),
                if c.intent.label == Intent::Spam {
                    Some(format!("the model ({p:.2})"))
                } else {
                    c.near(Flag::Spam)
                        .then(|| "the model (near scam exemplars)".to_owned())
                },
                p >= MODEL_SURE,
            )
        }
        Harm::Hate => {
            let p = c.toxicity.hate;
            let toxic = p.max(c.toxicity.offensive);
            (
                c.rules
                    .iter()
                    .find(|h| h.flag == Flag::Hate)
                    .map(|h| format!("rule {}", h.name)),
                // Beside a rule, the model agrees when it reads the words as
                // toxic at all, the message as a troll's, or near hate.
                (toxic >= MODEL_AGREES
                    || matches!(c.intent.label, Intent::Troll | Intent::Spam)
                    || c.near(Flag::Hate))
                .then(|| format!("the model (toxicity {toxic:.2}, {})", c.intent.label)),
                p >= MODEL_SURE,
            )
        }
        Harm::Exposure => (
            c.rules
                .iter()
                .find(|h| h.flag == Flag::Pii)
                .map(|h| format!("rule {}", h.name)),
            (c.intent.label == Intent::Troll)
                .then(|| format!("the model reads a troll ({:.2})", c.intent.confidence())),
            false,
        ),
    };
    let why = harm.name();
    let removable = !matches!(subject.kind, Kind::Dm | Kind::Review);
    let alone = signs.is_empty() && ((rule.is_some() && model.is_some()) || sure);
    if alone {
        let evidence: Vec<String> = [rule, model].into_iter().flatten().collect();
        reasons.push(format!(
            "{why} ({}): remove, block the author, record for reporting",
            evidence.join(" and ")
        ));
        return Plan {
            summary: format!("{why}: delete and block"),
            reasons,
            proposals: removal(why, removable, None),
            record: Some("moderation.removed"),
        };
    }
    let doubt = if signs.is_empty() {
        format!(
            "{why} on one signal only ({}): a person confirms",
            rule.or(model).unwrap_or_else(|| "none".into())
        )
    } else {
        format!("{why}, but {}: a person confirms", signs.join(", "))
    };
    let hide = subject.kind == Kind::Comment;
    reasons.push(format!(
        "{doubt}; {}never answered",
        if hide { "hidden meanwhile, " } else { "" }
    ));
    let proposals = hide_and_hold(hide, why, removable, &doubt);
    Plan {
        summary: format!(
            "{why}: {}delete and block held for review",
            if hide { "hide, " } else { "" }
        ),
        reasons,
        proposals,
        record: Some("moderation.held"),
    }
}
