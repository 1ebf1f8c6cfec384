//! Connecting to the database and migrating it: SQLite (the embedded default) or PostgreSQL.
//! The few places where the two differ live here, each with both branches.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;

use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::LockType;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QuerySelect, Select, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// An arbitrary constant naming Convene's migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK_KEY: i64 = 0x0C0E_4E5E_0001;

/// How long a SQLite writer waits for another before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (`sqlite://path` or `sqlite:path`).
    Sqlite,
    /// A PostgreSQL server (`postgres://…` or `postgresql://…`).
    Postgres,
}

impl Backend {
    /// The backend a URL names, if Convene supports it.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// A pooled connection idle this long is pinged before use (one the server or a firewall may
/// have dropped); one used more recently is not: a ping per checkout was a round trip more for
/// each request and each transaction. The price: a connection the server dropped within the last
/// 10 s (a restart, a failover) fails one request before it is replaced.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// The options of every pool of `url`: SQLite files are created if missing and run in WAL mode
/// with a busy timeout, so writers queue instead of failing.
fn options(url: &str, backend: Backend, pool_size: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool_size)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(60))
        .test_before_acquire_if_idle_for(PING_AFTER_IDLE)
        .sqlx_logging(false);
    // Every taking of a connection is reported (at TRACE, which the log leaves out), so that
    // `/metrics` can show how long requests waited for one (`metrics::PoolWaitLayer`).
    match backend {
        Backend::Postgres => {
            options.map_sqlx_postgres_pool_opts(|o| o.acquire_time_level(log::LevelFilter::Trace));
        }
        Backend::Sqlite => {
            options.map_sqlx_sqlite_pool_opts(|o| o.acquire_time_level(log::LevelFilter::Trace));
        }
    }
    if backend == Backend::Sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    }
    options
}

/// Opens a pool of up to `pool_size` connections (see [`options`]).
pub async fn connect(url: &str, pool_size: u32) -> Result<DatabaseConnection, DbErr> {
    let backend = Backend::of_url(url)
        .ok_or_else(|| DbErr::Custom("the database URL must start with sqlite: or postgres://".into()))?;
    let mut options = options(url, backend, pool_size);
    options.min_connections(1);
    if backend == Backend::Postgres {
        return Database::connect(options).await.map_err(|e| without_secrets(e, url));
    }
    // Opening a SQLite file switches it to WAL, which briefly needs the lock; another process
    // migrating the same new file at that moment makes the open fail with "database is locked".
    let mut attempt = 0;
    loop {
        match Database::connect(options.clone()).await {
            Err(err) if attempt < 20 && err.to_string().contains("database is locked") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other.map_err(|e| without_secrets(e, url)),
        }
    }
}

/// `err` with the database URL's secrets hidden: sea-orm repeats a URL it cannot parse whole in
/// its error, which is then printed and logged.
fn without_secrets(err: DbErr, url: &str) -> DbErr {
    let text = err.to_string();
    let hidden = crate::config::hide_url_secrets(&text, url);
    if hidden == text { err } else { DbErr::Custom(hidden) }
}

/// The pool for the HTTP worker thread this is called on. On PostgreSQL, a pool of its own, of up
/// to `pool_size` connections opened when first needed, from this thread. A connection's socket
/// belongs to the event loop of the thread that opened it: a request on another worker thread
/// that drew it from a shared pool was woken through that thread on every round trip to the
/// server, two threads' hand-off where one will do (README, "Performance": bookings on
/// PostgreSQL). On SQLite, `shared`: sqlx runs each SQLite connection on a thread of its own
/// anyway, and `BEGIN IMMEDIATE` lets one writer in at a time.
pub fn worker_pool(shared: &DatabaseConnection, url: &str, pool_size: u32) -> DatabaseConnection {
    if shared.get_database_backend() != DatabaseBackend::Postgres {
        return shared.clone();
    }
    let mut options = options(url, Backend::Postgres, pool_size);
    options.min_connections(0).connect_lazy(true);
    // Connecting lazily does no I/O, so the future is ready at once; should it ever not be, or
    // fail, the shared pool still serves.
    match Database::connect(options).now_or_never() {
        Some(Ok(pool)) => pool,
        other => {
            let error = other.and_then(Result::err).map(|e| without_secrets(e, url).to_string());
            tracing::warn!(
                ?error,
                "could not make a pool for an HTTP worker; it uses the shared pool"
            );
            shared.clone()
        }
    }
}

