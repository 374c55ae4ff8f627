//! `POST /accounts/email/change/` and `POST /accounts/logout-everywhere/`.

use actix_web::{HttpRequest, HttpResponse, web};
use duet_models::{Db, TokenPurpose, User, UserToken};
use serde::{Deserialize, Serialize};

use super::signup::Outcome;
use super::{FieldErrors, Outgoing, accounts, check_new_email, end_other_logins, limits, link, mailer, posted, site};
use crate::{AuthError, Identity, current_user};

/// A new address: JSON or a form.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EmailChangeInput)]
pub(super) struct ChangeInput {
    #[serde(default)]
    email: String,
}

/// What `POST /accounts/logout-everywhere/` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LoggedOutElsewhere {
    /// What happened, for people.
    detail: &'static str,
    /// How many other sessions ended.
    ended: usize,
}

/// `POST /accounts/email/change/` with a new `email`, logged in: mails the new address a
/// link that makes it the account's (`POST /accounts/verify/`); the old address is told
/// once it is confirmed. Until then nothing changes.
#[utoipa::path(
    post,
    path = "/email/change/",
    operation_id = "accounts_email_change",
    tag = "accounts",
    security(("session" = [], "csrf" = []), ("token" = [])),
    request_body(content(
        (ChangeInput = "application/json"),
        (ChangeInput = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "A confirmation link was mailed to the new address.", body = Outcome),
        (status = 400, description = "No address, not an address, or another account's.", body = ref("#/components/schemas/Invalid")),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn change_email(req: HttpRequest, db: web::Data<Db>, body: web::Bytes) -> Result<HttpResponse, AuthError> {
    let user = current_user(&req).await?.ok_or(AuthError::NotAuthenticated)?;
    let input: ChangeInput = posted(&req, &body)?;
    limits::per_key(&req, &limits::EMAIL_CHANGE, &user.id.to_string()).await?;
    let email = User::normalise_email(&input.email);
    let mut errors = FieldErrors::default();
    if email == user.email && !email.is_empty() {
        errors.add("email", ["This is already your email address.".to_owned()]);
    } else {
        check_new_email(&db, &email, &mut errors).await?;
    }
    errors.finish()?;
    let accounts = accounts(&req);
    let token = UserToken::issue(&db, user.id, TokenPurpose::ChangeEmail, &email).await?;
    let (origin, host) = site(&req);
    let link = link(&origin, &accounts.pages.verify, &token);
    Outgoing {
        template: &accounts.emails.change_email,
        to: &email,
        username: &user.username,
        link: &link,
        email: &email,
    }
    .send(mailer(&req).as_ref(), &host);
    tracing::info!(
        user_id = user.id,
        "email change asked; confirmation mailed to the new address"
    );
    Ok(HttpResponse::Ok().json(Outcome::detail(
        "We have sent a link to the new address. Your address changes once you open it.",
    )))
}

/// `POST /accounts/logout-everywhere/`, logged in: ends every other login of the user
/// (their live sockets close, on every instance); this session stays logged in.
#[utoipa::path(
    post,
    path = "/logout-everywhere/",
    operation_id = "accounts_logout_everywhere",
    tag = "accounts",
    security(("session" = [], "csrf" = []), ("token" = [])),
    responses(
        (status = 200, description = "Every other session of the user has ended.", body = LoggedOutElsewhere),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn logout_everywhere(req: HttpRequest, db: web::Data<Db>) -> Result<HttpResponse, AuthError> {
    let user = current_user(&req).await?.ok_or(AuthError::NotAuthenticated)?;
    limits::per_key(&req, &limits::LOGOUT_EVERYWHERE, &user.id.to_string()).await?;
    let kept = match Identity::of(&req) {
        Identity::Session { session_auth_id, .. } => Some(session_auth_id),
        _ => None,
    };
    let ended = end_other_logins(&req, &db, user.id, kept.as_deref()).await?;
    Ok(HttpResponse::Ok().json(LoggedOutElsewhere {
        detail: "Every other session is logged out.",
        ended,
    }))
}
