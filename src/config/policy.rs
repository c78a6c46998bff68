//! `[policy]`: what goes out without a person, and what waits for one.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{ActionKind, Platform};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Action kinds that go out without a reviewer.
    pub auto_send: Vec<ActionKind>,
    /// Per-platform replacement of `auto_send`.
    pub auto_send_by_platform: BTreeMap<Platform, Vec<ActionKind>>,
    /// Below this intent confidence a draft waits for a human.
    pub min_confidence: f32,
    /// Above this hate or offensive probability a message counts as hateful.
    pub toxicity_threshold: f32,
    /// What to do with trolls: `hide` or `ignore`. They are never answered.
    pub troll_action: TrollAction,
    pub troll_action_by_platform: BTreeMap<Platform, TrollAction>,
    /// How a neutral comment (tag-a-friend, "first!", an emoji) is
    /// acknowledged: `like_or_thank` likes it where the platform has likes
    /// and answers a short thank-you where it has none (Instagram), `like`
    /// only likes, `ignore` leaves it be.
    pub neutral_comments: NeutralComments,
    /// Authors whose every message waits for a person: `platform:author_id`
    /// or `@handle`.
    pub vip_authors: Vec<String>,
    /// A strongly negative message on a public thread seen by at least this
    /// many people (the message's `meta.reach`) waits for a person.
    pub negative_reach_threshold: i64,
    /// Platforms where an author's first message always waits for a person.
    pub review_first_contact: Vec<Platform>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            auto_send: vec![
                ActionKind::Acknowledge,
                ActionKind::Prequalify,
                ActionKind::Like,
                ActionKind::Hide,
                ActionKind::Delete,
                ActionKind::Block,
            ],
            auto_send_by_platform: BTreeMap::new(),
            min_confidence: 0.35,
            toxicity_threshold: 0.8,
            troll_action: TrollAction::Hide,
            troll_action_by_platform: BTreeMap::new(),
            neutral_comments: NeutralComments::LikeOrThank,
            vip_authors: Vec::new(),
            negative_reach_threshold: 5000,
            review_first_contact: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrollAction {
    Hide,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeutralComments {
    LikeOrThank,
    Like,
    Ignore,
}

impl PolicyConfig {
    pub fn troll_action(&self, platform: &Platform) -> TrollAction {
        *self
            .troll_action_by_platform
            .get(platform)
            .unwrap_or(&self.troll_action)
    }

    pub fn auto_sends(&self, platform: &Platform, kind: ActionKind) -> bool {
        self.auto_send_by_platform
            .get(platform)
            .unwrap_or(&self.auto_send)
            .contains(&kind)
    }
}
