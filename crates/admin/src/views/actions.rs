//! Bulk actions on selected rows and actions on one row: a confirmation page first, then
//! the action, and one log entry per row with what it changed.

use actix_web::HttpResponse;
use duet_models::{ListQuery, LogAction, Lookup, OrderBy, PermissionAction, Scope};
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

/// At most this many rows may be selected one by one (a page has at most 500).
const MAX_SELECTED: usize = 10_000;
/// "All matching" rows are acted on this many at a time: each batch loaded, acted on and
/// logged before the next.
const BATCH: i64 = 1_000;
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

/// `POST /admin/{app}/{model}/action/`: the selected rows, or every row matching the list's
/// filters and search (as Django's "select all"), and the action; without `confirm`, the
/// confirmation page.
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
    let confirmed = value(&pairs, "confirm") == Some("yes");
    if value(&pairs, "_select_across") == Some("1") {
        let state = ListState::parse(
            entry,
            url::form_urlencoded::parse(filters.as_bytes()).into_owned().collect(),
        )?;
        let query = state.query(entry, &db).await?;
        let total = entry.ops.count(&db, &query).await?;
        if total == 0 {
            cx.flash(&format!("No {} match: nothing to act on.", entry.verbose_name_plural));
            return Ok(see_other(&back));
        }
        if !confirmed {
            let listed = entry.ops.list(&db, &query.window(LISTED as i64, 0)).await?;
            let at = ConfirmAt::Bulk {
                name,
                filters,
                across: true,
            };
            return Ok(confirmation(&cx, &staff, entry, label, &listed, total as usize, at));
        }
        let message = run_across(&cx, &staff, entry, (name, label), query, total).await?;
        cx.flash(&message);
        return Ok(see_other(&back));
    }
    let pks: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "_selected")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| AdminError::BadRequest(format!("{v:?} is not a row.")))
        })
        .collect::<Result<_, _>>()?;
    if pks.is_empty() {
        cx.flash(&format!("Select the {} to act on first.", entry.verbose_name_plural));
        return Ok(see_other(&back));
    }
    if pks.len() > MAX_SELECTED {
        return Err(AdminError::BadRequest(format!(
            "At most {MAX_SELECTED} rows one by one; select all matching instead."
        )));
    }
    let before = rows_of(entry, &db, &pks).await?;
    if !confirmed {
        let at = ConfirmAt::Bulk {
            name,
            filters,
            across: false,
        };
        return Ok(confirmation(&cx, &staff, entry, label, &before, before.len(), at));
    }
    let message = run(&cx, &staff, entry, name, false, before).await?;
    cx.flash(&message);
    Ok(see_other(&back))
}

/// Runs the action on every row `query` matches, `BATCH` rows at a time in primary-key
/// order (so rows the action moves out of the filter are neither skipped nor taken twice).
/// A batch that fails stops the run, saying how many rows were done before it.
async fn run_across(
    cx: &Cx,
    staff: &Staff,
    entry: &Entry,
    (name, label): (&str, &str),
    query: ListQuery,
    total: i64,
) -> Result<String, AdminError> {
    let db = cx.db()?;
    let mut query = query;
    query.ordering = vec![OrderBy {
        field: entry.primary_key,
        descending: false,
    }];
    let (mut done, mut batches, mut last_message) = (0, 0, String::new());
    let mut after = None;
    loop {
        let mut batch = query.clone().window(BATCH, 0);
        if let Some(pk) = after {
            batch = batch.filter_by(entry.primary_key, Lookup::Gt, pk);
        }
        let before = entry.ops.list(&db, &batch).await?;
        let Some(last) = before.last() else { break };
        after = Some(last.pk);
        let count = before.len();
        match run(cx, staff, entry, name, false, before).await {
            Ok(message) => last_message = message,
            Err(error) if done > 0 => {
                return Err(AdminError::BadRequest(format!(
                    "{label} stopped after {done} of {total} {}: {error}",
                    plural(entry, done)
                )));
            }
            Err(error) => return Err(error),
        }
        done += count;
        batches += 1;
    }
    Ok(match batches {
        1 => last_message,
        _ => format!(
            "{label}: {done} {} in {batches} batches of up to {BATCH}. {last_message}",
            plural(entry, done)
        ),
    })
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
            1,
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
    /// `across`: every matching row, not the ones listed.
    Bulk {
        name: &'a str,
        filters: &'a str,
        across: bool,
    },
    Row {
        pk: i64,
        name: &'a str,
    },
}

/// The confirmation: `total` rows, the first of them (`rows`) named.
fn confirmation(
    cx: &Cx,
    staff: &Staff,
    entry: &Entry,
    label: &str,
    rows: &[Row],
    total: usize,
    at: ConfirmAt<'_>,
) -> HttpResponse {
    let (action, back) = match at {
        ConfirmAt::Bulk { filters, .. } => (format!("{}action/", entry.url()), format!("{}?{filters}", entry.url())),
        ConfirmAt::Row { pk, name } => (format!("{}action/{name}/", entry.row_url(pk)), entry.row_url(pk)),
    };
    let content = html! {
        div.panel.edit #confirm {
            p {
                strong { (label) } " — " (total) " " (plural(entry, total))
                @if let ConfirmAt::Bulk { across: true, .. } = at { ", every one matching the list’s filters and search" }
                ":"
            }
            ul {
                @for row in rows.iter().take(LISTED) { li { a href=(entry.row_url(row.pk)) { (entry.repr(row)) } } }
                @if total > LISTED { li { "and " (total - LISTED) " more" } }
            }
            form method="post" action=(action) {
                (render::csrf(staff))
                input type="hidden" name="confirm" value="yes";
                @if let ConfirmAt::Bulk { name, filters, across } = at {
                    input type="hidden" name="action" value=(name);
                    input type="hidden" name="_filters" value=(filters);
                    @if across { input type="hidden" name="_select_across" value="1"; }
                    @else { @for row in rows { input type="hidden" name="_selected" value=(row.pk); } }
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
