//! [`HandlerError`]: why a webhook handler did not do its work.

use std::any::Any;
use std::fmt;

/// What a webhook handler returns: `Ok(())` once the event is handled.
pub type WebhookResult = Result<(), HandlerError>;

/// A webhook handler's failure. The delivery is released, the sender is answered 500
/// `{"detail":"handler failed"}` (503 when [`HandlerError::is_unavailable`]) and the message
/// is logged, never sent; the sender's retry runs the handler again.
///
/// `?` converts any [`std::error::Error`] into one; a [`duet_models::Error`] that says the
/// database is unavailable makes an unavailable one. For other values use
/// [`HandlerError::new`], e.g. `.map_err(HandlerError::new)` on an `anyhow::Error`.
///
/// ```
/// use duet_webhooks::actix::{HandlerError, WebhookResult};
///
/// fn check(amount: &str) -> WebhookResult {
///     let cents: i64 = amount.parse()?; // a ParseIntError
///     if cents < 0 {
///         return Err(HandlerError::new(format!("negative amount {cents}")));
///     }
///     Ok(())
/// }
/// assert_eq!(check("x").unwrap_err().to_string(), "invalid digit found in string");
/// assert!(!check("-1").unwrap_err().is_unavailable());
/// ```
pub struct HandlerError {
    message: String,
    unavailable: bool,
}

impl HandlerError {
    /// A failure described by `message`.
    pub fn new(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            unavailable: false,
        }
    }

    /// A failure because something the handler needs is unavailable for now: answered 503.
    pub fn unavailable(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            unavailable: true,
        }
    }

    /// True when the failure is temporary unavailability (answered 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl<E: std::error::Error + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        let unavailable = (&error as &dyn Any)
            .downcast_ref::<duet_models::Error>()
            .is_some_and(duet_models::Error::is_unavailable);
        HandlerError {
            message: error.to_string(),
            unavailable,
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("message", &self.message)
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        let down = HandlerError::from(duet_models::Error::Unavailable("refused".into()));
        assert!(down.is_unavailable());
        assert_eq!(down.to_string(), "database unavailable: refused");
        let missing = HandlerError::from(duet_models::Error::NotFound);
        assert!(!missing.is_unavailable());
        let io = HandlerError::from(std::io::Error::other("disk full"));
        assert_eq!(io.to_string(), "disk full");
        assert!(HandlerError::unavailable("broker down").is_unavailable());
        assert_eq!(
            format!("{:?}", HandlerError::new("x")),
            r#"HandlerError { message: "x", unavailable: false }"#
        );
    }
}
