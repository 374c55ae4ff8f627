//! The state the notes page shows: the logged-in user's notes, kept on the server, written
//! from the page's form, and live.

use duet::models::OrderBy;
use duet::prelude::*;

use crate::notes::Note;

/// The user's notes, newest first, in the list var `notes` (and form errors in `errors`).
/// Its handlers: `refresh`, `create`, `update`, `delete`.
pub struct MyNotes;

impl ModelState for MyNotes {
    type Model = Note;
    const NAME: &'static str = "notes";
    const LIST_VAR: &'static str = "notes";
    const ORDERING: &'static [OrderBy] = &[Note::CREATED_AT.desc()];
}
