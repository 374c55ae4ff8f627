//! What the generated SQL says, change by change, on both backends.

use super::diff::{Change, ManualReason, diff};
use super::render::statements;
use super::table::Table;
use super::{ModelSchema, in_order};
use crate::migrate::Backend;
use crate::{Field, FieldKind, Index, Literal};

const PK: Field = Field {
    primary_key: true,
    ..Field::read_only("id", FieldKind::Integer)
};

const AUTHORS: &[Field] = &[PK, Field::new("name", FieldKind::Text)];

const EVERY_KIND: &[Field] = &[
    PK,
    Field {
        column: "author_id",
        ..Field::new(
            "author",
            FieldKind::ForeignKey {
                model: "author",
                table: "authors",
            },
        )
    },
    Field {
        index: true,
        ..Field::new("title", FieldKind::Text)
    },
    Field {
        unique: true,
        ..Field::new("isbn", FieldKind::Text)
    },
    Field::new("price", FieldKind::Money),
    Field {
        db_default: Some(Literal::Integer(0)),
        ..Field::new("rating", FieldKind::Decimal { places: 1 })
    },
    Field {
        db_default: Some(Literal::Text("draft")),
        ..Field::new("status", FieldKind::Choice(&[]))
    },
    Field {
        db_default: Some(Literal::Bool(true)),
        ..Field::new("in_print", FieldKind::Bool)
    },
    Field {
        nullable: true,
        ..Field::new("published_at", FieldKind::DateTime)
    },
    Field {
        nullable: true,
        ..Field::new("written_on", FieldKind::Date)
    },
    Field {
        nullable: true,
        ..Field::new("meta", FieldKind::Json)
    },
    Field::new("pages", FieldKind::Integer),
];

const BOOK_INDEXES: &[Index] = &[Index {
    name: "books_author_title",
    columns: &["author_id", "title"],
    unique: false,
}];

fn table(name: &'static str, fields: &'static [Field], indexes: &'static [Index]) -> Table {
    ModelSchema {
        name,
        table: name,
        fields,
        indexes,
    }
    .table()
    .expect("a valid model")
}

fn check(change: &Change, sqlite: &[&str], postgres: &[&str]) {
    assert_eq!(statements(change, Backend::Sqlite), sqlite, "SQLite");
    assert_eq!(statements(change, Backend::Postgres), postgres, "PostgreSQL");
}

fn change(old: &Table, new: &Table) -> Change {
    let (change, manual) = diff(Some(old), Some(new), false);
    assert_eq!(manual, [], "expressible");
    change.expect("a change")
}

#[test]
fn a_new_table_maps_every_kind_on_both_backends() {
    let books = table("books", EVERY_KIND, BOOK_INDEXES);
    let body = |pk: &str| {
        format!(
            "CREATE TABLE \"books\" (\n    {pk},\n    \
             \"author_id\" BIGINT NOT NULL REFERENCES \"authors\" (\"id\") ON DELETE CASCADE,\n    \
             \"title\" TEXT NOT NULL,\n    \"isbn\" TEXT NOT NULL,\n    \"price\" BIGINT NOT NULL,\n    \
             \"rating\" BIGINT NOT NULL DEFAULT 0,\n    \"status\" TEXT NOT NULL DEFAULT 'draft',\n    \
             \"in_print\" BOOLEAN NOT NULL DEFAULT {},\n    \"published_at\" TIMESTAMP,\n    \
             \"written_on\" DATE,\n    \"meta\" TEXT,\n    \"pages\" BIGINT NOT NULL\n);",
            if pk.contains("SERIAL") { "TRUE" } else { "1" }
        )
    };
    let indexes = [
        "CREATE INDEX \"books_title\" ON \"books\" (\"title\");",
        "CREATE UNIQUE INDEX \"books_isbn_key\" ON \"books\" (\"isbn\");",
        "CREATE INDEX \"books_author_title\" ON \"books\" (\"author_id\", \"title\");",
    ];
    let sqlite = body("\"id\" INTEGER PRIMARY KEY AUTOINCREMENT");
    let postgres = body("\"id\" BIGSERIAL PRIMARY KEY");
    let with = |create: &str| [vec![create.to_owned()], indexes.map(str::to_owned).to_vec()].concat();
    assert_eq!(
        statements(&Change::Create(books.clone()), Backend::Sqlite),
        with(&sqlite)
    );
    assert_eq!(statements(&Change::Create(books), Backend::Postgres), with(&postgres));
}

