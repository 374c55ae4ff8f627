//! What became of each request to a [`handler`](super::handler), counted in
//! `duet_webhook_deliveries_total` by provider and outcome (the `metrics` facade: recorded
//! when the app installs a recorder, as `DUET_METRICS_ADDR` does).

use crate::WebhookError;

/// A request's outcome: one label each, so the series stay few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Verified, claimed and handled: 200 `ok`.
    Accepted,
    /// Handled before: 200 `already processed`, the handler not run.
    Duplicate,
    /// Being handled by another request: 409.
    InProgress,
    /// The signature, its headers or its timestamp refused: 400 `invalid signature`.
    BadSignature,
    /// Not a delivery the endpoint reads: another method, media type, a body too large or
    /// unreadable.
    Refused,
    /// The handler failed or panicked: 500 or 503, the delivery released.
    HandlerError,
    /// The delivery could not be claimed: the database unavailable (503), failing or absent
    /// (500), or a secret misconfigured.
    Error,
}

impl Outcome {
    /// The outcome of a request the endpoint refused with `error`.
    pub(super) fn of_refusal(error: &WebhookError) -> Outcome {
        match error {
            WebhookError::MissingHeader(_)
            | WebhookError::InvalidHeader { .. }
            | WebhookError::TimestampTooOld { .. }
            | WebhookError::FutureTimestamp { .. }
            | WebhookError::InvalidSignature => Outcome::BadSignature,
            WebhookError::InvalidPayload(_)
            | WebhookError::PayloadTooLarge { .. }
            | WebhookError::UnsupportedMediaType { .. } => Outcome::Refused,
            WebhookError::InvalidSecret(_) => Outcome::Error,
        }
    }

    /// The `outcome` label.
    pub(super) fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::InProgress => "in_progress",
            Outcome::BadSignature => "bad_signature",
            Outcome::Refused => "refused",
            Outcome::HandlerError => "handler_error",
            Outcome::Error => "error",
        }
    }

    /// Counts one request to the endpoint named `provider`.
    pub(super) fn count(self, provider: &'static str) {
        metrics::counter!(
            "duet_webhook_deliveries_total",
            "provider" => provider,
            "outcome" => self.label()
        )
        .increment(1);
    }
}
