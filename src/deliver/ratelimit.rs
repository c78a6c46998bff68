//! Rate limits per Meta page: a steady quota of our own (governor), a
//! slowdown as Meta's reported usage nears 100%, and a pause when Meta says
//! stop.
//!
//! Meta counts calls per app and per page ("business use case") over a
//! rolling hour and reports the share used in `X-App-Usage` and
//! `X-Business-Use-Case-Usage` on every answer. Past 100% it refuses calls
//! (error codes 4, 17, 32, 613, or HTTP 429) until the estimated time to
//! regain access. A refused call still counts, so a page is paused in the
//! database until then: the pause survives restarts, every replica sees it,
//! and no delivery is attempted during it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderMap;

use crate::config::MetaConfig;
use crate::store::{self, Db, StoreError};

/// Usage older than this says nothing about now.
const USAGE_STALE: Duration = Duration::from_secs(600);
/// At full usage a call waits this many times the page's usual interval.
const MAX_SLOWDOWN: f64 = 10.0;

/// What one answer of Meta's said about a page's usage.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// The highest share used of any counter, in percent.
    pub percent: f64,
    /// Meta's estimate of when a throttled page may call again.
    pub regain_after: Option<Duration>,
}

/// Reads `X-App-Usage`, `X-Page-Usage` (`{"call_count": 28, "total_time": 25,
/// "total_cputime": 25}`) and `X-Business-Use-Case-Usage` (`{"<id>": [{"type":
/// "pages", "call_count": 28, ..., "estimated_time_to_regain_access": 0}]}`,
/// minutes). Headers that do not parse count as no information.
pub fn parse_usage(headers: &HeaderMap) -> Usage {
    let json = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
    };
    let mut usage = Usage::default();
    let mut read_counters = |counters: &serde_json::Value| {
        for key in ["call_count", "total_time", "total_cputime"] {
            if let Some(p) = counters.get(key).and_then(serde_json::Value::as_f64) {
                usage.percent = usage.percent.max(p);
            }
        }
        let regain = counters
            .get("estimated_time_to_regain_access")
            .and_then(serde_json::Value::as_u64)
            .filter(|&m| m > 0)
            .map(|m| Duration::from_secs(m * 60));
        usage.regain_after = usage.regain_after.max(regain);
    };
    for name in ["x-app-usage", "x-page-usage"] {
        if let Some(v) = json(name) {
            read_counters(&v);
        }
    }
    if let Some(serde_json::Value::Object(by_id)) = json("x-business-use-case-usage") {
        for entries in by_id.values() {
            for entry in entries.as_array().into_iter().flatten() {
                read_counters(entry);
            }
        }
    }
    usage
}

pub struct PageLimits {
    db: Db,
    limiters: HashMap<String, (DefaultDirectRateLimiter, Duration)>,
    usage: Mutex<HashMap<String, (Usage, Instant)>>,
    slow_down_at: f64,
    default_pause: Duration,
}

impl PageLimits {
    pub fn new(db: Db, meta: &MetaConfig) -> Self {
        let limiters = meta
            .pages
            .iter()
            .map(|page| {
                let per_minute = page.calls_per_minute.unwrap_or(meta.calls_per_minute);
                let n = NonZeroU32::new(per_minute).expect("validated: at least 1");
                // Bursts of a tenth of a minute's calls, so a backlog drains
                // steadily instead of spending the minute at once.
                let burst = NonZeroU32::new((per_minute / 10).max(1)).expect("at least 1");
                let interval = Duration::from_secs(60) / per_minute;
                (
                    page.id.clone(),
                    (
                        RateLimiter::direct(Quota::per_minute(n).allow_burst(burst)),
                        interval,
                    ),
                )
            })
            .collect();
        PageLimits {
            db,
            limiters,
            usage: Mutex::new(HashMap::new()),
            slow_down_at: f64::from(meta.slow_down_at),
            default_pause: Duration::from_secs(meta.default_pause_secs),
        }
    }

