//! Migrations, applied under a lock so that instances starting together are safe.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;

use crate::config::DatabaseUrl;
use crate::{Db, Error, MigrationSet, Result};

/// A key for `pg_advisory_xact_lock`, shared by every duet instance: "duet" in ASCII.
const PG_MIGRATION_LOCK: i64 = 0x6475_6574;

/// Versions applied by one [`Db::migrate`] call, in order.
pub type Applied = Vec<String>;

/// One migration of a set, as [`Db::migration_status`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// The set's name.
    pub set: &'static str,
    /// The migration's version (its directory name, such as `2026-11-01-000000_orders`).
    pub version: String,
    /// Whether the database has it.
    pub applied: bool,
}

/// What to do with the migrations, on the migration thread. Each job answers with the
/// migrations it applied, listed or reverted.
#[derive(Clone, Copy)]
pub(crate) enum Job {
    Migrate,
    /// As `Migrate`, without logging: building a scratch database.
    Replay,
    Status,
    RevertLast,
}

impl Db {
    /// Applies the pending migrations of `sets`, in order, in one transaction under a lock.
    ///
    /// Safe when several instances start at once: PostgreSQL serialises them on an
    /// advisory lock, SQLite on an immediate (write-locking) transaction; the instance
    /// that waits finds nothing left to do. Runs on its own thread, outside the async
    /// runtime (diesel's migration harness is synchronous).
    pub async fn migrate(&self, sets: &[MigrationSet]) -> Result<Applied> {
        let applied = self.migration_job(sets, Job::Migrate).await?;
        Ok(applied.into_iter().map(|m| m.version).collect())
    }

    /// Every migration of `sets`, in order, with whether the database has it.
    pub async fn migration_status(&self, sets: &[MigrationSet]) -> Result<Vec<MigrationState>> {
        self.migration_job(sets, Job::Status).await
    }

    /// Reverts the newest applied migration of `sets` (running its `down.sql`), under the
    /// same lock as [`Db::migrate`], whatever other sets applied since. `None` when none of
    /// them is applied.
    pub async fn revert_last(&self, sets: &[MigrationSet]) -> Result<Option<String>> {
        let reverted = self.migration_job(sets, Job::RevertLast).await?;
        Ok(reverted.into_iter().next().map(|m| m.version))
    }

    async fn migration_job(&self, sets: &[MigrationSet], job: Job) -> Result<Vec<MigrationState>> {
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
            let mut conn = crate::__checkout(pool).await?;
            return conn.spawn_blocking(move |c| Ok(sqlite_job(c, &sets, job))).await?;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("duet-migrate".into())
            .spawn(move || {
                let _ = tx.send(job_blocking(&url, busy, &sets, job));
            })
            .map_err(|e| Error::Migration(format!("cannot start the migration thread: {e}")))?;
        rx.await
            .map_err(|_| Error::Migration("the migration thread died".into()))?
    }
}

/// Which backend's migrations to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn job_blocking(
    url: &DatabaseUrl,
    busy: std::time::Duration,
    sets: &[MigrationSet],
    job: Job,
) -> Result<Vec<MigrationState>> {
    match url {
        DatabaseUrl::SqliteFile(path) => {
            let mut conn =
                SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| Error::Unavailable(e.to_string()))?;
            conn.batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {};",
                busy.as_millis()
            ))?;
            sqlite_job(&mut conn, sets, job)
        }
        DatabaseUrl::Postgres(url) => {
            let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
                .map_err(|e| Error::Unavailable(e.to_string()))?;
            conn.transaction(|c| {
                c.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))?;
                run_job(c, sets, Backend::Postgres, job).map_err(TxError::Migration)
            })
            .map_err(Error::from)
        }
        DatabaseUrl::SqliteMemory => Err(Error::Config(
            "an in-memory database is migrated through its pool".into(),
        )),
    }
}

