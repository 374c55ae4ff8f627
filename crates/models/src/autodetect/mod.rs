//! Migrations from models, as Django's `makemigrations`, and the start-up check that the
//! database matches the models.
//!
//! [`Plan::detect`] applies the existing migrations (hand-written ones included) to a
//! scratch in-memory SQLite database, reads back its tables ([`History`]), compares them with
//! what the models ask for ([`ModelSchema::table`]) and renders the difference as one
//! migration for SQLite and one for PostgreSQL, each with its `down.sql`; [`Plan::write`]
//! writes them into the app's migration directories. A change no generated SQL can make
//! (a type change, a `NOT NULL` column without default added to a table…) is an
//! [`Error::Unexpressible`](crate::Error::Unexpressible) naming what to write by hand, and
//! where; nothing is written.
//!
//! [`Db::schema_drift`](crate::Db::schema_drift) compares the models with the live database
//! instead, for `serve` to refuse to start on a table the models cannot use.
//!
//! Both compare [`Table`]s normalised so that the two sides meet: types by class
//! ([`ColumnType`]), unique constraints and unique indexes alike ([`TableIndex::same_as`]),
//! defaults as values ([`DefaultValue`]). `CHECK` constraints are not compared: models do
//! not generate them. The PostgreSQL migrations are taken to build what the SQLite ones do.
//!
//! ```no_run
//! use duet_models::autodetect::{ModelSchema, Plan};
//! use duet_models::{FRAMEWORK_MIGRATIONS, MigrationSet};
//!
//! # fn f(models: &[ModelSchema]) -> duet_models::Result<()> {
//! let own = MigrationSet::from_directories("notes", "migrations/sqlite", "migrations/postgres");
//! let plan = Plan::detect(&[FRAMEWORK_MIGRATIONS], &own, models)?;
//! for change in plan.changes() {
//!     println!("{change}");
//! }
//! if !plan.is_empty() {
//!     let written = plan.write(None, duet_models::now())?;
//!     println!("wrote {}", written.version);
//! }
//! # Ok(()) }
//! ```

mod diff;
mod drift;
mod history;
mod model_schema;
mod postgres;
mod render;
mod sqlite;
mod table;
#[cfg(test)]
mod tests;
mod write;

use std::path::PathBuf;

pub use diff::{ManualChange, ManualReason};
pub use drift::{Drift, DriftProblem, drift};
pub use history::History;
pub use model_schema::{ModelProblem, ModelSchema};
pub use render::{Migration, MigrationSql};
pub use table::{Column, ColumnType, DefaultValue, ForeignKey, OnDelete, Schema, Table, TableIndex};
pub use write::Written;

use crate::{Error, FieldKind, MigrationSet, Result};
use diff::{Change, diff};

/// What `makemigrations` found: the changes from the schema the migrations build to the
/// one the models want, as one migration for the app's own set.
#[derive(Debug, Clone)]
pub struct Plan {
    set: &'static str,
    sqlite: PathBuf,
    postgres: PathBuf,
    last_version: Option<String>,
    up: Vec<Change>,
    down: Vec<Change>,
}