    /// How long the page remains paused, if it is.
    pub async fn paused_for(&self, page_id: &str) -> Result<Option<Duration>, StoreError> {
        let mut conn = self.db.conn().await?;
        let until = store::meta::paused_until(&mut conn, page_id).await?;
        Ok(until.map(|t| Duration::from_millis((t - store::now_ms()).max(1) as u64)))
    }

    /// Waits for the page's turn under its quota, and longer while Meta's
    /// last reported usage is above `slow_down_at`.
    pub async fn acquire(&self, page_id: &str) {
        let Some((limiter, interval)) = self.limiters.get(page_id) else {
            return;
        };
        limiter.until_ready().await;
        let slowdown = self.slowdown(page_id, *interval);
        if !slowdown.is_zero() {
            tracing::debug!(
                page = page_id,
                ms = slowdown.as_millis() as u64,
                "slowing down: Meta usage is high"
            );
            tokio::time::sleep(slowdown).await;
        }
    }

    fn slowdown(&self, page_id: &str, interval: Duration) -> Duration {
        let usage = self.usage.lock().expect("usage lock");
        let Some((usage, at)) = usage.get(page_id) else {
            return Duration::ZERO;
        };
        if at.elapsed() > USAGE_STALE || usage.percent < self.slow_down_at {
            return Duration::ZERO;
        }
        let share = ((usage.percent - self.slow_down_at) / (100.0 - self.slow_down_at).max(1.0))
            .clamp(0.0, 1.0);
        interval.mul_f64(1.0 + share * (MAX_SLOWDOWN - 1.0))
    }

    /// Records what an answer said about the page's usage; at 100%, or with
    /// an estimate to regain access, the page is paused at once rather than
    /// after the next refusal.
    pub async fn observe(&self, page_id: &str, usage: Usage) -> Result<(), StoreError> {
        self.usage
            .lock()
            .expect("usage lock")
            .insert(page_id.to_owned(), (usage, Instant::now()));
        if usage.percent >= 100.0 || usage.regain_after.is_some() {
            let pause = usage.regain_after.unwrap_or(self.default_pause);
            self.pause(
                page_id,
                pause,
                &format!("Meta reports {:.0}% usage", usage.percent),
            )
            .await?;
        }
        Ok(())
    }

    /// Pauses the page after Meta refused a call for its rate limit, for
    /// Meta's estimate, else the `Retry-After`, else `default_pause_secs`.
    pub async fn throttled(
        &self,
        page_id: &str,
        usage: Usage,
        retry_after: Option<Duration>,
        reason: &str,
    ) -> Result<Duration, StoreError> {
        let pause = usage
            .regain_after
            .or(retry_after)
            .unwrap_or(self.default_pause);
        self.pause(page_id, pause, reason).await?;
        Ok(pause)
    }

    async fn pause(&self, page_id: &str, pause: Duration, reason: &str) -> Result<(), StoreError> {
        tracing::warn!(
            page = page_id,
            secs = pause.as_secs_f64(),
            reason,
            "meta page paused"
        );
        metrics::counter!("replyd_meta_pauses_total").increment(1);
        let mut conn = self.db.conn().await?;
        let until = store::now_ms() + pause.as_millis() as i64;
        store::meta::pause(&mut conn, page_id, until, reason).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn usage_takes_the_highest_counter_and_the_regain_estimate() {
        let usage = parse_usage(&headers(&[
            (
                "x-app-usage",
                r#"{"call_count":12,"total_time":40,"total_cputime":3}"#,
            ),
            (
                "x-business-use-case-usage",
                r#"{"1234":[{"type":"pages","call_count":97,"total_cputime":5,"total_time":6,"estimated_time_to_regain_access":3}]}"#,
            ),
        ]));
        assert_eq!(usage.percent, 97.0);
        assert_eq!(usage.regain_after, Some(Duration::from_secs(180)));
        assert_eq!(
            parse_usage(&headers(&[("x-app-usage", "garbage")])),
            Usage::default()
        );
    }
}
