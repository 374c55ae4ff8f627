//! Self-service accounts, under `/accounts/` beside login and logout: sign-up and address
//! confirmation ([`signup`], [`verify`]), password reset and change ([`reset_password`],
//! [`reset_password_confirm`], [`change_password`]), email change ([`change_email`]) and
//! [`logout_everywhere`]. Configured by [`Accounts`]; mails through duet-mail's `Mailer`.
//!
//! Every body is JSON or a form. The anonymous flows check CSRF in the view, as login does;
//! the logged-in ones are checked by [`authenticate`](crate::authenticate) like any unsafe
//! session request. Tokens are [`UserToken`]s: single-use, stored hashed, expiring, and all
//! revoked when the password changes. Ending other sessions ends their login rows (so every
//! session store agrees) and tells the [`LogoutListener`], which closes their live sockets.
//!
//! Rate limits ([`limits`]): every flow is counted by the app's throttle limiter, per client
//! address or per account; past its rate, 429 with `Retry-After`.

mod email;
pub mod limits;
mod password;
mod signup;

use std::time::Duration;

use actix_session::Session;
use actix_web::{HttpRequest, web};
use duet_mail::Mailer;
use duet_models::UserToken;
use serde::de::DeserializeOwned;
use serde_json::json;

pub use email::{__path_change_email, __path_logout_everywhere, change_email, logout_everywhere};
pub use password::{
    __path_change_password, __path_reset_password, __path_reset_password_confirm, change_password, reset_password,
    reset_password_confirm,
};
pub use signup::{__path_signup, __path_verify, signup, verify};

use crate::emails::{Template, Values};
use crate::{AccountEmails, AuthConfig, AuthError, LogoutListener, PasswordRules, csrf};

/// Whether anyone may make an account (`DUET_SIGNUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    /// `POST /accounts/signup/` makes accounts.
    Open,
    /// `POST /accounts/signup/` is refused (403); accounts are made by staff or `createuser`.
    Closed,
}

impl std::str::FromStr for Signup {
    type Err = String;

    fn from_str(text: &str) -> Result<Signup, String> {
        match text {
            "open" => Ok(Signup::Open),
            "closed" => Ok(Signup::Closed),
            other => Err(format!("{other:?}: use open or closed")),
        }
    }
}

/// Whether a new account works before its address is confirmed: the app's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The account cannot log in until the link mailed at sign-up is opened; opening it
    /// logs the user in.
    Required,
    /// The account is logged in at sign-up; the link only marks the address confirmed.
    Optional,
}

/// The app's pages the mailed links open, each with `?token=…` appended; they post the
/// token to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPages {
    /// Confirms an address (sign-up and email change): posts to `/accounts/verify/`.
    pub verify: String,
    /// Sets a new password: posts to `/accounts/password/reset/confirm/`.
    pub reset_password: String,
}

impl Default for AccountPages {
    fn default() -> AccountPages {
        AccountPages {
            verify: "/verify".into(),
            reset_password: "/reset-password".into(),
        }
    }
}

/// How the account flows behave. Registered as `web::Data<Accounts>` (duet does it from
/// the app and `DUET_SIGNUP`); without it, the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Accounts {
    /// Open or closed sign-up (default closed).
    pub signup: Signup,
    /// Whether a new account must confirm its address first (default required).
    pub verification: Verification,
    /// The pages the mailed links open.
    pub pages: AccountPages,
    /// The emails' words.
    pub emails: AccountEmails,
    /// What a new password must be.
    pub password_rules: PasswordRules,
    /// How long a sign-up confirmation link works (3 days).
    pub verify_max_age: Duration,
    /// How long a password reset link works (1 hour).
    pub reset_max_age: Duration,
    /// How long a new address's confirmation link works (1 day).
    pub change_email_max_age: Duration,
}

