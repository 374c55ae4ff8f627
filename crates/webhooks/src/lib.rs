//! Webhook signature verification for duet: is this request really from Stripe, GitHub,
//! Slack, a Standard Webhooks (Svix) sender, or any provider that signs with HMAC-SHA256?
//!
//! The core is a pure function of the raw body bytes, the request headers, the configured
//! secret(s) and the current time, which the caller passes in as unix seconds: no HTTP
//! framework, no clock, no I/O. An HTTP integration feeds requests in through
//! [`HeaderSource`] and stores deliveries under [`Verification::delivery_id`]; the `actix`
//! feature is that integration for actix-web.
//!
//! - [`WebhookVerifier`]: the trait every scheme implements, and you implement for others.
//! - [`StripeVerifier`], [`GithubVerifier`], [`SlackVerifier`],
//!   [`StandardWebhooksVerifier`], [`GenericHmacVerifier`]: the schemes. Each holds one or
//!   more secrets (so that a secret can be rotated without downtime) and, when the scheme
//!   signs a timestamp, a tolerance ([`DEFAULT_TOLERANCE`] unless set).
//! - [`stripe::sign`], [`github::sign`], [`slack::sign`], [`standard::sign`] and
//!   [`generic::sign`]: the matching signatures, to send webhooks or to test handlers.
//! - [`WebhookError`]: why a request was refused, precisely enough to log.
//!
//! Signatures are compared in constant time ([`hmac::Mac::verify_slice`]). Header values
//! are limited to [`MAX_HEADER_LEN`] bytes and [`MAX_SIGNATURES`] signatures.
//!
//! ```
//! use duet_webhooks::{GithubVerifier, WebhookError, WebhookVerifier};
//!
//! let verifier = GithubVerifier::new(["It's a Secret to Everybody"])?;
//! let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
//! let headers = [
//!     ("X-Hub-Signature-256", signature),
//!     ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
//! ];
//! let now = 1_700_000_000; // GitHub signs no timestamp; other schemes check it
//!
//! let verified = verifier.verify(b"Hello, World!", &headers, now)?;
//! assert_eq!(verified.delivery_id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
//!
//! let tampered = verifier.verify(b"Hello, World?", &headers, now);
//! assert_eq!(tampered.unwrap_err(), WebhookError::InvalidSignature);
//! # Ok::<(), WebhookError>(())
//! ```
//!
//! | feature | what it adds |
//! |---------|--------------|
//! | `actix` | the `actix` module: verified, idempotent actix-web endpoints ([`HeaderSource`] for actix's `HeaderMap`, `WebhookEndpoint`, the `Verified` extractor and `handler`). It records deliveries in the framework's `webhook_deliveries` table, so it depends on `duet-models`. |

#[cfg(feature = "actix")]
pub mod actix;
mod error;
pub mod generic;
pub mod github;
pub mod headers;
pub mod hmac_sha256;
mod secrets;
pub mod slack;
pub mod standard;
pub mod stripe;
#[cfg(test)]
mod test_support;
mod timestamp;
mod verifier;

pub use error::{HeaderIssue, WebhookError};
pub use generic::GenericHmacVerifier;
pub use github::GithubVerifier;
pub use headers::{HeaderSource, Headers};
pub use hmac_sha256::SignatureEncoding;
pub use slack::SlackVerifier;
pub use standard::StandardWebhooksVerifier;
pub use stripe::StripeVerifier;
pub use timestamp::check_timestamp;
pub use verifier::{Verification, WebhookVerifier};

/// How far, in seconds, a signed timestamp may be from `now` unless a verifier is told
/// otherwise: five minutes, as Stripe, Slack and Standard Webhooks recommend.
pub const DEFAULT_TOLERANCE: u64 = 300;

/// The longest header value read, in bytes; longer ones are refused unread.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// The most signatures (or other entries besides the timestamp) one signature header may
/// list; more are refused.
pub const MAX_SIGNATURES: usize = 16;
