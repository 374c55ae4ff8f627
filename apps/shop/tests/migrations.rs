//! Migrations from models with the real `shop` binary: `makemigrations` (and `--check`) on
//! a scratch copy of the shop's migration directories (`DUET_MIGRATIONS_DIR`, so that no
//! test writes into the repository), `migrate` applying what it wrote, and `serve` refusing
//! a database that does not match the models.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, run, shop, stderr, stdout};
use duet_models::autodetect::{History, Plan};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{FRAMEWORK_MIGRATIONS, Field, FieldKind, Index, Literal, ModelSchema};
use shop::orders::Order;

const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// The orders table as a model describing it would, written by hand.
const ORDERS: &[Field] = &[
    Field {
        primary_key: true,
        ..Field::read_only("id", FieldKind::Integer)
    },
    Field {
        column: "customer_id",
        ..Field::read_only(
            "customer",
            FieldKind::ForeignKey {
                model: "user",
                table: "users",
            },
        )
    },
    Field {
        column: "total_cents",
        ..Field::new("total", FieldKind::Money)
    },
    Field::new("currency", FieldKind::Text),
    Field {
        db_default: Some(Literal::Text("pending")),
        ..Field::new("status", FieldKind::Choice(&[]))
    },
    Field {
        index: true,
        ..Field::read_only("placed_at", FieldKind::DateTime)
    },
    Field {
        unique: true,
        ..Field::read_only("client_reference", FieldKind::Text)
    },
];

const ORDER_INDEXES: &[Index] = &[Index {
    name: "orders_customer_placed",
    columns: &["customer_id", "placed_at"],
    unique: false,
}];

const HAND_WRITTEN: ModelSchema = ModelSchema {
    name: "order",
    table: "orders",
    fields: ORDERS,
    indexes: ORDER_INDEXES,
};

/// A copy of the shop's migration directories.
/// The shop's migration that creates the orders table.
const ORDERS_MIGRATION: &str = "2026-11-24-100001_orders";

/// The shop's migration that indexes `orders.placed_at` (written by makemigrations).
const PLACED_AT_MIGRATION: &str = "2026-11-30-061957_orders_placed_at";

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for backend in BACKENDS {
            std::fs::create_dir(dir.path().join(backend)).unwrap();
            // The orders table's migrations but the PostgreSQL search indexes, which name
            // columns these tests take away.
            for name in [ORDERS_MIGRATION, PLACED_AT_MIGRATION] {
                let migration = repository.join(backend).join(name);
                let copy = dir.path().join(backend).join(name);
                std::fs::create_dir(&copy).unwrap();
                for file in ["up.sql", "down.sql"] {
                    std::fs::copy(migration.join(file), copy.join(file)).unwrap();
                }
            }
        }
        Scratch { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The copy's orders migration for `backend`.
    fn orders(&self, backend: &str) -> PathBuf {
        self.path().join(backend).join(ORDERS_MIGRATION)
    }

    /// The orders migration written without the column `without`, on both backends.
    fn orders_without(&self, without: &str) {
        for backend in BACKENDS {
            std::fs::write(self.orders(backend).join("up.sql"), orders_sql(backend, without)).unwrap();
        }
    }

    /// The migration directories' names, per backend.
    fn migrations(&self) -> Vec<Vec<String>> {
        BACKENDS
            .iter()
            .map(|backend| {
                let mut names: Vec<String> = std::fs::read_dir(self.path().join(backend))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                names
            })
            .collect()
    }

    /// `shop ARGS` in `work`, on `database_url`, reading and writing the copy.
    fn shop(&self, work: &Path, database_url: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = shop(work, database_url, args);
        cmd.env("DUET_MIGRATIONS_DIR", self.path());
        cmd
    }
}

