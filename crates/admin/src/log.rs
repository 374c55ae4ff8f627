//! The admin's log: one `AdminLogEntry` per row added, changed, deleted or acted on.

use duet_models::{AdminLogEntry, Db, Json, LogAction, Model, NewAdminLogEntry, User};
use serde_json::Value;

use crate::registry::{Entry, Row};

/// What happened to one row.
pub(crate) struct Logged<'a> {
    pub(crate) action: LogAction,
    pub(crate) action_name: &'a str,
    pub(crate) changes: Value,
}

/// Records what `user` did to `row` of `entry`. A log that cannot be written fails the
/// request after the write: the change happened, and the staff member is told the log
/// missed it (the server's log has the error).
pub(crate) async fn record(
    db: &Db,
    user: &User,
    entry: &Entry,
    row: &Row,
    logged: Logged<'_>,
) -> duet_models::Result<()> {
    let new = NewAdminLogEntry {
        at: duet_models::now(),
        user_id: user.id,
        username: user.username.clone(),
        model: entry.key.clone(),
        object_id: row.pk,
        object_repr: truncate(&entry.repr(row), 200),
        action: logged.action,
        action_name: logged.action_name.to_owned(),
        changes: Json(logged.changes),
    };
    AdminLogEntry::create(db, new).await.map(|_| ()).inspect_err(|error| {
        tracing::error!(%error, model = %entry.key, pk = row.pk, "admin log not written");
    })
}

/// A new row's values as `{field: [null, value]}`, a deleted one's as `{field: [value, null]}`.
pub(crate) fn whole(row: &Row, added: bool) -> Value {
    let empty = serde_json::Map::new();
    if added {
        duet_models::diff_rows(&empty, &row.values)
    } else {
        duet_models::diff_rows(&row.values, &empty)
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}
