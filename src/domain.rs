//! The vocabulary every stage shares. Each type parses its input once, at the
//! edge, so the rest of the code never re-checks a string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Raised when a string is not a valid value of one of the domain types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct ParseError {
    pub what: &'static str,
    pub message: String,
}

impl ParseError {
    fn new(what: &'static str, message: impl Into<String>) -> Self {
        Self {
            what,
            message: message.into(),
        }
    }
}

/// Declares a closed set of lowercase names with `as_str`, `FromStr`,
/// `Display` and serde in their wire form, so each enum is written once.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(ParseError::new($what, format!(
                        "unknown value `{other}`, expected one of: {}",
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// What kind of message arrived.
    Kind, "kind" {
        Comment => "comment",
        Dm => "dm",
        Review => "review",
        Mention => "mention",
    }
);

named_enum!(
    /// The customer's mood.
    Sentiment, "sentiment" {
        Negative => "negative",
        Neutral => "neutral",
        Positive => "positive",
    }
);

named_enum!(
    /// What the author wants; the policy's main input.
    Intent, "intent" {
        Complaint => "complaint",
        Feedback => "feedback",
        Question => "question",
        Praise => "praise",
        Lead => "lead",
        Troll => "troll",
        Spam => "spam",
        Other => "other",
    }
);

named_enum!(
    /// A risk or signal raised by the rules or the model; each one is stored
    /// with the decision that it influenced.
    Flag, "flag" {
        Pii => "pii",
        Threat => "threat",
        Hate => "hate",
        Offensive => "offensive",
        Legal => "legal",
        Injection => "injection",
        Press => "press",
        SelfHarm => "self_harm",
        Lead => "lead",
        Spam => "spam",
    }
);

named_enum!(
    /// Something replyd does on a platform.
    ActionKind, "action kind" {
        Acknowledge => "acknowledge",
        Reply => "reply",
        PrivateReply => "private_reply",
        DmReply => "dm_reply",
        Hide => "hide",
        Like => "like",
        Delete => "delete",
        Block => "block",
        Prequalify => "prequalify",
        LeadHandoff => "lead_handoff",
        // Only people undo a hide or a block (the workbench): the
        // playbook never proposes these.
        Unhide => "unhide",
        Unblock => "unblock",
    }
);

impl ActionKind {
    /// Actions that put words in front of a customer (and so have a draft).
    pub fn carries_text(self) -> bool {
        matches!(
            self,
            ActionKind::Acknowledge
                | ActionKind::Reply
                | ActionKind::PrivateReply
                | ActionKind::DmReply
                | ActionKind::Prequalify
        )
    }
}

named_enum!(
    /// Where an outbound action is in its life.
    ActionStatus, "action status" {
        Pending => "pending",
        Held => "held",
        Approved => "approved",
        Rejected => "rejected",
        Sending => "sending",
        Sent => "sent",
        DryRun => "dry_run",
        Failed => "failed",
        Skipped => "skipped",
    }
);

impl ActionStatus {
    /// No further work will happen on an action in one of these states.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ActionStatus::Rejected
                | ActionStatus::Sent
                | ActionStatus::DryRun
                | ActionStatus::Failed
                | ActionStatus::Skipped
        )
    }
}

named_enum!(
    /// Where a lead is with sales. replyd moves it `new → prequalifying →
    /// qualified → handed_off`; people move it on to `won` or `lost`.
    LeadStatus, "lead status" {
        New => "new",
        Prequalifying => "prequalifying",
        Qualified => "qualified",
        HandedOff => "handed_off",
        Won => "won",
        Lost => "lost",
    }
);

impl LeadStatus {
    /// An open lead still collects its author's messages and blocks a second
    /// lead for the same author and platform.
    pub fn is_open(self) -> bool {
        !matches!(self, LeadStatus::Won | LeadStatus::Lost)
    }
}

named_enum!(
    /// Where the hand-off of a lead to one sales webhook is.
    HandoffStatus, "hand-off status" {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
);

named_enum!(
    /// Where a held draft is with the people reviewing it.
    ReviewStatus, "review status" {
        Held => "held",
        Approved => "approved",
        Rejected => "rejected",
    }
);

named_enum!(
    /// How far the pipeline has taken a message.
    Stage, "stage" {
        Received => "received",
        Classified => "classified",
        Decided => "decided",
        Done => "done",
        // Processing failed for good (a broken custom template, say): kept
        // and shown with its reason instead of waiting forever unseen.
        Failed => "failed",
    }
);

named_enum!(
    /// Who a token or session acts as.
    Role, "role" {
        Admin => "admin",
        Reviewer => "reviewer",
        Sales => "sales",
        Ingest => "ingest",
        Viewer => "viewer",
    }
);

/// A source of messages: `facebook`, `instagram`, or any other name a brand
/// bridges in through the generic API (`[a-z0-9_]{1,32}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Platform(String);

impl Platform {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_meta(&self) -> bool {
        matches!(self.0.as_str(), "facebook" | "instagram")
    }

    /// Whether replyd can like a comment here: Instagram's API has no like
    /// for a comment; other sources get the action and decide for
    /// themselves.
    pub fn has_likes(&self) -> bool {
        self.0 != "instagram"
    }
}

impl FromStr for Platform {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let valid = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Platform(s.to_owned()))
        } else {
            Err(ParseError::new(
                "platform",
                "must be 1 to 32 characters of a-z, 0-9 and _",
            ))
        }
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

named_enum!(
    /// The languages replyd writes in. Anything else is answered in English.
    Lang, "language" {
        Nl => "nl",
        En => "en",
        De => "de",
        Fr => "fr",
        Es => "es",
    }
);

