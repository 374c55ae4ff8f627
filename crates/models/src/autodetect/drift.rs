//! The start-up check: a model whose table the live database does not have as the model
//! needs it stops the start, instead of failing its first query.

use super::table::{ColumnType, Schema};
use super::{ModelSchema, postgres, sqlite};
use crate::{Db, Pool, Result};

/// How a model's table differs from the live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The model's name.
    pub model: &'static str,
    /// Its table.
    pub table: &'static str,
    /// The column, unless the whole table is missing.
    pub column: Option<String>,
    /// What differs.
    pub problem: DriftProblem,
}

/// What differs between a model and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriftProblem {
    /// The table does not exist.
    MissingTable,
    /// The column does not exist.
    MissingColumn,
    /// The column has another type.
    Type {
        /// Its type in the database.
        found: ColumnType,
        /// The type the model wants.
        wanted: ColumnType,
    },
    /// The column accepts `NULL` where the model wants `NOT NULL`, or the other way round.
    Nullability {
        /// Whether the database's column accepts `NULL`.
        found: bool,
    },
    /// The table has a `NOT NULL` column without a default that the model does not know:
    /// every insert would fail.
    UnknownRequiredColumn,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "model {}, table {}", self.model, self.table)?;
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        match &self.problem {
            DriftProblem::MissingTable => f.write_str(": the table does not exist"),
            DriftProblem::MissingColumn => f.write_str(": the column does not exist"),
            DriftProblem::Type { found, wanted } => write!(f, ": the column is {found}, the model wants {wanted}"),
            DriftProblem::Nullability { found: true } => {
                f.write_str(": the column is nullable, the model wants NOT NULL")
            }
            DriftProblem::Nullability { found: false } => {
                f.write_str(": the column is NOT NULL, the model wants it nullable")
            }
            DriftProblem::UnknownRequiredColumn => {
                f.write_str(": the column is NOT NULL without a default and not in the model, so inserts fail")
            }
        }
    }
}

/// How `live` differs from what `models` need: missing tables and columns, columns of
/// another type class or nullability, required columns the models do not know. Indexes,
/// defaults and foreign keys are `makemigrations`' business, not a reason to refuse to
/// start.
pub fn drift(models: &[ModelSchema], live: &Schema) -> Result<Vec<Drift>> {
    let mut found = Vec::new();
    for model in models {
        let wanted = model.table()?;
        let drift = |column: Option<&str>, problem| Drift {
            model: model.name,
            table: model.table,
            column: column.map(str::to_owned),
            problem,
        };
        let Some(table) = live.table(model.table) else {
            found.push(drift(None, DriftProblem::MissingTable));
            continue;
        };
        for column in &wanted.columns {
            let name = Some(column.name.as_str());
            match table.column(&column.name) {
                None => found.push(drift(name, DriftProblem::MissingColumn)),
                Some(live) if live.kind != column.kind => found.push(drift(
                    name,
                    DriftProblem::Type {
                        found: live.kind.clone(),
                        wanted: column.kind.clone(),
                    },
                )),
                Some(live) if live.nullable != column.nullable => {
                    found.push(drift(name, DriftProblem::Nullability { found: live.nullable }));
                }
                Some(_) => {}
            }
        }
        for column in &table.columns {
            if wanted.column(&column.name).is_none() && !column.nullable && column.default.is_none() {
                found.push(drift(Some(&column.name), DriftProblem::UnknownRequiredColumn));
            }
        }
    }
    Ok(found)
}

impl Db {
    /// The live tables named `tables` (those that exist), read as `makemigrations` reads
    /// the migrations' schema: SQLite's PRAGMAs, PostgreSQL's catalogs.
    pub async fn introspect(&self, tables: &[String]) -> Result<Schema> {
        let names = tables.to_vec();
        match self.pool() {
            Pool::Sqlite(pool) => {
                let mut conn = crate::__checkout(pool).await?;
                Ok(conn.spawn_blocking(move |c| sqlite::tables(c, &names)).await?)
            }
            Pool::Postgres(pool) => {
                let mut conn = crate::__checkout(pool).await?;
                Ok(postgres::tables(&mut conn, &names).await?)
            }
        }
    }

    /// How the live database differs from `models` ([`drift`]); empty when every model
    /// can use its table.
    pub async fn schema_drift(&self, models: &[ModelSchema]) -> Result<Vec<Drift>> {
        let tables: Vec<String> = models.iter().map(|m| m.table.to_owned()).collect();
        drift(models, &self.introspect(&tables).await?)
    }
}
