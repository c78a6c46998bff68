//! The dashboard's numbers: volume, time to first response, the waiting
//! review queue and failed actions, over a window of recent days.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::{now_ms, AnyConnection, StoreError};

const DAY_MS: i64 = 86_400_000;

/// Messages received in the window, counted three ways.
#[derive(Debug, Default, Serialize)]
pub struct Volume {
    pub total: i64,
    pub by_platform: BTreeMap<String, i64>,
    pub by_intent: BTreeMap<String, i64>,
    pub by_sentiment: BTreeMap<String, i64>,
}

pub async fn volume(conn: &mut AnyConnection, since: i64) -> Result<Volume, StoreError> {
    let rows = sqlx::query(
        "SELECT m.platform, c.intent, c.sentiment, COUNT(*) AS n FROM messages m \
         LEFT JOIN classifications c ON c.message_id = m.id WHERE m.received_at >= $1 \
         GROUP BY m.platform, c.intent, c.sentiment",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let mut volume = Volume::default();
    for row in rows {
        let n: i64 = row.try_get("n")?;
        let unclassified = || "unclassified".to_owned();
        let platform: String = row.try_get("platform")?;
        let intent = row
            .try_get::<Option<String>, _>("intent")?
            .unwrap_or_else(unclassified);
        let sentiment = row
            .try_get::<Option<String>, _>("sentiment")?
            .unwrap_or_else(unclassified);
        volume.total += n;
        *volume.by_platform.entry(platform).or_default() += n;
        *volume.by_intent.entry(intent).or_default() += n;
        *volume.by_sentiment.entry(sentiment).or_default() += n;
    }
    Ok(volume)
}

/// Time to first response of one platform: from receipt to the first
/// customer-facing action that was delivered (acknowledgement, reply, DM).
/// A dry run (no connector) was never sent and does not count.
#[derive(Debug, Serialize)]
pub struct ResponseTimes {
    pub platform: String,
    pub answered: usize,
    pub p50_ms: i64,
    pub p90_ms: i64,
    /// p50 per day, oldest first: `(day start in ms, p50 ms, answered)`.
    pub daily: Vec<(i64, i64, usize)>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub async fn response_times(
    conn: &mut AnyConnection,
    since: i64,
) -> Result<Vec<ResponseTimes>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.platform, m.received_at, MIN(a.sent_at) AS first_at FROM messages m \
         JOIN actions a ON a.message_id = m.id \
         WHERE m.received_at >= $1 AND a.sent_at IS NOT NULL AND a.status = 'sent' \
         AND a.kind IN ('acknowledge', 'reply', 'private_reply', 'dm_reply', 'prequalify') \
         GROUP BY m.id, m.platform, m.received_at",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_platform: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for row in rows {
        let received: i64 = row.try_get("received_at")?;
        let first: i64 = row.try_get("first_at")?;
        by_platform
            .entry(row.try_get("platform")?)
            .or_default()
            .push((received, (first - received).max(0)));
    }
    Ok(by_platform
        .into_iter()
        .map(|(platform, samples)| {
            let mut all: Vec<i64> = samples.iter().map(|s| s.1).collect();
            all.sort_unstable();
            let mut days: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
            for (received, ms) in &samples {
                days.entry(received - received.rem_euclid(DAY_MS))
                    .or_default()
                    .push(*ms);
            }
            let daily = days
                .into_iter()
                .map(|(day, mut v)| {
                    v.sort_unstable();
                    (day, percentile(&v, 50.0), v.len())
                })
                .collect();
            ResponseTimes {
                platform,
                answered: all.len(),
                p50_ms: percentile(&all, 50.0),
                p90_ms: percentile(&all, 90.0),
                daily,
            }
        })
        .collect())
}

/// The review queue's backlog: how many wait, the oldest, and by age.
#[derive(Debug, Default, Serialize)]
pub struct Held {
    pub waiting: i64,
    pub oldest_age_ms: Option<i64>,
    /// Items waiting under 1 h, 1 to 4 h, 4 to 24 h, and longer.
    pub by_age: [i64; 4],
}

pub async fn held(conn: &mut AnyConnection) -> Result<Held, StoreError> {
    let now = now_ms();
    let hour = 3_600_000;
    let row = sqlx::query(
        "SELECT COUNT(*) AS waiting, MIN(created_at) AS oldest, \
         COUNT(CASE WHEN created_at > $1 THEN 1 END) AS under_1h, \
         COUNT(CASE WHEN created_at <= $1 AND created_at > $2 THEN 1 END) AS under_4h, \
         COUNT(CASE WHEN created_at <= $2 AND created_at > $3 THEN 1 END) AS under_24h \
         FROM reviews WHERE status = 'held'",
    )
    .bind(now - hour)
    .bind(now - 4 * hour)
    .bind(now - 24 * hour)
    .fetch_one(&mut *conn)
    .await?;
    let waiting: i64 = row.try_get("waiting")?;
    // COUNT, not SUM: PostgreSQL sums integers as NUMERIC, which the `Any`
    // driver cannot read, and a SUM over no rows is NULL.
    let (a, b, c): (i64, i64, i64) = (
        row.try_get("under_1h")?,
        row.try_get("under_4h")?,
        row.try_get("under_24h")?,
    );
    let oldest: Option<i64> = row.try_get("oldest")?;
    Ok(Held {
        waiting,
        oldest_age_ms: oldest.map(|t| now - t),
        by_age: [a, b, c, waiting - a - b - c],
    })
}

/// A failed action, for the dashboard's list.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub action_id: String,
    pub message_id: String,
    pub platform: String,
    pub kind: String,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

pub async fn failures(
    conn: &mut AnyConnection,
    since: i64,
    limit: u32,
) -> Result<(i64, Vec<Failure>), StoreError> {
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM actions WHERE status = 'failed' AND updated_at >= $1",
    )
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT a.id, a.message_id, m.platform, a.kind, a.last_error, a.updated_at FROM actions a \
         JOIN messages m ON m.id = a.message_id WHERE a.status = 'failed' AND a.updated_at >= $1 \
         ORDER BY a.updated_at DESC LIMIT {}",
        limit.clamp(1, 500)
    ))
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(Failure {
                action_id: r.try_get("id")?,
                message_id: r.try_get("message_id")?,
                platform: r.try_get("platform")?,
                kind: r.try_get("kind")?,
                last_error: r.try_get("last_error")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((total, list))
}

/// The platforms messages came from, for filter menus.
pub async fn platforms(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT platform FROM messages ORDER BY platform")
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// The start of the window `days` back from now.
pub fn since_days(days: u32) -> i64 {
    now_ms() - i64::from(days) * DAY_MS
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&[7], 90.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
