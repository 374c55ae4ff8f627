//! `GET /admin/{app}/{model}/`: the change list — columns, sorting, search, filters,
//! pages, selection for bulk actions, row actions; live when JavaScript runs.

use std::collections::HashMap;

use actix_web::HttpResponse;
use duet_models::{FieldKind, ListQuery, Lookup, PermissionAction, Scope};
use maud::{Markup, html};
use serde_json::Value;

use crate::AdminError;
use crate::context::{Cx, Staff, ok};
use crate::registry::{Entry, Row};
use crate::render::{self, Frame};
use crate::site::Site;
use crate::views::query::ListState;

/// The bulk action every model has for staff who may delete.
pub(crate) const DELETE_SELECTED: &str = "delete_selected";

/// How many related rows a filter or a form's foreign key offers to choose from.
pub(crate) const RELATED_CHOICES: i64 = 200;

pub(crate) async fn list(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::View)?;
    let db = cx.db()?;
    let state = ListState::parse(entry, cx.query())?;
    let query = state.query(entry, &db).await?;
    let total = entry.ops.count(&db, &query).await?;
    let pages = ((total + entry.per_page - 1) / entry.per_page).max(1);
    let page = state.page.min(pages);
    let rows = page_rows(entry, &db, &query, total, (page - 1) * entry.per_page).await?;
    let names = related_names(&cx.site, entry, &rows, &db).await?;
    let body = rows_markup(entry, &staff, &rows, &names);
    if state.rows_only {
        return Ok(ok(body));
    }
    let filters = filters_markup(&cx.site, entry, &state, &db).await?;
    let content = html! {
        div.bar {
            @if !entry.search.is_empty() || !entry.search_related.is_empty() {
                form.grow role="search" method="get" {
                    label.visually-hidden for="q" { "Search " (entry.verbose_name_plural) }
                    input #q type="search" name="q" value=(state.search) placeholder=(format!("Search {}", entry.verbose_name_plural));
                    @for (key, value) in &state.pairs {
                        @if key != "q" && key != "p" { input type="hidden" name=(key) value=(value); }
                    }
                    " " button type="submit" { "Search" }
                }
            } @else { div.grow {} }
            span.count #result-count { (total) " " (if total == 1 { entry.verbose_name } else { entry.verbose_name_plural }) }
            @if entry.can_add && staff.may(entry, PermissionAction::Add) {
                a.button.primary href=(format!("{}add/", entry.url())) { "Add " (entry.verbose_name) }
            }
        }
        div.list-wrap {
            form #changelist method="post" action=(format!("{}action/", entry.url())) {
                (render::csrf(&staff))
                input type="hidden" name="_filters" value=(state.with(&[("p", None)]).trim_start_matches('?'));
                @let actions = bulk_actions(entry, &staff);
                @if !actions.is_empty() {
                    div.bar {
                        label for="action" { "Action" }
                        select #action name="action" {
                            @for (name, label) in &actions { option value=(name) { (label) } }
                        }
                        button type="submit" { "Run…" }
                        label { input type="checkbox" name="_select_across" value="1"; " All " (total) " matching" }
                        span.count #selected-count aria-live="polite" {}
                    }
                }
                div.panel.table-scroll {
                    table data-live=(format!("{}live/", entry.url())) {
                        caption.visually-hidden { (entry.title()) }
                        thead { tr {
                            @if !actions.is_empty() {
                                th scope="col" { input #select-all type="checkbox" aria-label="Select every row on this page"; }
                            }
                            @for field in &entry.list_display {
                                @let sorted = state.order.filter(|(f, _)| *f == field.name);
                                @let next = match sorted { Some((_, false)) => format!("-{}", field.name), _ => field.name.to_owned() };
                                th scope="col" aria-sort=[sorted.map(|(_, d)| if d { "descending" } else { "ascending" })] {
                                    @if field.kind == FieldKind::Json { (render_label(field.verbose_name)) }
                                    @else {
                                        a href=(state.with(&[("o", Some(&next))])) {
                                            (render_label(field.verbose_name))
                                            @match sorted { Some((_, true)) => " ↓", Some((_, false)) => " ↑", None => "" }
                                        }
                                    }
                                }
                            }
                            @if !entry.row_actions.is_empty() && staff.may(entry, PermissionAction::Change) {
                                th scope="col" { span.visually-hidden { "Actions" } }
                            }
                        } }
                        (body)
                    }
                    (pagination(&state, page, pages))
                }
            }
            @if !entry.filters.is_empty() { aside.panel.filters aria-label="Filters" { (filters) } }
        }
    };
    let frame = Frame::new(entry.title()).model(entry).flash(cx.take_flash());
    Ok(ok(render::layout(&cx.site, &staff, frame, content)))
}

