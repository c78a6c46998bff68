//! Persistence. One schema serves SQLite and PostgreSQL through sqlx's `Any`
//! driver, so every query is written once; the few statements whose syntax
//! differs ask [`Db::backend`].
//!
//! Functions take `&mut AnyConnection` so a caller can run several of them in
//! one transaction (a `Transaction` derefs to the connection).

pub mod actions;
pub mod audit;
pub mod context;
pub mod corrections;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod meta;
pub mod reviews;
pub mod sessions;
pub mod stats;
pub mod tokens;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio_util::sync::{CancellationToken, DropGuard};

pub use sqlx::AnyConnection;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
}

impl StoreError {
    /// The database refuses work for now (a full disk, an I/O error, a
    /// lock or a pool that stays busy, too many connections, a standby):
    /// the request was fine and is worth trying again shortly.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
            _ => false,
        }
    }
}

/// SQLite's primary result codes BUSY (5), LOCKED (6), NOMEM (7), READONLY
/// (8), IOERR (10), FULL (13) and CANTOPEN (14), which come extended (the
/// low byte is the primary); PostgreSQL's class 53 (disk full, out of
/// memory, too many connections), 57P03 (starting up) and 25006 (a
/// read-only standby).
fn unavailable_code(code: &str) -> bool {
    if let Ok(sqlite) = code.parse::<i32>() {
        return matches!(sqlite & 0xff, 5..=8 | 10 | 13 | 14);
    }
    code.starts_with("53") || code == "57P03" || code == "25006"
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<crate::domain::ParseError> for StoreError {
    fn from(e: crate::domain::ParseError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    /// Where commits that replyd answers for are made: see [`Db::begin_durable`].
    durable: AnyPool,
    backend: Backend,
    url: String,
    /// Stops SQLite's checkpoint task when the last clone goes.
    _checkpointer: Option<Arc<DropGuard>>,
    /// Set when ingestion's last write was refused for want of room or
    /// access (see [`StoreError::is_unavailable`]); cleared by the next
    /// one that commits, or by a probe as large as a message.
    writes_refused: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Connects, creating a SQLite file when it does not exist yet.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let (pool, durable) = match backend {
            Backend::Sqlite => {
                // SQLite has one writer; a few connections let reads
                // proceed beside it (WAL) without queueing writers.
                let pool = sqlite_pool(&options, 4, Synchronous::Normal).await?;
                let durable = sqlite_pool(&options, 2, Synchronous::Full).await?;
                (pool, durable)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .before_acquire(|conn, _| {
                        Box::pin(async move { Ok(outside_transaction(conn)) })
                    })
                    .connect_with(options)
                    .await?;
                // PostgreSQL's commits are always durable.
                (pool.clone(), pool)
            }
        };
        let checkpointer = if backend == Backend::Sqlite {
            // WAL is a property of the file: set once, it stays.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            let stop = CancellationToken::new();
            tokio::spawn(checkpoint_wal(pool.clone(), stop.clone()));
            Some(Arc::new(stop.drop_guard()))
        } else {
            None
        };
        Ok(Db {
            pool,
            durable,
            backend,
            url,
            _checkpointer: checkpointer,
            writes_refused: Arc::default(),
        })
    }

    /// Makes this process the only one serving a SQLite database: SQLite
    /// has one writer, and two daemons would claim the same work. The lock
    /// lives as long as the returned file and dies with the process.
    pub fn lock_single_writer(&self) -> Result<Option<std::fs::File>, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let path = self
            .url
            .trim_start_matches("sqlite:")
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        if path.is_empty() || path == ":memory:" {
            return Ok(None);
        }
        let lock_path = format!("{path}.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Conflict(format!("cannot open {lock_path}: {e}")))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Conflict(format!(
                "another replyd process already serves {path}; SQLite allows one \
                 (run several replicas on PostgreSQL instead)"
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Conflict(format!(
                "cannot lock {lock_path}: {e}"
            ))),
        }
    }

    /// Wakes `wake` whenever any replica commits new work (PostgreSQL
    /// LISTEN/NOTIFY); polling stays the fallback if the listener drops.
    pub async fn listen_for_work(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        if self.backend != Backend::Postgres {
            return;
        }
        let url = self.url.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if listener.listen(jobs::NOTIFY_CHANNEL).await.is_ok() {
                            while listener.recv().await.is_ok() {
                                wake.notify_one();
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection failed; polling meanwhile")
                    }
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        let mut conn = self.conn().await?;
        let folded = messages::fold_unsearchable(&mut conn).await?;
        if folded > 0 {
            tracing::info!(messages = folded, "made earlier messages searchable");
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection whose every commit is on disk before it returns, for
    /// writes replyd acts on or answers for: see [`Db::begin_durable`].
    pub async fn durable_conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.durable.acquire().await?)
    }

    /// A transaction whose commit is on disk before it returns. On SQLite
    /// ordinary commits are not (`synchronous = NORMAL`): a power cut or an
    /// OS crash can take back the last ones, which costs nothing for the
    /// pipeline's own steps (their jobs are taken back with them, and run
    /// again) but would for a commit something was promised on: a message
    /// answered `202` or a webhook `200` (Meta does not send it again), an
    /// action marked `sending` before its request leaves (it would go out a
    /// second time), a reviewer's decision, a token shown or revoked. Those
    /// use this. Its fsync also makes every earlier commit durable: the
    /// write-ahead log is one file, written in order.
    pub async fn begin_durable(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.durable.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.durable.begin().await?,
        })
    }

    /// On SQLite the transaction takes the write lock at once: a deferred
    /// one that reads first may find it cannot upgrade to a writer while
    /// another connection writes, and fails with "database is locked"
    /// instead of waiting its turn.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A read-only transaction that sees one moment of the database: a view
    /// built from several queries (a message, its decision, its actions)
    /// never mixes states. Read one by one, a page could show an action
    /// already sent beside its message's stage from before the send, which
    /// the same commit changed. SQLite's deferred transaction keeps the
    /// snapshot of its first read (it never writes, so it never waits for
    /// the write lock); PostgreSQL needs repeatable read for that, as its
    /// default gives every statement a snapshot of its own.
    pub async fn snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN DEFERRED").await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// What ingestion's last write met: refused (a full disk...) or not.
    pub fn note_writes_refused(&self, refused: bool) {
        self.writes_refused
            .store(refused, std::sync::atomic::Ordering::Relaxed);
    }

    /// Commits a write the way ingestion does (a durable transaction): a
    /// database that answers reads but refuses writes (a full disk, a
    /// read-only standby) is not ready to accept messages. A one-row write
    /// can still fit where a message no longer does (SQLite's log reuses
    /// space it already has), so after ingestion was refused the probe
    /// writes as much as a long message, and only its commit clears the
    /// refusal; a daemon taken out of a load balancer's rotation still
    /// finds out by itself that there is room again.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let recovering = self.writes_refused.load(Ordering::Relaxed);
        let payload = if recovering {
            "x".repeat(64 * 1024)
        } else {
            String::new()
        };
        let mut tx = self.begin_durable().await?;
        sqlx::query(
            "INSERT INTO readiness (id, checked_at, payload) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, \
             payload = excluded.payload",
        )
        .bind(now_ms())
        .bind(payload)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if recovering {
            self.writes_refused.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.durable.close().await;
    }
}

