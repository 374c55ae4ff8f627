use std::sync::Arc;

use diesel::SqliteConnection;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::FutureExt;

use crate::changes::{ChangeHook, ModelChange};
use crate::config::{DatabaseUrl, DbConfig, redact};
use crate::{Error, Result};

/// An async SQLite connection: diesel's `SqliteConnection`, run inline (see [`Inline`]).
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;

/// Runs SQLite work on the calling thread instead of tokio's blocking pool.
///
/// An embedded SQLite query takes microseconds, while handing it to another thread and
/// back costs several context switches: measured on `GET /api/orders/`, the hand-off was
/// most of the request's time. The price: a query that waits on SQLite's write lock
/// (up to the busy timeout) holds its worker thread meanwhile, so keep write transactions
/// short — or use PostgreSQL for write-heavy loads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> futures_util::future::BoxFuture<'a, Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        Box::pin(std::future::ready(Ok(task())))
    }

    fn get_runtime() -> Inline {
        Inline
    }
}
/// An async PostgreSQL connection (no libpq).
pub type PgConn = AsyncPgConnection;

/// A pool of SQLite connections.
pub type SqlitePool = bb8::Pool<AsyncDieselConnectionManager<SqliteConn>>;
/// A pool of PostgreSQL connections.
pub type PgPool = bb8::Pool<AsyncDieselConnectionManager<PgConn>>;

/// The pool behind a [`Db`]; [`db_run!`](crate::db_run) matches on it.
#[derive(Clone)]
pub enum Pool {
    /// SQLite, embedded.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A cheaply cloneable handle to the database: a connection pool over SQLite or PostgreSQL.
///
/// Queries are written once with [`db_run!`](crate::db_run), which runs the same diesel
/// query against whichever backend the pool holds.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    pool: Pool,
    config: DbConfig,
    on_change: std::sync::OnceLock<ChangeHook>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend()).finish()
    }
}

impl Db {
    /// Opens a pool for `config` and checks that one connection can be made.
    ///
    /// A file database's parent directory is created. Fails with
    /// [`Error::Unavailable`] when the database cannot be reached.
    pub async fn connect(config: DbConfig) -> Result<Db> {
        let pool = match &config.url {
            DatabaseUrl::SqliteFile(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        Error::Config(format!(
                            "DATABASE_URL: cannot create directory {}: {e}",
                            parent.display()
                        ))
                    })?;
                }
                let url = path.to_string_lossy().into_owned();
                Pool::Sqlite(sqlite_pool(&config, url, config.max_connections).await?)
            }
            DatabaseUrl::SqliteMemory => {
                // Every SQLite connection to ":memory:" is its own database, so the pool holds
                // exactly one connection and never recycles it.
                Pool::Sqlite(sqlite_pool(&config, ":memory:".into(), 1).await?)
            }
            DatabaseUrl::Postgres(url) => Pool::Postgres(pg_pool(&config, url).await?),
        };
        let db = Db {
            inner: Arc::new(DbInner {
                pool,
                config,
                on_change: std::sync::OnceLock::new(),
            }),
        };
        db.ping().await?;
        Ok(db)
    }

    /// Parses `database_url` and connects with default pool settings.
    pub async fn connect_url(database_url: &str) -> Result<Db> {
        Db::connect(DbConfig::from_url(database_url)?).await
    }

    /// The pool, for [`db_run!`](crate::db_run).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The configuration this pool was built from.
    pub fn config(&self) -> &DbConfig {
        &self.inner.config
    }

    /// Sends every later [`ModelChange`] of this database (and its clones) to `hook`. Set
    /// once, by the framework at start-up; a second hook is refused (`false`).
    pub fn on_change(&self, hook: ChangeHook) -> bool {
        self.inner.on_change.set(hook).is_ok()
    }

    /// Announces a write (called by the models' generated queries).
    pub fn changed(&self, change: ModelChange) {
        if let Some(hook) = self.inner.on_change.get() {
            hook(&change);
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.inner.config.url.backend()
    }

    /// Runs a trivial query: `Ok` when the database answers.
    pub async fn ping(&self) -> Result<()> {
        crate::db_run!(self, |conn| conn.batch_execute("SELECT 1").await)
    }
}

