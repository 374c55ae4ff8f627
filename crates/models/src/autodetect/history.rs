//! The schema the existing migrations build: every set's SQLite migrations applied, in
//! order, to a scratch in-memory database, then read back. Hand-written migrations count as
//! much as generated ones.

use diesel::{Connection, SqliteConnection};

use super::sqlite;
use super::table::Schema;
use crate::migrate::{Job, sqlite_job};
use crate::{Error, MigrationSet, Result};

/// What the migrations of some sets build, and their newest version.
#[derive(Debug, Clone)]
pub struct History {
    /// The tables they create.
    pub schema: Schema,
    /// The newest migration version among them, as diesel compares versions (digits
    /// only: `20261124100001`), if there is any migration.
    pub last_version: Option<String>,
}

impl History {
    /// Applies the SQLite migrations of `sets`, in order, to a scratch in-memory database
    /// (through the same runner as [`Db::migrate`](crate::Db::migrate)) and reads its tables.
    pub fn of(sets: &[MigrationSet]) -> Result<History> {
        let mut conn = SqliteConnection::establish(":memory:").map_err(|e| Error::Migration(e.to_string()))?;
        let applied = sqlite_job(&mut conn, sets, Job::Replay)?;
        let schema = sqlite::schema(&mut conn)?;
        let last_version = applied.iter().map(|m| m.version.replace('-', "")).max();
        Ok(History { schema, last_version })
    }
}
