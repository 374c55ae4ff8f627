//! `POST /accounts/signup/` and `POST /accounts/verify/`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use duet_models::{Db, Model, NewUser, TokenPurpose, User, UserToken};
use serde::{Deserialize, Serialize};

use super::{
    FieldErrors, Outgoing, Signup, Verification, accounts, check_new_email, limits, link, mailer, posted_anonymously,
    site, token_refused,
};
use crate::{AuthError, csrf, current_user};

/// A sign-up: JSON, or a form carrying the CSRF token as `csrfmiddlewaretoken`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SignupInput)]
pub(super) struct SignupInput {
    /// 1–150 letters, digits and `@.+-_`.
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    #[schema(format = Password)]
    password: String,
}

/// A mailed token: JSON, or a form carrying the CSRF token as `csrfmiddlewaretoken`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TokenInput)]
pub(super) struct TokenInput {
    /// The `token` of the link's query string.
    #[serde(default)]
    token: String,
}

/// What a flow answers: what happened, and the user when one is now logged in.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AccountOutcome)]
pub(super) struct Outcome {
    /// What happened, for people.
    detail: &'static str,
    /// The logged-in user, when the flow logged one in (or confirmed the new address of the
    /// user logged in on this session).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = user_schema)]
    user: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Outcome {
    /// What happened, nobody logged in.
    pub(super) fn detail(detail: &'static str) -> Outcome {
        Outcome { detail, user: None }
    }
}

fn user_schema() -> utoipa::openapi::Ref {
    utoipa::openapi::Ref::from_schema_name("User")
}

/// Django's username rule: letters, digits and `@.+-_`.
fn username_problems(username: &str) -> Vec<String> {
    if username.chars().count() > 150 {
        return vec!["Ensure this field has no more than 150 characters.".into()];
    }
    if !username.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
        return vec![
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.".into(),
        ];
    }
    Vec::new()
}

