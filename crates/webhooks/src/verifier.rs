//! The [`WebhookVerifier`] trait every scheme implements, and what it returns.

use crate::{HeaderSource, WebhookError};

/// Checks that a webhook request was signed by its provider.
///
/// Implementations are pure: they look only at the raw body, the headers and `now`, and
/// keep no state between calls, so one verifier can serve every request of an endpoint.
/// Implement it to support a provider this crate does not know; the helpers in
/// [`headers`](crate::headers), [`hmac_sha256`](crate::hmac_sha256) and
/// [`check_timestamp`](crate::check_timestamp) do the shared work.
///
/// ```
/// use duet_webhooks::{HeaderSource, Verification, WebhookError, WebhookVerifier, headers};
///
/// /// Accepts requests carrying a shared token (a scheme without signatures).
/// struct TokenVerifier(String);
///
/// impl WebhookVerifier for TokenVerifier {
///     fn provider(&self) -> &'static str {
///         "token"
///     }
///
///     fn verify(&self, _body: &[u8], headers: &dyn HeaderSource, _now: i64)
///         -> Result<Verification, WebhookError> {
///         let token = headers::required(headers, "X-Token")?;
///         // a real verifier compares secrets in constant time, e.g. with `hmac_sha256::verify`
///         if token != self.0 {
///             return Err(WebhookError::InvalidSignature);
///         }
///         Ok(Verification::new(None, None))
///     }
/// }
///
/// let verifier = TokenVerifier("t0ken".into());
/// assert!(verifier.verify(b"{}", &[("x-token", "t0ken")], 0).is_ok());
/// ```
pub trait WebhookVerifier: Send + Sync {
    /// A short name for the provider, stored with each delivery: for example `"stripe"`.
    fn provider(&self) -> &'static str;

    /// Verifies a request from its raw body (exactly the bytes received, before any
    /// parsing) and headers, at time `now` in unix seconds.
    ///
    /// # Errors
    ///
    /// [`WebhookError`] says why the request is refused.
    fn verify(&self, body: &[u8], headers: &dyn HeaderSource, now: i64) -> Result<Verification, WebhookError>;
}

/// What a successful verification learnt about the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The provider's id for this delivery, when the scheme carries one in a header
    /// (GitHub's `X-GitHub-Delivery`, Standard Webhooks' `webhook-id`). Deduplicate
    /// deliveries on it. `None` when the id lives in the body, as Stripe's event `id` does.
    pub delivery_id: Option<String>,
    /// The signed timestamp (unix seconds), for schemes that sign one.
    pub timestamp: Option<i64>,
}

impl Verification {
    /// A verification with the given delivery id and signed timestamp.
    pub fn new(delivery_id: Option<String>, timestamp: Option<i64>) -> Self {
        Verification { delivery_id, timestamp }
    }
}