async fn sqlite_pool(config: &DbConfig, url: String, max: u32) -> Result<SqlitePool> {
    let memory = max == 1 && url == ":memory:";
    let busy_ms = config.sqlite_busy_timeout.as_millis();
    let mut manager_config = ManagerConfig::<SqliteConn>::default();
    // No test query on every checkout: a broken connection fails its first query instead,
    // and the pool drops it.
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        async move {
            let mut conn = SqliteConn::establish(&url).await?;
            let journal = if memory { "" } else { "PRAGMA journal_mode = WAL;" };
            conn.batch_execute(&format!(
                "{journal} PRAGMA busy_timeout = {busy_ms}; PRAGMA foreign_keys = ON; \
                 PRAGMA synchronous = NORMAL;"
            ))
            .await
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, manager_config);
    let mut builder = bb8::Pool::builder()
        .max_size(max)
        .connection_timeout(config.connect_timeout);
    if memory {
        builder = builder.idle_timeout(None).max_lifetime(None);
    }
    builder
        .build(manager)
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))
}

async fn pg_pool(config: &DbConfig, url: &str) -> Result<PgPool> {
    // One connection made directly first: the pool would only report that it timed out,
    // while the driver says why (connection refused, unknown role, unknown database).
    match tokio::time::timeout(config.connect_timeout, PgConn::establish(url)).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            return Err(Error::Unavailable(format!(
                "{}: {}",
                redact(url),
                connect_failure(url, &error).await
            )));
        }
        Err(_) => {
            return Err(Error::Unavailable(format!(
                "{}: no answer within {:?}",
                redact(url),
                config.connect_timeout
            )));
        }
    }
    let mut manager_config = ManagerConfig::<PgConn>::default();
    // No test query on checkout, but no connection the server has already closed either
    // (after `pg_terminate_backend` or a restart, every idle connection is one): a closed
    // socket is known locally, for free.
    manager_config.recycling_method = RecyclingMethod::CustomFunction(Box::new(|conn| {
        use diesel_async::pooled_connection::PoolableConnection;
        let closed = PoolableConnection::is_broken(conn);
        async move {
            if closed {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    Box::new("the server closed this pooled connection".to_owned()),
                ))
            } else {
                Ok(())
            }
        }
        .boxed()
    }));
    let manager = AsyncDieselConnectionManager::<PgConn>::new_with_config(url, manager_config);
    bb8::Pool::builder()
        .max_size(config.max_connections)
        .connection_timeout(config.connect_timeout)
        .build(manager)
        .await
        .map_err(|e| Error::Unavailable(format!("{}: {e}", redact(url))))
}

/// Why a PostgreSQL connection failed. The server's own refusals (unknown role or
/// database, bad password) come with their message; a failure to reach the server comes
/// without the operating system's reason, so a plain TCP connection asks for it.
async fn connect_failure(url: &str, error: &diesel::ConnectionError) -> String {
    let message = error.to_string();
    if !message.contains("error connecting to server") {
        return message;
    }
    let Some((host, port)) = url::Url::parse(url).ok().and_then(|u| {
        Some((
            u.host_str()?.trim_matches(['[', ']']).to_owned(),
            u.port().unwrap_or(5432),
        ))
    }) else {
        return message;
    };
    match tokio::net::TcpStream::connect((host.as_str(), port)).await {
        Err(reason) => format!("{message}: {host}:{port}: {reason}"),
        Ok(_) => message,
    }
}

