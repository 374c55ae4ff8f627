//! The add and change forms: a widget per field, the model's own validation errors next to
//! the fields, read-only fields shown as text and never written, and no lost update — a
//! change form carries the row as it was opened, and its save is one UPDATE conditional on
//! the fields it writes still holding those values; when it matches nothing, the row is read
//! again to show what changed (or that it is gone).

use std::collections::HashMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use duet_models::{FieldKind, Literal, LogAction, NON_FIELD_ERRORS, PermissionAction, ValidationErrors};
use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::AdminError;
use crate::context::{Cx, Staff, page, see_other};
use crate::log::{self, Logged};
use crate::registry::{Entry, SaveError};
use crate::render::widgets::{self, FieldView};
use crate::render::{self, Frame};
use crate::site::Site;
use crate::views::list::related_choices;
use crate::views::password;

/// The hidden field holding the row as the form was opened (its JSON).
const ORIGINAL: &str = "_original";

/// What a form shows.
struct FormPage<'a> {
    entry: &'a Entry,
    /// `None` on the add form.
    row: Option<i64>,
    values: Map<String, Value>,
    errors: ValidationErrors,
    editable: bool,
    original: Option<String>,
    /// Someone else's changes since the form was opened: `{field: [then, now]}`.
    conflict: Option<Value>,
}

pub(crate) async fn add_form(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::Add)?;
    if !entry.can_add {
        return Err(AdminError::NotFound(format!(
            "{} are not added in the admin.",
            entry.title()
        )));
    }
    if entry.users {
        return password::add_form(&cx, &staff, entry).await;
    }
    let values = entry
        .fields
        .iter()
        .filter_map(|f| f.db_default.map(|d| (f.name.to_owned(), literal(d))))
        .collect();
    let form = FormPage {
        entry,
        row: None,
        values,
        errors: ValidationErrors::new(),
        editable: true,
        original: None,
        conflict: None,
    };
    render(&cx, &staff, form, StatusCode::OK).await
}

fn literal(value: Literal) -> Value {
    match value {
        Literal::Integer(n) => Value::from(n),
        Literal::Text(t) => Value::from(t),
        Literal::Bool(b) => Value::from(b),
    }
}

pub(crate) async fn add(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::Add)?;
    if !entry.can_add {
        return Err(AdminError::NotFound(format!(
            "{} are not added in the admin.",
            entry.title()
        )));
    }
    if entry.users {
        return password::add(&cx, &staff, entry).await;
    }
    let pairs = cx.form()?;
    let (input, errors) = read_form(&cx.site, entry, &pairs, true)?;
    let db = cx.db()?;
    let saved = match errors.is_empty() {
        true => entry.ops.create(&db, input.clone()).await,
        false => Err(SaveError::Invalid(errors)),
    };
    match saved {
        Ok(row) => {
            let logged = Logged {
                action: LogAction::Added,
                action_name: "",
                changes: log::whole(&row, true),
            };
            log::record(&db, &staff.user, entry, &row, logged).await?;
            cx.flash(&format!("The {} “{}” was added.", entry.verbose_name, entry.repr(&row)));
            Ok(see_other(&entry.row_url(row.pk)))
        }
        Err(SaveError::Invalid(errors)) => {
            let form = FormPage {
                entry,
                row: None,
                values: input,
                errors,
                editable: true,
                original: None,
                conflict: None,
            };
            render(&cx, &staff, form, StatusCode::BAD_REQUEST).await
        }
        Err(SaveError::Failed(error)) => Err(error.into()),
    }
}

pub(crate) async fn change_form(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::View)?;
    let pk = cx.pk()?;
    let row = entry.ops.get(&cx.db()?, pk).await?;
    let form = FormPage {
        entry,
        row: Some(pk),
        original: Some(Value::Object(row.values.clone()).to_string()),
        values: row.values,
        errors: ValidationErrors::new(),
        editable: staff.may(entry, PermissionAction::Change),
        conflict: None,
    };
    render(&cx, &staff, form, StatusCode::OK).await
}