/// The shop's orders table as its hand-written migration has it (without its CHECK
/// constraints), but the column `without`.
fn orders_sql(backend: &str, without: &str) -> String {
    let key = match backend {
        "sqlite" => "INTEGER PRIMARY KEY AUTOINCREMENT",
        _ => "BIGSERIAL PRIMARY KEY",
    };
    let columns = [
        ("id", key),
        ("customer_id", "BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE"),
        ("total_cents", "BIGINT NOT NULL"),
        ("currency", "TEXT NOT NULL"),
        ("status", "TEXT NOT NULL DEFAULT 'pending'"),
        ("placed_at", "TIMESTAMP NOT NULL"),
        ("client_reference", "TEXT NOT NULL UNIQUE"),
    ];
    let kept: Vec<String> = columns
        .iter()
        .filter(|(name, _)| *name != without)
        .map(|(name, definition)| format!("{name} {definition}"))
        .collect();
    format!(
        "CREATE TABLE orders ({});\nCREATE INDEX orders_customer_placed ON orders (customer_id, placed_at);\n",
        kept.join(", ")
    )
}

#[test]
fn the_shop_migrations_are_what_its_models_want() {
    // The hand-written migration reads back as a model describing it wants, and as Order is.
    let history = History::of(&shop::MIGRATIONS).unwrap();
    let orders = history.schema.table("orders").unwrap();
    assert_eq!(orders.differences(&HAND_WRITTEN.table().unwrap()), Vec::<String>::new());
    assert_eq!(
        ModelSchema::of::<Order>().table().unwrap(),
        HAND_WRITTEN.table().unwrap()
    );
    assert!(
        Plan::detect(
            &[FRAMEWORK_MIGRATIONS],
            &shop::SHOP_MIGRATIONS,
            &[ModelSchema::of::<Order>()]
        )
        .unwrap()
        .is_empty()
    );

    // The binary agrees, reading the repository's own directories (and writing nothing).
    let work = tempfile::tempdir().unwrap();
    let checked = run(shop(work.path(), None, &["makemigrations", "--check"]));
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert_eq!(stdout(&checked), "No changes detected.\n");
    assert!(!work.path().join("var").exists(), "makemigrations touches no database");
}

#[test]
fn what_makemigrations_cannot_write_is_left_to_write_by_hand() {
    let scratch = Scratch::new();
    scratch.orders_without("client_reference");
    let before = scratch.migrations();
    let work = tempfile::tempdir().unwrap();
    let refused = run(scratch.shop(work.path(), None, &["makemigrations"]));
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert_eq!(
        stderr(&refused),
        format!(
            "shop: makemigrations wrote nothing: 1 change(s) must be written by hand, as a new migration in {} and {}:\n  \
             - orders.client_reference: a NOT NULL column without a db_default cannot be added to an existing table; \
             give it a db_default, or make it nullable\n",
            scratch.path().join("sqlite").display(),
            scratch.path().join("postgres").display()
        )
    );
    assert_eq!(scratch.migrations(), before, "nothing was written");
}

