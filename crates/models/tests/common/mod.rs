//! A scratch app with its own migration directories, and the framework's tables described
//! as models.
#![allow(dead_code)]

use std::path::PathBuf;

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use duet_models::autodetect::{Plan, Table, Written};
use duet_models::{Db, FRAMEWORK_MIGRATIONS, Field, FieldKind, Index, MigrationSet, ModelSchema};

/// A model described by hand.
pub(crate) fn model(
    name: &'static str,
    table: &'static str,
    fields: &'static [Field],
    indexes: &'static [Index],
) -> ModelSchema {
    ModelSchema {
        name,
        table,
        fields,
        indexes,
    }
}

/// An app's migration directories in a temporary directory, as a set read from disk.
pub(crate) struct Project {
    dir: tempfile::TempDir,
    pub(crate) set: MigrationSet,
}

impl Project {
    pub(crate) fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        for backend in ["sqlite", "postgres"] {
            std::fs::create_dir(dir.path().join(backend)).unwrap();
        }
        let set = MigrationSet::from_directories("app", dir.path().join("sqlite"), dir.path().join("postgres"));
        Project { dir, set }
    }

    /// The framework's migrations, then the app's.
    pub(crate) fn sets(&self) -> [MigrationSet; 2] {
        [FRAMEWORK_MIGRATIONS, self.set.clone()]
    }

    pub(crate) fn plan(&self, models: &[ModelSchema]) -> Plan {
        Plan::detect(&[FRAMEWORK_MIGRATIONS], &self.set, models).unwrap()
    }

    /// `makemigrations NAME`: detects and writes; there must be something to write.
    pub(crate) fn make(&self, models: &[ModelSchema], name: &str) -> Written {
        let plan = self.plan(models);
        assert!(!plan.is_empty(), "no changes for {name}");
        plan.write(Some(name), duet_models::now()).unwrap()
    }

    pub(crate) async fn migrate(&self, db: &Db) -> Vec<String> {
        db.migrate(&self.sets()).await.unwrap()
    }

    /// The live tables are exactly those the models ask for.
    pub(crate) async fn assert_live_schema(&self, db: &Db, models: &[ModelSchema]) {
        let names: Vec<String> = models.iter().map(|m| m.table.to_owned()).collect();
        let live = db.introspect(&names).await.unwrap();
        for model in models {
            let table = live
                .table(model.table)
                .unwrap_or_else(|| panic!("{} exists", model.table));
            assert_eq!(
                normalised(table),
                normalised(&model.table().unwrap()),
                "{}",
                model.table
            );
        }
        assert_eq!(db.schema_drift(models).await.unwrap(), []);
    }

    /// A hand-written migration, the same SQL for both backends.
    pub(crate) fn write_by_hand(&self, version: &str, up: &str) {
        for backend in ["sqlite", "postgres"] {
            let dir = self.dir.path().join(backend).join(version);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("up.sql"), up).unwrap();
            std::fs::write(dir.join("down.sql"), "SELECT 1;").unwrap();
        }
    }

    /// Every file under the migration directories.
    pub(crate) fn listing(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                }
                out.push(path);
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }
}

/// `table` with its columns, indexes and keys sorted by name: their order is not part of
/// the schema (PostgreSQL appends a column re-added by a revert).
pub(crate) fn normalised(table: &Table) -> Table {
    let mut table = table.clone();
    table.columns.sort_by(|a, b| a.name.cmp(&b.name));
    table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    table.foreign_keys.sort_by(|a, b| a.column.cmp(&b.column));
    table
}

pub(crate) async fn exec(db: &Db, sql: &str) {
    use diesel_async::SimpleAsyncConnection;
    duet_models::db_run!(db, |conn| conn.batch_execute(sql).await).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The `n` of `SELECT count(*) AS n …`.
pub(crate) async fn count(db: &Db, sql: &str) -> i64 {
    use diesel_async::RunQueryDsl;
    let row: Count = duet_models::db_run!(db, |conn| diesel::sql_query(sql).get_result(conn).await).unwrap();
    row.n
}

const PK: Field = Field {
    primary_key: true,
    ..Field::read_only("id", FieldKind::Integer)
};
