//! `/admin/login/` and `/admin/logout/`: the same login as `POST /accounts/login/`
//! (`duet_auth::accounts::log_in`), as an HTML form that comes back to where it was sent from.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use duet_auth::{AuthConfig, AuthError, csrf};
use maud::html;

use crate::AdminError;
use crate::context::{Cx, page, see_other};
use crate::render;

/// Where to go after logging in: a path of the admin only, never another site.
fn next_of(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.clone())
        .filter(|next| next.starts_with(crate::INDEX_PATH) && !next.starts_with("//") && !next.contains('\\'))
        .unwrap_or_else(|| crate::INDEX_PATH.to_owned())
}

fn config(cx: &Cx) -> AuthConfig {
    cx.req
        .app_data::<web::Data<AuthConfig>>()
        .map(|c| c.get_ref().clone())
        .unwrap_or_default()
}

fn login_page(
    cx: &Cx,
    next: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, AdminError> {
    let token = csrf::token(&cx.req, &cx.req.get_session())?;
    let content = html! {
        form.panel.login method="post" action=(crate::LOGIN_PATH) {
            h1 { "Log in to the admin" }
            @if let Some(error) = error { div.notice.error role="alert" { (error) } }
            input type="hidden" name="csrfmiddlewaretoken" value=(token);
            input type="hidden" name="next" value=(next);
            div.field {
                label for="username" { "Username" }
                input #username name="username" autocomplete="username" required autofocus value=(username);
            }
            div.field {
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
            }
            div.actions-row { button.primary type="submit" { "Log in" } }
        }
    };
    let mut response = page(status, render::bare("Log in", content));
    response
        .add_cookie(&csrf::cookie(&token, config(cx).secure_cookies))
        .map_err(|_| AdminError::Auth(AuthError::Internal))?;
    Ok(response)
}

/// `GET /admin/login/?next=…`
pub(crate) async fn form(cx: Cx) -> Result<HttpResponse, AdminError> {
    let next = next_of(&cx.query());
    login_page(&cx, &next, "", None, StatusCode::OK)
}

/// `POST /admin/login/`: CSRF-checked like the JSON login; wrong credentials show the form
/// again (400), success goes to `next`.
pub(crate) async fn submit(cx: Cx) -> Result<HttpResponse, AdminError> {
    let pairs = cx.form()?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let next = next_of(&pairs);
    let session = cx.req.get_session();
    let body_token = url::form_urlencoded::parse(cx.raw_body())
        .find(|(k, _)| k == csrf::CSRF_FORM_FIELD)
        .map(|(_, v)| v.into_owned());
    csrf::verify(&cx.req, &session, body_token.as_deref(), &config(&cx).trusted_origins).map_err(|failure| {
        tracing::warn!(%failure, "admin login refused: CSRF");
        AuthError::Csrf(failure)
    })?;
    let (username, password) = (value("username"), value("password"));
    let db = cx.db()?;
    match duet_auth::accounts::log_in(&cx.req, &session, &db, username, password).await {
        Ok((_, token)) => {
            let mut response = see_other(&next);
            response
                .add_cookie(&csrf::cookie(&token, config(&cx).secure_cookies))
                .map_err(|_| AdminError::Auth(AuthError::Internal))?;
            Ok(response)
        }
        Err(AuthError::InvalidCredentials) => login_page(
            &cx,
            &next,
            username,
            Some("Wrong username or password, or the account is inactive."),
            StatusCode::BAD_REQUEST,
        ),
        Err(other) => Err(other.into()),
    }
}

/// `POST /admin/logout/`: ends the login as `POST /accounts/logout/` does, then the login page.
pub(crate) async fn logout(cx: Cx) -> Result<HttpResponse, AdminError> {
    let db = cx.db()?;
    duet_auth::accounts::logout(cx.req.clone(), cx.req.get_session(), web::Data::new(db)).await?;
    Ok(see_other(crate::LOGIN_PATH))
}