#[test]
fn an_added_column_is_an_alter_table_on_both() {
    const NEW: &[Field] = &[
        PK,
        Field::new("name", FieldKind::Text),
        Field {
            db_default: Some(Literal::Text("uk")),
            index: true,
            ..Field::new("country", FieldKind::Text)
        },
        Field {
            nullable: true,
            ..Field::new("bio", FieldKind::Text)
        },
    ];
    let change = change(&table("authors", AUTHORS, &[]), &table("authors", NEW, &[]));
    let both = [
        "ALTER TABLE \"authors\" ADD COLUMN \"country\" TEXT NOT NULL DEFAULT 'uk';",
        "ALTER TABLE \"authors\" ADD COLUMN \"bio\" TEXT;",
        "CREATE INDEX \"authors_country\" ON \"authors\" (\"country\");",
    ];
    check(&change, &both, &both);
    assert_eq!(
        change.describe(),
        [
            "add column authors.country",
            "add column authors.bio",
            "add the index authors_country on authors (country)"
        ]
    );
}

#[test]
fn a_nullability_change_rebuilds_the_table_on_sqlite() {
    const OLD: &[Field] = &[
        PK,
        Field {
            nullable: true,
            ..Field::new("name", FieldKind::Text)
        },
        Field {
            unique: true,
            ..Field::new("email", FieldKind::Text)
        },
    ];
    const NEW: &[Field] = &[
        PK,
        Field {
            db_default: Some(Literal::Text("anonymous")),
            ..Field::new("name", FieldKind::Text)
        },
        Field {
            unique: true,
            ..Field::new("email", FieldKind::Text)
        },
    ];
    let change = change(&table("authors", OLD, &[]), &table("authors", NEW, &[]));
    check(
        &change,
        &[
            "-- SQLite's ALTER TABLE cannot make this change: authors is rebuilt, keeping its rows.",
            "CREATE TABLE \"new__authors\" (\n    \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
             \"name\" TEXT NOT NULL DEFAULT 'anonymous',\n    \"email\" TEXT NOT NULL\n);",
            "INSERT INTO \"new__authors\" (\"id\", \"name\", \"email\") \
             SELECT \"id\", coalesce(\"name\", 'anonymous'), \"email\" FROM \"authors\";",
            "DROP TABLE \"authors\";",
            "ALTER TABLE \"new__authors\" RENAME TO \"authors\";",
            "CREATE UNIQUE INDEX \"authors_email_key\" ON \"authors\" (\"email\");",
        ],
        &[
            "ALTER TABLE \"authors\" ALTER COLUMN \"name\" SET DEFAULT 'anonymous';",
            "UPDATE \"authors\" SET \"name\" = 'anonymous' WHERE \"name\" IS NULL;",
            "ALTER TABLE \"authors\" ALTER COLUMN \"name\" SET NOT NULL;",
        ],
    );
}

#[test]
fn dropping_an_indexed_column_drops_its_index_first() {
    const NEW: &[Field] = &[PK];
    const OLD: &[Field] = &[
        PK,
        Field {
            index: true,
            ..Field::new("name", FieldKind::Text)
        },
    ];
    let change = change(&table("authors", OLD, &[]), &table("authors", NEW, &[]));
    check(
        &change,
        &[
            "DROP INDEX \"authors_name\";",
            "ALTER TABLE \"authors\" DROP COLUMN \"name\";",
        ],
        // PostgreSQL drops a column's indexes with it.
        &["ALTER TABLE \"authors\" DROP COLUMN \"name\";"],
    );
}