/// Whether a pooled connection may be handed out: never one still inside a
/// transaction. When a commit fails on a full disk, SQLite rolls the
/// transaction back itself; sqlx still counts it open, its own rollback
/// then fails ("no transaction is active") and the count never returns to
/// zero, so every later `BEGIN` on that connection would fail until a
/// restart. Such a connection is closed here and a fresh one opened.
fn outside_transaction(conn: &AnyConnection) -> bool {
    use sqlx::Connection;
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("discarding a database connection left inside a failed transaction");
    }
    clean
}

/// SQLite's `synchronous` setting, per pool.
#[derive(Clone, Copy)]
enum Synchronous {
    Normal,
    Full,
}

async fn sqlite_pool(
    options: &AnyConnectOptions,
    connections: u32,
    synchronous: Synchronous,
) -> Result<AnyPool, StoreError> {
    let level = match synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    Ok(AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .before_acquire(|conn, _| Box::pin(async move { Ok(outside_transaction(conn)) }))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(
                    format!(
                        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = {level}; \
                         PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;"
                    )
                    .as_str(),
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await?)
}

/// Copies SQLite's write-ahead log back into the database file once a
/// second, off the request path. By default the commit that fills the log
/// does this itself, with an fsync, and an ingestion request that happened
/// to be that commit waited tens of milliseconds for it. A passive
/// checkpoint never blocks a writer. The task ends with the pool or when
/// the last `Db` handle is dropped.
async fn checkpoint_wal(pool: AnyPool, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying in a second");
        }
    }
}

