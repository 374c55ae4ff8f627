//! How many rows a table has, without `COUNT(*)` over a large one: exact up to a bound,
//! then the planner's estimate (PostgreSQL's `pg_class.reltuples`, SQLite's `sqlite_stat1`
//! once `ANALYZE` has run) or "at least the bound".

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::{Db, Result, db_read};

/// A table's size as far as it was worth finding out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowCount {
    /// Counted: exactly this many.
    Exact(i64),
    /// The database's statistics say about this many.
    About(i64),
    /// More than the bound; no statistics to say how many.
    AtLeast(i64),
}

impl std::fmt::Display for RowCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowCount::Exact(n) => write!(f, "{n}"),
            RowCount::About(n) => write!(f, "≈ {n}"),
            RowCount::AtLeast(n) => write!(f, "{n}+"),
        }
    }
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

#[derive(QueryableByName)]
struct Stat {
    #[diesel(sql_type = Nullable<Text>)]
    stat: Option<String>,
}

impl Db {
    /// How many rows `table` has: counted while there are at most `bound` (the count stops
    /// at `bound + 1` rows, so it costs at most that), estimated above it. `table` is a
    /// model's table name (`Model::TABLE`), never user input.
    pub async fn row_count(&self, table: &str, bound: i64) -> Result<RowCount> {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let counted = format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM {quoted} LIMIT {}) AS bounded",
            bound + 1
        );
        let counted: Number = db_read!(self, |conn| diesel::sql_query(&counted).get_result(conn).await)?;
        let counted = counted.n.unwrap_or(0);
        if counted <= bound {
            return Ok(RowCount::Exact(counted));
        }
        let estimate = match self.backend() {
            "postgres" => {
                let query = "SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)";
                let row: Option<Number> = db_read!(self, |conn| diesel::sql_query(query)
                    .bind::<Text, _>(&quoted)
                    .get_result(conn)
                    .await
                    .map(Some)
                    .or_else(|e| if e == diesel::result::Error::NotFound {
                        Ok(None)
                    } else {
                        Err(e)
                    }))?;
                row.and_then(|r| r.n)
            }
            _ => {
                let query = "SELECT stat FROM sqlite_stat1 WHERE tbl = ? ORDER BY idx IS NOT NULL LIMIT 1";
                let row: Option<Stat> = db_read!(self, |conn| diesel::sql_query(query)
                    .bind::<Text, _>(table)
                    .get_result(conn)
                    .await
                    .map(Some)
                    // No `ANALYZE` yet: no sqlite_stat1 table, or no row for this one.
                    .or_else(|_| Ok::<_, diesel::result::Error>(None)))?;
                row.and_then(|r| r.stat)
                    .and_then(|stat| stat.split(' ').next().and_then(|n| n.parse().ok()))
            }
        };
        Ok(match estimate {
            Some(n) if n > bound => RowCount::About(n),
            _ => RowCount::AtLeast(bound),
        })
    }
}
