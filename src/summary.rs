//! What a configuration turns on, said once at start and by `replyd check`:
//! which database, model, connectors, LLM and lead destinations are live,
//! which platforms run dry, and what is missing. A new user should not have
//! to read the config twice to know what replyd will do.

use std::fmt;

use crate::config::{Config, MetaPlatform};

/// The configuration in a few lines, and what in it will not work.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// `(what, how)`, in a fixed order.
    pub items: Vec<(&'static str, String)>,
    /// What will fail at run time that loading the config cannot see: an
    /// LLM whose key variable is unset or empty. (Empty secrets and tokens
    /// in the file are refused when it loads.)
    pub problems: Vec<String>,
}

/// Reads `config` (and, through `env`, the variables it names: never their
/// values, only whether they are set).
pub fn summarize(config: &Config, env: impl Fn(&str) -> Option<String>) -> Summary {
    let mut items = Vec::new();
    let mut problems = Vec::new();

    items.push(("database", redacted_url(config.database_url.expose())));

    let model = if !config.model.enabled {
        "off: the rules layer's keyword heuristics classify".to_owned()
    } else {
        format!(
            "multilingual-e5-small in candle, {} member{}, precision {}",
            if config.model.ensemble { 2 } else { 1 },
            if config.model.ensemble { "s" } else { "" },
            config.model.precision.map_or_else(
                || "auto (the fastest for this CPU)".to_owned(),
                |p| format!("{p:?}").to_lowercase()
            )
        )
    };
    items.push(("model", model));

    let mut connected = Vec::new();
    if let Some(meta) = &config.meta {
        for platform in [MetaPlatform::Facebook, MetaPlatform::Instagram] {
            let pages: Vec<_> = meta
                .pages
                .iter()
                .filter(|p| p.platform == platform)
                .collect();
            if pages.is_empty() {
                continue;
            }
            connected.push(format!(
                "{}: {} page{} through {}",
                platform.as_str(),
                pages.len(),
                if pages.len() == 1 { "" } else { "s" },
                host_of(&meta.graph_url)
            ));
        }
    }
    for hook in &config.connectors.webhook {
        connected.push(format!(
            "{}: webhook to {}",
            hook.platform,
            host_of(&hook.url)
        ));
    }
    connected.push(
        "any other platform: dry run (actions are decided and recorded, nothing is sent)".into(),
    );
    items.push(("connectors", connected.join("; ")));

    let llm = match &config.llm {
        None => "none: templates only".to_owned(),
        Some(llm) => {
            let key_set = env(&llm.api_key_env).is_some_and(|v| !v.trim().is_empty());
            if !key_set {
                problems.push(format!(
                    "the LLM's key variable {} is unset or empty (for a server that takes no key, set it to any value)",
                    llm.api_key_env
                ));
            }
            format!(
                "{} at {} (key from {})",
                llm.model,
                redacted_url(&llm.base_url),
                llm.api_key_env
            )
        }
    };
    items.push(("llm", llm));

    let leads = if !config.leads.enabled {
        "off".to_owned()
    } else if config.leads.webhooks.is_empty() {
        "kept in replyd: the console's leads page and `replyd leads export`".to_owned()
    } else {
        let hosts: Vec<String> = config
            .leads
            .webhooks
            .iter()
            .map(|w| host_of(&w.url))
            .collect();
        format!("handed to {}", hosts.join(", "))
    };
    items.push(("leads", leads));

    let console = config
        .console
        .public_urls
        .first()
        .map(|url| format!("{}/console", url.trim_end_matches('/')))
        .unwrap_or_else(|| format!("http://{}/console", config.listen));
    items.push(("console", console));

    items.push((
        "brand",
        if config.brand.name.trim().is_empty() {
            "no name set: replies are worded without one (set brand.name)".to_owned()
        } else {
            config.brand.name.clone()
        },
    ));

    Summary { items, problems }
}

impl Summary {
    /// Logs the summary as one event, and each problem as a warning.
    pub fn log(&self) {
        let field = |name: &str| {
            self.items
                .iter()
                .find(|(what, _)| *what == name)
                .map_or("", |(_, how)| how.as_str())
        };
        tracing::info!(
            database = field("database"),
            model = field("model"),
            connectors = field("connectors"),
            llm = field("llm"),
            leads = field("leads"),
            console = field("console"),
            brand = field("brand"),
            "replyd configuration"
        );
        for problem in &self.problems {
            tracing::warn!("configuration: {problem}");
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (what, how) in &self.items {
            writeln!(f, "{what:<11} {how}")?;
        }
        if self.problems.is_empty() {
            writeln!(f, "no problems found")?;
        }
        for problem in &self.problems {
            writeln!(f, "problem: {problem}")?;
        }
        Ok(())
    }
}

/// A URL without its password, query or fragment; anything that does not
/// parse is shown only by its scheme.
fn redacted_url(raw: &str) -> String {
    if let Some(path) = raw.strip_prefix("sqlite://") {
        return format!("SQLite, {}", path.split('?').next().unwrap_or(path));
    }
    match reqwest::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => format!(
            "{}://…",
            raw.split("://").next().unwrap_or("an unreadable URL")
        ),
    }
}

/// The host (and port) a URL points to: where replyd sends things, without
/// paths that may carry tokens.
fn host_of(raw: &str) -> String {
    reqwest::Url::parse(raw)
        .ok()
        .and_then(|url| {
            url.host_str().map(|host| match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| "an unreadable URL".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LlmConfig, Secret};

    #[test]
    fn passwords_and_keys_never_appear() {
        let mut config = Config::default();
        config.database_url =
            Secret::new("postgres://replyd:hunter2@db.internal:5432/replyd?sslmode=require");
        config.llm = Some(LlmConfig {
            base_url: "https://llm.example/v1?key=abc123".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: "MY_LLM_KEY".into(),
            timeout_secs: 20,
        });
        let with_key = summarize(&config, |name| {
            (name == "MY_LLM_KEY").then(|| "sk-secret-value".to_owned())
        });
        let text = with_key.to_string();
        for secret in ["hunter2", "abc123", "sk-secret-value", "sslmode"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("db.internal:5432/replyd"), "{text}");
        assert!(
            text.contains("gpt-4o-mini") && text.contains("MY_LLM_KEY"),
            "{text}"
        );
        assert!(with_key.problems.is_empty(), "{:?}", with_key.problems);

        let without_key = summarize(&config, |_| Some("  ".to_owned()));
        assert_eq!(without_key.problems.len(), 1, "{:?}", without_key.problems);
        assert!(without_key.problems[0].contains("MY_LLM_KEY"));
    }

    #[test]
    fn a_fresh_config_says_templates_only_and_dry_run() {
        let summary = summarize(&Config::default(), |_| None);
        let text = summary.to_string();
        assert!(text.contains("templates only"), "{text}");
        assert!(text.contains("dry run"), "{text}");
        assert!(text.contains("/console"), "{text}");
        assert!(text.contains("no name set"), "{text}");
        assert!(summary.problems.is_empty(), "{text}");
    }
}
