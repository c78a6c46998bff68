//! One `Config`, read from a TOML file, then `REPLYD_*` environment
//! variables, then command-line flags, and checked before anything starts.
//!
//! Environment keys name the TOML path in upper case with `__` between a
//! section and its key: `REPLYD_LISTEN`, `REPLYD_POLICY__AUTO_SEND`,
//! `REPLYD_MODEL__CACHE_DIR`. Values are read as TOML when they parse as
//! TOML (`8`, `true`, `["acknowledge"]`) and the key takes them, and as a
//! plain string otherwise.
//!
//! Errors name the file, line, column and key, or the variable, and never
//! the value: it may be a secret.
//!
//! Each section is a type of this module's own, one file per group of
//! sections, so the modules configured by them depend on the config and
//! never the other way round; `load.rs` reads the sources, `validate.rs`
//! checks what their types cannot.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod brand;
mod connectors;
mod http;
mod jobs;
mod leads;
mod load;
mod model;
mod policy;
mod rules;
mod sla;
mod validate;

pub use brand::{BrandConfig, DutchAddress, LlmConfig};
pub use connectors::{
    ConnectorsConfig, MetaConfig, MetaPageConfig, MetaPlatform, WebhookConnectorConfig,
};
pub use http::{ConsoleConfig, HttpConfig};
pub use jobs::{DeliveryConfig, PipelineConfig};
pub use leads::{LeadEvent, LeadWebhookConfig, LeadsConfig, WebhookFormat};
pub use load::Overrides;
pub use model::{ModelConfig, Precision};
pub use policy::{NeutralComments, PolicyConfig, TrollAction};
pub use rules::{CustomRule, GuardrailConfig, RulesConfig};
pub use sla::{BusinessHoursConfig, Hours, SlaConfig};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}{}: {message}", location(.line_column, .key))]
    File {
        path: PathBuf,
        line_column: Option<(usize, usize)>,
        key: Option<String>,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// `, line 2, column 14, key `meta.app_secret``, as much as is known.
fn location(line_column: &Option<(usize, usize)>, key: &Option<String>) -> String {
    let mut out = String::new();
    if let Some((line, column)) = line_column {
        out.push_str(&format!(", line {line}, column {column}"));
    }
    if let Some(key) = key {
        out.push_str(&format!(", key `{key}`"));
    }
    out
}

/// A value that must never be printed: its `Debug` and `Display` redact it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// `sqlite://path` (the default, `replyd.db` in the working directory)
    /// or `postgres://...`.
    pub database_url: Secret,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    pub model: ModelConfig,
    pub pipeline: PipelineConfig,
    pub delivery: DeliveryConfig,
    pub brand: BrandConfig,
    pub policy: PolicyConfig,
    pub connectors: ConnectorsConfig,
    pub rules: RulesConfig,
    pub guardrails: GuardrailConfig,
    /// Drafts every reply with an OpenAI-compatible model when set.
    pub llm: Option<LlmConfig>,
    pub leads: LeadsConfig,
    /// A directory whose templates (`en.toml`, `nl.toml`... and `llm/*.j2`)
    /// override the built-in ones.
    pub prompts_dir: Option<PathBuf>,
    /// The brand's facts (opening hours, shipping, returns...): the only
    /// source replies may state facts from.
    pub facts_file: Option<PathBuf>,
    /// Facebook and Instagram: the webhook and the Graph API connector.
    pub meta: Option<MetaConfig>,
    pub console: ConsoleConfig,
    pub http: HttpConfig,
    /// The response-time target the review queue is ordered by.
    pub sla: SlaConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            database_url: Secret::new("sqlite://replyd.db"),
            log_format: LogFormat::Text,
            model: ModelConfig::default(),
            pipeline: PipelineConfig::default(),
            delivery: DeliveryConfig::default(),
            brand: BrandConfig::default(),
            policy: PolicyConfig::default(),
            connectors: ConnectorsConfig::default(),
            rules: RulesConfig::default(),
            guardrails: GuardrailConfig::default(),
            llm: None,
            leads: LeadsConfig::default(),
            prompts_dir: None,
            facts_file: None,
            meta: None,
            console: ConsoleConfig::default(),
            http: HttpConfig::default(),
            sla: SlaConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests;
