//! Bulk actions on selected rows and actions on one row: a confirmation page first, then
//! the action, and one log entry per row with what it changed.

use actix_web::HttpResponse;
use duet_models::{ListQuery, LogAction, Lookup, PermissionAction, Scope};
use maud::html;
use serde_json::Value;

use crate::AdminError;
use crate::context::{Cx, Staff, ok, see_other};
use crate::log::{self, Logged};
use crate::options::ActionCtx;
use crate::registry::{Entry, Row};
use crate::render::{self, Frame};
use crate::views::list::{DELETE_SELECTED, bulk_actions};
use crate::views::query::ListState;

/// At most this many rows are acted on at once ("all matching" included).
const MAX_ROWS: i64 = 10_000;
/// A confirmation lists at most this many rows by name.
const LISTED: usize = 50;

fn value<'p>(pairs: &'p [(String, String)], key: &str) -> Option<&'p str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

async fn rows_of(entry: &Entry, db: &duet_models::Db, pks: &[i64]) -> Result<Vec<Row>, AdminError> {
    let ids: Vec<Value> = pks.iter().map(|pk| Value::from(*pk)).collect();
    let query = ListQuery::new(Scope::All).filter_by(entry.primary_key, Lookup::In, ids);
    Ok(entry.ops.list(db, &query).await?)
}

/// `POST /admin/{app}/{model}/action/`: the selected rows (or all matching the list's
/// filters) and the action; without `confirm`, the confirmation page.
pub(crate) async fn bulk(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::View)?;
    let pairs = cx.form()?;
    let name = value(&pairs, "action").unwrap_or_default();
    let allowed = bulk_actions(entry, &staff);
    let Some(&(name, label)) = allowed.iter().find(|(n, _)| *n == name) else {
        let exists = name == DELETE_SELECTED || entry.actions.iter().any(|a| a.name == name);
        return Err(match exists {
            true => AdminError::Forbidden(format!("You may not run {name:?} on {}.", entry.verbose_name_plural)),
            false => AdminError::BadRequest(format!("{} have no action {name:?}.", entry.title())),
        });
    };
    let filters = value(&pairs, "_filters").unwrap_or_default();
    let back = format!("{}?{filters}", entry.url());
    let db = cx.db()?;
    let pks: Vec<i64> = if value(&pairs, "_select_across") == Some("1") {
        let state = ListState::parse(
            entry,
            url::form_urlencoded::parse(filters.as_bytes()).into_owned().collect(),
        )?;
        let query = state.query(entry, &db).await?.window(MAX_ROWS, 0);
        entry.ops.list(&db, &query).await?.iter().map(|r| r.pk).collect()
    } else {
        pairs
            .iter()
            .filter(|(k, _)| k == "_selected")
            .map(|(_, v)| {
                v.parse::<i64>()
                    .map_err(|_| AdminError::BadRequest(format!("{v:?} is not a row.")))
            })
            .collect::<Result<_, _>>()?
    };
    if pks.is_empty() {
        cx.flash(&format!("Select the {} to act on first.", entry.verbose_name_plural));
        return Ok(see_other(&back));
    }
    if pks.len() as i64 > MAX_ROWS {
        return Err(AdminError::BadRequest(format!("At most {MAX_ROWS} rows at once.")));
    }
    let before = rows_of(entry, &db, &pks).await?;
    if value(&pairs, "confirm") != Some("yes") {
        return Ok(confirmation(
            &cx,
            &staff,
            entry,
            label,
            &before,
            ConfirmAt::Bulk { name, filters },
        ));
    }
    let message = run(&cx, &staff, entry, name, false, before).await?;
    cx.flash(&message);
    Ok(see_other(&back))
}

/// `POST /admin/{app}/{model}/{pk}/action/{action}/`: a row action, after its confirmation.
pub(crate) async fn row(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::Change)?;
    let pk = cx.pk()?;
    let name = cx.param("action");
    let action = entry
        .row_actions
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| AdminError::BadRequest(format!("{} have no row action {name:?}.", entry.title())))?;
    let pairs = cx.form()?;
    let db = cx.db()?;
    let before = vec![entry.ops.get(&db, pk).await?];
    if value(&pairs, "confirm") != Some("yes") {
        return Ok(confirmation(
            &cx,
            &staff,
            entry,
            action.label,
            &before,
            ConfirmAt::Row { pk, name: action.name },
        ));
    }
    let message = run(&cx, &staff, entry, action.name, true, before).await?;
    cx.flash(&message);
    Ok(see_other(&entry.row_url(pk)))
}

