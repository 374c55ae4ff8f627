//! The app's one model: a note, written by a user.

use diesel::prelude::*;
use duet::chrono::NaiveDateTime;
use duet::diesel_async::RunQueryDsl;
use duet::models::{Db, Field, FieldKind, Input, MigrationSet, Model, Result, ValidationErrors, db_run};
use duet::serde_json::{Map, Value, json};

/// The `notes` table, in SQL for each backend (`migrations/`), applied by `notes migrate`
/// and at start-up.
pub const MIGRATIONS: MigrationSet =
    duet::models::migration_set!("notes", sqlite: "migrations/sqlite", postgres: "migrations/postgres");

/// diesel's description of the `notes` table.
pub mod schema {
    diesel::table! {
        notes (id) {
            id -> BigInt,
            owner_id -> BigInt,
            title -> Text,
            body -> Text,
            created_at -> Timestamp,
        }
    }
}
use schema::notes;

/// A note, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = notes)]
pub struct Note {
    pub id: i64,
    pub owner_id: i64,
    pub title: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// A note to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notes)]
pub struct NewNote {
    pub owner_id: i64,
    pub title: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// Changes to a note; `None` fields stay as they are.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = notes)]
pub struct NoteChanges {
    pub title: Option<String>,
    pub body: Option<String>,
}

impl NewNote {
    /// Validates a new note for `owner_id` from a request's or a form's fields: a `title` of
    /// at most 200 characters and a `body`, both required.
    pub fn from_input(owner_id: i64, mut input: Input) -> std::result::Result<NewNote, ValidationErrors> {
        let (title, body) = (input.text("title", 200), input.text("body", 10_000));
        let (Some(title), Some(body)) = (title, body) else {
            return Err(input.finish().err().unwrap_or_default());
        };
        input.finish()?;
        Ok(NewNote {
            owner_id,
            title,
            body,
            created_at: duet::models::now(),
        })
    }
}

impl NoteChanges {
    /// Validates an update: the same rules, and only the fields sent in a partial one.
    pub fn from_input(mut input: Input) -> std::result::Result<NoteChanges, ValidationErrors> {
        let changes = NoteChanges {
            title: input.text("title", 200),
            body: input.text("body", 10_000),
        };
        input.finish()?;
        Ok(changes)
    }
}

impl Note {
    /// Inserts a note.
    pub async fn create(db: &Db, new: &NewNote) -> Result<Note> {
        db_run!(db, |conn| diesel::insert_into(notes::table)
            .values(new)
            .returning(Note::as_returning())
            .get_result(conn)
            .await)
    }

    /// Applies `changes` to note `id`.
    pub async fn update(db: &Db, id: i64, changes: &NoteChanges) -> Result<Note> {
        if changes.title.is_none() && changes.body.is_none() {
            return Note::get(db, duet::models::Scope::All, id).await;
        }
        db_run!(db, |conn| diesel::update(notes::table.find(id))
            .set(changes)
            .returning(Note::as_returning())
            .get_result(conn)
            .await)
    }
}

/// What the API, the pages and the admin know of a note: its fields, its owner, its JSON,
/// and the scoped queries (`model_queries!` writes them for both backends).
impl Model for Note {
    const NAME: &'static str = "note";
    const TABLE: &'static str = "notes";
    const OWNER_FIELD: Option<&'static str> = Some("owner");
    const FIELDS: &'static [Field] = &[
        Field::read_only("id", FieldKind::Integer),
        Field::read_only("owner", FieldKind::ForeignKey("user")),
        Field::new("title", FieldKind::Text),
        Field::new("body", FieldKind::Text),
        Field::read_only("created_at", FieldKind::DateTime),
    ];

    fn pk(&self) -> i64 {
        self.id
    }

    fn owner_id(&self) -> Option<i64> {
        Some(self.owner_id)
    }

    fn to_json(&self) -> Map<String, Value> {
        duet::models::json_object([
            ("id", json!(self.id)),
            ("owner", json!(self.owner_id)),
            ("title", json!(self.title)),
            ("body", json!(self.body)),
            ("created_at", duet::models::datetime_to_json(&self.created_at)),
        ])
    }

    duet::models::model_queries! {
        table: notes,
        pk: notes::id,
        owner: notes::owner_id,
        filters: {},
        ordering: { "id" => notes::id, "title" => notes::title, "created_at" => notes::created_at },
    }
}
