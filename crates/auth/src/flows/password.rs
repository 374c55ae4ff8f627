//! `POST /accounts/password/reset/`, `…/reset/confirm/` and `POST /accounts/password/change/`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use duet_models::{Db, TokenPurpose, User, UserToken};
use serde::Deserialize;

use super::signup::Outcome;
use super::{
    FieldErrors, Outgoing, accounts, limits, link, mailer, password_changed, posted, posted_anonymously, site,
    token_refused,
};
use crate::{AuthError, Identity, current_user};

/// A reset request: JSON, or a form carrying the CSRF token as `csrfmiddlewaretoken`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PasswordResetInput)]
pub(super) struct ResetInput {
    #[serde(default)]
    email: String,
}

/// A new password with the mailed token: JSON, or a form carrying the CSRF token as
/// `csrfmiddlewaretoken`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PasswordResetConfirmInput)]
pub(super) struct ResetConfirmInput {
    /// The `token` of the link's query string.
    #[serde(default)]
    token: String,
    #[serde(default)]
    #[schema(format = Password)]
    password: String,
}

/// A password change: JSON or a form.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PasswordChangeInput)]
pub(super) struct ChangeInput {
    #[serde(default)]
    #[schema(format = Password)]
    old_password: String,
    #[serde(default)]
    #[schema(format = Password)]
    password: String,
}

/// The one answer to a reset request, whether or not the address has an account.
const RESET_REQUESTED: &str =
    "If an account uses that address, we have sent it a link to choose a new password. It works for an hour.";

