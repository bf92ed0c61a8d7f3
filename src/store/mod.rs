//! The metadata store: every row Wharf keeps, on SQLite (embedded default) or PostgreSQL.
//!
//! One seam, one implementation. The domain talks to [`Store`] only; every query is written
//! once, in portable SQL (`$n` placeholders, `RETURNING`, `ON CONFLICT`), and runs through
//! sqlx's `Any` driver on either backend. What differs per backend lives here and nowhere
//! else: the migrations (`migrations/sqlite`, `migrations/postgres`), connection set-up
//! (SQLite: WAL, one writer connection plus a read pool; PostgreSQL: one pool) and, later,
//! backend-only features such as advisory locks. Keeping a single copy of each query is why
//! this is not a trait with two hand-written implementations: the store test suite runs the
//! same code against both backends, so they cannot drift apart.
//!
//! Conventions: ids are UUID strings, timestamps are UTC microseconds since the epoch
//! ([`now_micros`]), flags are 0/1 integers.

mod audit;
mod challenges;
mod fsck;
mod gc;
mod invites;
mod keys;
mod namespaces;
mod org_tokens;
mod orgs;
mod registry;
mod repositories;
mod scim;
mod teams;
mod tokens;
mod users;

pub use audit::{AuditFilter, AuditRow};
pub use challenges::ChallengeState;
pub use fsck::DanglingReference;
pub use gc::{AdvisoryLock, BlobEntry, ManifestNode};
pub use invites::{InviteRow, NewInvite};
pub use namespaces::NamespaceKind;
pub use org_tokens::{NewOat, OatRow, OatUpdate};
pub use orgs::{MemberFilter, MemberRow, OrgRow, OrgSettingsRow};
pub use registry::{ManifestRow, NewManifest, NewRepository, PullTally, RepositoryRow, UploadRow};
pub use repositories::{RepoContent, RepoFilter, RepoOrdering, RepoTeamRow, RepoVisibility, TagRow};
pub use scim::{Comparison, Predicate, ScimColumn, ScimGroupRow, ScimMembership, ScimQuery, ScimUserRow};
pub use teams::{TeamFilter, TeamMemberRow, TeamRow, TeamUpdate};
pub use tokens::{NewPat, PatRow, PatUpdate};
pub use users::{NewUser, UserRow};

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Transaction};

/// A write transaction. Every state change and its audit event go through one of these.
pub type Tx = Transaction<'static, Any>;

/// Errors of the store layer. The domain maps them; only `Conflict` and `NotFound` carry
/// meaning for callers, everything else is an internal failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (e.g. a username that is taken).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// Something this store cannot do, and what to do instead.
    #[error("{0}")]
    Unsupported(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether the database could not be reached (down, restarting, network cut, pool
    /// exhausted) or rolled the transaction back to break a deadlock, as opposed to refusing
    /// a statement: the request may simply be retried.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutting down, cannot
            // connect now), and class 40 (a deadlock or serialization failure: the
            // transaction was rolled back, and may simply run again).
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("40")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
            }),
            _ => false,
        }
    }
}

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Reads. On SQLite a pool of readers (WAL lets them run beside the writer).
    read: AnyPool,
    /// Writes. On SQLite exactly one connection, so writers queue in-process instead of
    /// failing with SQLITE_BUSY; on PostgreSQL the same pool as `read`.
    write: AnyPool,
}

impl Store {
    /// Connects, runs the migrations and returns a ready store. `url` is `sqlite://PATH` or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let store = if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await?
        } else {
            return Err(StoreError::InvalidUrl(
                "expected sqlite://PATH or postgres://…".into(),
            ));
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The SQLite URL for a database file inside `data_dir`.
    pub fn sqlite_url_in(data_dir: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("wharf.db").display())
    }

    async fn connect_sqlite(url: &str) -> StoreResult<Store> {
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
            .disable_statement_logging();
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_pragmas)
            .connect_with(options.clone())
            .await?;
        let read = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(sqlite_pragmas)
            .connect_with(options)
            .await?;
        Ok(Store {
            backend: Backend::Sqlite,
            read,
            write,
        })
    }

    async fn connect_postgres(url: &str) -> StoreResult<Store> {
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
            .disable_statement_logging();
        // A short acquire timeout: with the database unreachable, a request answers 503
        // within seconds instead of hanging (and the pool reconnects once it is back).
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Store {
            backend: Backend::Postgres,
            read: pool.clone(),
            write: pool,
        })
    }

    async fn migrate(&self) -> StoreResult<()> {
        // sqlx's migrator takes an advisory lock on PostgreSQL, so several instances
        // starting at once migrate exactly once.
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.write).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&self.write).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`: it takes the write
    /// lock up front, so a transaction that reads and then writes cannot fail half-way
    /// because another process wrote in between.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// The pool for plain reads outside a transaction.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for single-statement writes outside a transaction.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Closes all connections (graceful shutdown).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Pragmas for every SQLite connection: WAL for concurrent readers, a busy timeout so that
/// another process (`wharf admin` beside a running server) waits instead of failing, FULL
/// sync so that an acknowledged write survives power loss, and foreign keys, which SQLite
/// leaves off by default.
fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        sqlx::query(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Now, in the store's time unit.
pub fn now_micros() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000) as i64
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`], leaving other errors as
/// they are.
pub(crate) fn conflict_on_unique(err: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict(what.to_string());
        }
    }
    StoreError::Database(err)
}

pub(crate) fn flag(b: bool) -> i32 {
    i32::from(b)
}

/// A case-insensitive "contains" pattern for `LOWER(column) LIKE $n ESCAPE '\'`, with the
/// wildcards of the search text escaped.
pub(crate) fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Commits a write transaction.
pub async fn commit(tx: Tx) -> StoreResult<()> {
    tx.commit().await?;
    Ok(())
}

impl Store {
    /// Writes a consistent copy of an SQLite store to `file`, which must not exist: one
    /// `VACUUM INTO`, a read transaction, so writers carry on meanwhile. PostgreSQL is
    /// backed up with its own tools (pg_dump).
    pub async fn backup_into(&self, file: &std::path::Path) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            return Err(StoreError::Unsupported(
                "wharf admin backup copies an SQLite store; back up PostgreSQL with pg_dump".into(),
            ));
        }
        if file.exists() {
            return Err(StoreError::Unsupported(format!(
                "{} exists; name a new file",
                file.display()
            )));
        }
        let path = file
            .to_str()
            .ok_or_else(|| StoreError::Unsupported("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(self.reader())
            .await?;
        Ok(())
    }

    /// Each pool's connections: `(name, open, idle)`. PostgreSQL has one pool.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        match self.backend {
            Backend::Postgres => vec![("main", self.read.size(), self.read.num_idle())],
            Backend::Sqlite => vec![
                ("read", self.read.size(), self.read.num_idle()),
                ("write", self.write.size(), self.write.num_idle()),
            ],
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(self.reader()).await?;
        Ok(())
    }
}
