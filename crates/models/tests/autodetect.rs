//! Migrations from models, on real SQLite files and a real PostgreSQL: each test writes
//! migrations into a scratch copy of an app's migration directories, applies them, and
//! reads the live schema back.

mod common;

use common::{Project, count, exec, model};
use duet_models::autodetect::{DriftProblem, ManualReason, Plan};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{Error, FRAMEWORK_MIGRATIONS, Field, FieldKind, Index, Literal, ModelSchema};

const PK: Field = Field {
    primary_key: true,
    ..Field::read_only("id", FieldKind::Integer)
};

const AUTHOR_NAME: Field = Field {
    unique: true,
    ..Field::new("name", FieldKind::Text)
};

const AUTHORS: &[Field] = &[
    PK,
    AUTHOR_NAME,
    Field {
        db_default: Some(Literal::Bool(true)),
        ..Field::new("active", FieldKind::Bool)
    },
    Field {
        nullable: true,
        ..Field::new("born", FieldKind::Date)
    },
];

const AUTHOR: Field = Field {
    column: "author_id",
    ..Field::new(
        "author",
        FieldKind::ForeignKey {
            model: "author",
            table: "authors",
        },
    )
};

const TITLE: Field = Field {
    index: true,
    ..Field::new("title", FieldKind::Text)
};

const BOOKS: &[Field] = &[
    PK,
    AUTHOR,
    TITLE,
    Field::new("price", FieldKind::Money),
    Field {
        db_default: Some(Literal::Text("draft")),
        ..Field::new("status", FieldKind::Choice(&[]))
    },
    Field {
        nullable: true,
        ..Field::new("published_at", FieldKind::DateTime)
    },
    Field {
        nullable: true,
        ..Field::new("editor_id", FieldKind::Integer)
    },
];

const BOOK_INDEXES: &[Index] = &[Index {
    name: "books_author_title",
    columns: &["author_id", "title"],
    unique: true,
}];

fn v1() -> Vec<ModelSchema> {
    vec![
        model("author", "authors", AUTHORS, &[]),
        model("book", "books", BOOKS, BOOK_INDEXES),
    ]
}

