//! Users' passwords, as Django's `UserAdmin` has them: the add form asks for a username and
//! the password twice, and each user has a page that sets a new password. The password is
//! hashed with Argon2id by `User::create` and `User::set_password`; it is never stored,
//! logged or sent back, and the hash is no field of any form.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use duet_models::{LogAction, NewUser, PermissionAction, User, ValidationErrors};
use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::AdminError;
use crate::context::{Cx, Staff, page, see_other};
use crate::log::{self, Logged};
use crate::registry::{Entry, Row, capitalize};
use crate::render::{self, Frame};

const USERNAME: &str = "username";
const PASSWORD: &str = "password1";
const CONFIRMATION: &str = "password2";

/// The posted form: only the fields `names` (and the submit button); anything else is a
/// 400 naming it.
fn read<'p, const N: usize>(pairs: &'p [(String, String)], names: [&str; N]) -> Result<[&'p str; N], AdminError> {
    if let Some((key, _)) = pairs
        .iter()
        .find(|(k, _)| !names.contains(&k.as_str()) && !k.starts_with("_save"))
    {
        return Err(AdminError::BadRequest(format!("This form has no field {key:?}.")));
    }
    Ok(names.map(|name| pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())))
}

/// Django's checks: both given, and the same.
fn check_passwords(errors: &mut ValidationErrors, password: &str, confirmation: &str) {
    if password.is_empty() {
        errors.add(PASSWORD, "This field is required.");
    }
    if confirmation.is_empty() {
        errors.add(CONFIRMATION, "This field is required.");
    } else if password != confirmation {
        errors.add(CONFIRMATION, "The two password fields didn’t match.");
    }
}

/// `GET /admin/auth/user/add/`.
pub(crate) async fn add_form(cx: &Cx, staff: &Staff, entry: &Entry) -> Result<HttpResponse, AdminError> {
    Ok(add_page(cx, staff, entry, "", &ValidationErrors::new(), StatusCode::OK))
}