/// A value bound to a `$n` placeholder of a [`Filtered`] query.
pub(crate) enum BindValue {
    Text(String),
    Int(i64),
    Float(f64),
}

/// A list query whose WHERE clause grows one optional filter at a time,
/// numbering the `$n` placeholders (which both backends accept) as it goes.
pub(crate) struct Filtered {
    sql: String,
    binds: Vec<BindValue>,
}

impl Filtered {
    /// `select` ends in a WHERE clause the filters extend with `AND`.
    pub fn new(select: impl Into<String>) -> Self {
        Filtered {
            sql: select.into(),
            binds: Vec::new(),
        }
    }

    /// Adds ` AND <clause>`, where `?` in `clause` stands for `value`.
    pub fn and(&mut self, clause: &str, value: BindValue) {
        self.binds.push(value);
        let placeholder = format!("${}", self.binds.len());
        self.sql.push_str(" AND ");
        self.sql.push_str(&clause.replace('?', &placeholder));
    }

    /// Keyset paging past `(at, id)` in the order of `(at_column, id_column)`:
    /// `newer` pages forward in ascending order, else backward in descending.
    pub fn page_past(&mut self, at_column: &str, id_column: &str, at: i64, id: &str, newer: bool) {
        let op = if newer { '>' } else { '<' };
        self.binds.push(BindValue::Int(at));
        self.binds.push(BindValue::Text(id.to_owned()));
        let (a, b) = (self.binds.len() - 1, self.binds.len());
        self.sql.push_str(&format!(
            " AND ({at_column} {op} ${a} OR ({at_column} = ${a} AND {id_column} {op} ${b}))"
        ));
    }

    /// Ends the query with its ORDER BY and LIMIT.
    pub fn finish(mut self, order_by: &str, limit: u32) -> FilteredQuery {
        self.sql
            .push_str(&format!(" ORDER BY {order_by} LIMIT {limit}"));
        FilteredQuery(self)
    }
}

/// A finished [`Filtered`] query, ready to run.
pub(crate) struct FilteredQuery(Filtered);

impl FilteredQuery {
    pub async fn fetch_all(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        let Filtered { sql, binds } = self.0;
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                BindValue::Text(t) => query.bind(t),
                BindValue::Int(i) => query.bind(i),
                BindValue::Float(f) => query.bind(f),
            };
        }
        Ok(query.fetch_all(&mut *conn).await?)
    }
}

/// Milliseconds since the Unix epoch: the one time unit the schema stores.
/// Holds a row of `table` until the transaction ends, on PostgreSQL;
/// SQLite's single writer already runs writing transactions one at a time.
async fn lock_row(
    conn: &mut AnyConnection,
    table: &'static str,
    id: &str,
) -> Result<(), StoreError> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `now_ms()` plus `delay`, saturating: a delay from outside (a receiver's
/// `Retry-After`, Meta's estimate) can be absurd, and wrapping would put the
/// time in the past and turn a long wait into a hot retry loop.
pub fn ms_after(delay: std::time::Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous(conn: &mut AnyConnection) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// On SQLite only the commits replyd answers for wait for the disk;
    /// the pipeline's own steps do not (see `Db::begin_durable`).
    #[tokio::test]
    async fn on_sqlite_durable_commits_wait_for_the_disk_and_the_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite:{}", dir.path().join("d.db").display()))
            .await
            .unwrap();
        const NORMAL: i64 = 1;
        const FULL: i64 = 2;
        assert_eq!(synchronous(&mut db.conn().await.unwrap()).await, NORMAL);
        assert_eq!(synchronous(&mut db.begin().await.unwrap()).await, NORMAL);
        assert_eq!(
            synchronous(&mut db.durable_conn().await.unwrap()).await,
            FULL
        );
        assert_eq!(
            synchronous(&mut db.begin_durable().await.unwrap()).await,
            FULL
        );
    }
}