/// Applies every pending migration. On PostgreSQL this holds an advisory lock on a connection of
/// its own, so several instances starting at once migrate one after another, never together.
pub async fn migrate(db: &DatabaseConnection, url: &str) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let mut options = ConnectOptions::new(url.to_owned());
            options.max_connections(1).min_connections(1).sqlx_logging(false);
            let lock_holder = Database::connect(options).await.map_err(|e| without_secrets(e, url))?;
            lock_holder
                .execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .await?;
            let result = Migrator::up(db, None).await;
            let unlocked = lock_holder
                .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .await;
            lock_holder.close().await?;
            result?;
            unlocked.map(|_| ())
        }
        _ => {
            // SQLite has no advisory locks. Two processes opening one new file at once may collide;
            // the loser retries, and by then finds the winner's migrations applied.
            let mut attempt = 0;
            loop {
                match Migrator::up(db, None).await {
                    Ok(()) => return Ok(()),
                    Err(err) if attempt < 10 => {
                        attempt += 1;
                        tracing::debug!(error = %err, attempt, "migration collided with another process; retrying");
                        tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
}

/// A transaction that will write. On SQLite it also holds this process's turn to write to the
/// file: its write transactions queue here, first come first served, so they do not all ask
/// SQLite at once and sleep in SQLite's busy handler (1, 2, 5, 10, … 100 ms), often long after
/// the lock was free again (README, "Performance"). Single-statement writes outside a
/// transaction, and writers in other processes, still meet them at SQLite's busy timeout, and
/// get in only between two turns: a write a person waits for belongs in one (`in_write_txn`).
pub struct WriteTxn {
    txn: DatabaseTransaction,
    /// Dropped after `txn` (fields drop in order), so the turn outlasts the transaction.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTxn {
    /// Commits, then gives up the turn.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Rolls back, then gives up the turn.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }

    /// Commits when `done` succeeded and rolls back when it failed, answering `done`: what
    /// `domain::in_write_txn` does, for callers whose future must be `Send` (its closure's
    /// cannot yet be proven so, rust-lang/rust#110338).
    pub async fn settle<T, E: From<DbErr>>(self, done: Result<T, E>) -> Result<T, E> {
        match done {
            Ok(value) => {
                self.commit().await?;
                Ok(value)
            }
            Err(err) => {
                self.rollback().await.ok();
                Err(err)
            }
        }
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// The queue of this process's writers to a SQLite file, one per file.
fn sqlite_write_queue(db: &DatabaseConnection) -> Arc<tokio::sync::Mutex<()>> {
    static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let options = db.get_sqlite_connection_pool().connect_options();
    let file = options.get_filename();
    let mut queues = QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
    match queues.get(file) {
        Some(queue) => queue.clone(),
        None => queues.entry(file.to_owned()).or_default().clone(),
    }
}

/// This process's turn to write to a SQLite file (see [`WriteTxn`]), for a write that is a single
/// statement outside a transaction (the notifications worker's claims and marks): held while
/// the statement runs, it runs between two write transactions instead of meeting them at
/// SQLite's busy timeout. `None` on PostgreSQL, whose writers need no turn.
pub async fn write_turn(db: &DatabaseConnection) -> Result<Option<tokio::sync::OwnedMutexGuard<()>>, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(None);
    }
    tokio::time::timeout(SQLITE_BUSY_TIMEOUT, sqlite_write_queue(db).lock_owned())
        .await
        .map(Some)
        .map_err(|_| {
            DbErr::Custom(format!(
                "database is locked: no turn to write within {} s",
                SQLITE_BUSY_TIMEOUT.as_secs()
            ))
        })
}

/// Begins a transaction that will write: on SQLite after this process's writers ahead of it
/// ([`WriteTxn`]) and with `BEGIN IMMEDIATE` (so it takes the write lock up front instead of
/// failing when it upgrades), a plain `BEGIN` on PostgreSQL.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let turn = write_turn(db).await?;
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(WriteTxn { txn, _turn: turn })
}

/// `SELECT … FOR NO KEY UPDATE` on PostgreSQL, so concurrent writers of the same row queue; on
/// SQLite the select is left as it is, since `BEGIN IMMEDIATE` already lets only one writer in.
///
/// `NO KEY`: the writers that lock this way change no key, and the lock then does not conflict
/// with the `FOR KEY SHARE` that a foreign key check takes on the row it references (another
/// transaction inserting an outbox row or a calendar sequence for this person or session).
/// `FOR UPDATE` does, and made bookings queue behind the notifications worker's writes (and
/// deadlock with them when a booking was sent twice at once). Deleting a row, or changing its
/// key, still waits for such checks, as it must.
pub fn for_update<E: EntityTrait>(select: Select<E>, backend: DatabaseBackend) -> Select<E> {
    match backend {
        DatabaseBackend::Postgres => select.lock(LockType::NoKeyUpdate),
        _ => select,
    }
}

/// Whether a failed transaction may simply be tried again: PostgreSQL broke a deadlock
/// (`40P01`) or a serialization conflict (`40001`) by aborting it.
pub fn is_retryable(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("40P01") || text.contains("40001") || text.contains("deadlock detected")
}