/// Runs `job` on SQLite in one immediate transaction, as SQLite's documentation asks of
/// schema changes that rebuild a table: foreign-key enforcement is off meanwhile (else
/// dropping the old table would delete, or refuse, the rows referencing it), and
/// `PRAGMA foreign_key_check` must find nothing before the transaction commits.
pub(crate) fn sqlite_job(conn: &mut SqliteConnection, sets: &[MigrationSet], job: Job) -> Result<Vec<MigrationState>> {
    // A no-op inside a transaction: it must come first.
    conn.batch_execute("PRAGMA foreign_keys = OFF")?;
    let done = conn.immediate_transaction(|c| -> Result<_, TxError> {
        let done = run_job(c, sets, Backend::Sqlite, job).map_err(TxError::Migration)?;
        foreign_key_check(c)?;
        Ok(done)
    });
    // The connection may be a pooled one (an in-memory database), used by queries next.
    let restored = conn.batch_execute("PRAGMA foreign_keys = ON");
    let done = done.map_err(Error::from)?;
    restored?;
    Ok(done)
}

#[derive(QueryableByName)]
struct Violation {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

/// The first row left referencing a missing row, as an error naming both tables.
fn foreign_key_check(conn: &mut SqliteConnection) -> Result<(), TxError> {
    let violation = diesel::sql_query(r#"SELECT "table", parent FROM pragma_foreign_key_check LIMIT 1"#)
        .load::<Violation>(conn)?
        .into_iter()
        .next();
    match violation {
        Some(Violation { table, parent }) => Err(TxError::ForeignKeys { table, parent }),
        None => Ok(()),
    }
}

fn run_job<C>(conn: &mut C, sets: &[MigrationSet], backend: Backend, job: Job) -> Result<Vec<MigrationState>, BoxError>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    let source = |set: &MigrationSet| set.source(backend);
    match job {
        Job::Migrate | Job::Replay => {
            let mut applied = Vec::new();
            for set in sets {
                for version in conn.run_pending_migrations(source(set)?)? {
                    if let Job::Migrate = job {
                        tracing::info!(set = set.name(), %version, "applied migration");
                    }
                    applied.push(MigrationState {
                        set: set.name(),
                        version: version.to_string(),
                        applied: true,
                    });
                }
            }
            Ok(applied)
        }
        Job::Status => {
            let applied = conn.applied_migrations()?;
            let mut status = Vec::new();
            for set in sets {
                for migration in MigrationSource::<C::Backend>::migrations(&source(set)?)? {
                    let version = migration.name().version();
                    status.push(MigrationState {
                        set: set.name(),
                        version: version.to_string(),
                        applied: applied.contains(&version),
                    });
                }
            }
            Ok(status)
        }
        Job::RevertLast => {
            // The newest applied migration of these sets, even when another set applied a
            // newer one since: all sets share diesel's one table, whose `revert_last_migration`
            // would take the newest of all.
            let applied = conn.applied_migrations()?;
            let mut newest = None;
            for set in sets {
                for migration in MigrationSource::<C::Backend>::migrations(&source(set)?)? {
                    let version = migration.name().version();
                    let newer =
                        newest
                            .as_ref()
                            .is_none_or(|(_, kept): &(&MigrationSet, Box<dyn Migration<C::Backend>>)| {
                                version > kept.name().version()
                            });
                    if applied.contains(&version) && newer {
                        newest = Some((set, migration));
                    }
                }
            }
            let Some((set, migration)) = newest else {
                return Ok(Vec::new());
            };
            let version = conn.revert_migration(migration.as_ref())?;
            tracing::info!(set = set.name(), %version, "reverted migration");
            Ok(vec![MigrationState {
                set: set.name(),
                version: version.to_string(),
                applied: false,
            }])
        }
    }
}

enum TxError {
    Diesel(diesel::result::Error),
    Migration(BoxError),
    ForeignKeys { table: String, parent: String },
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Diesel(e)
    }
}

impl From<TxError> for Error {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Diesel(e) => Error::from(e),
            // A migration set that cannot be read says so as itself.
            TxError::Migration(e) => match e.downcast::<Error>() {
                Ok(e) => *e,
                Err(e) => Error::Migration(e.to_string()),
            },
            TxError::ForeignKeys { table, parent } => Error::ForeignKeyCheck { table, parent },
        }
    }
}
