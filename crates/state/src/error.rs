use duet_models::ValidationErrors;

use crate::wire::ErrorCode;

/// Why an event failed. Its `code`, `message` and `fields` reach the client in an error
/// frame, so messages are written for users; causes that are not (database errors) are
/// logged and replaced by a generic message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EventError {
    /// A stable, machine-readable code (see docs/protocol.md).
    pub code: ErrorCode,
    /// A message safe to show to the user.
    pub message: String,
    /// Per-field validation errors (code `invalid`), in DRF's shape; usually empty.
    pub fields: ValidationErrors,
}

impl EventError {
    /// An error with `code` and a message for the user.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> EventError {
        EventError {
            code,
            message: message.into(),
            fields: ValidationErrors::new(),
        }
    }

    /// A handler's own failure, shown as is: `EventError::msg("Out of stock")`.
    pub fn msg(message: impl Into<String>) -> EventError {
        EventError::new(ErrorCode::HandlerFailed, message)
    }

    /// The input did not validate: `fields` says what is wrong with which field.
    pub fn invalid(fields: ValidationErrors) -> EventError {
        EventError {
            code: ErrorCode::Invalid,
            message: "Please correct the errors.".into(),
            fields,
        }
    }

    /// The user may not do this.
    pub fn forbidden() -> EventError {
        EventError::new(
            ErrorCode::Forbidden,
            "You do not have permission to perform this action.",
        )
    }

    /// The payload did not fit the handler's arguments.
    pub fn bad_payload(detail: impl std::fmt::Display) -> EventError {
        EventError::new(ErrorCode::BadPayload, format!("bad payload: {detail}"))
    }

    /// The handler needs a logged-in user.
    pub fn login_required() -> EventError {
        EventError::new(ErrorCode::LoginRequired, "You need to log in to do that.")
    }

    /// What the handler looked for does not exist (or is not the user's).
    pub fn not_found() -> EventError {
        EventError::new(ErrorCode::NotFound, "Not found.")
    }

    /// A dependency (database, state store) cannot be reached.
    pub fn unavailable() -> EventError {
        EventError::new(
            ErrorCode::Unavailable,
            "The service is temporarily unavailable; try again.",
        )
    }
}

impl From<ValidationErrors> for EventError {
    fn from(fields: ValidationErrors) -> Self {
        EventError::invalid(fields)
    }
}

impl From<duet_auth::AuthError> for EventError {
    fn from(error: duet_auth::AuthError) -> Self {
        match error {
            duet_auth::AuthError::NotAuthenticated => EventError::login_required(),
            duet_auth::AuthError::Unavailable => EventError::unavailable(),
            duet_auth::AuthError::PermissionDenied => EventError::forbidden(),
            other => {
                tracing::error!(error = %other, "event: authorization failed");
                EventError::msg("Something went wrong.")
            }
        }
    }
}

impl From<duet_models::Error> for EventError {
    fn from(error: duet_models::Error) -> Self {
        match error {
            duet_models::Error::NotFound => EventError::not_found(),
            duet_models::Error::Invalid(fields) => EventError::invalid(fields),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "event: database unavailable");
                EventError::unavailable()
            }
            e => {
                tracing::error!(error = %e, "event: database error");
                EventError::msg("Something went wrong.")
            }
        }
    }
}