/// The rows of the page starting at `offset`. Past the middle the page is read from the
/// other end (every sort key reversed, the primary key's tie-break with them): the last page
/// of 100,000 rows costs what the first does, not an `OFFSET` over the whole table.
async fn page_rows(
    entry: &Entry,
    db: &duet_models::Db,
    query: &ListQuery,
    total: i64,
    offset: i64,
) -> Result<Vec<Row>, AdminError> {
    if offset <= total / 2 {
        return Ok(entry
            .ops
            .list(db, &query.clone().window(entry.per_page, offset))
            .await?);
    }
    let end = (offset + entry.per_page).min(total);
    let mut reversed = query.clone().window(end - offset, total - end);
    for order in &mut reversed.ordering {
        order.descending = !order.descending;
    }
    let mut rows = entry.ops.list(db, &reversed).await?;
    rows.reverse();
    Ok(rows)
}

fn render_label(text: &str) -> String {
    crate::registry::capitalize(text)
}

/// The bulk actions `staff` may run: the model's own (change permission) and deleting.
pub(crate) fn bulk_actions(entry: &Entry, staff: &Staff) -> Vec<(&'static str, &'static str)> {
    let mut actions = Vec::new();
    if staff.may(entry, PermissionAction::Change) {
        actions.extend(entry.actions.iter().map(|a| (a.name, a.label)));
    }
    if staff.may(entry, PermissionAction::Delete) {
        actions.push((DELETE_SELECTED, "Delete selected"));
    }
    actions
}

