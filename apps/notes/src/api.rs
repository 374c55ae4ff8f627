//! The JSON API: `/api/notes/`, the logged-in user's notes (session or API token).

use duet::prelude::*;

use crate::notes::{NewNote, Note, NoteChanges};

/// The routes of the `/api` prefix: the API root `/api/` and the viewset at `/api/notes/`.
pub fn routes(api: &mut Routes) {
    ApiRouter::new("/").register("notes", NoteViewSet).configure(api);
}

/// List, create, retrieve, update and delete: only the user's own notes, newest first.
pub struct NoteViewSet;

impl ViewSet for NoteViewSet {
    type Model = Note;
    type Serializer = NoteSerializer;

    fn scope(&self, req: &ApiRequest) -> ApiResult<Scope> {
        Ok(Scope::Owner(req.require_user()?.id))
    }

    fn ordering_fields(&self) -> &'static [&'static str] {
        &["created_at", "title"]
    }

    fn default_ordering(&self) -> &'static [&'static str] {
        &["-created_at"]
    }

    fn changed(&self, req: &ApiRequest, change: Change<'_, Note>) {
        let (Change::Created(note) | Change::Updated(note) | Change::Deleted(note)) = change;
        crate::states::publish(req.http(), note);
    }
}

/// Notes over HTTP: every field as JSON; the model's own validation for writes.
pub struct NoteSerializer;

impl ApiSerializer for NoteSerializer {
    type Model = Note;

    async fn create(req: &ApiRequest, input: Input) -> ApiResult<Note> {
        let new = NewNote::from_input(req.require_user()?.id, input)?;
        Ok(Note::create(req.db(), &new).await?)
    }

    async fn update(req: &ApiRequest, note: Note, input: Input) -> ApiResult<Note> {
        let changes = NoteChanges::from_input(input)?;
        Ok(Note::update(req.db(), note.id, &changes).await?)
    }
}