impl Lang {
    /// Maps any BCP 47-ish tag (`nl-BE`, `EN`) to a supported language.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        primary.parse().ok()
    }
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new time-ordered id (UUID v7), so ids sort by creation.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                uuid::Uuid::parse_str(s)
                    .map(|u| Self(u.to_string()))
                    .map_err(|_| ParseError::new(stringify!($name), "not a valid id"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// replyd's own id of a stored message.
    MessageId
);
id_type!(
    /// replyd's id of an outbound action.
    ActionId
);
id_type!(
    /// replyd's id of a lead.
    LeadId
);
id_type!(
    /// replyd's id of a held action's review.
    ReviewId
);

/// A label with the calibrated probability of every class (they sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored<L: Ord> {
    pub label: L,
    pub scores: std::collections::BTreeMap<L, f32>,
}

impl<L: Ord + Copy> Scored<L> {
    /// Builds from a probability per class, labelled with the most likely.
    pub fn from_probs(classes: &[L], probs: &[f32]) -> Self {
        assert_eq!(classes.len(), probs.len(), "one probability per class");
        let best = probs
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        Scored {
            label: classes[best],
            scores: classes.iter().copied().zip(probs.iter().copied()).collect(),
        }
    }

    pub fn confidence(&self) -> f32 {
        self.scores.get(&self.label).copied().unwrap_or(0.0)
    }

    pub fn prob(&self, class: L) -> f32 {
        self.scores.get(&class).copied().unwrap_or(0.0)
    }
}

impl Scored<Sentiment> {
    /// Negative or positive, whichever is likelier: the answer to "is this
    /// review good or bad?" when the writer is known to have taken a side.
    pub fn polarity(&self) -> Sentiment {
        if self.prob(Sentiment::Positive) >= self.prob(Sentiment::Negative) {
            Sentiment::Positive
        } else {
            Sentiment::Negative
        }
    }
}

/// Probabilities of the two toxicity signals (independent, each 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Toxicity {
    pub hate: f32,
    pub offensive: f32,
}

/// A rule of the rules layer that fired, with the text it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    /// Stable rule name, e.g. `pii.email`, `legal.lawyer`, `lead.keyword`.
    pub name: String,
    pub flag: Flag,
    /// The matched text (personal data is masked before it is stored).
    #[serde(rename = "match")]
    pub matched: String,
}

/// A risk the message is near in meaning: labelled exemplars of it are
/// nearer than the harmless look-alikes (`classify::nearest`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NearRisk {
    pub flag: Flag,
    /// Mean cosine similarity to the risk's nearest exemplars.
    pub similarity: f32,
    /// Over the nearest harmless exemplars.
    pub margin: f32,
}

/// Everything the classifier knows about one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub lang: Option<Lang>,
    pub sentiment: Scored<Sentiment>,
    pub intent: Scored<Intent>,
    pub toxicity: Toxicity,
    pub flags: Vec<Flag>,
    pub rules: Vec<RuleHit>,
    /// Risks the model reads by nearness to labelled exemplars.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nearest: Vec<NearRisk>,
    /// Which classifier produced it (`rules`, or the model's name and version).
    pub classifier: String,
}

impl Classification {
    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether the model reads `flag` by nearness to its exemplars.
    pub fn near(&self, flag: Flag) -> bool {
        self.nearest.iter().any(|n| n.flag == flag)
    }
}

/// How urgent a held item is, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Self-harm, legal, press or a threat.
    Urgent,
    /// Any other risk flag: personal data, hate, offensive, injection, spam.
    Risk,
    /// Nothing flagged.
    Normal,
}

impl Priority {
    /// From the classification's flag names.
    pub fn of_flags<S: AsRef<str>>(flags: &[S]) -> Priority {
        let has = |names: &[&str]| flags.iter().any(|f| names.contains(&f.as_ref()));
        if has(&["self_harm", "legal", "press", "threat"]) {
            Priority::Urgent
        } else if has(&["pii", "hate", "offensive", "injection", "spam"]) {
            Priority::Risk
        } else {
            Priority::Normal
        }
    }

    pub fn rank(self) -> u8 {
        self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::Risk => "risk",
            Priority::Normal => "normal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_accepts_names_and_rejects_others() {
        assert!("facebook".parse::<Platform>().is_ok());
        assert!("my_shop_2".parse::<Platform>().is_ok());
        assert!("Facebook".parse::<Platform>().is_err());
        assert!("".parse::<Platform>().is_err());
        assert!("a".repeat(33).parse::<Platform>().is_err());
        assert!("face book".parse::<Platform>().is_err());
    }

    #[test]
    fn enums_round_trip_and_name_the_alternatives() {
        for kind in ActionKind::ALL {
            assert_eq!(kind.as_str().parse::<ActionKind>().unwrap(), *kind);
        }
        let err = "complain".parse::<Intent>().unwrap_err();
        assert!(err.to_string().contains("complaint"), "{err}");
    }

    #[test]
    fn lang_tags_map_to_supported_languages() {
        assert_eq!(Lang::from_tag("nl-BE"), Some(Lang::Nl));
        assert_eq!(Lang::from_tag("EN"), Some(Lang::En));
        assert_eq!(Lang::from_tag("it"), None);
    }

    #[test]
    fn scored_picks_the_most_probable_label() {
        let s = Scored::from_probs(Sentiment::ALL, &[0.1, 0.2, 0.7]);
        assert_eq!(s.label, Sentiment::Positive);
        assert!((s.confidence() - 0.7).abs() < 1e-6);
    }
}
