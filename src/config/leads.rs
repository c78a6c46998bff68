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
    /// Signs every hand-off (`X-Replyd-Signature`).
    pub secret: Secret,
}
