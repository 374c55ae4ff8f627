//! `AdminError`: every way an admin request fails, each one status and one HTML page.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpResponse, ResponseError};
use duet_auth::AuthError;

use crate::render;

/// Why an admin request did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// Nobody is logged in: the login page, then back to `next`.
    #[error("log in to continue")]
    LoginRequired {
        /// Where to come back to.
        next: String,
    },
    /// Logged in, but not staff, or without the permission this needs.
    #[error("{0}")]
    Forbidden(String),
    /// No such model, row or page (rows the user may not see are not found either).
    #[error("{0}")]
    NotFound(String),
    /// A request no page of the admin sends: an unknown field, filter or action.
    #[error("{0}")]
    BadRequest(String),
    /// The database or the session failed.
    #[error(transparent)]
    Models(#[from] duet_models::Error),
    /// Authentication failed for a reason of its own (a session store away…).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminError::LoginRequired { .. } => StatusCode::FOUND,
            AdminError::Forbidden(_) => StatusCode::FORBIDDEN,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::Models(error) => match error {
                duet_models::Error::NotFound => StatusCode::NOT_FOUND,
                duet_models::Error::Invalid(_) | duet_models::Error::ConstraintViolation(_) => StatusCode::BAD_REQUEST,
                duet_models::Error::UniqueViolation(_) => StatusCode::CONFLICT,
                duet_models::Error::Unavailable(_)
                | duet_models::Error::ConnectionLost(_)
                | duet_models::Error::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            AdminError::Auth(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let AdminError::LoginRequired { next } = self {
            let location = format!("{}?next={}", crate::LOGIN_PATH, encode(next));
            return HttpResponse::Found().insert_header((LOCATION, location)).finish();
        }
        let message = match self {
            AdminError::Models(duet_models::Error::NotFound) => "Not found.".to_owned(),
            AdminError::Models(error) if status.is_server_error() => {
                tracing::error!(%error, "admin request failed");
                "Something went wrong on the server. Try again in a moment.".to_owned()
            }
            other => other.to_string(),
        };
        if status.is_client_error() {
            tracing::info!(%status, %message, "admin request refused");
        }
        let title = status.canonical_reason().unwrap_or("Error");
        HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(render::error_page(status.as_u16(), title, &message).into_string())
    }
}

/// `text` as one query-string value.
pub(crate) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
