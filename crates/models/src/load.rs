//! Loading a query's rows on either backend, without diesel-async's copy of every row on
//! SQLite.
//!
//! diesel-async runs a SQLite query through `SyncConnectionWrapper`, which builds the query's
//! SQL on every call and copies every value of every row into an owned row (an allocation
//! per text value, freed once the row is decoded), because its rows must outlive the
//! statement. On `GET /api/orders/` (50 rows) that was a fifth of the request's instructions
//! (docs/benchmarks.md). [`LoadRows`] runs the query as diesel's synchronous `load` instead,
//! on the connection itself: each row is decoded straight from SQLite's statement, and a
//! query of fixed shape finds its prepared statement by its type, without building its SQL.
//! On PostgreSQL it is diesel-async's `load`.

use diesel::SqliteConnection;
use diesel::result::QueryResult;
use futures_util::future::BoxFuture;

use crate::db::{PgConn, SqliteConn};

/// Every row of `query`, decoded as `U`: what `RunQueryDsl::load` returns, on the
/// connection [`db_run!`](crate::db_run) hands out for either backend. The query must own
/// its values (`'static`: bind owned values, not references), since on SQLite it moves to
/// the connection.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> duet_models::Result<()> {
/// use diesel::prelude::*;
/// use duet_models::{Db, LoadRows, db_run, schema::users};
///
/// let db = Db::connect_url("sqlite://:memory:").await?;
/// db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await?;
/// let names: Vec<String> = db_run!(db, |conn| conn
///     .load_rows(users::table.select(users::username).filter(users::is_active.eq(true)))
///     .await)?;
/// assert!(names.is_empty());
/// # Ok(())
/// # }
/// ```
pub trait LoadRows<Q, U> {
    /// Runs `query` and decodes its rows.
    fn load_rows(&mut self, query: Q) -> BoxFuture<'_, QueryResult<Vec<U>>>;
}

impl<Q, U> LoadRows<Q, U> for SqliteConn
where
    Q: diesel::query_dsl::LoadQuery<'static, SqliteConnection, U> + Send + 'static,
    U: Send + 'static,
{
    fn load_rows(&mut self, query: Q) -> BoxFuture<'_, QueryResult<Vec<U>>> {
        // Inline: runs now, on this thread (see `Inline`).
        self.spawn_blocking(move |conn| diesel::RunQueryDsl::load(query, conn))
    }
}

impl<Q, U> LoadRows<Q, U> for PgConn
where
    Q: diesel_async::methods::LoadQuery<'static, PgConn, U> + Send + 'static,
    U: Send + 'static,
{
    fn load_rows(&mut self, query: Q) -> BoxFuture<'_, QueryResult<Vec<U>>> {
        Box::pin(diesel_async::RunQueryDsl::load(query, self))
    }
}
