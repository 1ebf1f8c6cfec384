//! Connecting to the database and migrating it: SQLite (the embedded default) or PostgreSQL.
//! The few places where the two differ live here, each with both branches.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
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

/// Opens a pool. SQLite files are created if missing and run in WAL mode with a busy timeout, so
/// writers queue instead of failing; PostgreSQL gets `pool_size` connections.
pub async fn connect(url: &str, pool_size: u32) -> Result<DatabaseConnection, DbErr> {
    let backend = Backend::of_url(url)
        .ok_or_else(|| DbErr::Custom("the database URL must start with sqlite: or postgres://".into()))?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool_size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(60))
        // A connection is pinged before use only after 10 s idle (one the server or a firewall
        // may have dropped), not on every checkout: a ping per checkout was a round trip more
        // for each request and each transaction. The price: a connection the server dropped
        // within the last 10 s (a restart, a failover) fails one request before it is replaced.
        .test_before_acquire_if_idle_for(Duration::from_secs(10))
        .sqlx_logging(false);
    if backend == Backend::Sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    }
    if backend == Backend::Postgres {
        return Database::connect(options).await;
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
            other => return other,
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
            let lock_holder = Database::connect(options).await?;
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

/// Begins a transaction that will write: `BEGIN IMMEDIATE` on SQLite (so it queues for the write
/// lock up front instead of failing when it upgrades), a plain `BEGIN` on PostgreSQL.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// `SELECT … FOR UPDATE` on PostgreSQL, so concurrent writers of the same row queue; on SQLite
/// the select is left as it is, since `BEGIN IMMEDIATE` already lets only one writer in.
pub fn for_update<E: EntityTrait>(select: Select<E>, backend: DatabaseBackend) -> Select<E> {
    match backend {
        DatabaseBackend::Postgres => select.lock_exclusive(),
        _ => select,
    }
}

/// Whether a failed transaction may simply be tried again: PostgreSQL broke a deadlock
/// (`40P01`) or a serialization conflict (`40001`) by aborting it.
pub fn is_retryable(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("40P01") || text.contains("40001") || text.contains("deadlock detected")
}