/// `POST /accounts/signup/`: makes an account when sign-up is open (`DUET_SIGNUP=open`)
/// and mails a link to confirm its address. With [`Verification::Required`] the account
/// can log in once the link is opened; otherwise it is logged in at once.
#[utoipa::path(
    post,
    path = "/signup/",
    operation_id = "accounts_signup",
    tag = "accounts",
    security(("csrf" = [])),
    request_body(content(
        (SignupInput = "application/json"),
        (SignupInput = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "The account exists; a confirmation link was mailed (and the user is logged in when the address need not be confirmed first).", body = Outcome),
        (status = 400, description = "Field errors: a taken username or address, a password that breaks a rule.", body = ref("#/components/schemas/Invalid")),
        (status = 403, description = "Sign-up is closed, or the CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn signup(
    req: HttpRequest,
    session: Session,
    db: web::Data<Db>,
    body: web::Bytes,
) -> Result<HttpResponse, AuthError> {
    let input: SignupInput = posted_anonymously(&req, &session, &body)?;
    let accounts = accounts(&req);
    if accounts.signup == Signup::Closed {
        return Err(AuthError::SignupClosed);
    }
    limits::per_address(&req, &limits::SIGNUP).await?;
    let username = input.username.trim().to_owned();
    let email = User::normalise_email(&input.email);
    let mut errors = FieldErrors::default();
    if errors.required("username", &username) {
        errors.add("username", username_problems(&username));
        if errors.0.is_empty() && User::by_username(&db, &username).await.is_ok() {
            errors.add("username", ["A user with that username already exists.".to_owned()]);
        }
    }
    check_new_email(&db, &email, &mut errors).await?;
    let attributes = [("username", username.as_str()), ("email address", email.as_str())];
    errors.add("password", accounts.password_rules.check(&input.password, &attributes));
    errors.finish()?;
    let required = accounts.verification == Verification::Required;
    let new = NewUser {
        username: username.clone(),
        email: email.clone(),
        password: input.password,
        is_active: !required,
        ..NewUser::default()
    };
    let user = User::create(&db, new).await.map_err(|error| match error {
        duet_models::Error::UniqueViolation(_) => {
            super::field_error("username", "A user with that username already exists.")
        }
        other => other.into(),
    })?;
    let token = UserToken::issue(&db, user.id, TokenPurpose::Verify, &email).await?;
    let (origin, host) = site(&req);
    let link = link(&origin, &accounts.pages.verify, &token);
    Outgoing {
        template: &accounts.emails.verify,
        to: &email,
        username: &username,
        link: &link,
        email: &email,
    }
    .send(mailer(&req).as_ref(), &host);
    tracing::info!(user_id = user.id, verification = ?accounts.verification, "signed up");
    if required {
        return Ok(HttpResponse::Created().json(Outcome {
            detail: "Check your email: open the link we sent to confirm your address, then you are logged in.",
            user: None,
        }));
    }
    let token = log_in_as(&req, &session, &db, &user).await?;
    Ok(HttpResponse::Created()
        .cookie(csrf::cookie(&token, super::auth_config(&req).secure_cookies))
        .json(Outcome {
            detail: "Welcome! We have sent you a link to confirm your address.",
            user: Some(user.to_json()),
        }))
}

/// `POST /accounts/verify/` with a mailed `token`: confirms the address of a sign-up (and
/// logs the user in) or of an email change (the new address replaces the old, which is
/// told).
#[utoipa::path(
    post,
    path = "/verify/",
    operation_id = "accounts_verify",
    tag = "accounts",
    security(("csrf" = [])),
    request_body(content(
        (TokenInput = "application/json"),
        (TokenInput = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The address is confirmed; after a sign-up the user is logged in (`user`). After an email change, `user` is there when this session is the user's.", body = Outcome),
        (status = 400, description = "The token is missing, invalid, already used or expired (`{\"token\": [...]}`), or the new address was taken meanwhile.", body = ref("#/components/schemas/Invalid")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many requests: see `Retry-After`.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn verify(
    req: HttpRequest,
    session: Session,
    db: web::Data<Db>,
    body: web::Bytes,
) -> Result<HttpResponse, AuthError> {
    let input: TokenInput = posted_anonymously(&req, &session, &body)?;
    limits::per_address(&req, &limits::VERIFY).await?;
    let mut errors = FieldErrors::default();
    errors.required("token", &input.token);
    errors.finish()?;
    let accounts = accounts(&req);
    let purposes = [
        (TokenPurpose::Verify, accounts.verify_max_age),
        (TokenPurpose::ChangeEmail, accounts.change_email_max_age),
    ];
    let (token, user) = UserToken::find(&db, input.token.trim(), &purposes)
        .await?
        .map_err(token_refused)?;
    // A confirmation is for the address it was sent to: once that changed, it is stale.
    let stale = token.purpose == TokenPurpose::Verify && token.sent_to != user.email;
    if stale || !token.spend(&db).await? {
        return Err(token_refused(duet_models::TokenRefused::Invalid));
    }
    if token.purpose == TokenPurpose::ChangeEmail {
        let taken = User::by_email(&db, &token.sent_to)
            .await?
            .iter()
            .any(|u| u.id != user.id);
        if taken {
            return Err(super::field_error(
                "token",
                "That address is now used by another account.",
            ));
        }
        User::set_email(&db, user.id, &token.sent_to, true).await?;
        let (_, host) = site(&req);
        if !user.email.is_empty() {
            Outgoing {
                template: &accounts.emails.email_changed,
                to: &user.email,
                username: &user.username,
                link: "",
                email: &token.sent_to,
            }
            .send(mailer(&req).as_ref(), &host);
        }
        tracing::info!(user_id = user.id, "email changed");
        // Opened where the user is logged in: their page shows the new address at once.
        let theirs = current_user(&req).await?.is_some_and(|me| me.id == user.id);
        let user = if theirs {
            Some(User::by_id(&db, user.id).await?.to_json())
        } else {
            None
        };
        return Ok(HttpResponse::Ok().json(Outcome {
            detail: "Your new email address is confirmed.",
            user,
        }));
    }
    User::set_email(&db, user.id, &user.email, true).await?;
    if !user.is_active && accounts.verification == Verification::Required {
        User::set_active(&db, user.id, true).await?;
    }
    let user = User::by_id(&db, user.id).await?;
    if !user.is_active {
        // Deactivated by staff since: confirmed, but not logged in.
        return Ok(HttpResponse::Ok().json(Outcome {
            detail: "Your email address is confirmed.",
            user: None,
        }));
    }
    let csrf_token = log_in_as(&req, &session, &db, &user).await?;
    tracing::info!(user_id = user.id, "email verified");
    Ok(HttpResponse::Ok()
        .cookie(csrf::cookie(&csrf_token, super::auth_config(&req).secure_cookies))
        .json(Outcome {
            detail: "Your email address is confirmed; you are logged in.",
            user: Some(user.to_json()),
        }))
}

/// Logs `user` in on `session` after a mailed link proved who they are (no password
/// check); returns the new CSRF token.
async fn log_in_as(req: &HttpRequest, session: &Session, db: &Db, user: &User) -> Result<String, AuthError> {
    let max_age = super::auth_config(req).login_max_age;
    let login_id = duet_models::Login::start(db, user.id, max_age).await?;
    crate::accounts::start_session(session, user.id, &login_id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn usernames() {
        assert!(super::username_problems("ada.lovelace+shop@x").is_empty());
        assert_eq!(super::username_problems("ada lovelace").len(), 1);
        assert_eq!(super::username_problems(&"a".repeat(151)).len(), 1);
    }
}
