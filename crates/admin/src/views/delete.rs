//! Deleting one row: a confirmation listing what goes with it (rows of registered models
//! whose foreign keys point at it are deleted too), then the delete, logged.

use actix_web::HttpResponse;
use duet_models::{FieldKind, ListQuery, LogAction, PermissionAction, Scope};
use maud::html;

use crate::AdminError;
use crate::context::{Cx, ok, see_other};
use crate::log::{self, Logged};
use crate::registry::Entry;
use crate::render::{self, Frame};
use crate::site::Site;

/// For each registered model with a foreign key to `entry`: how many of its rows point at
/// row `pk` (and go with it: foreign keys cascade).
async fn cascades<'s>(
    site: &'s Site,
    entry: &Entry,
    pk: i64,
    db: &duet_models::Db,
) -> Result<Vec<(&'s Entry, i64)>, AdminError> {
    let mut found = Vec::new();
    for other in &site.entries {
        for field in &other.fields {
            if matches!(field.kind, FieldKind::ForeignKey { model, .. } if model == entry.name) {
                let query = ListQuery::new(Scope::All).filter(field.name, pk);
                let count = other.ops.count(db, &query).await?;
                if count > 0 {
                    found.push((other, count));
                }
            }
        }
    }
    Ok(found)
}

pub(crate) async fn confirm(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::Delete)?;
    let pk = cx.pk()?;
    let db = cx.db()?;
    let row = entry.ops.get(&db, pk).await?;
    let cascades = cascades(&cx.site, entry, pk, &db).await?;
    let content = html! {
        div.panel.edit {
            p { "Delete the " (entry.verbose_name) " “" (entry.repr(&row)) "”? This cannot be undone." }
            @if !cascades.is_empty() {
                p { "These go with it:" }
                ul { @for (other, count) in &cascades { li { (count) " " (if *count == 1 { other.verbose_name } else { other.verbose_name_plural }) } } }
            }
            form method="post" {
                (render::csrf(&staff))
                div.actions-row {
                    button.danger type="submit" { "Yes, delete" }
                    a.button href=(entry.row_url(pk)) { "No, keep it" }
                }
            }
        }
    };
    let frame = Frame::new(format!("Delete {} #{pk}", entry.verbose_name)).model(entry);
    Ok(ok(render::layout(&cx.site, &staff, frame, content)))
}

pub(crate) async fn delete(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::Delete)?;
    let pk = cx.pk()?;
    cx.form()?;
    let db = cx.db()?;
    let row = entry.ops.delete(&db, pk).await?;
    let logged = Logged {
        action: LogAction::Deleted,
        action_name: "",
        changes: log::whole(&row, false),
    };
    log::record(&db, &staff.user, entry, &row, logged).await?;
    cx.flash(&format!(
        "The {} “{}” was deleted.",
        entry.verbose_name,
        entry.repr(&row)
    ));
    Ok(see_other(&entry.url()))
}
