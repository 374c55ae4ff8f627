use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use duet_auth::AuthError;
use serde_json::json;

use crate::ValidationErrors;

/// Every way an API request fails, each with one status and a JSON body:
/// `{"detail": "…"}`, or for validation `{"field": ["…"], "non_field_errors": ["…"]}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 404: no such row (or not yours), no such page.
    #[error("{0}")]
    NotFound(String),
    /// 400: the input did not validate.
    #[error("invalid input")]
    Validation(ValidationErrors),
    /// 400: the request could not be understood (malformed JSON, bad query parameter).
    #[error("{0}")]
    BadRequest(String),
    /// 401/403/…: refused by authentication, CSRF or permissions.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// 405: the path exists but not for this method; `allow` lists what does.
    #[error("Method \"{method}\" not allowed.")]
    MethodNotAllowed {
        /// The refused method.
        method: String,
        /// The methods the path answers, for the `Allow` header.
        allow: Vec<String>,
    },
    /// 415: the body's content type is not JSON.
    #[error("Unsupported media type \"{0}\" in request.")]
    UnsupportedMediaType(String),
    /// 413: the body is larger than the limit.
    #[error("Request body exceeds the limit of {limit} bytes.")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 409: the write collides with existing data.
    #[error("{0}")]
    Conflict(String),
    /// 503: the database could not be reached.
    #[error("Service temporarily unavailable, try again later.")]
    Unavailable,
    /// 500: a bug or an unexpected failure; logged, never shown.
    #[error("A server error occurred.")]
    Internal,
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// 404 with DRF's wording.
    pub fn not_found() -> ApiError {
        ApiError::NotFound("Not found.".into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Auth(auth) => auth.status_code(),
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Auth(auth) => auth.error_response(),
            ApiError::Validation(errors) => HttpResponse::BadRequest().json(errors),
            ApiError::MethodNotAllowed { allow, .. } => {
                let mut response = HttpResponse::MethodNotAllowed().json(json!({ "detail": self.to_string() }));
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    response.headers_mut().insert(ALLOW, value);
                }
                response
            }
            _ => HttpResponse::build(self.status_code()).json(json!({ "detail": self.to_string() })),
        }
    }
}

impl From<duet_models::Error> for ApiError {
    fn from(error: duet_models::Error) -> Self {
        use duet_models::Error;
        match error {
            Error::NotFound => ApiError::not_found(),
            Error::Invalid(errors) => ApiError::Validation(errors),
            Error::UniqueViolation(_) => ApiError::Conflict("A row with these values already exists.".into()),
            Error::ConstraintViolation(message) => {
                tracing::info!(%message, "write refused by a constraint");
                ApiError::BadRequest("The data violates a constraint.".into())
            }
            unavailable if unavailable.is_unavailable() => {
                tracing::warn!(error = %unavailable, "database unavailable");
                ApiError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "database error");
                ApiError::Internal
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

#[cfg(test)]
mod database_errors {
    use super::ApiError;
    use actix_web::ResponseError;
    use duet_models::Error;

    #[test]
    fn a_database_away_or_a_lost_connection_is_503() {
        for (error, status) in [
            (Error::Unavailable("refused".into()), 503),
            (
                Error::ConnectionLost("terminating connection due to administrator command".into()),
                503,
            ),
            (Error::NotFound, 404),
            (Error::UniqueViolation("users_username_key".into()), 409),
            (Error::Migration("broken".into()), 500),
        ] {
            let name = format!("{error:?}");
            assert_eq!(ApiError::from(error).status_code().as_u16(), status, "{name}");
        }
    }
}