/// The v1 tables, migrated, with an author (1, ada) and two of her books.
async fn v1_with_rows(project: &Project, test: &TestDb) {
    project.make(&v1(), "library");
    project.migrate(&test.db).await;
    exec(
        &test.db,
        "INSERT INTO authors (name) VALUES ('ada'); \
         INSERT INTO books (author_id, title, price) VALUES (1, 'Notes', 1250), (1, 'Sketches', 300);",
    )
    .await;
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn new_tables_round_trip(test: &TestDb) {
        let project = Project::new();
        let plan = project.plan(&v1());
        assert_eq!(plan.changes(), ["create table authors", "create table books"]);
        let written = project.make(&v1(), "library");
        assert!(written.version.ends_with("_library"), "{written:?}");
        assert!(written.sqlite.join("up.sql").is_file() && written.postgres.join("down.sql").is_file());

        let applied = project.migrate(&test.db).await;
        let version = written.version.replace('-', "");
        let version = version.strip_suffix("_library").unwrap();
        assert_eq!(
            applied.last().map(String::as_str),
            Some(version),
            "the framework's, then the new one: {applied:?}"
        );
        project.assert_live_schema(&test.db, &v1()).await;
        assert!(project.plan(&v1()).is_empty(), "nothing left to detect");

        // The defaults are the database's: a row inserted without them gets them.
        exec(&test.db, "INSERT INTO authors (name) VALUES ('ada'); INSERT INTO books (author_id, title, price) VALUES (1, 'x', 1)").await;
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM books WHERE status = 'draft'").await, 1);
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM authors WHERE active = TRUE").await, 1);

        // Reverting drops both tables.
        test.db.revert_last(&project.sets()).await.unwrap();
        let live = test.db.introspect(&["authors".into(), "books".into()]).await.unwrap();
        assert_eq!(live.tables().count(), 0);
    }

    async fn an_added_column_is_a_second_migration(test: &TestDb) {
        const V2: &[Field] = &[
            PK,
            AUTHOR_NAME,
            Field { db_default: Some(Literal::Bool(true)), ..Field::new("active", FieldKind::Bool) },
            Field { nullable: true, ..Field::new("born", FieldKind::Date) },
            Field { db_default: Some(Literal::Text("uk")), index: true, ..Field::new("country", FieldKind::Text) },
            Field { nullable: true, ..Field::new("bio", FieldKind::Text) },
        ];
        let project = Project::new();
        v1_with_rows(&project, test).await;
        let v2 = vec![model("author", "authors", V2, &[]), model("book", "books", BOOKS, BOOK_INDEXES)];
        assert_eq!(
            project.plan(&v2).changes(),
            ["add column authors.country", "add column authors.bio", "add the index authors_country on authors (country)"]
        );
        let written = project.make(&v2, "author_country");
        let sqlite = std::fs::read_to_string(written.sqlite.join("up.sql")).unwrap();
        assert!(!sqlite.contains("new__"), "SQLite adds these columns in place:\n{sqlite}");
        assert_eq!(project.migrate(&test.db).await, [written.version.split('_').next().unwrap().replace('-', "")]);
        project.assert_live_schema(&test.db, &v2).await;
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM authors WHERE country = 'uk' AND bio IS NULL").await, 1);

        test.db.revert_last(&project.sets()).await.unwrap();
        project.assert_live_schema(&test.db, &v1()).await;
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM books").await, 2);
    }

    async fn a_dropped_column_takes_its_indexes(test: &TestDb) {
        const V2: &[Field] = &[PK, AUTHOR, Field::new("price", FieldKind::Money),
            Field { db_default: Some(Literal::Text("draft")), ..Field::new("status", FieldKind::Choice(&[])) },
            Field { nullable: true, ..Field::new("published_at", FieldKind::DateTime) },
            Field { nullable: true, ..Field::new("editor_id", FieldKind::Integer) },
        ];
        let project = Project::new();
        v1_with_rows(&project, test).await;
        let v2 = vec![model("author", "authors", AUTHORS, &[]), model("book", "books", V2, &[])];
        assert_eq!(
            project.plan(&v2).changes(),
            [
                "drop column books.title",
                "drop the unique index on books (author_id, title)",
                "drop the index on books (title)",
            ]
        );
        project.make(&v2, "drop_title");
        project.migrate(&test.db).await;
        project.assert_live_schema(&test.db, &v2).await;
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM books WHERE price = 1250 AND author_id = 1").await, 1);

        // Reverting brings title back NOT NULL without a default: refused while books has rows.
        assert!(test.db.revert_last(&project.sets()).await.is_err());
        project.assert_live_schema(&test.db, &v2).await;
        exec(&test.db, "DELETE FROM books").await;
        test.db.revert_last(&project.sets()).await.unwrap();
        project.assert_live_schema(&test.db, &v1()).await;
    }

    async fn nullability_changes_keep_the_rows_and_their_references(test: &TestDb) {
        const V2: &[Field] = &[
            PK,
            Field { nullable: true, ..AUTHOR_NAME },
            Field { db_default: Some(Literal::Bool(true)), ..Field::new("active", FieldKind::Bool) },
            Field { db_default: Some(Literal::Text("1970-01-01")), ..Field::new("born", FieldKind::Date) },
        ];
        let project = Project::new();
        v1_with_rows(&project, test).await;
        let v2 = vec![model("author", "authors", V2, &[]), model("book", "books", BOOKS, BOOK_INDEXES)];
        assert_eq!(
            project.plan(&v2).changes(),
            ["make authors.name nullable", "make authors.born NOT NULL", "set the default of authors.born to '1970-01-01'"]
        );
        let written = project.make(&v2, "author_nullability");
        let sqlite = std::fs::read_to_string(written.sqlite.join("up.sql")).unwrap();
        assert!(sqlite.contains("ALTER TABLE \"new__authors\" RENAME TO \"authors\""), "{sqlite}");
        project.migrate(&test.db).await;
        project.assert_live_schema(&test.db, &v2).await;

        // The author kept her id and got the default; her books still reference her.
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM authors WHERE id = 1 AND name = 'ada' AND born = '1970-01-01'").await, 1);
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM books WHERE author_id = 1").await, 2);
        // Foreign keys are enforced again, against the new table.
        let orphan = exec_result(&test.db, "INSERT INTO books (author_id, title, price) VALUES (99, 'x', 1)").await;
        assert!(matches!(orphan, Err(Error::ConstraintViolation(_))), "{orphan:?}");
        exec(&test.db, "DELETE FROM authors WHERE id = 1").await;
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM books").await, 0, "ON DELETE CASCADE still holds");

        test.db.revert_last(&project.sets()).await.unwrap();
        project.assert_live_schema(&test.db, &v1()).await;
    }

    async fn indexes_and_unique_constraints_are_added_and_dropped(test: &TestDb) {
        const AUTHORS_V2: &[Field] = &[
            PK,
            Field { unique: false, index: true, ..AUTHOR_NAME },
            Field { db_default: Some(Literal::Bool(true)), ..Field::new("active", FieldKind::Bool) },
            Field { nullable: true, unique: true, ..Field::new("born", FieldKind::Date) },
        ];
        const BOOK_INDEXES_V2: &[Index] = &[Index { name: "books_status_price", columns: &["status", "price"], unique: false }];
        let project = Project::new();
        v1_with_rows(&project, test).await;
        let v2 = vec![model("author", "authors", AUTHORS_V2, &[]), model("book", "books", BOOKS, BOOK_INDEXES_V2)];
        assert_eq!(
            project.plan(&v2).changes(),
            [
                "drop the unique index on authors (name)",
                "add the index authors_name on authors (name)",
                "add the unique index authors_born_key on authors (born)",
                "drop the unique index on books (author_id, title)",
                "add the index books_status_price on books (status, price)",
            ]
        );
        project.make(&v2, "indexes");
        project.migrate(&test.db).await;
        project.assert_live_schema(&test.db, &v2).await;
        exec(&test.db, "INSERT INTO authors (name) VALUES ('ada')").await;
        let same_born = exec_result(&test.db, "UPDATE authors SET born = '1815-12-10'").await;
        assert!(matches!(same_born, Err(Error::UniqueViolation(_))), "{same_born:?}");

        test.db.revert_last(&project.sets()).await.unwrap_err();
        exec(&test.db, "DELETE FROM authors WHERE id = 2").await;
        test.db.revert_last(&project.sets()).await.unwrap();
        project.assert_live_schema(&test.db, &v1()).await;
    }

    async fn new_foreign_keys_are_added(test: &TestDb) {
        const BOOKS_V2: &[Field] = &[
            PK, AUTHOR, TITLE, Field::new("price", FieldKind::Money),
            Field { db_default: Some(Literal::Text("draft")), ..Field::new("status", FieldKind::Choice(&[])) },
            Field { nullable: true, ..Field::new("published_at", FieldKind::DateTime) },
            Field { nullable: true, ..Field::new("editor_id", FieldKind::ForeignKey { model: "author", table: "authors" }) },
            Field {
                column: "translator_id",
                nullable: true,
                ..Field::new("translator", FieldKind::ForeignKey { model: "author", table: "authors" })
            },
        ];
        let project = Project::new();
        v1_with_rows(&project, test).await;
        exec(&test.db, "UPDATE books SET editor_id = 1").await;
        let v2 = vec![model("author", "authors", AUTHORS, &[]), model("book", "books", BOOKS_V2, BOOK_INDEXES)];
        assert_eq!(
            project.plan(&v2).changes(),
            ["add column books.translator_id", "add the foreign key books.editor_id → authors (id)"]
        );
        project.make(&v2, "book_people");
        project.migrate(&test.db).await;
        project.assert_live_schema(&test.db, &v2).await;
        assert_eq!(count(&test.db, "SELECT count(*) AS n FROM books WHERE editor_id = 1 AND translator_id IS NULL").await, 2);
        let orphan = exec_result(&test.db, "UPDATE books SET translator_id = 42").await;
        assert!(matches!(orphan, Err(Error::ConstraintViolation(_))), "{orphan:?}");

        test.db.revert_last(&project.sets()).await.unwrap();
        project.assert_live_schema(&test.db, &v1()).await;
    }

    async fn a_migration_leaving_dangling_references_is_rolled_back(test: &TestDb) {
        const BOOKS_V2: &[Field] = &[
            PK, AUTHOR, TITLE, Field::new("price", FieldKind::Money),
            Field { db_default: Some(Literal::Text("draft")), ..Field::new("status", FieldKind::Choice(&[])) },
            Field { nullable: true, ..Field::new("published_at", FieldKind::DateTime) },
            Field { nullable: true, ..Field::new("editor_id", FieldKind::ForeignKey { model: "author", table: "authors" }) },
        ];
        let project = Project::new();
        v1_with_rows(&project, test).await;
        exec(&test.db, "UPDATE books SET editor_id = 99").await;
        let v2 = vec![model("author", "authors", AUTHORS, &[]), model("book", "books", BOOKS_V2, BOOK_INDEXES)];
        project.make(&v2, "editor_key");
        let refused = test.db.migrate(&project.sets()).await.unwrap_err();
        if test.db.backend() == "sqlite" {
            // The rebuild ran with foreign keys unenforced; the check before commit caught it.
            assert!(
                matches!(&refused, Error::ForeignKeyCheck { table, parent } if table == "books" && parent == "authors"),
                "{refused:?}"
            );
        }
        assert!(refused.to_string().contains("books"), "{refused}");
        project.assert_live_schema(&test.db, &v1()).await;
        let pending = test.db.migration_status(&project.sets()).await.unwrap();
        assert_eq!(pending.iter().filter(|m| !m.applied).count(), 1, "{pending:?}");
    }

    async fn the_framework_tables_are_what_models_of_them_want(test: &TestDb) {
        test.db.migrate(&[FRAMEWORK_MIGRATIONS]).await.unwrap();
        let models = duet_models::framework_models();
        assert!(Plan::detect(&[], &FRAMEWORK_MIGRATIONS, &models).unwrap().is_empty());
        assert_eq!(test.db.schema_drift(&models).await.unwrap(), []);
        let names: Vec<String> = models.iter().map(|m| m.table.to_owned()).collect();
        let live = test.db.introspect(&names).await.unwrap();
        for model in &models {
            let table = live.table(model.table).expect("migrated");
            assert_eq!(table.differences(&model.table().unwrap()), Vec::<String>::new(), "{}", model.table);
            let hand_written = ["users", "webhook_deliveries"].contains(&model.table);
            assert_eq!(table.unmodelled, ["CHECK constraints"].repeat(usize::from(hand_written)));
        }
    }

    async fn the_drift_check_names_model_table_and_column(test: &TestDb) {
        const WANTED: &[Field] = &[
            PK,
            Field::new("name", FieldKind::Text),
            Field::new("pages", FieldKind::Integer),
            Field { nullable: true, ..Field::new("note", FieldKind::Text) },
            Field::new("missing", FieldKind::Bool),
        ];
        let project = Project::new();
        project.write_by_hand(
            "2030-01-01-000000_by_hand",
            "CREATE TABLE notebooks (id BIGINT PRIMARY KEY, name TEXT, pages TEXT NOT NULL, note TEXT NOT NULL, legacy TEXT NOT NULL)",
        );
        project.migrate(&test.db).await;
        let models = [model("notebook", "notebooks", WANTED, &[]), model("shelf", "shelves", &[PK], &[])];
        let drift = test.db.schema_drift(&models).await.unwrap();
        let found: Vec<(&str, Option<&str>, &DriftProblem)> =
            drift.iter().map(|d| (d.table, d.column.as_deref(), &d.problem)).collect();
        use duet_models::autodetect::ColumnType;
        assert_eq!(
            found,
            [
                ("notebooks", Some("name"), &DriftProblem::Nullability { found: true }),
                ("notebooks", Some("pages"), &DriftProblem::Type { found: ColumnType::Text, wanted: ColumnType::Integer }),
                ("notebooks", Some("note"), &DriftProblem::Nullability { found: false }),
                ("notebooks", Some("missing"), &DriftProblem::MissingColumn),
                ("notebooks", Some("legacy"), &DriftProblem::UnknownRequiredColumn),
                ("shelves", None, &DriftProblem::MissingTable),
            ]
        );
        assert_eq!(
            drift[3].to_string(),
            "model notebook, table notebooks, column missing: the column does not exist"
        );
    }
}

