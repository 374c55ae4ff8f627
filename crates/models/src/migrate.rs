//! Embedded migrations, applied under a lock so that instances starting together are safe.

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;
use crate::{Db, Error, Result};

/// One migration set, written once per backend.
#[derive(Clone, Copy)]
pub struct MigrationSet {
    /// A name for logs, e.g. `"duet"` or `"shop"`.
    pub name: &'static str,
    /// Migrations for SQLite (`|| embed_migrations!("…/sqlite")`).
    pub sqlite: fn() -> EmbeddedMigrations,
    /// Migrations for PostgreSQL (`|| embed_migrations!("…/postgres")`).
    pub postgres: fn() -> EmbeddedMigrations,
}

impl std::fmt::Debug for MigrationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationSet")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The framework's own tables: `users`, `user_logins`, `api_tokens`, `webhook_deliveries`.
pub const FRAMEWORK_MIGRATIONS: MigrationSet =
    crate::migration_set!("duet", sqlite: "../../migrations/sqlite", postgres: "../../migrations/postgres");

/// Embeds a [`MigrationSet`] from two directories, relative to the calling crate's manifest.
/// The calling crate depends on `diesel_migrations`.
///
/// ```ignore
/// const SHOP: MigrationSet =
///     duet_models::migration_set!("shop", sqlite: "migrations/sqlite", postgres: "migrations/postgres");
/// ```
#[macro_export]
macro_rules! migration_set {
    ($name:literal, sqlite: $sqlite:literal, postgres: $postgres:literal $(,)?) => {
        $crate::MigrationSet {
            name: $name,
            sqlite: || {
                const MIGRATIONS: ::diesel_migrations::EmbeddedMigrations =
                    ::diesel_migrations::embed_migrations!($sqlite);
                MIGRATIONS
            },
            postgres: || {
                const MIGRATIONS: ::diesel_migrations::EmbeddedMigrations =
                    ::diesel_migrations::embed_migrations!($postgres);
                MIGRATIONS
            },
        }
    };
}

/// A key for `pg_advisory_xact_lock`, shared by every duet instance: "duet" in ASCII.
const PG_MIGRATION_LOCK: i64 = 0x6475_6574;

/// Versions applied by one [`Db::migrate`] call, in order.
pub type Applied = Vec<String>;

impl Db {
    /// Applies the pending migrations of `sets`, in order, in one transaction under a lock.
    ///
    /// Safe when several instances start at once: PostgreSQL serialises them on an
    /// advisory lock, SQLite on an immediate (write-locking) transaction; the instance
    /// that waits finds nothing left to do. Runs on its own thread, outside the async
    /// runtime (diesel's migration harness is synchronous).
    pub async fn migrate(&self, sets: &[MigrationSet]) -> Result<Applied> {
        let url = self.config().url.clone();
        let busy = self
            .config()
            .sqlite_busy_timeout
            .max(std::time::Duration::from_secs(30));
        let sets = sets.to_vec();
        if url == DatabaseUrl::SqliteMemory {
            // The in-memory database exists only inside the pool's one connection.
            let crate::Pool::Sqlite(pool) = self.pool() else {
                return Err(Error::Config("an in-memory database is always SQLite".into()));
            };
            let mut conn = pool.get().await?;
            return conn
                .spawn_blocking(move |c| {
                    run_sets(c, &sets, Backend::Sqlite).map_err(diesel::result::Error::QueryBuilderError)
                })
                .await
                .map_err(|e| Error::Migration(e.to_string()));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("duet-migrate".into())
            .spawn(move || {
                let _ = tx.send(migrate_blocking(&url, busy, &sets));
            })
            .map_err(|e| Error::Migration(format!("cannot start the migration thread: {e}")))?;
        rx.await
            .map_err(|_| Error::Migration("the migration thread died".into()))?
    }
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn migrate_blocking(url: &DatabaseUrl, busy: std::time::Duration, sets: &[MigrationSet]) -> Result<Applied> {
    let applied = match url {
        DatabaseUrl::SqliteFile(path) => {
            let mut conn =
                SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| Error::Unavailable(e.to_string()))?;
            conn.batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON;",
                busy.as_millis()
            ))
            .map_err(Error::from)?;
            conn.immediate_transaction(|c| run_sets(c, sets, Backend::Sqlite).map_err(TxError::Migration))
        }
        DatabaseUrl::Postgres(url) => {
            let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
                .map_err(|e| Error::Unavailable(e.to_string()))?;
            conn.transaction(|c| {
                c.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))?;
                run_sets(c, sets, Backend::Postgres).map_err(TxError::Migration)
            })
        }
        DatabaseUrl::SqliteMemory => {
            return Err(Error::Config(
                "an in-memory database is migrated through its pool".into(),
            ));
        }
    };
    applied.map_err(|e| match e {
        TxError::Diesel(e) => Error::from(e),
        TxError::Migration(e) => Error::Migration(e.to_string()),
    })
}

fn run_sets<C>(conn: &mut C, sets: &[MigrationSet], backend: Backend) -> Result<Applied, BoxError>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    let mut applied = Vec::new();
    for set in sets {
        let source = match backend {
            Backend::Sqlite => (set.sqlite)(),
            Backend::Postgres => (set.postgres)(),
        };
        for version in conn.run_pending_migrations(source)? {
            tracing::info!(set = set.name, %version, "applied migration");
            applied.push(version.to_string());
        }
    }
    Ok(applied)
}

enum TxError {
    Diesel(diesel::result::Error),
    Migration(BoxError),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Diesel(e)
    }
}
