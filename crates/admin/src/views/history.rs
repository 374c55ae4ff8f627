//! History: every add, change, delete and action made in the admin, per row and for the
//! whole site, with who, when and field by field what changed. Read-only: the log has no
//! form, and it is not a registered model.

use actix_web::HttpResponse;
use duet_models::{AdminLogEntry, Choices, ListQuery, Lookup, Model, PermissionAction, Scope};
use maud::{Markup, html};
use serde_json::Value;

use crate::AdminError;
use crate::context::{Cx, ok};
use crate::render::{self, Frame};
use crate::site::Site;

const PER_PAGE: i64 = 50;

fn table(site: &Site, entries: &[AdminLogEntry], with_object: bool) -> Markup {
    html! {
        div.panel.table-scroll {
            table #history {
                caption.visually-hidden { "History" }
                thead { tr {
                    th scope="col" { "When (UTC)" }
                    th scope="col" { "Who" }
                    @if with_object { th scope="col" { "What" } }
                    th scope="col" { "Action" }
                    th scope="col" { "Changes" }
                } }
                tbody {
                    @if entries.is_empty() { tr { td colspan="5" { "Nothing yet." } } }
                    @for e in entries {
                        @let model = site.entries.iter().find(|m| m.key == e.model);
                        tr {
                            td { (e.at.format("%Y-%m-%d %H:%M:%S")) }
                            td { (e.username) }
                            @if with_object {
                                td { @match model {
                                    Some(m) => a href=(m.row_url(e.object_id)) { (e.object_repr) },
                                    None => (e.object_repr),
                                } }
                            }
                            td { (e.action.label()) @if !e.action_name.is_empty() { ": " (e.action_name) } }
                            td { (render::display_diff(model.map(|m| m.fields.as_slice()).unwrap_or_default(), &e.changes.0)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /admin/{app}/{model}/{pk}/history/`: the row's history, newest first (also for a
/// row deleted since).
pub(crate) async fn object(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::View)?;
    let pk = cx.pk()?;
    let query = ListQuery::new(Scope::All)
        .filter(AdminLogEntry::MODEL, entry.key.clone())
        .filter(AdminLogEntry::OBJECT_ID, pk)
        .order_by(AdminLogEntry::AT, true)
        .window(500, 0);
    let entries = AdminLogEntry::list(&cx.db()?, &query).await?;
    let content = table(&cx.site, &entries, false);
    let frame = Frame::new(format!("History of {} #{pk}", entry.verbose_name))
        .model(entry)
        .crumb(format!("#{pk}"), entry.row_url(pk));
    Ok(ok(render::layout(&cx.site, &staff, frame, content)))
}

/// `GET /admin/history/?p=N`: everything, newest first, for the models the staff member
/// may see.
pub(crate) async fn global(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let page = cx
        .query()
        .iter()
        .find(|(k, _)| k == "p")
        .map(|(_, v)| v.parse::<i64>().ok().filter(|p| *p >= 1))
        .unwrap_or(Some(1))
        .ok_or_else(|| AdminError::BadRequest("p is not a page number.".into()))?;
    let visible: Vec<Value> = cx
        .site
        .entries
        .iter()
        .filter(|e| staff.may(e, PermissionAction::View))
        .map(|e| Value::from(e.key.clone()))
        .collect();
    let query = ListQuery::new(Scope::All)
        .filter_by(AdminLogEntry::MODEL, Lookup::In, visible)
        .order_by(AdminLogEntry::AT, true)
        .window(PER_PAGE + 1, (page - 1) * PER_PAGE);
    let mut entries = AdminLogEntry::list(&cx.db()?, &query).await?;
    let more = entries.len() as i64 > PER_PAGE;
    entries.truncate(PER_PAGE as usize);
    let content = html! {
        (table(&cx.site, &entries, true))
        nav.pages aria-label="Pages" {
            @if page > 1 { a href=(format!("?p={}", page - 1)) rel="prev" { "← Newer" } }
            @if more { a href=(format!("?p={}", page + 1)) rel="next" { "Older →" } }
        }
    };
    Ok(ok(render::layout(&cx.site, &staff, Frame::new("History"), content)))
}