/// `POST /admin/auth/user/add/`: the user, then its change form for the rest.
pub(crate) async fn add(cx: &Cx, staff: &Staff, entry: &Entry) -> Result<HttpResponse, AdminError> {
    let pairs = cx.form()?;
    let [username, password, confirmation] = read(&pairs, [USERNAME, PASSWORD, CONFIRMATION])?;
    let username = username.trim();
    let mut errors = ValidationErrors::new();
    if username.is_empty() {
        errors.add(USERNAME, "This field is required.");
    } else if username.chars().count() > 150 {
        errors.add(USERNAME, "Ensure this field has no more than 150 characters.");
    }
    check_passwords(&mut errors, password, confirmation);
    if errors.is_empty() {
        let db = cx.db()?;
        let new = NewUser {
            username: username.to_owned(),
            password: password.to_owned(),
            ..NewUser::default()
        };
        match User::create(&db, new).await {
            Ok(user) => {
                let row = row(&user);
                let logged = Logged {
                    action: LogAction::Added,
                    action_name: "",
                    changes: log::whole(&row, true),
                };
                log::record(&db, &staff.user, entry, &row, logged).await?;
                cx.flash(&format!(
                    "The user “{}” was added. You may edit it further below.",
                    user.username
                ));
                return Ok(see_other(&entry.row_url(user.id)));
            }
            Err(duet_models::Error::UniqueViolation(_)) => {
                errors.add(USERNAME, "A user with that username already exists.");
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(add_page(cx, staff, entry, username, &errors, StatusCode::BAD_REQUEST))
}

fn row(user: &User) -> Row {
    Row {
        pk: user.id,
        values: duet_models::Model::to_json(user),
    }
}

fn add_page(
    cx: &Cx,
    staff: &Staff,
    entry: &Entry,
    username: &str,
    errors: &ValidationErrors,
    status: StatusCode,
) -> HttpResponse {
    let none: [String; 0] = [];
    let username_errors = errors.get(USERNAME).unwrap_or(&none);
    let content = html! {
        (error_notice(errors))
        p { "First, enter a username and password. Then you’ll be able to edit more user options." }
        form.panel.edit method="post" action=(format!("{}add/", entry.url())) {
            (render::csrf(staff))
            fieldset {
                div.field data-invalid[!username_errors.is_empty()] {
                    label for="f-username" { "Username" }
                    input #f-username type="text" name=(USERNAME) value=(username) required maxlength="150"
                        autocomplete="off" aria-describedby="f-username-errors"
                        aria-invalid=[(!username_errors.is_empty()).then_some("true")];
                    (field_errors("f-username", username_errors))
                }
                (password_fields(errors))
            }
            div.actions-row { button.primary type="submit" name="_save" { "Save" } }
        }
    };
    let frame = Frame::new(format!("Add {}", entry.verbose_name)).model(entry);
    page(status, render::layout(&cx.site, staff, frame, content))
}

/// `GET /admin/{app}/user/{pk}/password/`.
pub(crate) async fn form(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let (entry, row) = user_row(&cx, &staff).await?;
    Ok(password_page(
        &cx,
        &staff,
        entry,
        &row,
        &ValidationErrors::new(),
        StatusCode::OK,
    ))
}

/// `POST /admin/{app}/user/{pk}/password/`: sets it, logs that it changed (not what to).
pub(crate) async fn set(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let (entry, row) = user_row(&cx, &staff).await?;
    let pairs = cx.form()?;
    let [password, confirmation] = read(&pairs, [PASSWORD, CONFIRMATION])?;
    let mut errors = ValidationErrors::new();
    check_passwords(&mut errors, password, confirmation);
    if !errors.is_empty() {
        return Ok(password_page(
            &cx,
            &staff,
            entry,
            &row,
            &errors,
            StatusCode::BAD_REQUEST,
        ));
    }
    let db = cx.db()?;
    User::set_password(&db, row.pk, password).await?;
    let logged = Logged {
        action: LogAction::Action,
        action_name: "change_password",
        changes: Value::Object(Map::new()),
    };
    log::record(&db, &staff.user, entry, &row, logged).await?;
    tracing::info!(user_id = staff.user.id, target = row.pk, "admin changed a password");
    cx.flash(&format!("The password of “{}” was changed.", entry.repr(&row)));
    Ok(see_other(&entry.row_url(row.pk)))
}

/// The user this URL names, for staff who may change users; other models have no such page.
async fn user_row<'s>(cx: &'s Cx, staff: &Staff) -> Result<(&'s Entry, Row), AdminError> {
    let entry = cx.entry(staff, PermissionAction::Change)?;
    if !entry.users {
        return Err(AdminError::NotFound(format!("{} have no password.", entry.title())));
    }
    let pk = cx.pk()?;
    Ok((entry, entry.ops.get(&cx.db()?, pk).await?))
}

fn password_page(
    cx: &Cx,
    staff: &Staff,
    entry: &Entry,
    row: &Row,
    errors: &ValidationErrors,
    status: StatusCode,
) -> HttpResponse {
    let name = entry.repr(row);
    let content = html! {
        (error_notice(errors))
        p { "Enter a new password for the user " strong { (name) } "." }
        form.panel.edit method="post" action=(format!("{}password/", entry.row_url(row.pk))) {
            (render::csrf(staff))
            fieldset { (password_fields(errors)) }
            div.actions-row {
                button.primary type="submit" name="_save" { "Change password" }
                a.button href=(entry.row_url(row.pk)) { "Cancel" }
            }
        }
    };
    let frame = Frame::new(format!("Change password: {name}"))
        .model(entry)
        .crumb(capitalize(&name), entry.row_url(row.pk));
    page(status, render::layout(&cx.site, staff, frame, content))
}

/// The password and its confirmation: never filled in again, whatever was posted.
fn password_fields(errors: &ValidationErrors) -> Markup {
    let none: [String; 0] = [];
    let field = |name: &str, label: &str, help: &str| {
        let id = format!("f-{name}");
        let messages = errors.get(name).unwrap_or(&none);
        html! {
            div.field data-invalid[!messages.is_empty()] {
                label for=(id) { (label) }
                input #(id) type="password" name=(name) required autocomplete="new-password"
                    aria-describedby=(format!("{id}-help {id}-errors"))
                    aria-invalid=[(!messages.is_empty()).then_some("true")];
                div.help id=(format!("{id}-help")) { (help) }
                (field_errors(&id, messages))
            }
        }
    };
    html! {
        (field(PASSWORD, "Password", "Stored only as its Argon2id hash."))
        (field(CONFIRMATION, "Password confirmation", "Enter the same password as before, for verification."))
    }
}

fn field_errors(id: &str, messages: &[String]) -> Markup {
    html! {
        @if !messages.is_empty() {
            ul.errors id=(format!("{id}-errors")) role="alert" { @for m in messages { li { (m) } } }
        }
    }
}

fn error_notice(errors: &ValidationErrors) -> Markup {
    html! {
        @if !errors.is_empty() { div.notice.error role="alert" { "Please correct the errors below." } }
    }
}