/// Runs the action on `before` and logs, per row, what it changed.
async fn run(
    cx: &Cx,
    staff: &Staff,
    entry: &Entry,
    name: &str,
    row: bool,
    before: Vec<Row>,
) -> Result<String, AdminError> {
    let db = cx.db()?;
    let pks: Vec<i64> = before.iter().map(|r| r.pk).collect();
    if name == DELETE_SELECTED && !row {
        for old in &before {
            match entry.ops.delete(&db, old.pk).await {
                Ok(deleted) => {
                    let logged = Logged {
                        action: LogAction::Deleted,
                        action_name: "",
                        changes: log::whole(&deleted, false),
                    };
                    log::record(&db, &staff.user, entry, &deleted, logged).await?;
                }
                // Deleted by someone else meanwhile: gone either way.
                Err(duet_models::Error::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
        }
        return Ok(format!("{} {} deleted.", before.len(), plural(entry, before.len())));
    }
    let ctx = ActionCtx {
        db: db.clone(),
        user: (*staff.user).clone(),
    };
    let running = entry
        .ops
        .run(name, row, ctx, pks.clone())
        .ok_or_else(|| AdminError::BadRequest(format!("{} have no action {name:?}.", entry.title())))?;
    let message = running.await?;
    tracing::info!(model = %entry.key, action = name, rows = pks.len(), user_id = staff.user.id, "admin action");
    let after = rows_of(entry, &db, &pks).await?;
    for old in &before {
        let changes = match after.iter().find(|r| r.pk == old.pk) {
            Some(new) => duet_models::diff_rows(&old.values, &new.values),
            None => log::whole(old, false),
        };
        let logged = Logged {
            action: LogAction::Action,
            action_name: name,
            changes,
        };
        log::record(&db, &staff.user, entry, old, logged).await?;
    }
    Ok(message)
}

fn plural(entry: &Entry, n: usize) -> &'static str {
    if n == 1 {
        entry.verbose_name
    } else {
        entry.verbose_name_plural
    }
}

#[derive(Clone, Copy)]
enum ConfirmAt<'a> {
    Bulk { name: &'a str, filters: &'a str },
    Row { pk: i64, name: &'a str },
}

fn confirmation(cx: &Cx, staff: &Staff, entry: &Entry, label: &str, rows: &[Row], at: ConfirmAt<'_>) -> HttpResponse {
    let (action, back) = match at {
        ConfirmAt::Bulk { filters, .. } => (format!("{}action/", entry.url()), format!("{}?{filters}", entry.url())),
        ConfirmAt::Row { pk, name } => (format!("{}action/{name}/", entry.row_url(pk)), entry.row_url(pk)),
    };
    let content = html! {
        div.panel.edit #confirm {
            p { strong { (label) } " — " (rows.len()) " " (plural(entry, rows.len())) ":" }
            ul {
                @for row in rows.iter().take(LISTED) { li { a href=(entry.row_url(row.pk)) { (entry.repr(row)) } } }
                @if rows.len() > LISTED { li { "and " (rows.len() - LISTED) " more" } }
            }
            form method="post" action=(action) {
                (render::csrf(staff))
                input type="hidden" name="confirm" value="yes";
                @if let ConfirmAt::Bulk { name, filters } = at {
                    input type="hidden" name="action" value=(name);
                    input type="hidden" name="_filters" value=(filters);
                    @for row in rows { input type="hidden" name="_selected" value=(row.pk); }
                }
                div.actions-row {
                    button.primary type="submit" autofocus { "Yes, " (label.to_lowercase()) }
                    a.button href=(back) { "Cancel" }
                }
            }
        }
    };
    let frame = Frame::new(format!("{label}?")).model(entry);
    ok(render::layout(&cx.site, staff, frame, content))
}
