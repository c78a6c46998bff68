//! `[connectors]` and `[meta]`: the platforms replyd sends through.

use std::fmt;

use serde::Deserialize;

use super::Secret;
use crate::domain::Platform;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorsConfig {
    /// Bridges a platform through signed HTTP posts to your own endpoint.
    pub webhook: Vec<WebhookConnectorConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConnectorConfig {
    pub platform: Platform,
    pub url: String,
    /// Signs every request (`X-Replyd-Signature`).
    pub secret: Secret,
}

/// The `[meta]` section: one Meta app, and the pages and Instagram accounts
/// replyd answers for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaConfig {
    /// Signs every webhook Meta sends (`X-Hub-Signature-256`).
    pub app_secret: Secret,
    /// Echoed by the subscription handshake; any string you choose.
    pub verify_token: Secret,
    /// The Graph API's base URL with its version.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// Graph calls per minute per page, unless the page sets its own.
    #[serde(default = "default_calls_per_minute")]
    pub calls_per_minute: u32,
    /// From this share of Meta's reported usage (percent) calls slow down.
    #[serde(default = "default_slow_down_at")]
    pub slow_down_at: u32,
    /// How long a rate-limited page pauses when Meta gives no estimate.
    #[serde(default = "default_pause_secs")]
    pub default_pause_secs: u64,
    /// The longest a page pauses, whatever Meta estimates; unset trusts Meta.
    #[serde(default)]
    pub max_pause_secs: Option<u64>,
    #[serde(default)]
    pub pages: Vec<MetaPageConfig>,
}

fn default_graph_url() -> String {
    "https://graph.facebook.com/v21.0".into()
}

fn default_calls_per_minute() -> u32 {
    200
}

fn default_slow_down_at() -> u32 {
    75
}

fn default_pause_secs() -> u64 {
    300
}

impl MetaConfig {
    pub fn page(&self, id: &str) -> Option<&MetaPageConfig> {
        self.pages.iter().find(|p| p.id == id)
    }
}

/// A Facebook page or an Instagram professional account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaPageConfig {
    pub id: String,
    pub platform: MetaPlatform,
    /// A page access token (for Instagram: the token of its linked page).
    pub access_token: Secret,
    /// Replaces `meta.calls_per_minute` for this page.
    pub calls_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetaPlatform {
    Facebook,
    Instagram,
}

impl MetaPlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            MetaPlatform::Facebook => "facebook",
            MetaPlatform::Instagram => "instagram",
        }
    }

    pub fn platform(self) -> Platform {
        self.as_str().parse().expect("a valid platform name")
    }
}

impl fmt::Display for MetaPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