async fn exec_result(db: &duet_models::Db, sql: &str) -> duet_models::Result<()> {
    use diesel_async::SimpleAsyncConnection;
    duet_models::db_run!(db, |conn| conn.batch_execute(sql).await)
}

#[test]
fn a_change_that_cannot_be_generated_writes_nothing() {
    const BOOKS_V2: &[Field] = &[
        PK,
        AUTHOR,
        TITLE,
        Field::new("price", FieldKind::Text),
        Field {
            db_default: Some(Literal::Text("draft")),
            ..Field::new("status", FieldKind::Choice(&[]))
        },
        Field {
            nullable: true,
            ..Field::new("published_at", FieldKind::DateTime)
        },
        Field {
            nullable: true,
            ..Field::new("editor_id", FieldKind::Integer)
        },
        Field::new("isbn", FieldKind::Text),
    ];
    let project = Project::new();
    project.make(&v1(), "library");
    let before = project.listing();
    let v2 = vec![
        model("author", "authors", AUTHORS, &[]),
        model("book", "books", BOOKS_V2, BOOK_INDEXES),
    ];
    let error = Plan::detect(&[FRAMEWORK_MIGRATIONS], &project.set, &v2).unwrap_err();
    let Error::Unexpressible {
        changes,
        sqlite,
        postgres,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.column.as_deref(), &c.reason))
            .collect::<Vec<_>>(),
        [
            (
                Some("price"),
                &ManualReason::TypeChange {
                    from: duet_models::autodetect::ColumnType::Integer,
                    to: duet_models::autodetect::ColumnType::Text
                }
            ),
            (Some("isbn"), &ManualReason::NotNullWithoutDefault),
        ]
    );
    assert_eq!((sqlite.as_path(), postgres.as_path()), project.set.directories());
    let message = error.to_string();
    assert!(
        message.starts_with("makemigrations wrote nothing: 2 change(s) must be written by hand")
            && message.contains("books.price: its type changes from integer to text")
            && message.contains(&project.set.directories().0.display().to_string()),
        "{message}"
    );
    assert_eq!(project.listing(), before, "nothing was written");
}

