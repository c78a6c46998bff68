//! `replyd bench ingest`: drives the real daemon's ingestion API at fixed
//! rates and reports what it accepted, how fast it answered, and how long a
//! message took from receipt to its acknowledgement being delivered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use sqlx::Row;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Secret};
use crate::domain::Role;
use crate::startup::Application;
use crate::store::{tokens, Db};

#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// Database to run on [default: a fresh SQLite file in a temp dir]. A
    /// PostgreSQL URL must name an empty database.
    #[arg(long = "bench-database-url", value_name = "URL")]
    pub database_url: Option<String>,
    /// Target rates, in messages per second, run one after the other.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,4000")]
    pub rates: Vec<u32>,
    /// How long each rate is held.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Messages per request (the generic API takes up to 1,000).
    #[arg(long, default_value_t = 20)]
    pub batch: usize,
    /// Daemons sharing the database (PostgreSQL only).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Classify with the local model (as in production); otherwise with the
    /// rules layer, to measure ingestion alone.
    #[arg(long)]
    pub with_model: bool,
}

struct Step {
    rate: u32,
    sent: usize,
    accepted: usize,
    errors: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
    ack_ms: Vec<f64>,
}

pub async fn ingest(base: &Config, args: &IngestBenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("replyd-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let mut apps = Vec::new();
    let stop = CancellationToken::new();
    for _ in 0..args.replicas.max(1) {
        let mut config = base.clone();
        config.listen = "127.0.0.1:0".parse().expect("valid address");
        config.database_url = Secret::new(url.clone());
        config.model.enabled = args.with_model;
        config.pipeline.poll_interval_ms = 200;
        let app = Application::build(config)
            .await
            .context("starting a daemon")?;
        let addr = app.addr();
        tokio::spawn(app.run_until_stopped(stop.clone()));
        apps.push(addr);
    }
    let db = Db::connect(&url).await?;
    let token = crate::auth::generate_token();
    tokens::insert(
        &mut *db.conn().await?,
        "bench",
        Role::Ingest,
        &crate::auth::hash_token(&token),
    )
    .await?;

    println!(
        "replyd bench ingest: {} on {}, {} replica(s), batches of {}, {} s per rate, classifier: {}",
        if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        apps.len(),
        args.batch,
        args.seconds,
        if args.with_model { "model" } else { "rules" }
    );
    println!(
        "{:>8} {:>10} {:>10} {:>8} {:>9} {:>9} {:>10} {:>10}",
        "target/s",
        "accepted/s",
        "accepted",
        "errors",
        "p50 ms",
        "p99 ms",
        "ack p50 s",
        "ack p99 s"
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    for (round, rate) in args.rates.iter().enumerate() {
        let step = run_rate(&client, &apps, &token, *rate, args, round, &db).await?;
        let accepted_rate = step.accepted as f64 / step.elapsed.as_secs_f64();
        println!(
            "{:>8} {:>10.0} {:>10} {:>8} {:>9.1} {:>9.1} {:>10.2} {:>10.2}",
            step.rate,
            accepted_rate,
            step.accepted,
            step.errors,
            percentile(&step.latencies_ms, 0.5),
            percentile(&step.latencies_ms, 0.99),
            percentile(&step.ack_ms, 0.5) / 1000.0,
            percentile(&step.ack_ms, 0.99) / 1000.0,
        );
        let _ = step.sent;
    }
    stop.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run_rate(
    client: &reqwest::Client,
    apps: &[std::net::SocketAddr],
    token: &str,
    rate: u32,
    args: &IngestBenchArgs,
    round: usize,
    db: &Db,
) -> anyhow::Result<Step> {
    let batch = args.batch.clamp(1, 1000);
    let requests_per_sec = (f64::from(rate) / batch as f64).max(0.1);
    let interval = Duration::from_secs_f64(1.0 / requests_per_sec);
    let total_requests = (requests_per_sec * args.seconds as f64).round().max(1.0) as usize;
    // Bounds the open requests, so an overloaded server shows as latency,
    // not as an unbounded pile of sockets here.
    let open = Arc::new(Semaphore::new(512));
    let results = Arc::new(std::sync::Mutex::new((Vec::new(), 0usize, 0usize)));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total_requests {
        ticker.tick().await;
        let permit = open.clone().acquire_owned().await?;
        let body: Vec<serde_json::Value> = (0..batch)
            .map(|i| {
                serde_json::json!({
                    "platform": "bench", "kind": "dm",
                    "external_id": format!("r{round}-{n}-{i}"),
                    "author": {"id": format!("a{}", (n * batch + i) % 5000), "name": "Sam"},
                    "text": "Thanks, love the new bike! Super fast delivery too.",
                    "lang": "en",
                })
            })
            .collect();
        let url = format!("http://{}/v1/messages", apps[n % apps.len()]);
        let client = client.clone();
        let token = token.to_owned();
        let results = results.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let sent = Instant::now();
            let response = client.post(url).bearer_auth(token).json(&body).send().await;
            let ms = sent.elapsed().as_secs_f64() * 1000.0;
            let mut r = results.lock().expect("not poisoned");
            match response {
                Ok(resp) if resp.status().as_u16() == 202 => {
                    r.0.push(ms);
                    r.1 += body.len();
                }
                _ => r.2 += 1,
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let (latencies_ms, accepted, errors) =
        std::mem::take(&mut *results.lock().expect("not poisoned"));

    // Receipt to acknowledgement delivered, for this round's messages,
    // once the backlog has drained (bounded wait).
    let prefix = format!("r{round}-%");
    let deadline = Instant::now() + Duration::from_secs(120);
    let ack_ms = loop {
        let rows = sqlx::query(
            "SELECT a.sent_at - m.received_at AS ms FROM actions a JOIN messages m ON m.id = a.message_id \
             WHERE m.external_id LIKE $1 AND a.kind = 'acknowledge' AND a.sent_at IS NOT NULL",
        )
        .bind(&prefix)
        .fetch_all(db.pool())
        .await?;
        let done: Vec<f64> = rows
            .iter()
            .filter_map(|r| r.try_get::<i64, _>("ms").ok())
            .map(|v| v as f64)
            .collect();
        if done.len() >= accepted || Instant::now() > deadline {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    Ok(Step {
        rate,
        sent: total_requests * batch,
        accepted,
        errors,
        elapsed,
        latencies_ms,
        ack_ms,
    })
}

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
