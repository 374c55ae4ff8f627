/// Why an event failed. Its `code` and `message` reach the client in an error frame, so
/// messages are written for users; causes that are not (database errors) are logged and
/// replaced by a generic message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EventError {
    /// A stable, machine-readable code (see docs/protocol.md).
    pub code: &'static str,
    /// A message safe to show to the user.
    pub message: String,
}

impl EventError {
    /// A handler's own failure, shown as is: `EventError::msg("Out of stock")`.
    pub fn msg(message: impl Into<String>) -> EventError {
        EventError {
            code: "handler_failed",
            message: message.into(),
        }
    }

    /// The payload did not fit the handler's arguments.
    pub fn bad_payload(detail: impl std::fmt::Display) -> EventError {
        EventError {
            code: "bad_payload",
            message: format!("bad payload: {detail}"),
        }
    }

    /// The handler needs a logged-in user.
    pub fn login_required() -> EventError {
        EventError {
            code: "login_required",
            message: "You need to log in to do that.".into(),
        }
    }

    /// A dependency (database, state store) cannot be reached.
    pub fn unavailable() -> EventError {
        EventError {
            code: "unavailable",
            message: "The service is temporarily unavailable; try again.".into(),
        }
    }
}

impl From<duet_models::Error> for EventError {
    fn from(error: duet_models::Error) -> Self {
        match error {
            duet_models::Error::NotFound => EventError::msg("Not found."),
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
