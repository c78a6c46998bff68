//! Logs (tracing) and metrics (Prometheus text at `/metrics`).

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::{LazyLock, Mutex, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::domain::Platform;

/// Installs the log subscriber once; later calls (tests) are no-ops.
pub fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colour codes only for a person at a terminal: in a file, journald or
    // a log shipper they are noise around every field.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process-wide metrics recorder (one per process, however many
/// servers a test starts).
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
                .expect("valid buckets")
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// How many platforms get a metrics label of their own; later ones share
/// `other`.
const PLATFORM_LABELS: usize = 32;

/// The `platform` label of a metric. Sources name their platform in each
/// request, so every new name would add series that live as long as the
/// process: past the first [`PLATFORM_LABELS`] names seen (Facebook and
/// Instagram always have theirs), the rest are counted as `other`.
pub fn platform_label(platform: &Platform) -> String {
    static SEEN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
    if platform.is_meta() {
        return platform.to_string();
    }
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.contains(platform.as_str()) || seen.len() < PLATFORM_LABELS {
        seen.insert(platform.to_string());
        platform.to_string()
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_past_the_label_budget_share_one_label() {
        let named: Vec<Platform> = (0..PLATFORM_LABELS + 8)
            .map(|i| format!("source_{i}").parse().unwrap())
            .collect();
        let labels: Vec<String> = named.iter().map(platform_label).collect();
        // Other tests may have named platforms first: count what this one got.
        let own = labels.iter().filter(|l| l.starts_with("source_")).count();
        assert!(own <= PLATFORM_LABELS, "{own} labels of their own");
        assert!(labels.iter().filter(|l| *l == "other").count() >= 8);
        // A platform with a label keeps it; Meta's never lose theirs.
        assert_eq!(platform_label(&named[0]), labels[0]);
        assert_eq!(platform_label(&"instagram".parse().unwrap()), "instagram");
    }
}
