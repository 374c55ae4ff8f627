//! A migration set: one directory of migrations per backend, embedded in the binary or read
//! from the file system at run time.

use std::path::{Path, PathBuf};

use diesel::migration::{self, Migration, MigrationSource};
use diesel_migrations::{EmbeddedMigrations, FileBasedMigrations};

use crate::migrate::Backend;
use crate::{Error, Result};

/// One migration set, written once per backend.
///
/// [`migration_set!`](crate::migration_set) embeds both directories in the binary and
/// records where they were at compile time, which is where `makemigrations` writes.
/// [`MigrationSet::from_directories`] reads them from the file system at run time instead.
#[derive(Clone)]
pub struct MigrationSet {
    name: &'static str,
    source: Source,
}

#[derive(Clone)]
enum Source {
    Embedded {
        sqlite: fn() -> EmbeddedMigrations,
        postgres: fn() -> EmbeddedMigrations,
        sqlite_dir: &'static str,
        postgres_dir: &'static str,
    },
    Directories {
        sqlite: PathBuf,
        postgres: PathBuf,
    },
}

impl std::fmt::Debug for MigrationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (sqlite, postgres) = self.directories();
        f.debug_struct("MigrationSet")
            .field("name", &self.name)
            .field("embedded", &matches!(self.source, Source::Embedded { .. }))
            .field("sqlite", &sqlite)
            .field("postgres", &postgres)
            .finish()
    }
}

/// The framework's own tables: `users`, `user_logins`, `api_tokens`, `webhook_deliveries`.
pub const FRAMEWORK_MIGRATIONS: MigrationSet =
    crate::migration_set!("duet", sqlite: "../../migrations/sqlite", postgres: "../../migrations/postgres");

/// Embeds a [`MigrationSet`] from two directories, relative to the calling crate's manifest,
/// and records their absolute paths for `makemigrations`.
///
/// ```ignore
/// const SHOP: MigrationSet =
///     duet_models::migration_set!("shop", sqlite: "migrations/sqlite", postgres: "migrations/postgres");
/// ```
///
/// diesel embeds the migrations that exist when the crate is compiled: give the crate a
/// `build.rs` printing `cargo:rerun-if-changed=migrations`, so that a migration written
/// since is embedded by the next build (`docs/models.md`).
#[macro_export]
macro_rules! migration_set {
    ($name:literal, sqlite: $sqlite:literal, postgres: $postgres:literal $(,)?) => {
        $crate::MigrationSet::embedded(
            $name,
            || {
                // `embed_migrations!` names `diesel_migrations::…`: this makes it resolve
                // without a dependency of the caller's own.
                use $crate::__private::diesel_migrations;
                const MIGRATIONS: diesel_migrations::EmbeddedMigrations = diesel_migrations::embed_migrations!($sqlite);
                MIGRATIONS
            },
            || {
                use $crate::__private::diesel_migrations;
                const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
                    diesel_migrations::embed_migrations!($postgres);
                MIGRATIONS
            },
            concat!(env!("CARGO_MANIFEST_DIR"), "/", $sqlite),
            concat!(env!("CARGO_MANIFEST_DIR"), "/", $postgres),
        )
    };
}

impl MigrationSet {
    /// What [`migration_set!`](crate::migration_set) builds; not a public API.
    #[doc(hidden)]
    pub const fn embedded(
        name: &'static str,
        sqlite: fn() -> EmbeddedMigrations,
        postgres: fn() -> EmbeddedMigrations,
        sqlite_dir: &'static str,
        postgres_dir: &'static str,
    ) -> MigrationSet {
        MigrationSet {
            name,
            source: Source::Embedded {
                sqlite,
                postgres,
                sqlite_dir,
                postgres_dir,
            },
        }
    }

    /// A set named `name` whose migrations are read from `sqlite` and `postgres` when they
    /// run, not embedded: for tests, and for an app pointed at other directories
    /// (`DUET_MIGRATIONS_DIR`).
    pub fn from_directories(name: &'static str, sqlite: impl Into<PathBuf>, postgres: impl Into<PathBuf>) -> Self {
        MigrationSet {
            name,
            source: Source::Directories {
                sqlite: sqlite.into(),
                postgres: postgres.into(),
            },
        }
    }

    /// The set's name, for logs and `migrate --list` (`"duet"`, `"shop"`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its SQLite and PostgreSQL directories: where the sources were at compile time, or
    /// where [`MigrationSet::from_directories`] reads them.
    pub fn directories(&self) -> (&Path, &Path) {
        match &self.source {
            Source::Embedded {
                sqlite_dir,
                postgres_dir,
                ..
            } => (Path::new(sqlite_dir), Path::new(postgres_dir)),
            Source::Directories { sqlite, postgres } => (sqlite, postgres),
        }
    }

    /// The same set, read from its directories: what is on disk now, including migrations
    /// written since the binary was built. [`Error::MigrationFiles`] when a directory is
    /// missing, as in a deployed binary whose sources are elsewhere.
    pub fn on_disk(&self) -> Result<MigrationSet> {
        let (sqlite, postgres) = self.directories();
        for dir in [sqlite, postgres] {
            if !dir.is_dir() {
                return Err(Error::MigrationFiles {
                    set: self.name,
                    path: dir.to_owned(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such directory: the migration sources are not on this machine",
                    ),
                });
            }
        }
        Ok(MigrationSet::from_directories(self.name, sqlite, postgres))
    }

    /// The set's migrations for `backend`.
    pub(crate) fn source(&self, backend: Backend) -> Result<Migrations> {
        match (&self.source, backend) {
            (Source::Embedded { sqlite, .. }, Backend::Sqlite) => Ok(Migrations::Embedded(sqlite())),
            (Source::Embedded { postgres, .. }, Backend::Postgres) => Ok(Migrations::Embedded(postgres())),
            (Source::Directories { sqlite, postgres }, _) => {
                let dir = match backend {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                };
                FileBasedMigrations::from_path(dir)
                    .map(Migrations::Files)
                    .map_err(|e| Error::MigrationFiles {
                        set: self.name,
                        path: dir.clone(),
                        source: std::io::Error::other(e),
                    })
            }
        }
    }
}

/// Migrations from either source, as diesel's harness takes them.
pub(crate) enum Migrations {
    Embedded(EmbeddedMigrations),
    Files(FileBasedMigrations),
}

impl<DB: diesel::backend::Backend> MigrationSource<DB> for Migrations {
    fn migrations(&self) -> migration::Result<Vec<Box<dyn Migration<DB>>>> {
        match self {
            Migrations::Embedded(embedded) => MigrationSource::<DB>::migrations(embedded),
            Migrations::Files(files) => MigrationSource::<DB>::migrations(files),
        }
    }
}
