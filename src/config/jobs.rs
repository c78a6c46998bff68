//! `[pipeline]` and `[delivery]`: how many jobs run, how long they hold
//! their work, and how deliveries are retried.

use serde::Deserialize;

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
