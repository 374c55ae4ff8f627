//! Helpers that let the schemes' unit tests read like their specs.

use crate::{DEFAULT_TOLERANCE, HeaderIssue, HeaderSource, Verification, WebhookError};
use crate::{WebhookVerifier, hmac_sha256::TAG_LEN};

/// One verifier at one point in time; each call is one line of a scheme's spec.
pub(crate) struct Check<'v> {
    verifier: &'v dyn WebhookVerifier,
    now: i64,
}

impl<'v> Check<'v> {
    pub(crate) fn new(verifier: &'v dyn WebhookVerifier, now: i64) -> Self {
        Check { verifier, now }
    }

    /// The request passes; returns what was verified.
    #[track_caller]
    pub(crate) fn ok(&self, body: &[u8], headers: &dyn HeaderSource) -> Verification {
        match self.verifier.verify(body, headers, self.now) {
            Ok(verification) => verification,
            Err(error) => panic!("expected success, got {error:?}"),
        }
    }

    /// The request is refused with exactly `expected`.
    #[track_caller]
    pub(crate) fn err(&self, body: &[u8], headers: &dyn HeaderSource, expected: WebhookError) {
        let result = self.verifier.verify(body, headers, self.now);
        assert_eq!(result, Err(expected));
    }
}

/// [`WebhookError::InvalidHeader`] for `header`.
pub(crate) fn invalid(header: &str, reason: HeaderIssue) -> WebhookError {
    WebhookError::invalid_header(header, reason)
}

/// [`HeaderIssue::WrongLength`] of a tag decoding to `actual` bytes.
pub(crate) fn wrong_length(actual: usize) -> HeaderIssue {
    HeaderIssue::WrongLength {
        expected: TAG_LEN,
        actual,
    }
}

/// [`WebhookError::TimestampTooOld`] under the default tolerance.
pub(crate) fn too_old(timestamp: i64, now: i64) -> WebhookError {
    WebhookError::TimestampTooOld {
        timestamp,
        now,
        tolerance: DEFAULT_TOLERANCE,
    }
}

/// [`WebhookError::FutureTimestamp`] under the default tolerance.
pub(crate) fn future(timestamp: i64, now: i64) -> WebhookError {
    WebhookError::FutureTimestamp {
        timestamp,
        now,
        tolerance: DEFAULT_TOLERANCE,
    }
}

/// `text` with the ASCII character at `index` replaced by another hex digit.
pub(crate) fn tweak(text: &str, index: usize) -> String {
    let replacement = if &text[index..=index] == "0" { "1" } else { "0" };
    let mut tweaked = text.to_owned();
    tweaked.replace_range(index..=index, replacement);
    tweaked
}