/// `POST /accounts/password/reset/` with an `email`: mails each active account with that
/// address a link to choose a new password. The answer, and the time it takes, are the
/// same whether or not such an account exists: the lookup and the mail happen after the
/// response, in the background.
#[utoipa::path(
    post,
    path = "/password/reset/",
    operation_id = "accounts_password_reset",
    tag = "accounts",
    security(("csrf" = [])),
    request_body(content(
        (ResetInput = "application/json"),
        (ResetInput = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Asked (the same answer whether or not the address has an account).", body = ref("#/components/schemas/Detail")),
        (status = 400, description = "No address, or not an address.", body = ref("#/components/schemas/Invalid")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn reset_password(
    req: HttpRequest,
    session: Session,
    db: web::Data<Db>,
    body: web::Bytes,
) -> Result<HttpResponse, AuthError> {
    let input: ResetInput = posted_anonymously(&req, &session, &body)?;
    let email = User::normalise_email(&input.email);
    let mut errors = FieldErrors::default();
    if errors.required("email", &email) && !duet_mail::is_address(&email) {
        errors.add("email", ["Enter a valid email address.".to_owned()]);
    }
    errors.finish()?;
    limits::per_address(&req, &limits::RESET).await?;
    limits::per_key(&req, &limits::RESET_EMAIL, &email).await?;
    let accounts = accounts(&req);
    let mailer = mailer(&req);
    let (origin, host) = site(&req);
    let db = db.into_inner();
    actix_web::rt::spawn(async move {
        let users = match User::by_email(&db, &email).await {
            Ok(users) => users,
            Err(error) => {
                tracing::error!(%error, "password reset: cannot look the address up");
                return;
            }
        };
        for user in users.into_iter().filter(|u| u.is_active) {
            let token = match UserToken::issue(&db, user.id, TokenPurpose::ResetPassword, &email).await {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(%error, user_id = user.id, "password reset: cannot issue a token");
                    continue;
                }
            };
            let link = link(&origin, &accounts.pages.reset_password, &token);
            Outgoing {
                template: &accounts.emails.reset_password,
                to: &email,
                username: &user.username,
                link: &link,
                email: &email,
            }
            .send(mailer.as_ref(), &host);
            tracing::info!(user_id = user.id, "password reset link mailed");
        }
    });
    Ok(HttpResponse::Ok().json(serde_json::json!({ "detail": RESET_REQUESTED })))
}

/// `POST /accounts/password/reset/confirm/` with the mailed `token` and a new `password`:
/// sets it, spends the token, revokes every other mailed token and ends every login of the
/// user (their live sockets close). Does not log in.
#[utoipa::path(
    post,
    path = "/password/reset/confirm/",
    operation_id = "accounts_password_reset_confirm",
    tag = "accounts",
    security(("csrf" = [])),
    request_body(content(
        (ResetConfirmInput = "application/json"),
        (ResetConfirmInput = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The password is set; every session of the user has ended.", body = Outcome),
        (status = 400, description = "The token is missing, invalid, already used or expired, or the password breaks a rule.", body = ref("#/components/schemas/Invalid")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn reset_password_confirm(
    req: HttpRequest,
    session: Session,
    db: web::Data<Db>,
    body: web::Bytes,
) -> Result<HttpResponse, AuthError> {
    let input: ResetConfirmInput = posted_anonymously(&req, &session, &body)?;
    limits::per_address(&req, &limits::RESET_CONFIRM).await?;
    let mut errors = FieldErrors::default();
    errors.required("token", &input.token);
    errors.required("password", &input.password);
    errors.finish()?;
    let accounts = accounts(&req);
    let purposes = [(TokenPurpose::ResetPassword, accounts.reset_max_age)];
    let (token, user) = UserToken::find(&db, input.token.trim(), &purposes)
        .await?
        .map_err(token_refused)?;
    let mut errors = FieldErrors::default();
    let attributes = [
        ("username", user.username.as_str()),
        ("email address", user.email.as_str()),
    ];
    errors.add("password", accounts.password_rules.check(&input.password, &attributes));
    errors.finish()?;
    if !token.spend(&db).await? {
        return Err(token_refused(duet_models::TokenRefused::Invalid));
    }
    User::set_password(&db, user.id, &input.password).await?;
    password_changed(&req, &db, user.id, None).await?;
    tracing::info!(user_id = user.id, "password reset");
    Ok(HttpResponse::Ok().json(Outcome::detail("Your password is set. Log in with it.")))
}

/// `POST /accounts/password/change/` with `old_password` and a new `password`, logged in:
/// sets it, revokes every mailed token and ends every other login of the user (their live
/// sockets close); this session stays logged in.
#[utoipa::path(
    post,
    path = "/password/change/",
    operation_id = "accounts_password_change",
    tag = "accounts",
    security(("session" = [], "csrf" = []), ("token" = [])),
    request_body(content(
        (ChangeInput = "application/json"),
        (ChangeInput = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The password is changed; every other session of the user has ended.", body = Outcome),
        (status = 400, description = "The old password is wrong, or the new one breaks a rule.", body = ref("#/components/schemas/Invalid")),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 503, description = "Too many password checks at once.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn change_password(req: HttpRequest, db: web::Data<Db>, body: web::Bytes) -> Result<HttpResponse, AuthError> {
    let user = current_user(&req).await?.ok_or(AuthError::NotAuthenticated)?;
    let input: ChangeInput = posted(&req, &body)?;
    limits::per_key(&req, &limits::PASSWORD_CHANGE, &user.id.to_string()).await?;
    let mut errors = FieldErrors::default();
    errors.required("old_password", &input.old_password);
    errors.required("password", &input.password);
    errors.finish()?;
    let checks = super::auth_config(&req).password_checks;
    let old_matches = checks
        .run(User::authenticate(&db, &user.username, &input.old_password))
        .await??
        .is_some();
    let mut errors = FieldErrors::default();
    if !old_matches {
        errors.add(
            "old_password",
            ["Your old password was entered incorrectly. Please enter it again.".to_owned()],
        );
    }
    let accounts = accounts(&req);
    let attributes = [
        ("username", user.username.as_str()),
        ("email address", user.email.as_str()),
    ];
    errors.add("password", accounts.password_rules.check(&input.password, &attributes));
    errors.finish()?;
    User::set_password(&db, user.id, &input.password).await?;
    let kept = match Identity::of(&req) {
        Identity::Session { session_auth_id, .. } => Some(session_auth_id),
        _ => None,
    };
    password_changed(&req, &db, user.id, kept.as_deref()).await?;
    tracing::info!(user_id = user.id, "password changed");
    Ok(HttpResponse::Ok().json(Outcome::detail(
        "Your password is changed. Every other session is logged out.",
    )))
}
