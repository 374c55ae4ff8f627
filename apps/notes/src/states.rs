//! The state the notes page shows: the logged-in user's notes, kept on the server and
//! written from the page's form.

use duet::prelude::*;

use crate::notes::{NewNote, Note, NoteChanges};

/// The user's notes, newest first, in the list var `notes` (and form errors in `errors`).
/// Its handlers: `refresh`, `create`, `update`, `delete`.
pub struct MyNotes;

impl ModelState for MyNotes {
    type Serializer = NoteRows;
    const NAME: &'static str = "notes";
    const LIST_VAR: &'static str = "notes";

    fn queryset(ctx: &EventCtx) -> Result<ListQuery, EventError> {
        let user = ctx.require_user()?;
        Ok(ListQuery::new(Scope::Owner(user.id)).order_by("created_at", true))
    }

    fn topic(ctx: &EventCtx) -> Option<String> {
        ctx.user().map(|user| topic(user.id))
    }
}

/// A note as the page shows it, and writes from the page's form.
pub struct NoteRows;

impl StateSerializer for NoteRows {
    type Model = Note;
    const FIELDS: &'static [&'static str] = &["title", "body", "created_at"];

    async fn create(ctx: &EventCtx, input: Input) -> Result<Note, EventError> {
        let new = NewNote::from_input(ctx.require_user()?.id, input)?;
        Ok(Note::create(ctx.db(), &new).await?)
    }

    async fn update(ctx: &EventCtx, note: Note, input: Input) -> Result<Note, EventError> {
        let changes = NoteChanges::from_input(input)?;
        Ok(Note::update(ctx.db(), note.id, &changes).await?)
    }
}

/// Where changes to `user_id`'s notes are published; their open `/notes` tabs listen.
fn topic(user_id: i64) -> String {
    format!("notes:user:{user_id}")
}

/// Tells `note`'s owner's open tabs that it changed: each reloads its list and receives
/// only what changed.
pub fn publish(req: &HttpRequest, note: &Note) {
    if let Some(broadcaster) = req.app_data::<web::Data<Broadcaster>>() {
        broadcaster.publish(&topic(note.owner_id), &duet::serde_json::json!({ "id": note.id }));
    }
}