pub(crate) async fn change(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::Change)?;
    let pk = cx.pk()?;
    let pairs = cx.form()?;
    let (input, errors) = read_form(&cx.site, entry, &pairs, false)?;
    let original = pairs.iter().find(|(k, _)| k == ORIGINAL).map(|(_, v)| v.as_str());
    let opened: Map<String, Value> = original
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| AdminError::BadRequest("The form does not say what it was opened with (_original).".into()))?;
    // The fields this form writes, as it was opened: the UPDATE's condition.
    let mut unchanged = Map::new();
    for field in entry.fields.iter().filter(|f| entry.editable(f, false)) {
        let value = opened.get(field.name).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "The form does not say what {:?} was when it was opened (_original).",
                field.name
            ))
        })?;
        unchanged.insert(field.name.to_owned(), value.clone());
    }
    let db = cx.db()?;
    let saved = match errors.is_empty() {
        true => entry.ops.update(&db, pk, &unchanged, input.clone()).await,
        false => Err(SaveError::Invalid(errors)),
    };
    match saved {
        Ok(row) => {
            let written = row.values.iter().filter(|(k, _)| unchanged.contains_key(*k));
            let changes = duet_models::diff_rows(&unchanged, &written.map(|(k, v)| (k.clone(), v.clone())).collect());
            if changes.as_object().is_some_and(|c| !c.is_empty()) {
                let logged = Logged {
                    action: LogAction::Changed,
                    action_name: "",
                    changes,
                };
                log::record(&db, &staff.user, entry, &row, logged).await?;
                cx.flash(&format!(
                    "The {} “{}” was changed.",
                    entry.verbose_name,
                    entry.repr(&row)
                ));
            } else {
                cx.flash(&format!(
                    "No fields of the {} “{}” changed.",
                    entry.verbose_name,
                    entry.repr(&row)
                ));
            }
            Ok(see_other(&entry.url()))
        }
        Err(SaveError::Invalid(errors)) => {
            let mut values = opened.clone();
            values.extend(input);
            let form = FormPage {
                entry,
                row: Some(pk),
                values,
                errors,
                editable: true,
                original: original.map(str::to_owned),
                conflict: None,
            };
            render(&cx, &staff, form, StatusCode::BAD_REQUEST).await
        }
        // No row matched the condition: read it again to tell a change from a deletion.
        Err(SaveError::Failed(duet_models::Error::NotFound)) => match entry.ops.get(&db, pk).await {
            Ok(current) => {
                tracing::info!(model = %entry.key, pk, user_id = staff.user.id, "admin save refused: changed since opened");
                let mut values = current.values.clone();
                values.extend(input);
                let form = FormPage {
                    entry,
                    row: Some(pk),
                    values,
                    errors: ValidationErrors::new(),
                    editable: true,
                    original: Some(Value::Object(current.values.clone()).to_string()),
                    conflict: Some(duet_models::diff_rows(&opened, &current.values)),
                };
                render(&cx, &staff, form, StatusCode::CONFLICT).await
            }
            Err(duet_models::Error::NotFound) => Ok(deleted_meanwhile(&cx, &staff, entry)),
            Err(other) => Err(other.into()),
        },
        Err(SaveError::Failed(error)) => Err(error.into()),
    }
}

/// The posted fields as the model's input: only the fields this form writes; any other
/// field — unknown, read-only, the owner of an existing row — is a 400 naming it.
fn read_form(
    site: &Site,
    entry: &Entry,
    pairs: &[(String, String)],
    adding: bool,
) -> Result<(Map<String, Value>, ValidationErrors), AdminError> {
    let mut posted: HashMap<&str, &str> = HashMap::new();
    for (key, value) in pairs {
        if key == ORIGINAL || key.starts_with("_save") {
            continue;
        }
        match entry.field(key) {
            Some(field) if entry.editable(field, adding) => {
                posted.insert(field.name, value);
            }
            Some(field) => {
                return Err(AdminError::BadRequest(format!(
                    "The field {:?} of {} is read-only here.",
                    field.name, entry.verbose_name_plural
                )));
            }
            None => {
                return Err(AdminError::BadRequest(format!(
                    "{} have no field {key:?}.",
                    entry.title()
                )));
            }
        }
    }
    let mut input = Map::new();
    let mut errors = ValidationErrors::new();
    for field in entry.fields.iter().filter(|f| entry.editable(f, adding)) {
        match widgets::input_value(field, posted.get(field.name).copied()) {
            Ok(Some(value)) => {
                input.insert(field.name.to_owned(), value);
            }
            Ok(None) => {}
            Err(message) => errors.add(field.name, message),
        }
    }
    if let Some(name) = entry.names_models
        && let Some(Value::String(value)) = input.get(name)
        && !site.entries.iter().any(|e| e.key == *value)
    {
        errors.add(
            name,
            format!("Select a valid choice. {value} is not one of the available choices."),
        );
    }
    Ok((input, errors))
}

fn deleted_meanwhile(cx: &Cx, staff: &Staff, entry: &Entry) -> HttpResponse {
    let content = html! {
        div.notice.error role="alert" {
            "This " (entry.verbose_name) " was deleted by someone else since you opened it. Your changes were not saved."
        }
        p { a href=(entry.url()) { "Back to the " (entry.verbose_name_plural) } }
    };
    let frame = Frame::new(format!("{} deleted", crate::registry::capitalize(entry.verbose_name))).model(entry);
    page(StatusCode::GONE, render::layout(&cx.site, staff, frame, content))
}

