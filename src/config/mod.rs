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

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::{ActionKind, Platform};

mod model;
mod rules;

pub use model::{ModelConfig, Precision};
pub use rules::{CustomRule, GuardrailConfig, RulesConfig};

const ENV_PREFIX: &str = "REPLYD_";

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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Jobs (pipeline steps and deliveries) run at once by this process.
    pub concurrency: usize,
    /// How long a claimed job stays ours; past it another worker may take it.
    pub lease_secs: u64,
    /// How often idle workers look for work they were not told about.
    pub poll_interval_ms: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            concurrency: 16,
            lease_secs: 60,
            poll_interval_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts before an action is marked `failed`.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt, with jitter, up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub timeout_secs: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_attempts: 8,
            backoff_base_ms: 500,
            backoff_max_ms: 300_000,
            timeout_secs: 10,
        }
    }
}

impl DeliveryConfig {
    /// Delay before attempt `attempt + 1` of any delivery.
    pub fn backoff(&self, attempt: u32) -> std::time::Duration {
        crate::retry::exponential_backoff(
            std::time::Duration::from_millis(self.backoff_base_ms),
            std::time::Duration::from_millis(self.backoff_max_ms),
            attempt,
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandConfig {
    pub name: String,
    /// Closing line added to replies, e.g. "Team Fietsie".
    pub sign_off: Option<String>,
    /// Dutch form of address: `je` (informal) or `u` (formal).
    pub dutch_address: DutchAddress,
    pub emoji: bool,
    /// How the brand sounds, in a few words; given to the LLM.
    pub tone: String,
    /// Whether a light joke is ever welcome; given to the LLM.
    pub humour: bool,
    /// The private channel replies move a conversation to ("DM", "WhatsApp").
    pub channel: String,
}

impl Default for BrandConfig {
    fn default() -> Self {
        BrandConfig {
            // No name rather than an English stand-in inside a Dutch or
            // German sentence: the templates word it without one.
            name: String::new(),
            sign_off: None,
            dutch_address: DutchAddress::Je,
            emoji: true,
            tone: "warm, personal, concise".into(),
            humour: false,
            channel: "DM".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DutchAddress {
    Je,
    U,
}

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// An OpenAI-compatible API: OpenAI, Azure, Ollama, vLLM...
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key (never the key itself,
    /// so it stays out of config files).
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
    #[serde(default = "default_llm_timeout")]
    pub timeout_secs: u64,
}

fn default_api_key_env() -> String {
    "OPENAI_API_KEY".into()
}

fn default_llm_timeout() -> u64 {
    20
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

/// How long and how much a client may take: the defences against slow and
/// hostile clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A request's headers must be in this many seconds after its first
    /// byte (or after the previous request on a kept-alive connection).
    pub header_timeout_secs: u64,
    /// A request's body must be in this many seconds after its headers;
    /// later, it is answered 408.
    pub body_timeout_secs: u64,
    /// Meta webhook bodies read at once; more wait up to half of
    /// `body_timeout_secs` for a turn, then are answered 503 (Meta retries).
    pub webhook_bodies_in_flight: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            webhook_bodies_in_flight: 8,
        }
    }
}

/// The web console served at `/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// How long a sign-in lasts.
    pub session_hours: u32,
    /// Mark the session cookie `Secure` (only sent over HTTPS). Turn on when
    /// the console is reached through a TLS-terminating proxy.
    pub secure_cookies: bool,
    /// The addresses browsers reach the console at when a reverse proxy
    /// stands in front (`https://replyd.example.com`): the proxy sends its
    /// upstream as `Host`, so a form posted from the page would otherwise
    /// look cross-site.
    pub public_urls: Vec<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_hours: 12,
            secure_cookies: false,
            public_urls: Vec::new(),
        }
    }
}

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

/// Overrides given on the command line; they win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
}

