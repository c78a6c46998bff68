//! The checks a `Config` passes before anything starts, beyond what its
//! types already refuse: each names the key at fault.

use super::{Config, ConfigError, MetaConfig};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
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
        // A Slack destination's URL is its secret: nothing to sign with.
        let lead_hooks = self.leads.webhooks.iter().map(|h| {
            static UNUSED: std::sync::LazyLock<super::Secret> =
                std::sync::LazyLock::new(|| super::Secret::new("unused"));
            let secret = match h.format {
                super::WebhookFormat::Json => &h.secret,
                super::WebhookFormat::Slack => &*UNUSED,
            };
            (&h.url, secret)
        });
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
        for (i, hook) in self.leads.webhooks.iter().enumerate() {
            if hook.events.is_empty() {
                return invalid(
                    &format!("leads.webhooks[{i}].events"),
                    "must name at least one event (leave it out for all of them)",
                );
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
        if self.sla.default_minutes == 0 {
            return invalid("sla.default_minutes", "must be at least 1 minute");
        }
        for (platform, minutes) in &self.sla.platforms {
            if *minutes == 0 {
                return invalid(
                    &format!("sla.platforms.{platform}"),
                    "must be at least 1 minute",
                );
            }
        }
        if let Some(hours) = &self.sla.business_hours {
            if let Err((key, message)) = super::Hours::parse(hours) {
                return invalid(&key, &message);
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
}
