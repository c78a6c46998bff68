//! The durable job queue behind the pipeline and every delivery.

use sqlx::Row;

use super::{now_ms, AnyConnection, Backend, Db, StoreError};

/// The PostgreSQL channel on which new work is announced to every replica.
pub const NOTIFY_CHANNEL: &str = "replyd_jobs";

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub job_type: String,
    pub data: String,
    /// Including this run.
    pub attempts: i64,
    /// This claim's lease: every later write about the job names it, so a
    /// run whose lease was taken over (even by its own process) can no
    /// longer finish, retry or extend the job.
    pub lease: String,
}

/// The lease names of one claim: unique per claim, and prefixed by the
/// worker so a worker can give back all it holds.
fn lease_name(worker: &str) -> String {
    format!("{worker}/{}", uuid::Uuid::new_v4())
}

/// Adds a job. With a `dedupe_key`, a second job under the same key is not
/// added while the first exists (returns false).
pub async fn enqueue(
    conn: &mut AnyConnection,
    job_type: &str,
    data: &str,
    run_at: i64,
    dedupe_key: Option<&str>,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO jobs (id, job_type, data, dedupe_key, run_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(job_type)
    .bind(data)
    .bind(dedupe_key)
    .bind(run_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() == 1 && conn.backend_name() == "PostgreSQL" {
        // Delivered at commit, so listeners never wake for rolled-back work.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(NOTIFY_CHANNEL)
            .execute(&mut *conn)
            .await?;
    }
    Ok(result.rows_affected() == 1)
}

/// Leases up to `limit` due jobs to `worker` for `lease_ms`. On PostgreSQL
/// rows another replica is claiming are skipped rather than waited for.
pub async fn claim(
    db: &Db,
    worker: &str,
    limit: usize,
    lease_ms: i64,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let now = now_ms();
    let lock_clause = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE run_at <= $3 \
           AND (locked_until IS NULL OR locked_until < $3) \
           ORDER BY run_at LIMIT {limit}{lock_clause}) \
         RETURNING id, job_type, data, attempts"
    );
    let lease = lease_name(worker);
    let rows = sqlx::query(&sql)
        .bind(&lease)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ClaimedJob {
                id: r.try_get("id")?,
                job_type: r.try_get("job_type")?,
                data: r.try_get("data")?,
                attempts: r.try_get("attempts")?,
                lease: lease.clone(),
            })
        })
        .collect()
}

/// Pushes the end of a held lease to `until`. False when the lease is no
/// longer held: it ran out and the job was claimed again, or it is done.
pub async fn extend(db: &Db, id: &str, lease: &str, until: i64) -> Result<bool, StoreError> {
    let result = sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3")
        .bind(until)
        .bind(id)
        .bind(lease)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes a finished job; only its lease's holder may (a job whose lease
/// ran out and was taken over belongs to the new holder).
pub async fn complete(db: &Db, id: &str, lease: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_by = $2")
        .bind(id)
        .bind(lease)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Releases a job to run again at `run_at`.
pub async fn retry_at(
    db: &Db,
    id: &str,
    lease: &str,
    run_at: i64,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET run_at = $1, locked_by = NULL, locked_until = NULL, last_error = $2 \
         WHERE id = $3 AND locked_by = $4",
    )
    .bind(run_at)
    .bind(error)
    .bind(id)
    .bind(lease)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Like [`retry_at`], but the run that ends here does not count as an attempt.
pub async fn defer_to(
    db: &Db,
    id: &str,
    lease: &str,
    run_at: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET run_at = $1, locked_by = NULL, locked_until = NULL, last_error = $2, \
         attempts = attempts - 1 WHERE id = $3 AND locked_by = $4",
    )
    .bind(run_at)
    .bind(reason)
    .bind(id)
    .bind(lease)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Gives back everything `worker` holds, to be taken at once by others
/// (used at shutdown).
pub async fn release_all(db: &Db, worker: &str) -> Result<u64, StoreError> {
    // Leases are `worker/uuid`; a worker id holds no `/`, `%` or `_` of its
    // own (see `Runner::new`), so the prefix matches this worker's alone.
    let result = sqlx::query(
        "UPDATE jobs SET locked_by = NULL, locked_until = NULL, attempts = attempts - 1 \
         WHERE locked_by LIKE $1",
    )
    .bind(format!("{worker}/%"))
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected())
}

/// Jobs that are due now, claimed or not: the queue depth.
pub async fn due_count(db: &Db) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE run_at <= $1")
            .bind(now_ms())
            .fetch_one(db.pool())
            .await?,
    )
}
