//! Test databases on both backends: a fresh SQLite file, and a fresh PostgreSQL database
//! when `DUET_TEST_POSTGRES_URL` is set (dropped again afterwards).

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Db, DbConfig, MigrationSet};

/// The environment variable naming a PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`. Each test gets its own database there.
pub const POSTGRES_ENV: &str = "DUET_TEST_POSTGRES_URL";

/// A migrated database that lives as long as the value.
pub struct TestDb {
    /// The pool.
    pub db: Db,
    /// Its `DATABASE_URL`, for spawning processes against the same database.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish_non_exhaustive()
    }
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory, with `sets` applied.
    pub async fn sqlite(sets: &[MigrationSet]) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
        let db = Db::connect(DbConfig::from_url(&url).expect("sqlite url"))
            .await
            .expect("open sqlite");
        db.migrate(sets).await.expect("migrate sqlite");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database with `sets` applied, or `None` (after saying so once)
    /// when [`POSTGRES_ENV`] is unset. Under `CI=true` an unset variable is a failure.
    pub async fn postgres(sets: &[MigrationSet]) -> Option<TestDb> {
        let admin_url = required_env(POSTGRES_ENV, "PostgreSQL")?;
        let name = unique_name();
        let admin = Db::connect_url(&admin_url)
            .await
            .expect("connect to DUET_TEST_POSTGRES_URL");
        admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
        let url = database_url(&admin_url, &name);
        let db = Db::connect_url(&url).await.expect("connect to the test database");
        db.migrate(sets).await.expect("migrate postgres");
        Some(TestDb {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime, which cannot be blocked on: use a thread
            // with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(admin) = Db::connect_url(&admin_url).await {
                            admin_sql(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// What a [`db_tests!`] test takes: a [`Db`], or the whole `&TestDb` when it needs the URL.
pub trait FromTestDb<'a> {
    /// Borrows or clones what the test needs.
    fn from_test_db(test_db: &'a TestDb) -> Self;
}

impl FromTestDb<'_> for Db {
    fn from_test_db(test_db: &TestDb) -> Db {
        test_db.db.clone()
    }
}

impl<'a> FromTestDb<'a> for &'a TestDb {
    fn from_test_db(test_db: &'a TestDb) -> &'a TestDb {
        test_db
    }
}

/// No migrations: for tests that migrate by themselves.
pub const NO_MIGRATIONS: [MigrationSet; 0] = [];

/// Reads the variable enabling tests of `service`. Unset: `None`, after telling the
/// terminal once (bypassing the test harness' capture); unset under `CI=true`: a panic,
/// because CI must not skip.
pub fn required_env(var: &str, service: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{var} is not set: in CI the {service} tests must run, not skip"
            );
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n[duet] {service} tests skipped: set {var} to run them"
                );
            });
            None
        }
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut salt = [0u8; 4];
    getrandom::fill(&mut salt).expect("randomness");
    format!(
        "duet_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        hex::encode(salt)
    )
}

fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("DUET_TEST_POSTGRES_URL is a URL");
    url.set_path(name);
    url.to_string()
}

async fn admin_sql(admin: &Db, sql: &str) {
    use diesel_async::SimpleAsyncConnection;
    crate::db_run!(admin, |conn| conn.batch_execute(sql).await).expect(sql);
}

/// Writes each test twice: once on a fresh SQLite file and once on a fresh PostgreSQL
/// database (skipped, and said so, when `DUET_TEST_POSTGRES_URL` is unset).
///
/// ```ignore
/// duet_models::db_tests! {
///     migrations: [duet_models::FRAMEWORK_MIGRATIONS];
///     async fn creates_users(db: Db) { /* … */ }
/// }
/// ```
/// Each test becomes a module with `sqlite` and `postgres` test functions. A test takes a
/// `Db`, or `&TestDb` when it needs the database's URL.
#[macro_export]
macro_rules! db_tests {
    (
        migrations: $migrations:expr;
        $(
            $(#[$meta:meta])*
            async fn $name:ident($db:ident : $ty:ty) $body:block
        )*
    ) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn db_test_body($db: $ty) $body

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let test_db = $crate::testing::TestDb::sqlite(&$migrations).await;
                    db_test_body($crate::testing::FromTestDb::from_test_db(&test_db)).await;
                }

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(test_db) = $crate::testing::TestDb::postgres(&$migrations).await else {
                        return;
                    };
                    db_test_body($crate::testing::FromTestDb::from_test_db(&test_db)).await;
                }
            }
        )*
    };
}
