//! The JSON API: `/api/notes/`, the logged-in user's notes (session or API token).

use duet::prelude::*;

use crate::notes::Note;

/// The routes of the `/api` prefix: the API root `/api/` and the viewset at `/api/notes/`.
pub fn routes(api: &mut Routes) {
    ApiRouter::new("/").register("notes", notes()).configure(api);
}

/// List, create, retrieve, update and delete: only the user's own notes, newest first.
fn notes() -> ModelViewSet<Note> {
    ModelViewSet::new()
        .ordering([Note::CREATED_AT, Note::TITLE])
        .default_ordering([Note::CREATED_AT.desc()])
}
