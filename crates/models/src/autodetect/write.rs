//! Writing a plan as one migration directory per backend:
//! `{sqlite,postgres}/YYYY-MM-DD-HHMMSS_NAME/{up.sql,down.sql}`.

use std::path::{Path, PathBuf};

use chrono::{NaiveDateTime, SubsecRound, TimeDelta};

use super::render::MigrationSql;
use super::{Change, Plan};
use crate::{Error, Result};

/// A migration [`Plan::write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Its directory name (`2026-11-29-184501_add_note`).
    pub version: String,
    /// Its SQLite directory.
    pub sqlite: PathBuf,
    /// Its PostgreSQL directory.
    pub postgres: PathBuf,
}

impl Plan {
    /// Writes the migration into the set's SQLite and PostgreSQL directories, named
    /// `YYYY-MM-DD-HHMMSS_NAME` from `now` (UTC) — or one second after the newest existing
    /// migration, so that it always runs last. `name` is lowercase letters, digits and
    /// underscores; without it, one is made from the changes (`create_orders`,
    /// `alter_orders`). Both directories are written, or neither.
    pub fn write(&self, name: Option<&str>, now: NaiveDateTime) -> Result<Written> {
        let name = match name {
            Some(name) => {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                {
                    return Err(Error::Config(format!(
                        "migration name {name:?}: use lowercase letters, digits and underscores"
                    )));
                }
                name.to_owned()
            }
            None => self.default_name(),
        };
        let version = format!("{}_{name}", self.version_at(now).format("%Y-%m-%d-%H%M%S"));
        let migration = self.migration();
        let targets = [
            (self.sqlite.join(&version), &migration.sqlite),
            (self.postgres.join(&version), &migration.postgres),
        ];
        let mut written: Vec<&Path> = Vec::new();
        for (dir, sql) in &targets {
            if let Err(source) = write_directory(dir, sql) {
                for done in written {
                    let _ = std::fs::remove_dir_all(done);
                }
                return Err(Error::MigrationFiles {
                    set: self.set,
                    path: dir.clone(),
                    source,
                });
            }
            written.push(dir);
        }
        let [(sqlite, _), (postgres, _)] = targets;
        Ok(Written {
            version,
            sqlite,
            postgres,
        })
    }

    /// `now`, or one second after the newest migration when that is not earlier.
    fn version_at(&self, now: NaiveDateTime) -> NaiveDateTime {
        let now = now.trunc_subsecs(0);
        let last = self
            .last_version
            .as_deref()
            .and_then(|v| NaiveDateTime::parse_from_str(v, "%Y%m%d%H%M%S").ok());
        match last {
            Some(last) if last >= now => last + TimeDelta::seconds(1),
            _ => now,
        }
    }

    fn default_name(&self) -> String {
        match (self.tables().as_slice(), self.up.first()) {
            ([table], Some(Change::Create(_))) => format!("create_{table}"),
            ([table], _) => format!("alter_{table}"),
            _ => "auto".to_owned(),
        }
    }
}

/// Creates `dir` (which must not exist) with its `up.sql` and `down.sql`.
fn write_directory(dir: &Path, sql: &MigrationSql) -> std::io::Result<()> {
    std::fs::create_dir(dir)?;
    let files =
        std::fs::write(dir.join("up.sql"), &sql.up).and_then(|()| std::fs::write(dir.join("down.sql"), &sql.down));
    if files.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    files
}