/// Runs the same diesel query on whichever backend `db` holds.
///
/// `conn` is bound to a `&mut` pooled connection of the backend's type, so the body is
/// type-checked once per backend; it must evaluate to a `diesel::QueryResult<T>` (or any
/// `Result` whose error converts into [`Error`]). The macro evaluates to
/// `duet_models::Result<T>`; failing to get a connection becomes [`Error::Unavailable`], a
/// query running past [`DbConfig::query_timeout`](crate::DbConfig::query_timeout)
/// [`Error::TimedOut`].
///
/// ```no_run
/// # async fn f(db: &duet_models::Db) -> duet_models::Result<()> {
/// use diesel::prelude::*;
/// use diesel_async::RunQueryDsl;
/// use duet_models::schema::users;
///
/// let names: Vec<String> =
///     duet_models::db_run!(db, |conn| users::table.select(users::username).load(conn).await)?;
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! db_run {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let db: &$crate::Db = &$db;
        let limit = db.config().query_timeout;
        match db.pool() {
            $crate::Pool::Sqlite(pool) => match $crate::__checkout(pool).await {
                Ok(mut pooled) => {
                    let result = {
                        let $conn = &mut *pooled;
                        $crate::__bounded(limit, async { ($body).map_err($crate::Error::from) }).await
                    };
                    $crate::__retire_if_lost(&mut *pooled, &result);
                    result
                }
                Err(error) => Err($crate::Error::from(error)),
            },
            // Boxed: PostgreSQL's checkout future (which may connect) is over a kilobyte, and
            // inline it would make every query's future on SQLite that big too.
            $crate::Pool::Postgres(pool) => {
                ::std::boxed::Box::pin(async {
                    match $crate::__checkout(pool).await {
                        Ok(mut pooled) => {
                            let result = {
                                let $conn = &mut *pooled;
                                $crate::__bounded(limit, async { ($body).map_err($crate::Error::from) }).await
                            };
                            $crate::__retire_if_lost(&mut *pooled, &result);
                            result
                        }
                        Err(error) => Err($crate::Error::from(error)),
                    }
                })
                .await
            }
        }
    }};
}

/// The name of the histogram of how long each checkout from the pool waited, in seconds.
pub const POOL_WAIT_METRIC: &str = "duet_db_pool_wait_seconds";

/// Takes a connection from `pool`, recording how long that took in [`POOL_WAIT_METRIC`]
/// (bb8 keeps only the total). What [`db_run!`] calls; not a public API.
#[doc(hidden)]
pub async fn __checkout<M: bb8::ManageConnection>(
    pool: &bb8::Pool<M>,
) -> std::result::Result<bb8::PooledConnection<'_, M>, bb8::RunError<M::Error>> {
    let started = std::time::Instant::now();
    let conn = pool.get().await;
    metrics::histogram!(POOL_WAIT_METRIC).record(started.elapsed().as_secs_f64());
    conn
}

/// Runs a query for at most `limit`: past it, [`Error::TimedOut`] (the server stalled, or a
/// partition holds the answer). What [`db_run!`] calls; not a public API.
#[doc(hidden)]
pub async fn __bounded<T>(limit: std::time::Duration, query: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, query)
        .await
        .unwrap_or(Err(Error::TimedOut(limit)))
}

/// After a query whose connection was lost, or which did not finish in time (its state is
/// unknown): marks the connection broken, so that the pool drops it rather than hand it
/// out again (the client library may not have seen the socket close yet). What
/// [`db_run!`] calls; not a public API.
#[doc(hidden)]
pub fn __retire_if_lost<C: AsyncConnection, T>(conn: &mut C, result: &Result<T>) {
    use diesel_async::TransactionManager;
    if let Err(Error::ConnectionLost(_) | Error::TimedOut(_)) = result {
        C::TransactionManager::transaction_manager_status_mut(conn).set_in_error();
    }
}

/// [`db_run!`] for a read that can safely run twice: when the connection is lost during it
/// ([`Error::ConnectionLost`](crate::Error::ConnectionLost): the server terminated or
/// restarted it), it runs once more on another connection before failing.
#[macro_export]
macro_rules! db_read {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $crate::db_run!($db, |$conn| $body) {
            Err($crate::Error::ConnectionLost(_)) => $crate::db_run!($db, |$conn| $body),
            other => other,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of_future<F: Future>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A query's future on SQLite does not carry PostgreSQL's checkout (which may connect,
    /// and is over a kilobyte): `db_run!` boxes the PostgreSQL arm. Neither future is polled.
    #[test]
    fn a_query_future_does_not_hold_the_postgres_checkout() {
        let pool: Option<&PgPool> = None;
        let checkout = async {
            if let Some(pool) = pool {
                let _ = __checkout(pool).await;
            }
        };
        let db: Option<Db> = None;
        let read = async {
            let db = db.as_ref().expect("never polled");
            crate::db_read!(db, |conn| async {
                let _ = &conn;
                Ok::<u8, Error>(1)
            }
            .await)
        };
        assert!(
            size_of_future(&read) < size_of_future(&checkout),
            "a read's future is {} bytes, PostgreSQL's checkout {}",
            size_of_future(&read),
            size_of_future(&checkout)
        );
    }
}