impl Config {
    /// Reads `path` (or `./replyd.toml` when it exists), then the process
    /// environment, then `overrides`.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let default_path = Path::new("replyd.toml");
        let path = match path {
            Some(p) => Some(p),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let file_text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_owned(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_sources(
            path.unwrap_or(default_path),
            &file_text,
            std::env::vars(),
            overrides,
        )
    }

    /// The pure part of [`Config::load`], testable without touching the process.
    pub fn from_sources(
        path: &Path,
        file_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        // Parse the file alone first: its errors then carry line and column.
        // toml's own rendering of an error quotes the offending line, which
        // may hold a secret, so only its bare message is kept.
        let file_error = |e: toml::de::Error, key: Option<String>| ConfigError::File {
            path: path.to_owned(),
            line_column: e.span().map(|span| line_column(file_text, span.start)),
            key,
            message: without_value(e.message()),
        };
        serde_path_to_error::deserialize::<_, Config>(toml::Deserializer::new(file_text)).map_err(
            |e| {
                let key = key_of(&e);
                file_error(e.into_inner(), key)
            },
        )?;
        let mut table: toml::Table = toml::from_str(file_text).map_err(|e| file_error(e, None))?;

        let mut env_vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        env_vars.sort();
        if let Some(url) = overrides.database_url.clone() {
            table.insert("database_url".into(), toml::Value::String(url));
        }
        for (var, raw) in &env_vars {
            let path: Vec<String> = var[ENV_PREFIX.len()..]
                .split("__")
                .map(|part| part.to_ascii_lowercase())
                .collect();
            // Deserialize after each variable so an error names the variable.
            let mut set = |value: toml::Value| {
                set_path(&mut table, &path, value)?;
                serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(table.clone()))
                    .map(drop)
                    .map_err(|e| without_value(e.inner().message()))
            };
            // Typed first, so `8`, `true` and `["hide"]` reach numbers, flags
            // and lists. A token or password may look like a number or a
            // flag (`918273645`); when the key refuses the typed value, the
            // raw text is tried as a string. The config's own types decide,
            // so no list of string keys has to be kept in step with them.
            let typed = parse_env_value(raw);
            let as_text = (!typed.is_str()).then(|| toml::Value::String(raw.clone()));
            let outcome = match (set(typed), as_text) {
                (Err(first), Some(text)) => set(text).map_err(|_| first),
                (outcome, _) => outcome,
            };
            outcome.map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
        }

        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::Invalid {
                key: e.path().to_string(),
                message: without_value(e.inner().message()),
            })?;
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                message: message.into(),
            })
        };
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("database_url", "must start with sqlite: or postgres://");
        }
        if self.pipeline.concurrency == 0 {
            return invalid("pipeline.concurrency", "must be at least 1");
        }
        if self.pipeline.lease_secs < 5 {
            return invalid("pipeline.lease_secs", "must be at least 5 seconds");
        }
        if self.delivery.max_attempts == 0 {
            return invalid("delivery.max_attempts", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.policy.min_confidence) {
            return invalid("policy.min_confidence", "must be between 0 and 1");
        }
        if self.model.max_batch_size == 0 || self.model.max_batch_tokens < 512 {
            return invalid(
                "model.max_batch_tokens",
                "batches need at least 512 tokens and 1 message",
            );
        }
        if self.model.second_adapters_dir.is_some() != self.model.second_heads_dir.is_some() {
            let missing = if self.model.second_heads_dir.is_none() {
                "model.second_heads_dir"
            } else {
                "model.second_adapters_dir"
            };
            return invalid(
                missing,
                "must be set with the other: heads only fit the encoder they were trained on",
            );
        }
        if let Some(llm) = &self.llm {
            if !(llm.base_url.starts_with("http://") || llm.base_url.starts_with("https://")) {
                return invalid("llm.base_url", "must be an http(s) URL");
            }
            if llm.model.trim().is_empty() {
                return invalid("llm.model", "must name a model");
            }
            if llm.timeout_secs == 0 {
                return invalid("llm.timeout_secs", "must be at least 1");
            }
        }
        let hooks = self.connectors.webhook.iter().map(|h| (&h.url, &h.secret));
        let lead_hooks = self.leads.webhooks.iter().map(|h| (&h.url, &h.secret));
        let all_hooks = hooks
            .enumerate()
            .map(|(i, h)| (format!("connectors.webhook[{i}]"), h))
            .chain(
                lead_hooks
                    .enumerate()
                    .map(|(i, h)| (format!("leads.webhooks[{i}]"), h)),
            );
        for (key, (url, secret)) in all_hooks {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return invalid(&format!("{key}.url"), "must be an http(s) URL");
            }
            if secret.is_empty() {
                return invalid(&format!("{key}.secret"), "must not be empty");
            }
        }
        if !(0.0..=1.0).contains(&self.leads.min_score) {
            return invalid("leads.min_score", "must be between 0 and 1");
        }
        if self.leads.window_days == 0 {
            return invalid("leads.window_days", "must be at least 1 day");
        }
        if !(1..=24 * 30).contains(&self.console.session_hours) {
            return invalid("console.session_hours", "must be 1 to 720 hours");
        }
        for (i, url) in self.console.public_urls.iter().enumerate() {
            // Compared with a browser's `Origin`: scheme, host and port only.
            let host = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .map(|rest| rest.strip_suffix('/').unwrap_or(rest));
            if !host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#', '@'])) {
                return invalid(
                    &format!("console.public_urls[{i}]"),
                    "must be an origin like https://replyd.example.com (no path)",
                );
            }
        }
        if let Some(meta) = &self.meta {
            meta.validate()?;
        }
        Ok(())
    }
}

