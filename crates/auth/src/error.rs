use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Why a request was refused by the authentication layer. Each variant is one status and
/// one `{"detail": …}` body, mapped once in [`ResponseError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials came with a request that needs them (401).
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// An `Authorization: Token …`/`Bearer …` header named no valid token (401).
    #[error("Invalid token.")]
    InvalidToken,
    /// The `Authorization` header named a token past its expiry (401).
    #[error("Token has expired.")]
    TokenExpired,
    /// A `read` token was used with an unsafe method (403).
    #[error("This token's scope is read: {0} needs a token with the read_write scope.")]
    ReadOnlyToken(actix_web::http::Method),
    /// A token-authenticated request asked to list, issue or revoke tokens (403): tokens
    /// are managed from a logged-in session.
    #[error("API tokens are managed from a logged-in session, not with a token.")]
    TokenManagesTokens,
    /// No such object for this user (404).
    #[error("Not found.")]
    NotFound,
    /// The user may not do this (403).
    #[error("You do not have permission to perform this action.")]
    PermissionDenied,
    /// The CSRF check failed; the reason is named (403).
    #[error("CSRF Failed: {0}")]
    Csrf(CsrfFailure),
    /// The username/password pair did not match an active user (400). Deliberately vague.
    #[error("Unable to log in with the provided credentials.")]
    InvalidCredentials,
    /// Fields that are missing or wrong, each with its messages (400, DRF's shape:
    /// `{"password": ["This password is too common."]}`).
    #[error("Invalid input.")]
    Fields(serde_json::Map<String, serde_json::Value>),
    /// Sign-up is closed (`DUET_SIGNUP=closed`) (403).
    #[error("Sign-up is closed.")]
    SignupClosed,
    /// A required field was missing or the body was unreadable (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body's content type is not one this view reads (415).
    #[error("Unsupported media type {0:?}: send application/json or application/x-www-form-urlencoded.")]
    UnsupportedMediaType(String),
    /// The database or session store could not be reached (503, `Retry-After`).
    #[error("Service temporarily unavailable.")]
    Unavailable,
    /// Too many password checks are running or waiting (503, `Retry-After`): see
    /// [`PasswordChecks`](crate::PasswordChecks).
    #[error("Too many logins are being checked right now; try again in a moment.")]
    Busy,
    /// Over a rate ([`Limiter::check`](crate::Limiter::check)): 429 with `Retry-After`, the
    /// wait in whole seconds, as DRF words it.
    #[error("Request was throttled. Expected available in {} seconds.", retry_after(*.0))]
    Throttled(std::time::Duration),
    /// The request's host is not one of the app's [`AllowedHosts`](crate::AllowedHosts) (400).
    #[error("Invalid Host header {0:?}: it is not one of the allowed hosts.")]
    DisallowedHost(String),
    /// Anything else (500); the cause is logged, not shown.
    #[error("Internal server error.")]
    Internal,
}

/// What exactly was wrong with a CSRF check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfFailure {
    /// Neither the session nor the `csrftoken` cookie holds a token yet: fetch one first
    /// (`GET /accounts/login/`).
    #[error("CSRF cookie not set.")]
    CookieNotSet,
    /// The request carried no `X-CSRFToken` header (or form field).
    #[error("CSRF token missing.")]
    TokenMissing,
    /// The token does not match the session's.
    #[error("CSRF token incorrect.")]
    TokenIncorrect,
    /// The `Origin` (or `Referer`) is another site.
    #[error("Origin checking failed - {0} does not match any trusted origins.")]
    OriginMismatch(String),
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::NotAuthenticated | AuthError::InvalidToken | AuthError::TokenExpired => StatusCode::UNAUTHORIZED,
            AuthError::PermissionDenied
            | AuthError::Csrf(_)
            | AuthError::ReadOnlyToken(_)
            | AuthError::TokenManagesTokens
            | AuthError::SignupClosed => StatusCode::FORBIDDEN,
            AuthError::NotFound => StatusCode::NOT_FOUND,
            AuthError::InvalidCredentials
            | AuthError::Fields(_)
            | AuthError::BadRequest(_)
            | AuthError::DisallowedHost(_) => StatusCode::BAD_REQUEST,
            AuthError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AuthError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Unavailable | AuthError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(
            self,
            AuthError::NotAuthenticated | AuthError::InvalidToken | AuthError::TokenExpired
        ) {
            // RFC 7235: a 401 names the scheme that would work.
            response.insert_header(("WWW-Authenticate", "Token"));
        }
        if matches!(self, AuthError::Unavailable | AuthError::Busy) {
            response.insert_header(("Retry-After", "1"));
        }
        if let AuthError::Throttled(wait) = self {
            response.insert_header(("Retry-After", retry_after(*wait).to_string()));
        }
        match self {
            AuthError::Fields(fields) => response.json(fields),
            _ => response.json(json!({ "detail": self.to_string() })),
        }
    }
}

/// A wait in whole seconds, rounded up: at least 1.
fn retry_after(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

impl From<duet_models::Error> for AuthError {
    fn from(error: duet_models::Error) -> Self {
        if error.is_unavailable() {
            tracing::warn!(%error, "authentication: database unavailable");
            AuthError::Unavailable
        } else {
            tracing::error!(%error, "authentication: database error");
            AuthError::Internal
        }
    }
}