#[test]
fn a_foreign_key_on_an_existing_column_rebuilds_on_sqlite() {
    const OLD: &[Field] = &[PK, Field::new("author_id", FieldKind::Integer)];
    const NEW: &[Field] = &[
        PK,
        Field::new(
            "author_id",
            FieldKind::ForeignKey {
                model: "author",
                table: "authors",
            },
        ),
    ];
    let change = change(&table("books", OLD, &[]), &table("books", NEW, &[]));
    let sqlite = statements(&change, Backend::Sqlite);
    assert!(
        sqlite[1].contains("REFERENCES \"authors\" (\"id\") ON DELETE CASCADE"),
        "{sqlite:?}"
    );
    assert_eq!(sqlite[3], "DROP TABLE \"books\";");
    assert_eq!(
        statements(&change, Backend::Postgres),
        [
            "ALTER TABLE \"books\" ADD CONSTRAINT \"books_author_id_fkey\" FOREIGN KEY (\"author_id\") \
          REFERENCES \"authors\" (\"id\") ON DELETE CASCADE;"
        ]
    );
}

#[test]
fn a_unique_constraint_of_create_table_is_dropped_by_name() {
    let mut old = table("users", AUTHORS, &[]);
    old.indexes.push(super::TableIndex {
        name: "sqlite_autoindex_users_1".into(),
        columns: vec!["name".into()],
        unique: true,
        constraint: true,
    });
    let change = change(&old, &table("users", AUTHORS, &[]));
    assert!(statements(&change, Backend::Sqlite).contains(&"DROP TABLE \"users\";".to_owned()));
    assert_eq!(
        statements(&change, Backend::Postgres),
        ["ALTER TABLE \"users\" DROP CONSTRAINT \"users_name_key\";"]
    );
}

#[test]
fn what_cannot_be_generated_is_named() {
    const OLD: &[Field] = &[PK, Field::new("price", FieldKind::Money)];
    const NEW: &[Field] = &[
        PK,
        Field::new("price", FieldKind::Text),
        Field::new("sku", FieldKind::Text),
    ];
    let (_, manual) = diff(Some(&table("books", OLD, &[])), Some(&table("books", NEW, &[])), false);
    let reasons: Vec<(Option<&str>, &ManualReason)> = manual.iter().map(|m| (m.column.as_deref(), &m.reason)).collect();
    assert_eq!(
        reasons,
        [
            (
                Some("price"),
                &ManualReason::TypeChange {
                    from: super::ColumnType::Integer,
                    to: super::ColumnType::Text
                }
            ),
            (Some("sku"), &ManualReason::NotNullWithoutDefault),
        ]
    );
    assert_eq!(
        manual[1].to_string(),
        "books.sku: a NOT NULL column without a db_default cannot be added to an existing table; \
         give it a db_default, or make it nullable"
    );

    // A rebuild would lose what the models do not describe.
    let mut checked = table("books", OLD, &[]);
    checked.unmodelled.push("CHECK constraints".into());
    const NULLABLE: &[Field] = &[
        PK,
        Field {
            nullable: true,
            ..Field::new("price", FieldKind::Money)
        },
    ];
    let (_, manual) = diff(Some(&checked), Some(&table("books", NULLABLE, &[])), false);
    assert_eq!(
        manual.iter().map(|m| &m.reason).collect::<Vec<_>>(),
        [&ManualReason::RebuildLoses(vec!["CHECK constraints".into()])]
    );
}

#[test]
fn new_tables_come_after_the_tables_they_reference() {
    let books = table("books", EVERY_KIND, BOOK_INDEXES);
    let authors = table("authors", AUTHORS, &[]);
    let ordered = in_order(vec![Change::Create(books.clone()), Change::Create(authors.clone())]);
    assert_eq!(
        ordered.iter().map(Change::table).collect::<Vec<_>>(),
        ["authors", "books"]
    );
    let reverted = in_order(vec![Change::Drop(authors), Change::Drop(books)]);
    assert_eq!(
        reverted.iter().map(Change::table).collect::<Vec<_>>(),
        ["books", "authors"]
    );
}