#[test]
fn makemigrations_without_the_sources_says_so() {
    let work = tempfile::tempdir().unwrap();
    let nowhere = work.path().join("nowhere");
    let mut cmd = shop(work.path(), None, &["makemigrations"]);
    cmd.env("DUET_MIGRATIONS_DIR", &nowhere);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "shop: migration set shop: cannot read {}: no such directory: the migration sources are not on this machine",
            nowhere.join("sqlite").display()
        )
    );
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn the_hand_written_orders_table_is_what_the_model_wants(test: &TestDb) {
        test.db.migrate(&shop::MIGRATIONS).await.unwrap();
        let live = test.db.introspect(&["orders".into()]).await.unwrap();
        let orders = live.table("orders").unwrap();
        assert_eq!(orders.differences(&HAND_WRITTEN.table().unwrap()), Vec::<String>::new());
        let unmodelled: &[&str] = match test.db.backend() {
            // The search's trigram index (PostgreSQL only): kept, not compared, no drift.
            "postgres" => &["the index orders_client_reference_trgm on an expression", "CHECK constraints"],
            _ => &["CHECK constraints"],
        };
        assert_eq!(orders.unmodelled, unmodelled, "kept, and not compared");
        assert_eq!(test.db.schema_drift(&[ModelSchema::of::<Order>()]).await.unwrap(), []);
    }

    async fn makemigrations_writes_what_migrate_applies(test: &TestDb) {
        let scratch = Scratch::new();
        for backend in BACKENDS {
            std::fs::remove_dir_all(scratch.orders(backend)).unwrap();
            std::fs::remove_dir_all(scratch.path().join(backend).join(PLACED_AT_MIGRATION)).unwrap();
        }
        let work = tempfile::tempdir().unwrap();
        let shop = |args: &[&str]| scratch.shop(work.path(), Some(&test.url), args);

        let checked = run(shop(&["makemigrations", "--check"]));
        assert_eq!(checked.status.code(), Some(1), "{}", stderr(&checked));
        assert_eq!(stdout(&checked), "The models differ from the migrations of shop:\n  - create table orders\n");
        assert_eq!(
            stderr(&checked).trim(),
            "shop: the models and the migrations differ (1 change(s)); run `shop makemigrations`"
        );
        assert_eq!(scratch.migrations(), [Vec::<String>::new(), Vec::new()], "--check writes nothing");

        let made = run(shop(&["makemigrations", "orders"]));
        assert!(made.status.success(), "{}", stderr(&made));
        let written = scratch.migrations();
        assert_eq!(written[0], written[1], "one migration per backend, same name");
        let [version] = written[0].as_slice() else { panic!("{written:?}") };
        assert!(version.ends_with("_orders"), "{version}");
        assert!(stdout(&made).starts_with(&format!("Wrote migration {version}:\n  - create table orders\n")), "{}", stdout(&made));
        for backend in BACKENDS {
            let up = std::fs::read_to_string(scratch.path().join(backend).join(version).join("up.sql")).unwrap();
            assert!(up.contains("CREATE TABLE \"orders\""), "{up}");
        }

        let migrated = run(shop(&["migrate"]));
        assert!(migrated.status.success(), "{}", stderr(&migrated));
        // The framework's migrations and the one just written.
        let framework = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/sqlite")).unwrap().count();
        let applied = format!("Applied {} migration(s)", framework + 1);
        assert!(stdout(&migrated).starts_with(&applied), "{}", stdout(&migrated));
        let again = run(shop(&["makemigrations", "--check"]));
        assert!(again.status.success(), "{}", stderr(&again));
        assert_eq!(stdout(&again), "No changes detected.\n");

        // The generated table is the hand-written one, but for its CHECK constraints.
        let live = test.db.introspect(&["orders".into()]).await.unwrap();
        assert_eq!(live.table("orders").unwrap().differences(&HAND_WRITTEN.table().unwrap()), Vec::<String>::new());
        let server = Server::start(shop(&[])).await;
        assert_eq!(reqwest::get(server.url("/_health")).await.unwrap().status(), 200);
    }

    async fn serve_refuses_a_database_the_models_do_not_match(test: &TestDb) {
        let scratch = Scratch::new();
        scratch.orders_without("status");
        let work = tempfile::tempdir().unwrap();
        let shop = |args: &[&str]| scratch.shop(work.path(), Some(&test.url), args);
        assert!(run(shop(&["migrate"])).status.success());

        let refused = run(shop(&["serve", "--addr", "127.0.0.1:0"]));
        assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
        assert_eq!(
            stderr(&refused),
            "shop: the database does not match the models; run `shop makemigrations`, then `shop migrate`:\n  \
             - model order, table orders, column status: the column does not exist\n"
        );

        let made = run(shop(&["makemigrations"]));
        assert!(made.status.success(), "{}", stderr(&made));
        assert!(stdout(&made).contains("_alter_orders:\n  - add column orders.status\n"), "{}", stdout(&made));
        let migrated = run(shop(&["migrate"]));
        assert!(stdout(&migrated).starts_with("Applied 1 migration(s)"), "{}", stderr(&migrated));
        let server = Server::start(shop(&[])).await;
        assert_eq!(reqwest::get(server.url("/_health")).await.unwrap().status(), 200);
    }
}