impl Default for Accounts {
    fn default() -> Accounts {
        Accounts {
            signup: Signup::Closed,
            verification: Verification::Required,
            pages: AccountPages::default(),
            emails: AccountEmails::default(),
            password_rules: PasswordRules::default(),
            verify_max_age: Duration::from_secs(3 * 24 * 60 * 60),
            reset_max_age: Duration::from_secs(60 * 60),
            change_email_max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// A body with the CSRF form field beside the view's own fields.
#[derive(serde::Deserialize)]
struct Posted<T> {
    #[serde(flatten)]
    fields: T,
    #[serde(default, rename = "csrfmiddlewaretoken")]
    csrf_token: Option<String>,
}

fn accounts(req: &HttpRequest) -> web::Data<Accounts> {
    req.app_data::<web::Data<Accounts>>()
        .cloned()
        .unwrap_or_else(|| web::Data::new(Accounts::default()))
}

fn auth_config(req: &HttpRequest) -> AuthConfig {
    req.app_data::<web::Data<AuthConfig>>()
        .map(|c| c.get_ref().clone())
        .unwrap_or_default()
}

/// The body of an anonymous flow, after the CSRF check that login makes too.
fn posted_anonymously<T: DeserializeOwned>(req: &HttpRequest, session: &Session, body: &[u8]) -> Result<T, AuthError> {
    if crate::session::is_unavailable(session) {
        return Err(AuthError::Unavailable);
    }
    let posted: Posted<T> = crate::accounts::parse_body(req, body)?;
    csrf::verify(
        req,
        session,
        posted.csrf_token.as_deref(),
        &auth_config(req).trusted_origins,
    )
    .map_err(|failure| {
        tracing::warn!(%failure, path = req.path(), "account flow refused: CSRF");
        AuthError::Csrf(failure)
    })?;
    Ok(posted.fields)
}

/// The body of a logged-in flow (the middleware has checked CSRF).
fn posted<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, AuthError> {
    let posted: Posted<T> = crate::accounts::parse_body(req, body)?;
    Ok(posted.fields)
}

/// `{field: [message]}` for one field.
fn field_error(field: &str, message: impl Into<String>) -> AuthError {
    let mut fields = serde_json::Map::new();
    fields.insert(field.to_owned(), json!([message.into()]));
    AuthError::Fields(fields)
}

/// Collects field errors; [`FieldErrors::finish`] fails when there are any.
#[derive(Default)]
struct FieldErrors(serde_json::Map<String, serde_json::Value>);

impl FieldErrors {
    fn add(&mut self, field: &str, messages: impl IntoIterator<Item = String>) {
        let messages: Vec<String> = messages.into_iter().collect();
        if !messages.is_empty() {
            let entry = self.0.entry(field.to_owned()).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.extend(messages.into_iter().map(serde_json::Value::from));
            }
        }
    }

    fn required(&mut self, field: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.add(field, ["This field is required.".to_owned()]);
            return false;
        }
        true
    }

    fn finish(self) -> Result<(), AuthError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AuthError::Fields(self.0))
        }
    }
}

/// Messages for a new address: required, valid, not another account's.
async fn check_new_email(db: &duet_models::Db, email: &str, errors: &mut FieldErrors) -> Result<(), AuthError> {
    if !errors.required("email", email) {
        return Ok(());
    }
    if email.chars().count() > 254 || !duet_mail::is_address(email) {
        errors.add("email", ["Enter a valid email address.".to_owned()]);
    } else if !duet_models::User::by_email(db, email).await?.is_empty() {
        errors.add("email", ["A user with that email already exists.".to_owned()]);
    }
    Ok(())
}

/// The request's origin, for links in emails: its scheme and its host (already checked
/// against the allowed hosts by [`authenticate`](crate::authenticate), as Django builds
/// its reset links from the request).
fn site(req: &HttpRequest) -> (String, String) {
    let info = req.connection_info();
    (format!("{}://{}", info.scheme(), info.host()), info.host().to_owned())
}

/// A mail to send: the template, the address, the values. Queued by [`Outgoing::send`],
/// never failing the request: a mail that cannot be queued is logged.
struct Outgoing<'a> {
    template: &'a Template,
    to: &'a str,
    username: &'a str,
    link: &'a str,
    email: &'a str,
}

impl Outgoing<'_> {
    fn send(&self, mailer: Option<&Mailer>, host: &str) {
        let Some(mailer) = mailer else {
            tracing::error!("account email not sent: no Mailer is registered");
            return;
        };
        let values = Values {
            username: self.username,
            link: self.link,
            email: self.email,
            site: host,
        };
        if let Err(error) = mailer.send(self.template.render(self.to, &values)) {
            tracing::warn!(%error, "account email not queued");
        }
    }
}

fn mailer(req: &HttpRequest) -> Option<Mailer> {
    req.app_data::<web::Data<Mailer>>().map(|m| m.get_ref().clone())
}

/// `{origin}{page}?token={token}`.
fn link(origin: &str, page: &str, token: &str) -> String {
    format!("{origin}{page}?token={token}")
}

/// Ends every login of `user_id` but `kept`, and tells the listener (live sockets close).
async fn end_other_logins(
    req: &HttpRequest,
    db: &duet_models::Db,
    user_id: i64,
    kept: Option<&str>,
) -> Result<usize, AuthError> {
    let ended = match kept {
        Some(kept) => duet_models::Login::end_others(db, user_id, kept).await?,
        None => duet_models::Login::end_all(db, user_id).await?,
    };
    if let Some(listener) = req.app_data::<web::Data<dyn LogoutListener>>() {
        listener.logged_out_elsewhere(user_id, kept);
    }
    tracing::info!(user_id, ended, "ended the user's other logins");
    Ok(ended)
}

/// A password changed: every mailed token dies and every other login ends.
async fn password_changed(
    req: &HttpRequest,
    db: &duet_models::Db,
    user_id: i64,
    kept: Option<&str>,
) -> Result<(), AuthError> {
    UserToken::revoke_all(db, user_id).await?;
    end_other_logins(req, db, user_id, kept).await?;
    Ok(())
}

/// The message for a refused token, on the `token` field.
fn token_refused(refused: duet_models::TokenRefused) -> AuthError {
    match refused {
        duet_models::TokenRefused::Invalid => field_error(
            "token",
            "This link is invalid or has already been used. Ask for a new one.",
        ),
        duet_models::TokenRefused::Expired => field_error("token", "This link has expired. Ask for a new one."),
    }
}
