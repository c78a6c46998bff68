//! Rate limits per Meta page: a steady budget of our own, shared by every
//! replica through the database; a slowdown as Meta's reported usage nears
//! 100%; and a pause when Meta says stop.
//!
//! Meta counts calls per app and per page ("business use case") over a
//! rolling hour and reports the share used in `X-App-Usage` and
//! `X-Business-Use-Case-Usage` on every answer. Past 100% it refuses calls
//! (error codes 4, 17, 32, 613, or HTTP 429) until the estimated time to
//! regain access. A refused call still counts, so a page is paused in the
//! database until then: the pause survives restarts, every replica sees it,
//! and no delivery is attempted during it.
//!
//! The steady budget (`calls_per_minute`, bursts of a tenth) is a GCRA, the
//! algorithm `governor` implements in memory, kept in one database row per
//! page (`meta_budgets`): each call moves the page's schedule on by one
//! interval in a single upsert and waits for the slot it got. That makes
//! the budget hold for the page however many replicas call it, exactly,
//! with one small write per call. The alternative, an equal share per live
//! replica, needs heartbeats and is wrong whenever a replica starts or
//! dies until the others notice (too much after a start, too little after
//! a death), and a replica with no work for the page leaves its share
//! unused. Slots come from each replica's own clock, like leases and
//! pauses: replicas are assumed to keep time with NTP, and a skew adds at
//! most skew / interval calls.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
            .map(|m| Duration::from_secs(m.saturating_mul(60)));
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

/// A page's steady budget: up to `burst` calls at once, then one per
/// `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    interval_us: i64,
    burst: i64,
}

impl Budget {
    /// `calls` per minute, in bursts of a tenth of them, so a backlog drains
    /// steadily instead of spending the minute at once.
    pub fn per_minute(calls: u32) -> Budget {
        let calls = i64::from(calls.max(1));
        Budget {
            interval_us: (60_000_000 / calls).max(1),
            burst: (calls / 10).max(1),
        }
    }

    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_us as u64)
    }

    pub fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// Takes the page's next slot in the shared schedule and waits for it;
    /// or, when that would mean waiting longer than `max_wait`, takes
    /// nothing and says when to try again. The slot is one interval before
    /// the schedule returned; a call may go up to `burst - 1` intervals
    /// before its slot, which is the burst.
    pub async fn take(
        &self,
        db: &Db,
        page_id: &str,
        max_wait: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        let now_us = chrono::Utc::now().timestamp_micros();
        let max_wait_us = max_wait.as_micros() as i64;
        // The wait for a slot is `schedule + interval - burst * interval - now`.
        let latest_us = now_us + max_wait_us + (self.burst - 1) * self.interval_us;
        let mut conn = db.conn().await?;
        let reserved =
            store::meta::reserve_call(&mut conn, page_id, now_us, self.interval_us, latest_us)
                .await?;
        let Some(next_at_us) = reserved else {
            let schedule = store::meta::call_schedule(&mut conn, page_id)
                .await?
                .unwrap_or(latest_us);
            let wait_us = schedule + self.interval_us - self.burst * self.interval_us - now_us;
            return Ok(Some(Duration::from_micros(
                (wait_us - max_wait_us).max(1_000) as u64,
            )));
        };
        drop(conn);
        let go_at = next_at_us - self.burst * self.interval_us;
        if go_at > now_us {
            tokio::time::sleep(Duration::from_micros((go_at - now_us) as u64)).await;
        }
        Ok(None)
    }
}

pub struct PageLimits {
    db: Db,
    budgets: HashMap<String, Budget>,
    usage: Mutex<HashMap<String, (Usage, Instant)>>,
    slow_down_at: f64,
    default_pause: Duration,
    max_pause: Option<Duration>,
    max_wait: Duration,
}

impl PageLimits {
    /// A call never waits longer than `max_wait` for its slot: a delivery
    /// must finish well within its job's lease, or another worker would take
    /// the job over while this one still means to send.
    pub fn new(db: Db, meta: &MetaConfig, max_wait: Duration) -> Self {
        let budgets = meta
            .pages
            .iter()
            .map(|page| {
                let per_minute = page.calls_per_minute.unwrap_or(meta.calls_per_minute);
                (page.id.clone(), Budget::per_minute(per_minute))
            })
            .collect();
        PageLimits {
            db,
            budgets,
            usage: Mutex::new(HashMap::new()),
            slow_down_at: f64::from(meta.slow_down_at),
            default_pause: Duration::from_secs(meta.default_pause_secs),
            max_pause: meta.max_pause_secs.map(Duration::from_secs),
            max_wait,
        }
    }

    /// How long the page remains paused, if it is.
    pub async fn paused_for(&self, page_id: &str) -> Result<Option<Duration>, StoreError> {
        let mut conn = self.db.conn().await?;
        let until = store::meta::paused_until(&mut conn, page_id).await?;
        Ok(until.map(|t| Duration::from_millis((t - store::now_ms()).max(1) as u64)))
    }

    /// Waits for the page's turn under its shared budget, and longer while
    /// Meta's last reported usage is above `slow_down_at`; or, when the
    /// budget is booked beyond `max_wait`, says when to try again.
    pub async fn acquire(&self, page_id: &str) -> Result<Option<Duration>, StoreError> {
        let Some(budget) = self.budgets.get(page_id) else {
            return Ok(None);
        };
        if let Some(later) = budget.take(&self.db, page_id, self.max_wait).await? {
            return Ok(Some(later));
        }
        let slowdown = self.slowdown(page_id, budget.interval());
        if !slowdown.is_zero() {
            tracing::debug!(
                page = page_id,
                ms = slowdown.as_millis() as u64,
                "slowing down: Meta usage is high"
            );
            tokio::time::sleep(slowdown).await;
        }
        Ok(None)
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
    /// Meta's estimate, else the `Retry-After`, else `default_pause_secs`
    /// (at most `max_pause_secs`); returns the pause.
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
        self.pause(page_id, pause, reason).await
    }

    /// Meta's estimates come in whole minutes and can run to hours; an
    /// operator may cap them (`max_pause_secs`) to probe sooner: a probe
    /// refused again simply pauses the page again.
    async fn pause(
        &self,
        page_id: &str,
        pause: Duration,
        reason: &str,
    ) -> Result<Duration, StoreError> {
        let pause = self.max_pause.map_or(pause, |max| pause.min(max));
        tracing::warn!(
            page = page_id,
            secs = pause.as_secs_f64(),
            reason,
            "meta page paused"
        );
        metrics::counter!("replyd_meta_pauses_total").increment(1);
        let mut conn = self.db.conn().await?;
        let until = store::ms_after(pause);
        store::meta::pause(&mut conn, page_id, until, reason).await?;
        Ok(pause)
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