#[test]
fn models_that_cannot_be_tables_are_refused() {
    let project = Project::new();
    let keyless = [model("author", "authors", &[AUTHOR_NAME], &[])];
    let error = Plan::detect(&[FRAMEWORK_MIGRATIONS], &project.set, &keyless).unwrap_err();
    assert_eq!(
        error.to_string(),
        "model author: no field is its primary key (`primary_key`)"
    );
    let orphan = [model("book", "books", BOOKS, &[])];
    let error = Plan::detect(&[FRAMEWORK_MIGRATIONS], &project.set, &orphan).unwrap_err();
    assert_eq!(
        error.to_string(),
        "model book: author references the table authors, which neither the migrations nor the models create"
    );
    const BAD_INDEX: &[Index] = &[Index {
        name: "books_isbn",
        columns: &["isbn"],
        unique: true,
    }];
    let unknown = [
        model("author", "authors", AUTHORS, &[]),
        model("book", "books", BOOKS, BAD_INDEX),
    ];
    let error = Plan::detect(&[FRAMEWORK_MIGRATIONS], &project.set, &unknown).unwrap_err();
    assert_eq!(
        error.to_string(),
        "model book: index books_isbn names the column isbn, which no field has"
    );
}

#[test]
fn missing_migration_directories_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let gone = duet_models::MigrationSet::from_directories("app", dir.path().join("sqlite"), dir.path().join("pg"));
    let error = Plan::detect(&[FRAMEWORK_MIGRATIONS], &gone, &v1()).unwrap_err();
    assert!(
        matches!(&error, Error::MigrationFiles { set: "app", path, .. } if *path == dir.path().join("sqlite")),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("no such directory: the migration sources are not on this machine"),
        "{error}"
    );
}

#[test]
fn migrations_are_named_after_the_newest_and_the_changes() {
    let project = Project::new();
    project.write_by_hand("2099-01-01-000000_future", "SELECT 1;");
    let plan = project.plan(&v1());
    let bad = plan.write(Some("Bad Name"), duet_models::now()).unwrap_err();
    assert!(
        bad.to_string().contains("lowercase letters, digits and underscores"),
        "{bad}"
    );
    let written = plan.write(None, duet_models::now()).unwrap();
    assert_eq!(
        written.version, "2099-01-01-000001_auto",
        "after the newest, named for several tables"
    );

    let alone = Project::new();
    let one = [model("author", "authors", AUTHORS, &[])];
    let named = alone.plan(&one).write(None, duet_models::now()).unwrap();
    assert!(named.version.ends_with("_create_authors"), "{named:?}");
}