/// The table's body: one row per record (also what the live list fetches).
fn rows_markup(entry: &Entry, staff: &Staff, rows: &[Row], names: &HashMap<&str, HashMap<i64, String>>) -> Markup {
    let selectable = !bulk_actions(entry, staff).is_empty();
    let row_actions = staff.may(entry, PermissionAction::Change) && !entry.row_actions.is_empty();
    html! {
        tbody {
            @if rows.is_empty() {
                tr { td colspan="99" { "No " (entry.verbose_name_plural) " match." } }
            }
            @for row in rows {
                tr data-pk=(row.pk) {
                    @if selectable {
                        td { input type="checkbox" name="_selected" value=(row.pk) aria-label=(format!("Select {}", entry.repr(row))); }
                    }
                    @for (i, field) in entry.list_display.iter().enumerate() {
                        @let value = row.values.get(field.name).unwrap_or(&Value::Null);
                        @let cell = match (value.as_i64(), names.get(field.name)) {
                            (Some(id), Some(known)) => html! { (known.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))) },
                            _ => render::display(field, value),
                        };
                        td data-field=(field.name) {
                            @if i == 0 { a href=(entry.row_url(row.pk)) { (cell) } } @else { (cell) }
                        }
                    }
                    @if row_actions {
                        td {
                            @for action in &entry.row_actions {
                                button type="submit" formmethod="post" formaction=(format!("{}action/{}/", entry.row_url(row.pk), action.name)) {
                                    (action.label)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn pagination(state: &ListState, page: i64, pages: i64) -> Markup {
    if pages <= 1 {
        return html! {};
    }
    let mut shown: Vec<i64> = [1, page - 2, page - 1, page, page + 1, page + 2, pages]
        .into_iter()
        .filter(|p| (1..=pages).contains(p))
        .collect();
    shown.dedup();
    let link = |p: i64| state.with(&[("p", Some(&p.to_string()))]);
    html! {
        nav.pages aria-label="Pages" {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Previous" } }
            @for (i, p) in shown.iter().enumerate() {
                @if i > 0 && shown[i - 1] + 1 < *p { span { "…" } }
                @if *p == page { span.current aria-current="page" { (p) } }
                @else { a href=(link(*p)) aria-label=(format!("Page {p}")) { (p) } }
            }
            @if page < pages { a href=(link(page + 1)) rel="next" { "Next →" } }
            span { "Page " (page) " of " (pages) }
        }
    }
}

/// For each foreign-key column whose model is registered: the names of the related rows on
/// this page (one query per column).
async fn related_names<'e>(
    site: &Site,
    entry: &'e Entry,
    rows: &[Row],
    db: &duet_models::Db,
) -> Result<HashMap<&'e str, HashMap<i64, String>>, AdminError> {
    let mut names = HashMap::new();
    for field in &entry.list_display {
        let FieldKind::ForeignKey { model, .. } = field.kind else {
            continue;
        };
        let Some(related) = site.entries.iter().find(|e| e.name == model) else {
            continue;
        };
        let ids: Vec<Value> = rows
            .iter()
            .filter_map(|r| r.values.get(field.name))
            .filter(|v| v.is_i64())
            .cloned()
            .collect();
        if ids.is_empty() {
            continue;
        }
        let query = ListQuery::new(Scope::All).filter_by(related.primary_key, Lookup::In, ids);
        let found = related.ops.list(db, &query).await?;
        names.insert(field.name, found.iter().map(|r| (r.pk, related.repr(r))).collect());
    }
    Ok(names)
}

/// Up to 200 rows of the model a foreign key points at, as (id, name), for filters and forms.
pub(crate) async fn related_choices(
    site: &Site,
    model: &str,
    db: &duet_models::Db,
) -> Result<Vec<(i64, String)>, AdminError> {
    let Some(related) = site.entries.iter().find(|e| e.name == model) else {
        return Ok(Vec::new());
    };
    let mut query = ListQuery::new(Scope::All).window(RELATED_CHOICES, 0);
    query.ordering = related.ordering.clone();
    let rows = related.ops.list(db, &query).await?;
    Ok(rows.iter().map(|r| (r.pk, related.repr(r))).collect())
}

async fn filters_markup(
    site: &Site,
    entry: &Entry,
    state: &ListState,
    db: &duet_models::Db,
) -> Result<Markup, AdminError> {
    let mut sections = Vec::new();
    for field in &entry.filters {
        let title = crate::registry::capitalize(field.verbose_name);
        let options: Vec<(String, String)> = match field.kind {
            FieldKind::Choice(choices) => choices
                .iter()
                .map(|c| (c.value.to_owned(), c.label.to_owned()))
                .collect(),
            FieldKind::Bool => vec![("true".into(), "Yes".into()), ("false".into(), "No".into())],
            FieldKind::ForeignKey { model, .. } => related_choices(site, model, db)
                .await?
                .into_iter()
                .map(|(id, name)| (id.to_string(), name))
                .collect(),
            FieldKind::Date | FieldKind::DateTime => {
                let (from, to) = (format!("{}__gte", field.name), format!("{}__lte", field.name));
                sections.push(html! {
                    form method="get" aria-labelledby=(format!("filter-{}", field.name)) {
                        h2 id=(format!("filter-{}", field.name)) { (title) }
                        @for (key, value) in &state.pairs {
                            @if key != &from && key != &to && key != "p" { input type="hidden" name=(key) value=(value); }
                        }
                        label for=(from) { "From" }
                        input #(from) type="date" name=(from) value=(state.get(&from).unwrap_or_default());
                        label for=(to) { "To" }
                        input #(to) type="date" name=(to) value=(state.get(&to).unwrap_or_default());
                        p { button type="submit" { "Apply" } }
                    }
                });
                continue;
            }
            _ => continue,
        };
        let current = state.get(field.name);
        sections.push(html! {
            h2 id=(format!("filter-{}", field.name)) { (title) }
            ul aria-labelledby=(format!("filter-{}", field.name)) {
                li { a href=(state.with(&[(field.name, None)])) aria-current=[current.is_none().then_some("true")] { "All" } }
                @for (value, label) in &options {
                    li {
                        a href=(state.with(&[(field.name, Some(value))])) aria-current=[(current == Some(value.as_str())).then_some("true")] {
                            (label)
                        }
                    }
                }
            }
        });
    }
    Ok(html! { @for section in sections { (section) } })
}
