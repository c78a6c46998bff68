//! `[brand]` and `[llm]`: how replies sound, and the model that drafts
//! them when one is configured.

use serde::Deserialize;

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