impl MetaConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.into(),
            })
        };
        if self.app_secret.is_empty() {
            return invalid("meta.app_secret".into(), "must not be empty");
        }
        if self.verify_token.is_empty() {
            return invalid("meta.verify_token".into(), "must not be empty");
        }
        if !(self.graph_url.starts_with("http://") || self.graph_url.starts_with("https://")) {
            return invalid("meta.graph_url".into(), "must be an http(s) URL");
        }
        if self.calls_per_minute == 0 {
            return invalid("meta.calls_per_minute".into(), "must be at least 1");
        }
        if self.max_pause_secs == Some(0) {
            return invalid("meta.max_pause_secs".into(), "must be at least 1");
        }
        if !(1..=100).contains(&self.slow_down_at) {
            return invalid("meta.slow_down_at".into(), "must be a percentage, 1 to 100");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, page) in self.pages.iter().enumerate() {
            // Ids go into Graph paths: digits only keeps them from being anything else.
            if page.id.is_empty() || !page.id.bytes().all(|b| b.is_ascii_digit()) {
                return invalid(
                    format!("meta.pages[{i}].id"),
                    "must be a numeric page or account id",
                );
            }
            if !seen.insert(&page.id) {
                return invalid(format!("meta.pages[{i}].id"), "is configured twice");
            }
            if page.access_token.is_empty() {
                return invalid(format!("meta.pages[{i}].access_token"), "must not be empty");
            }
            if page.calls_per_minute == Some(0) {
                return invalid(
                    format!("meta.pages[{i}].calls_per_minute"),
                    "must be at least 1",
                );
            }
        }
        Ok(())
    }

    pub fn page(&self, id: &str) -> Option<&MetaPageConfig> {
        self.pages.iter().find(|p| p.id == id)
    }
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

/// The 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The key an error is about; none for the file as a whole.
fn key_of<E>(e: &serde_path_to_error::Error<E>) -> Option<String> {
    Some(e.path().to_string()).filter(|p| p != ".")
}

