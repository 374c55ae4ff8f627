//! The crate's one error type.

/// Why a webhook was refused, or why a verifier could not be built.
///
/// Callers branch on the variant: everything but [`WebhookError::InvalidSecret`] describes
/// the request and maps to a 4xx answer; [`WebhookError::InvalidSecret`] is a configuration
/// mistake found when a verifier is built. The verifiers raise the header, timestamp and
/// signature variants; an HTTP integration raises [`WebhookError::PayloadTooLarge`],
/// [`WebhookError::UnsupportedMediaType`] and [`WebhookError::InvalidPayload`] around them
/// (the `actix` feature maps every variant to its answer).
///
/// When both the signature and the timestamp are wrong, the signature wins: a
/// [`WebhookError::TimestampTooOld`] or [`WebhookError::FutureTimestamp`] therefore means
/// the request *was* signed with a configured secret (a replay, or a skewed clock).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A header the scheme requires is absent.
    #[error("missing header `{0}`")]
    MissingHeader(String),
    /// A header is present but unusable; `reason` says why.
    #[error("invalid header `{header}`: {reason}")]
    InvalidHeader {
        /// The header's name, as the scheme spells it.
        header: String,
        /// What is wrong with it.
        reason: HeaderIssue,
    },
    /// The signed timestamp lies more than `tolerance` seconds before `now`.
    #[error("timestamp {timestamp} is more than {tolerance} s older than the current time {now}")]
    TimestampTooOld {
        /// The timestamp the request carries (unix seconds).
        timestamp: i64,
        /// The time of verification (unix seconds).
        now: i64,
        /// The accepted distance from `now`, in seconds.
        tolerance: u64,
    },
    /// The signed timestamp lies more than `tolerance` seconds after `now`.
    #[error("timestamp {timestamp} is more than {tolerance} s ahead of the current time {now}")]
    FutureTimestamp {
        /// The timestamp the request carries (unix seconds).
        timestamp: i64,
        /// The time of verification (unix seconds).
        now: i64,
        /// The accepted distance from `now`, in seconds.
        tolerance: u64,
    },
    /// The headers are well formed but no signature matches any configured secret.
    #[error("no signature matches the body under any configured secret")]
    InvalidSignature,
    /// The body is longer than the endpoint accepts (checked on `Content-Length` and again
    /// on the bytes received, before the signature).
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request's `Content-Type` is not one the endpoint accepts.
    #[error("unsupported media type `{received}`: send {expected}")]
    UnsupportedMediaType {
        /// The `Content-Type` received (empty when there was none).
        received: String,
        /// The accepted media types, for example `application/json`.
        expected: String,
    },
    /// The request was signed, but its body is not what the endpoint reads (not JSON, or no
    /// delivery id); the text says what is wrong.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// A configured secret is unusable (empty, missing, or not the encoding the scheme
    /// requires). Raised when a verifier is built, never by a request.
    #[error("invalid secret: {0}")]
    InvalidSecret(String),
}

/// What is wrong with a header, in [`WebhookError::InvalidHeader`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderIssue {
    /// The value is empty (or only whitespace).
    #[error("the value is empty")]
    Empty,
    /// The header appears more than once where the scheme expects it once.
    #[error("the header appears more than once")]
    Duplicated,
    /// The value is longer than [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN) bytes.
    #[error("the value is {len} bytes long, more than the limit of {max}")]
    TooLong {
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is not valid UTF-8.
    #[error("the value is not valid UTF-8")]
    NotUtf8,
    /// The value does not have the shape the scheme defines; the text says what was
    /// expected.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// The value does not start with the scheme's prefix (for example `sha256=`).
    #[error("the value does not start with `{0}`")]
    MissingPrefix(String),
    /// A timestamp is not a non-negative decimal number of seconds that fits an `i64`.
    #[error("the timestamp is not a non-negative decimal number of unix seconds")]
    BadTimestamp,
    /// A signature is not hexadecimal.
    #[error("a signature is not hexadecimal")]
    NotHex,
    /// A signature is not standard, padded base64.
    #[error("a signature is not base64")]
    NotBase64,
    /// A signature decodes to the wrong number of bytes.
    #[error("a signature is {actual} bytes long, expected {expected}")]
    WrongLength {
        /// The length HMAC-SHA256 produces (32).
        expected: usize,
        /// The decoded length.
        actual: usize,
    },
    /// The value lists more than [`MAX_SIGNATURES`](crate::MAX_SIGNATURES) signatures.
    #[error("more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// The value holds no signature of a version this crate verifies (for example a
    /// `Stripe-Signature` with only `v0=` entries).
    #[error("no signature of a supported version")]
    NoSignature,
}

impl WebhookError {
    /// Shorthand for [`WebhookError::InvalidHeader`].
    pub fn invalid_header(header: &str, reason: HeaderIssue) -> Self {
        WebhookError::InvalidHeader {
            header: header.to_owned(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_happened() {
        let cases = [
            (
                WebhookError::MissingHeader("X-Slack-Signature".into()),
                "missing header `X-Slack-Signature`",
            ),
            (
                WebhookError::invalid_header("Stripe-Signature", HeaderIssue::NoSignature),
                "invalid header `Stripe-Signature`: no signature of a supported version",
            ),
            (
                WebhookError::invalid_header("webhook-signature", HeaderIssue::TooLong { len: 9000, max: 8192 }),
                "invalid header `webhook-signature`: the value is 9000 bytes long, more than \
                 the limit of 8192",
            ),
            (
                WebhookError::TimestampTooOld {
                    timestamp: 100,
                    now: 401,
                    tolerance: 300,
                },
                "timestamp 100 is more than 300 s older than the current time 401",
            ),
            (
                WebhookError::FutureTimestamp {
                    timestamp: 701,
                    now: 400,
                    tolerance: 300,
                },
                "timestamp 701 is more than 300 s ahead of the current time 400",
            ),
            (
                WebhookError::PayloadTooLarge { limit: 1024 },
                "the body is larger than the limit of 1024 bytes",
            ),
            (
                WebhookError::UnsupportedMediaType {
                    received: "text/plain".into(),
                    expected: "application/json".into(),
                },
                "unsupported media type `text/plain`: send application/json",
            ),
            (
                WebhookError::InvalidPayload("the body is not JSON".into()),
                "invalid payload: the body is not JSON",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
