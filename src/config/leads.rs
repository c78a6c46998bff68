//! `[leads]`: lead detection, pre-qualification and the hand-off to sales.

use serde::Deserialize;

use super::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeadsConfig {
    /// Detect leads and pre-qualify them. Off: lead messages are only
    /// acknowledged by the playbook.
    pub enabled: bool,
    /// A message is a lead at or above this score (0..1).
    pub min_score: f64,
    /// An author's later messages join their open lead for this long, and no
    /// second lead is opened for them on the same platform meanwhile.
    pub window_days: u32,
    /// What the pre-qualifying message asks, in this order: each name is a
    /// `question.<name>` template (built in: company, collaboration, budget,
    /// timeline, email).
    pub questions: Vec<String>,
    /// Sales destinations every qualified lead is handed to.
    pub webhooks: Vec<LeadWebhookConfig>,
    /// The brand's own @handles: a message opening by tagging one is
    /// addressed to the brand, while tagging anyone else counts against a
    /// lead ("@jan you should stock these").
    pub own_handles: Vec<String>,
}

impl Default for LeadsConfig {
    fn default() -> Self {
        LeadsConfig {
            enabled: true,
            min_score: 0.5,
            window_days: 30,
            questions: ["company", "collaboration", "budget", "timeline", "email"]
                .map(String::from)
                .to_vec(),
            webhooks: Vec::new(),
            own_handles: Vec::new(),
        }
    }
}

impl LeadsConfig {
    pub fn window_ms(&self) -> i64 {
        i64::from(self.window_days) * 24 * 3600 * 1000
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadWebhookConfig {
    pub url: String,
    /// Signs every `json` hand-off (`X-Replyd-Signature`); required for
    /// `json`, unused for `slack` (whose URL is its secret).
    #[serde(default)]
    pub secret: Secret,
    /// What this destination hears of; all of them by default.
    #[serde(default = "LeadEvent::all")]
    pub events: Vec<LeadEvent>,
    /// The body: replyd's signed JSON, or a Slack incoming webhook's
    /// `{"text": ...}`.
    #[serde(default)]
    pub format: WebhookFormat,
}

impl LeadWebhookConfig {
    /// A signed `json` destination hearing of every event.
    pub fn json(url: impl Into<String>, secret: Secret) -> Self {
        LeadWebhookConfig {
            url: url.into(),
            secret,
            events: LeadEvent::all(),
            format: WebhookFormat::Json,
        }
    }

    pub fn hears(&self, event: LeadEvent) -> bool {
        self.events.contains(&event)
    }
}

/// What happened to a lead, as sales hears of it (`event` in the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum LeadEvent {
    /// replyd found a new lead.
    #[serde(rename = "lead.created")]
    Created,
    /// The lead has an e-mail address, or a person moved it to qualified:
    /// the hand-off.
    #[serde(rename = "lead.qualified")]
    Qualified,
    /// A follow-up message joined the lead, or a person changed its status,
    /// owner or notes.
    #[serde(rename = "lead.updated")]
    Updated,
    /// A person moved it to won or lost.
    #[serde(rename = "lead.closed")]
    Closed,
}

impl LeadEvent {
    pub fn all() -> Vec<LeadEvent> {
        vec![
            LeadEvent::Created,
            LeadEvent::Qualified,
            LeadEvent::Updated,
            LeadEvent::Closed,
        ]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LeadEvent::Created => "lead.created",
            LeadEvent::Qualified => "lead.qualified",
            LeadEvent::Updated => "lead.updated",
            LeadEvent::Closed => "lead.closed",
        }
    }
}

impl std::str::FromStr for LeadEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LeadEvent::all()
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown lead event `{s}`"))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// replyd's JSON body, signed with `secret`.
    #[default]
    Json,
    /// A Slack-compatible incoming webhook: `{"text": ...}` with a link to
    /// the lead in the console.
    Slack,
}