/// A deserializer's message without the value it was given, which may be a
/// secret. serde words it `invalid type: string "s3cr3t", expected a
/// string` and the domain types `unknown value `x`, expected one of: ...`:
/// whatever is quoted before the last "expected" goes, and what follows
/// "expected" comes from the config's own types. Multi-line messages are
/// joined into one line.
fn without_value(message: &str) -> String {
    let message = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    // These quote a key, never a value.
    if ["unknown field", "missing field", "duplicate"]
        .iter()
        .any(|start| message.starts_with(start))
    {
        return message;
    }
    let (said, expected) = message.split_at(message.rfind("expected").unwrap_or(message.len()));
    let said = said[..said.find(['`', '"', '\'']).unwrap_or(said.len())]
        .trim_end()
        .trim_end_matches([',', ';', ':'])
        .trim_end();
    match (said.is_empty(), expected.is_empty()) {
        (_, true) => said.to_owned(),
        (true, false) => expected.to_owned(),
        (false, false) => format!("{said}, {expected}"),
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_sources(
            Path::new("replyd.toml"),
            file,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            &Overrides::default(),
        )
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let config = load("", &[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url.expose(), "sqlite://replyd.db");
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = load(
            "listen = \"127.0.0.1:9000\"\n[pipeline]\nconcurrency = 2\n",
            &[
                ("REPLYD_PIPELINE__CONCURRENCY", "7"),
                ("REPLYD_POLICY__AUTO_SEND", "[\"hide\"]"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.pipeline.concurrency, 7);
        assert_eq!(config.policy.auto_send, vec![ActionKind::Hide]);
    }

    #[test]
    fn unknown_file_key_names_key_and_line() {
        let err = load("[pipeline]\nconcurency = 2\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("concurency"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_env_key_names_the_variable() {
        let err = load("", &[("REPLYD_PIPELINE__NOPE", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("REPLYD_PIPELINE__NOPE"), "{err}");
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = load("[policy]\nmin_confidence = 3.0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("policy.min_confidence"), "{err}");
    }

    #[test]
    fn a_second_member_needs_both_its_adapters_and_its_heads() {
        let err = load(
            "[model]\nsecond_adapters_dir = \"/srv/second/adapters\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("model.second_heads_dir"), "{err}");
        let err = load(
            "",
            &[("REPLYD_MODEL__SECOND_HEADS_DIR", "/srv/second/heads")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("model.second_adapters_dir"), "{err}");
        let both = load(
            "[model]\nsecond_adapters_dir = \"/a\"\nsecond_heads_dir = \"/h\"\n",
            &[("REPLYD_MODEL__ENSEMBLE", "false")],
        )
        .unwrap();
        assert!(!both.model.ensemble);
        assert!(load("", &[]).unwrap().model.ensemble, "on by default");
    }

    #[test]
    fn the_shipped_example_is_a_valid_config() {
        let example = include_str!("../../replyd.example.toml");
        load(example, &[]).expect("replyd.example.toml loads");
    }

    #[test]
    fn secrets_never_print() {
        let config = load(
            "[[connectors.webhook]]\nplatform = \"shop\"\nurl = \"http://x\"\nsecret = \"hunter2\"\n",
            &[],
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            !printed.contains("replyd.db"),
            "database URLs can hold passwords"
        );
    }

    const META: &str = "[meta]\napp_secret = \"appsecret1\"\nverify_token = \"vt\"\n\
        [[meta.pages]]\nid = \"1234\"\nplatform = \"instagram\"\naccess_token = \"EAAtoken\"\n";

    #[test]
    fn meta_section_parses_with_defaults_and_hides_its_secrets() {
        let config = load(META, &[]).unwrap();
        let meta = config.meta.as_ref().unwrap();
        assert_eq!(meta.graph_url, "https://graph.facebook.com/v21.0");
        assert_eq!(meta.page("1234").unwrap().platform, MetaPlatform::Instagram);
        let printed = format!("{config:?}");
        for secret in ["appsecret1", "EAAtoken"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn meta_section_is_checked() {
        let err = load(&META.replace("\"1234\"", "\"12/34\""), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("meta.pages[0].id"), "{err}");
        let err = load(
            &META.replace("platform = \"instagram\"", "platform = \"tiktok\""),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("meta.pages[0].platform") && err.contains("line 6"),
            "{err}"
        );
        assert!(!err.contains("tiktok"), "values are never echoed: {err}");
        let err = load(&META.replace("vt", ""), &[]).unwrap_err().to_string();
        assert!(err.contains("meta.verify_token"), "{err}");
        let capped = META.replace("[[meta.pages]]", "max_pause_secs = 0\n[[meta.pages]]");
        let err = load(&capped, &[]).unwrap_err().to_string();
        assert!(err.contains("meta.max_pause_secs"), "{err}");
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column_but_never_the_line() {
        let err = load(
            "[meta]\napp_secret = \"s3cr3t-value\nverify_token = \"vt\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        for part in ["replyd.toml", "line 2", "column"] {
            assert!(err.contains(part), "{part}: {err}");
        }
    }

    #[test]
    fn a_value_the_key_cannot_take_is_named_by_key_not_echoed() {
        let err = load(
            "[meta]\napp_secret = 918273645\nverify_token = \"vt\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("918273645"), "{err}");
        assert!(
            err.contains("meta.app_secret") && err.contains("line 2"),
            "{err}"
        );
        let err = load("", &[("REPLYD_PIPELINE__CONCURRENCY", "-918273645")])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("918273645"), "{err}");
        assert!(err.contains("REPLYD_PIPELINE__CONCURRENCY"), "{err}");
        let err = load("[policy]\ntroll_action = \"s3cr3t\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.contains("policy.troll_action"), "{err}");
    }

    #[test]
    fn numeric_looking_env_values_are_strings_where_the_key_wants_a_string() {
        let config = load(
            META,
            &[
                ("REPLYD_META__VERIFY_TOKEN", "918273645"),
                ("REPLYD_META__APP_SECRET", "true"),
                ("REPLYD_BRAND__NAME", "1e3"),
                ("REPLYD_PIPELINE__CONCURRENCY", "7"),
            ],
        )
        .unwrap();
        let meta = config.meta.as_ref().unwrap();
        assert_eq!(meta.verify_token.expose(), "918273645");
        assert_eq!(meta.app_secret.expose(), "true");
        assert_eq!(config.brand.name, "1e3");
        assert_eq!(config.pipeline.concurrency, 7, "numbers stay numbers");
    }

    #[test]
    fn public_urls_are_origins() {
        let config = load(
            "[console]\npublic_urls = [\"https://replyd.example.com/\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.console.public_urls.len(), 1);
        for bad in ["replyd.example.com", "https://replyd.example.com/console"] {
            let err = load(&format!("[console]\npublic_urls = [\"{bad}\"]\n"), &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains("console.public_urls[0]"), "{err}");
        }
    }

    #[test]
    fn messages_lose_the_values_they_quote() {
        assert_eq!(
            without_value("invalid type: integer `918273645`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_value("invalid type: string \"a, expected b\", expected u32"),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            without_value("unknown variant `hunter2`, expected `hide` or `ignore`"),
            "unknown variant, expected `hide` or `ignore`"
        );
        assert_eq!(
            without_value("unknown field `nope`, expected `a`"),
            "unknown field `nope`, expected `a`"
        );
    }
}
