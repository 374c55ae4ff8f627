//! The app's one model: a note, written by a user.

use duet::chrono::NaiveDateTime;
use duet::models::{ForeignKey, MigrationSet, Model, User};

/// The `notes` table, in SQL for each backend (`migrations/`), applied by `notes migrate`
/// and at start-up.
pub const MIGRATIONS: MigrationSet =
    duet::models::migration_set!("notes", sqlite: "migrations/sqlite", postgres: "migrations/postgres");

/// A note: the table `notes`, its validation and its queries, declared once.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(index(name = "notes_owner_created", fields(owner, created_at)))]
pub struct Note {
    pub id: i64,
    /// Who wrote it (column `owner_id`): each user sees only their own notes.
    #[duet(owner)]
    pub owner: ForeignKey<User>,
    #[duet(max_length = 200)]
    pub title: String,
    #[duet(max_length = 10_000)]
    pub body: String,
    /// When it was written (UTC), set by the model.
    #[duet(auto_now_add)]
    pub created_at: NaiveDateTime,
}