impl Plan {
    /// Compares `models` with the schema that `earlier` (the framework's migrations, say)
    /// and then `own` build; `own` is read from its directories, where the migration will
    /// be written, so that what was written since the last build counts.
    ///
    /// Errors: [`Error::MigrationFiles`] when `own`'s directories are missing;
    /// [`Error::InvalidModel`] for a model that cannot be a table;
    /// [`Error::Unexpressible`] for changes to write by hand.
    pub fn detect(earlier: &[MigrationSet], own: &MigrationSet, models: &[ModelSchema]) -> Result<Plan> {
        let own = own.on_disk()?;
        let sets: Vec<MigrationSet> = earlier.iter().cloned().chain([own.clone()]).collect();
        let history = History::of(&sets)?;
        let wanted = wanted_tables(models, &history.schema)?;
        let (mut up, mut down, mut manual) = (Vec::new(), Vec::new(), Vec::new());
        for table in &wanted {
            let old = history.schema.table(&table.name);
            let (change, problems) = diff(old, Some(table), false);
            manual.extend(problems);
            // What the migration leaves keeps what models do not describe.
            let mut after = table.clone();
            after.unmodelled = old.map(|t| t.unmodelled.clone()).unwrap_or_default();
            let (revert, problems) = diff(Some(&after), old, true);
            manual.extend(problems);
            up.extend(change);
            down.extend(revert);
        }
        let (sqlite, postgres) = own.directories();
        let (sqlite, postgres) = (sqlite.to_owned(), postgres.to_owned());
        if !manual.is_empty() {
            return Err(Error::Unexpressible {
                changes: manual,
                sqlite,
                postgres,
            });
        }
        Ok(Plan {
            set: own.name(),
            sqlite,
            postgres,
            last_version: history.last_version,
            up: in_order(up),
            down: in_order(down),
        })
    }

    /// Whether the models and the migrations agree.
    pub fn is_empty(&self) -> bool {
        self.up.is_empty()
    }

    /// What the migration does, one line per step (`add column orders.note`).
    pub fn changes(&self) -> Vec<String> {
        self.up.iter().flat_map(Change::describe).collect()
    }

    /// The migration's SQL for both backends.
    pub fn migration(&self) -> Migration {
        Migration::render(&self.up, &self.down)
    }

    /// The tables the migration touches, in order.
    fn tables(&self) -> Vec<&str> {
        self.up.iter().map(Change::table).collect()
    }
}

/// The tables `models` ask for, checked: one model per table, foreign keys to tables that
/// `existing` has or a model creates.
fn wanted_tables(models: &[ModelSchema], existing: &Schema) -> Result<Vec<Table>> {
    let mut tables: Vec<Table> = Vec::new();
    for model in models {
        let table = model.table()?;
        if tables.iter().any(|t| t.name == table.name) {
            return Err(Error::InvalidModel {
                model: model.name,
                problem: ModelProblem::DuplicateTable(model.table),
            });
        }
        tables.push(table);
    }
    for model in models {
        for field in model.fields {
            if let FieldKind::ForeignKey { table, .. } = field.kind
                && existing.table(table).is_none()
                && !tables.iter().any(|t| t.name == table)
            {
                return Err(Error::InvalidModel {
                    model: model.name,
                    problem: ModelProblem::UnknownTable {
                        field: field.name,
                        table,
                    },
                });
            }
        }
    }
    Ok(tables)
}

/// Changes in the order they can run: new tables, each after the tables it references;
/// then alterations; then dropped tables, each before the tables it references.
fn in_order(changes: Vec<Change>) -> Vec<Change> {
    let (mut created, mut dropped, mut altered) = (Vec::new(), Vec::new(), Vec::new());
    for change in changes {
        match change {
            Change::Create(table) => created.push(table),
            Change::Drop(table) => dropped.push(table),
            alter @ Change::Alter(_) => altered.push(alter),
        }
    }
    let mut dropped = parents_first(dropped);
    dropped.reverse();
    parents_first(created)
        .into_iter()
        .map(Change::Create)
        .chain(altered)
        .chain(dropped.into_iter().map(Change::Drop))
        .collect()
}

/// `tables` ordered so that a table comes after those it references (among them).
fn parents_first(mut pending: Vec<Table>) -> Vec<Table> {
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let waits = |table: &Table| {
            table
                .foreign_keys
                .iter()
                .any(|k| k.table != table.name && pending.iter().any(|p| p.name == k.table))
        };
        // A cycle of references has no first table: take the next one as it comes.
        let ready = pending.iter().position(|t| !waits(t)).unwrap_or(0);
        ordered.push(pending.remove(ready));
    }
    ordered
}
