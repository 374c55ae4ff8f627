//! `GET /admin/`: the models the staff member may see, grouped by app, with their sizes.

use actix_web::HttpResponse;
use maud::html;

use crate::AdminError;
use crate::context::{Cx, ok};
use crate::render::{self, Frame};

/// Tables are counted exactly up to this many rows; above it the database's estimate (or
/// "10000+") is shown, so a large table costs no `COUNT(*)` per visit.
pub(crate) const EXACT_COUNT_BOUND: i64 = 10_000;

pub(crate) async fn index(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let db = cx.db()?;
    let groups = render::grouped(&cx.site, &staff);
    let mut counted = Vec::new();
    for (app, entries) in &groups {
        let mut rows = Vec::new();
        for entry in entries {
            rows.push((*entry, db.row_count(entry.table, EXACT_COUNT_BOUND).await?));
        }
        counted.push((*app, rows));
    }
    let content = html! {
        @if counted.is_empty() {
            p { "You have no permission on any model yet. Ask a superuser to grant you some." }
        }
        div.cards {
            @for (app, rows) in &counted {
                section.panel aria-labelledby=(format!("app-{app}")) {
                    h2 id=(format!("app-{app}")) { (app) }
                    ul {
                        @for (entry, count) in rows {
                            li {
                                a href=(entry.url()) { (entry.title()) }
                                span.count data-count=(entry.key) { (count.to_string()) }
                            }
                        }
                    }
                }
            }
        }
    };
    let frame = Frame::new("Site administration").flash(cx.take_flash());
    Ok(ok(render::layout(&cx.site, &staff, frame, content)))
}
