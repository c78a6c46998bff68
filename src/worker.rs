//! Durable background jobs: each pipeline step and each delivery is a job in
//! the database, claimed under a lease, so a crash anywhere resumes from the
//! last committed step and a dead process's work is taken over.
//!
//! Jobs must be idempotent: a job may run again after its holder died
//! mid-run. The stages make that cheap: each step checks the persisted state
//! first and only does what is still missing.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::retry::exponential_backoff;
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
        let run_at = store::ms_after(delay);
        async move { jobs::enqueue(conn, Self::JOB_NAME, &data, run_at, dedupe_key).await }
    }
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
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
            worker_id: worker_id(),
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
                // A panicking run is a failed attempt like any other: left
                // to unwind the task, it would only let the lease lapse, and
                // the job would be claimed and panic again forever, never
                // reaching its last attempt or `on_exhausted`.
                let ran = AssertUnwindSafe(job.run(ctx.clone())).catch_unwind().await;
                let result = ran.unwrap_or_else(|panic| {
                    Err(JobError::retry(format!(
                        "the job panicked: {}",
                        panic_message(&*panic)
                    )))
                });
                match result {
                    Ok(()) => Outcome::Done,
                    Err(JobError::Defer { reason, after }) => {
                        Outcome::DeferTo(store::ms_after(after), reason)
                    }
                    Err(JobError::Retry { reason, after }) if attempt < max => {
                        let delay = after.unwrap_or_else(|| J::backoff(&ctx, attempt));
                        Outcome::RetryAt(store::ms_after(delay), reason)
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
            let claimed_at = Instant::now();
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
                        &job.lease,
                        store::now_ms() + 60_000,
                        "unknown job type",
                    )
                    .await;
                    continue;
                };
                let db = self.db.clone();
                let ctx = self.ctx.clone();
                let lease = self.lease;
                running.spawn(async move {
                    let _permit = permit;
                    let run = handler(ctx, job.data, job.attempts.max(1) as u32);
                    let outcome = tokio::select! {
                        outcome = run => outcome,
                        () = hold_lease(&db, &job.id, &job.lease, lease, claimed_at) => {
                            // Dropping the run stops it at its next await, as
                            // a crash would: every step is committed state, so
                            // the new holder resumes where this one stopped.
                            tracing::warn!(job = %job.job_type, "lost the job's lease; abandoning this run to its new holder");
                            return;
                        }
                    };
                    let result = match outcome {
                        Outcome::Done => jobs::complete(&db, &job.id, &job.lease).await,
                        Outcome::RetryAt(at, reason) => {
                            tracing::info!(job = %job.job_type, attempt = job.attempts, %reason, "job will be retried");
                            jobs::retry_at(&db, &job.id, &job.lease, at, &reason).await
                        }
                        Outcome::DeferTo(at, reason) => {
                            tracing::info!(job = %job.job_type, %reason, "job deferred");
                            jobs::defer_to(&db, &job.id, &job.lease, at, &reason).await
                        }
                        Outcome::Failed(reason) => {
                            tracing::warn!(job = %job.job_type, attempt = job.attempts, %reason, "job failed for good");
                            jobs::complete(&db, &job.id, &job.lease).await
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

/// Keeps a running job's lease alive, renewing it every third of its
/// length, and returns only once the lease is lost: taken over by another
/// run, or about to run out because the database could not be reached to
/// renew it. Without renewal a run longer than its lease (a slow platform,
/// a long rate-limit wait) would be claimed again while still in flight and
/// could send the same reply twice.
async fn hold_lease(db: &Db, id: &str, lease_name: &str, lease: Duration, claimed_at: Instant) {
    let every = lease / 3;
    // Room left between stopping the run and the lease running out, for
    // the run to be dropped and for clocks that differ a little.
    let margin = every / 2;
    // Counted from before the claim, so this side never thinks it holds the
    // lease longer than the database does.
    let mut expires = claimed_at + lease;
    loop {
        tokio::time::sleep(every).await;
        let asked_at = Instant::now();
        let until = store::ms_after(lease);
        // A renewal that hangs (a pool with no connection to give, a
        // database that stopped answering) must not keep the run going past
        // its lease, beside the worker that takes the job over.
        let deadline = expires.checked_sub(margin).unwrap_or(asked_at);
        let renewed =
            tokio::time::timeout_at(deadline.into(), jobs::extend(db, id, lease_name, until));
        match renewed.await {
            Err(_) => {
                tracing::warn!("renewing a job's lease took too long");
                return;
            }
            Ok(Ok(true)) => expires = asked_at + lease,
            Ok(Ok(false)) => return,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "renewing a job's lease failed");
                // Stop while the lease surely still holds, before another
                // worker may take the job.
                if Instant::now() + every >= expires {
                    return;
                }
            }
        }
    }
}

/// This process's name in leases: the host (letters, digits, dots and
/// dashes only, which `jobs::release_all` relies on) and a fresh id.
fn worker_id() -> String {
    let host: String = std::env::var("HOSTNAME")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let host = if host.is_empty() {
        "replyd".into()
    } else {
        host
    };
    format!("{host}-{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    use serde::Deserialize;

    use super::*;

    /// Counts its runs' starts and ends, taking `millis` in between.
    #[derive(Serialize, Deserialize)]
    struct Slow {
        millis: u64,
    }

    #[derive(Clone, Default)]
    struct Counts {
        started: Arc<AtomicUsize>,
        finished: Arc<AtomicUsize>,
        /// When the last run ended, finished or dropped (ms since the epoch).
        ended_at: Arc<AtomicI64>,
    }

    struct Ended(Arc<AtomicI64>);

    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.store(store::now_ms(), Ordering::SeqCst);
        }
    }

    impl BackgroundJob for Slow {
        const JOB_NAME: &'static str = "test_slow";
        type Context = Counts;

        async fn run(&self, ctx: Counts) -> Result<(), JobError> {
            let _ended = Ended(ctx.ended_at.clone());
            ctx.started.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(self.millis)).await;
            ctx.finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    async fn queue_with<J: BackgroundJob>(job: J) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite:{}", dir.path().join("jobs.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        job.enqueue(&mut conn, None, Duration::ZERO).await.unwrap();
        (dir, db)
    }

    fn start(
        db: &Db,
        counts: &Counts,
        lease: Duration,
    ) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let runner = Runner::new(db.clone(), counts.clone(), Arc::new(Notify::new()))
            .lease(lease)
            .poll_interval(Duration::from_millis(20))
            .register::<Slow>();
        let stop = CancellationToken::new();
        let handle = tokio::spawn(runner.run(stop.clone(), Duration::from_secs(5)));
        (stop, handle)
    }

    async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done().await {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn queued(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    #[test]
    fn an_absurd_delay_waits_long_instead_of_wrapping_into_the_past() {
        let now = store::now_ms();
        assert_eq!(store::ms_after(Duration::from_secs(u64::MAX)), i64::MAX);
        let day = store::ms_after(Duration::from_secs(86_400));
        assert!((now + 86_400_000..now + 86_500_000).contains(&day), "{day}");
    }

    #[tokio::test]
    async fn a_run_longer_than_its_lease_keeps_the_job_to_itself() {
        let (_dir, db) = queue_with(Slow { millis: 1_200 }).await;
        let counts = Counts::default();
        let (stop, runner) = start(&db, &counts, Duration::from_millis(300));
        wait_until("the job is done", async || queued(&db).await == 0).await;
        stop.cancel();
        runner.await.unwrap();
        // Four leases long: without renewal the runner itself would have
        // claimed the job again about three times while it ran.
        assert_eq!(
            counts.started.load(Ordering::SeqCst),
            1,
            "the job ran more than once"
        );
        assert_eq!(counts.finished.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_run_whose_lease_was_taken_over_stops_and_leaves_the_job_to_its_new_holder() {
        let (_dir, db) = queue_with(Slow { millis: 1_500 }).await;
        let counts = Counts::default();
        let (stop, runner) = start(&db, &counts, Duration::from_millis(300));
        wait_until("the job starts", async || {
            counts.started.load(Ordering::SeqCst) == 1
        })
        .await;
        // Another worker holds it now (as after a pause longer than the lease).
        let taken = sqlx::query("UPDATE jobs SET locked_by = 'elsewhere/1', locked_until = $1")
            .bind(store::now_ms() + 60_000)
            .execute(db.pool())
            .await
            .unwrap();
        assert_eq!(taken.rows_affected(), 1);
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        stop.cancel();
        runner.await.unwrap();
        assert_eq!(
            counts.finished.load(Ordering::SeqCst),
            0,
            "the stale run went on"
        );
        // Neither finished nor released by the stale run or the shutdown.
        let holder: Option<String> = sqlx::query_scalar("SELECT locked_by FROM jobs")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(holder.as_deref(), Some("elsewhere/1"));
    }

    #[tokio::test]
    async fn a_renewal_that_hangs_stops_the_run_while_its_lease_still_holds() {
        let (_dir, db) = queue_with(Slow { millis: 4_000 }).await;
        let counts = Counts::default();
        let (stop, runner) = start(&db, &counts, Duration::from_millis(900));
        wait_until("the job starts", async || {
            counts.started.load(Ordering::SeqCst) == 1
        })
        .await;
        // Every connection of the pool taken: a renewal waits for one, up to
        // the pool's acquire timeout of 30 s, far past the lease.
        let mut all = Vec::new();
        for _ in 0..4 {
            all.push(db.pool().acquire().await.unwrap());
        }
        wait_until("the run ends", async || {
            counts.ended_at.load(Ordering::SeqCst) != 0
        })
        .await;
        assert_eq!(
            counts.finished.load(Ordering::SeqCst),
            0,
            "the run went on while its lease could not be renewed"
        );
        let locked_until: i64 = sqlx::query_scalar("SELECT locked_until FROM jobs")
            .fetch_one(&mut *all[0])
            .await
            .unwrap();
        let ended_at = counts.ended_at.load(Ordering::SeqCst);
        assert!(
            ended_at < locked_until,
            "stopped at {ended_at}, the lease ran until {locked_until}"
        );
        drop(all);
        stop.cancel();
        runner.await.unwrap();
    }

    /// Panics on every run, and says when its attempts ran out.
    #[derive(Serialize, Deserialize)]
    struct Panics;

    impl BackgroundJob for Panics {
        const JOB_NAME: &'static str = "test_panics";
        type Context = Counts;

        async fn run(&self, ctx: Counts) -> Result<(), JobError> {
            ctx.started.fetch_add(1, Ordering::SeqCst);
            panic!("a bug in the job");
        }

        fn max_attempts(_ctx: &Counts) -> u32 {
            3
        }

        fn backoff(_ctx: &Counts, _attempt: u32) -> Duration {
            Duration::ZERO
        }

        async fn on_exhausted(&self, ctx: Counts, error: &str) -> Result<(), JobError> {
            assert!(error.contains("a bug in the job"), "{error}");
            ctx.finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_job_that_panics_uses_up_its_attempts_and_is_recorded_as_failed() {
        let (_dir, db) = queue_with(Panics).await;
        let counts = Counts::default();
        // A lease far longer than the test: a panic that only let the lease
        // lapse would leave the job queued and never exhausted.
        let runner = Runner::new(db.clone(), counts.clone(), Arc::new(Notify::new()))
            .lease(Duration::from_secs(600))
            .poll_interval(Duration::from_millis(20))
            .register::<Panics>();
        let stop = CancellationToken::new();
        let handle = tokio::spawn(runner.run(stop.clone(), Duration::from_secs(5)));
        wait_until("the job is given up", async || queued(&db).await == 0).await;
        stop.cancel();
        handle.await.unwrap();
        assert_eq!(counts.started.load(Ordering::SeqCst), 3, "runs");
        assert_eq!(
            counts.finished.load(Ordering::SeqCst),
            1,
            "on_exhausted calls"
        );
    }

    #[tokio::test]
    async fn shutdown_gives_back_only_the_jobs_this_worker_holds() {
        let (_dir, db) = queue_with(Slow { millis: 60_000 }).await;
        let other = jobs::claim(&db, "elsewhere", 1, 60_000).await.unwrap();
        assert_eq!(other.len(), 1);
        let mut conn = db.pool().acquire().await.unwrap();
        Slow { millis: 60_000 }
            .enqueue(&mut conn, None, Duration::ZERO)
            .await
            .unwrap();
        drop(conn);
        let counts = Counts::default();
        let runner = Runner::new(db.clone(), counts.clone(), Arc::new(Notify::new()))
            .poll_interval(Duration::from_millis(20))
            .register::<Slow>();
        let stop = CancellationToken::new();
        let handle = tokio::spawn(runner.run(stop.clone(), Duration::from_millis(50)));
        wait_until("the second job starts", async || {
            counts.started.load(Ordering::SeqCst) == 1
        })
        .await;
        stop.cancel();
        handle.await.unwrap();
        let held: Vec<Option<String>> =
            sqlx::query_scalar("SELECT locked_by FROM jobs ORDER BY locked_by")
                .fetch_all(db.pool())
                .await
                .unwrap();
        assert_eq!(held, vec![None, Some(other[0].lease.clone())]);
    }
}
