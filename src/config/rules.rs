//! `[rules]` and `[guardrails]`: a brand's additions to the built-in word
//! lists, in the keyword syntax of `text/pattern.rs`, and what it switches
//! off. The classifier's rules and the drafts' guardrails compile them.

use serde::Deserialize;

use crate::domain::Flag;

/// The `[rules]` section. Every field is optional; extras are added to the
/// built-in keywords of their category (`classify::rules` shows an example).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Rule names (`spam.link`) or categories (`press`, `pii`) to switch off.
    pub disable: Vec<String>,
    /// Built-in keywords to drop, exactly as written in the lexicon.
    pub disable_keywords: Vec<String>,
    /// Extra keywords for `lead.keyword`.
    pub extra_lead: Vec<String>,
    /// Extra keywords for `legal.custom`.
    pub extra_legal: Vec<String>,
    /// Extra keywords for `threat.custom`.
    pub extra_threat: Vec<String>,
    /// Extra keywords for `hate.custom`.
    pub extra_hate: Vec<String>,
    /// Extra keywords for `injection.custom`.
    pub extra_injection: Vec<String>,
    /// Extra keywords for `press.custom`.
    pub extra_press: Vec<String>,
    /// Extra keywords for `self_harm`.
    pub extra_self_harm: Vec<String>,
    /// Extra keywords for `spam.custom`.
    pub extra_spam: Vec<String>,
    /// Extra phrases that, earlier in the clause, negate a lead keyword.
    pub extra_negation: Vec<String>,
    /// A brand's own rules, each with its own name and flag.
    pub custom: Vec<CustomRule>,
}

impl RulesConfig {
    /// The extra keywords `[rules] extra_<category>` adds to a category.
    pub fn extras(&self, category: &str) -> &[String] {
        match category {
            "lead" => &self.extra_lead,
            "legal" => &self.extra_legal,
            "threat" => &self.extra_threat,
            "hate" => &self.extra_hate,
            "injection" => &self.extra_injection,
            "press" => &self.extra_press,
            "self_harm" => &self.extra_self_harm,
            "spam" => &self.extra_spam,
            _ => &[],
        }
    }

    /// Whether `disable` switches the rule off, by its name or its category.
    pub fn is_disabled(&self, name: &str) -> bool {
        self.disable.iter().any(|d| {
            name == d
                || name
                    .strip_prefix(d.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

/// A brand-defined keyword rule (`[[rules.custom]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    /// Dotted lowercase name, e.g. `brand.competitor`; must not be a built-in name.
    pub name: String,
    pub flag: Flag,
    pub keywords: Vec<String>,
}

/// The `[guardrails]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailConfig {
    /// Domains a reply may link to (`fietsie.nl` also allows `www.fietsie.nl`).
    pub allowed_link_domains: Vec<String>,
    /// Phrases the brand never uses, in the lexicon's keyword syntax.
    pub banned_phrases: Vec<String>,
}