async fn render(cx: &Cx, staff: &Staff, form: FormPage<'_>, status: StatusCode) -> Result<HttpResponse, AdminError> {
    let entry = form.entry;
    let db = cx.db()?;
    let adding = form.row.is_none();
    let mut options = HashMap::new();
    for field in &entry.fields {
        let FieldKind::ForeignKey { model, .. } = field.kind else {
            continue;
        };
        if form.editable && entry.editable(field, adding) {
            options.insert(field.name, related_choices(&cx.site, model, &db).await?);
        } else if let (Some(id), Some(related)) = (
            form.values.get(field.name).and_then(Value::as_i64),
            cx.site.entries.iter().find(|e| e.name == model),
        ) {
            // The one row it points at, by name (it may be gone, or hidden: then its id).
            if let Ok(row) = related.ops.get(&db, id).await {
                options.insert(field.name, vec![(id, related.repr(&row))]);
            }
        }
    }
    let shown: Vec<_> = entry
        .fields
        .iter()
        .copied()
        .filter(|f| !adding || entry.editable(f, true))
        .collect();
    let mut groups: Vec<(Option<&str>, Vec<&'static duet_models::Field>)> = entry
        .fieldsets
        .iter()
        .map(|(heading, names)| {
            (
                Some(*heading),
                shown.iter().copied().filter(|f| names.contains(&f.name)).collect(),
            )
        })
        .collect();
    let grouped: Vec<&str> = entry.fieldsets.iter().flat_map(|(_, n)| n.iter().copied()).collect();
    groups.push((
        None,
        shown.iter().copied().filter(|f| !grouped.contains(&f.name)).collect(),
    ));
    let action = match form.row {
        Some(pk) => entry.row_url(pk),
        None => format!("{}add/", entry.url()),
    };
    let none: [String; 0] = [];
    let model_names: Vec<String> = cx.site.entries.iter().map(|e| e.key.clone()).collect();
    let field_markup = |field: &'static duet_models::Field| {
        widgets::field(&FieldView {
            field,
            value: form.values.get(field.name).unwrap_or(&Value::Null),
            editable: form.editable && entry.editable(field, adding),
            errors: form.errors.get(field.name).unwrap_or(&none),
            options: options.get(field.name).map(Vec::as_slice).unwrap_or_default(),
            names: if entry.names_models == Some(field.name) {
                &model_names
            } else {
                &[]
            },
        })
    };
    let content: Markup = html! {
        @if let Some(conflict) = &form.conflict {
            div.notice.warn role="alert" #conflict {
                p { strong { "Someone else changed this " (entry.verbose_name) " since you opened it." }
                    " Your changes were not saved. What changed meanwhile:" }
                (render::display_diff(&entry.fields, conflict))
                p { "The form below shows your values; save again to overwrite the other changes." }
            }
        }
        @if let Some(messages) = form.errors.get(NON_FIELD_ERRORS) {
            div.notice.error role="alert" { @for m in messages { p { (m) } } }
        } @else if !form.errors.is_empty() {
            div.notice.error role="alert" { "Please correct the errors below." }
        }
        @if !form.editable { div.notice role="note" { "You may view this " (entry.verbose_name) " but not change it." } }
        form.panel.edit method="post" action=(action) {
            (render::csrf(staff))
            @if let Some(original) = &form.original { input type="hidden" name=(ORIGINAL) value=(original); }
            @for (heading, fields) in &groups {
                @if !fields.is_empty() {
                    fieldset {
                        @if let Some(heading) = heading { legend { (heading) } }
                        @for field in fields { (field_markup(field)) }
                    }
                }
            }
            div.actions-row {
                @if form.editable { button.primary type="submit" name="_save" { "Save" } }
                @if let Some(pk) = form.row {
                    @if staff.may(entry, PermissionAction::Change) {
                        @for a in &entry.row_actions {
                            button type="submit" formaction=(format!("{}action/{}/", entry.row_url(pk), a.name)) { (a.label) }
                        }
                    }
                    @if entry.users && staff.may(entry, PermissionAction::Change) {
                        a.button href=(format!("{}password/", entry.row_url(pk))) { "Change password" }
                    }
                    a.button href=(format!("{}history/", entry.row_url(pk))) { "History" }
                    @if staff.may(entry, PermissionAction::Delete) {
                        a.button.danger.right href=(format!("{}delete/", entry.row_url(pk))) { "Delete" }
                    }
                }
            }
        }
    };
    let title = match form.row {
        Some(pk) => format!("{} #{pk}", crate::registry::capitalize(entry.verbose_name)),
        None => format!("Add {}", entry.verbose_name),
    };
    let frame = Frame::new(title).model(entry).flash(cx.take_flash());
    Ok(page(status, render::layout(&cx.site, staff, frame, content)))
}
