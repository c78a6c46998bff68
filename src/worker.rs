//! Durable background jobs: each pipeline step and each delivery is a job in
//! the database, claimed under a lease, so a crash anywhere resumes from the
//! last committed step and a dead process's work is taken over.
//!
//! Jobs must be idempotent: a job may run again after its holder died
//! mid-run. The stages make that cheap: each step checks the persisted state
//! first and only does what is still missing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::store::{self, jobs, AnyConnection, Db, StoreError};

/// Why a job run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (after `after` when the job knows).
    #[error("{reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Could not start yet (a platform's rate-limit pause): run again after
    /// `after` without using up one of the job's attempts, since nothing was
    /// tried. A pause always ends, so waiting on it never loses the job.
    #[error("{reason}")]
    Defer { reason: String, after: Duration },
    /// Will never succeed; no further attempts.
    #[error("{0}")]
    Fatal(String),
}

impl JobError {
    pub fn retry(reason: impl Into<String>) -> Self {
        JobError::Retry {
            reason: reason.into(),
            after: None,
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) | StoreError::NotFound(_) => JobError::Fatal(e.to_string()),
            other => JobError::retry(other.to_string()),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored with each job; renaming it orphans queued jobs.
    const JOB_NAME: &'static str;
    type Context: Clone + Send + Sync + 'static;

    fn run(&self, ctx: Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;

    fn max_attempts(_ctx: &Self::Context) -> u32 {
        10
    }

    /// Delay before attempt `attempt + 1`: exponential with full jitter.
    fn backoff(_ctx: &Self::Context, attempt: u32) -> Duration {
        exponential_backoff(Duration::from_secs(1), Duration::from_secs(300), attempt)
    }

    /// Runs once when the last attempt failed, to record the failure where
    /// users see it.
    fn on_exhausted(
        &self,
        _ctx: Self::Context,
        _error: &str,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        async { Ok(()) }
    }

    /// Queues the job inside the caller's transaction, so it exists exactly
    /// when the state change that calls for it is committed.
    fn enqueue(
        &self,
        conn: &mut AnyConnection,
        dedupe_key: Option<&str>,
        delay: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let data = serde_json::to_string(self).expect("jobs serialize");
        let run_at = store::now_ms() + delay.as_millis() as i64;
        async move { jobs::enqueue(conn, Self::JOB_NAME, &data, run_at, dedupe_key).await }
    }
}

/// `base * 2^attempt`, capped, then a uniformly random share of it, so
/// retries of many failures spread out instead of arriving together.
pub fn exponential_backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(max);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(ms / 2 + rand::thread_rng().gen_range(0..=ms / 2))
}

enum Outcome {
    Done,
    RetryAt(i64, String),
    DeferTo(i64, String),
    Failed(String),
}

type Handler<C> = Arc<dyn Fn(C, String, u32) -> BoxFuture<Outcome> + Send + Sync>;

pub struct Runner<C> {
    db: Db,
    ctx: C,
    handlers: HashMap<&'static str, Handler<C>>,
    worker_id: String,
    concurrency: usize,
    lease: Duration,
    poll_interval: Duration,
    wake: Arc<Notify>,
}

impl<C: Clone + Send + Sync + 'static> Runner<C> {
    pub fn new(db: Db, ctx: C, wake: Arc<Notify>) -> Self {
        Runner {
            db,
            ctx,
            handlers: HashMap::new(),
            worker_id: format!("{}-{}", hostname(), uuid::Uuid::new_v4()),
            concurrency: 8,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            wake,
        }
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    pub fn register<J: BackgroundJob<Context = C>>(mut self) -> Self {
        let handler: Handler<C> = Arc::new(|ctx: C, data: String, attempt: u32| {
            Box::pin(async move {
                let job: J = match serde_json::from_str(&data) {
                    Ok(job) => job,
                    Err(e) => return Outcome::Failed(format!("undecodable job data: {e}")),
                };
                let max = J::max_attempts(&ctx);
                match job.run(ctx.clone()).await {
                    Ok(()) => Outcome::Done,
                    Err(JobError::Defer { reason, after }) => {
                        Outcome::DeferTo(store::now_ms() + after.as_millis() as i64, reason)
                    }
                    Err(JobError::Retry { reason, after }) if attempt < max => {
                        let delay = after.unwrap_or_else(|| J::backoff(&ctx, attempt));
                        Outcome::RetryAt(store::now_ms() + delay.as_millis() as i64, reason)
                    }
                    Err(error) => {
                        let reason = error.to_string();
                        match job.on_exhausted(ctx, &reason).await {
                            Ok(()) => Outcome::Failed(reason),
                            // Recording the failure failed too: keep the job.
                            Err(e) => Outcome::RetryAt(store::now_ms() + 5_000, e.to_string()),
                        }
                    }
                }
            }) as BoxFuture<Outcome>
        });
        self.handlers.insert(J::JOB_NAME, handler);
        self
    }

    /// Claims and runs jobs until `stop` is cancelled, then lets running jobs
    /// finish (up to `grace`) and releases anything left.
    pub async fn run(self, stop: CancellationToken, grace: Duration) {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let mut running = JoinSet::new();
        let lease_ms = self.lease.as_millis() as i64;
        loop {
            while running.try_join_next().is_some() {}
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = running.join_next() => continue,
                }
            }
            let claimed = match jobs::claim(&self.db, &self.worker_id, free.min(64), lease_ms).await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    Vec::new()
                }
            };
            let idle = claimed.len() < free.min(64);
            for job in claimed {
                let permit = slots.clone().acquire_owned().await.expect("semaphore open");
                let Some(handler) = self.handlers.get(job.job_type.as_str()).cloned() else {
                    tracing::error!(job_type = %job.job_type, "no handler for job type; leaving it queued");
                    let _ = jobs::retry_at(
                        &self.db,
                        &job.id,
                        &self.worker_id,
                        store::now_ms() + 60_000,
                        "unknown job type",
                    )
                    .await;
                    continue;
                };
                let db = self.db.clone();
                let ctx = self.ctx.clone();
                let worker = self.worker_id.clone();
                running.spawn(async move {
                    let _permit = permit;
                    let outcome = handler(ctx, job.data, job.attempts.max(1) as u32).await;
                    let result = match outcome {
                        Outcome::Done => jobs::complete(&db, &job.id, &worker).await,
                        Outcome::RetryAt(at, reason) => {
                            tracing::info!(job = %job.job_type, attempt = job.attempts, %reason, "job will be retried");
                            jobs::retry_at(&db, &job.id, &worker, at, &reason).await
                        }
                        Outcome::DeferTo(at, reason) => {
                            tracing::info!(job = %job.job_type, %reason, "job deferred");
                            jobs::defer_to(&db, &job.id, &worker, at, &reason).await
                        }
                        Outcome::Failed(reason) => {
                            tracing::warn!(job = %job.job_type, attempt = job.attempts, %reason, "job failed for good");
                            jobs::complete(&db, &job.id, &worker).await
                        }
                    };
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "recording a job's outcome failed; its lease will expire");
                    }
                });
            }
            if idle {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.poll_interval) => {}
                }
            }
        }
        let drained = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            running.abort_all();
        }
        match jobs::release_all(&self.db, &self.worker_id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released unfinished jobs"),
            Err(e) => tracing::warn!(error = %e, "releasing jobs failed; their leases will expire"),
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "replyd".into())
}
