//! Signed timestamps: parsing, and the window around `now` in which they are accepted.

use crate::{HeaderIssue, WebhookError};

/// Parses a signed timestamp: ASCII digits only (no sign, no fraction) fitting an `i64`.
pub(crate) fn parse(text: &str) -> Result<i64, HeaderIssue> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderIssue::BadTimestamp);
    }
    text.parse().map_err(|_| HeaderIssue::BadTimestamp)
}

/// Accepts `timestamp` when it lies within `tolerance` seconds of `now`, on either side.
///
/// All times are unix seconds. A timestamp more than `tolerance` in the past is
/// [`WebhookError::TimestampTooOld`] (a replay, or a long-delayed retry); one more than
/// `tolerance` in the future is [`WebhookError::FutureTimestamp`]: the sender's or our
/// clock is off, and accepting it would let the signature be replayed for longer.
///
/// ```
/// use duet_webhooks::WebhookError::{FutureTimestamp, TimestampTooOld};
/// use duet_webhooks::check_timestamp;
///
/// assert!(check_timestamp(1_000, 1_300, 300).is_ok());
/// assert!(check_timestamp(1_300, 1_000, 300).is_ok());
/// assert!(matches!(check_timestamp(999, 1_300, 300), Err(TimestampTooOld { .. })));
/// assert!(matches!(check_timestamp(1_301, 1_000, 300), Err(FutureTimestamp { .. })));
/// ```
pub fn check_timestamp(timestamp: i64, now: i64, tolerance: u64) -> Result<(), WebhookError> {
    if timestamp.abs_diff(now) <= tolerance {
        Ok(())
    } else if timestamp < now {
        Err(WebhookError::TimestampTooOld {
            timestamp,
            now,
            tolerance,
        })
    } else {
        Err(WebhookError::FutureTimestamp {
            timestamp,
            now,
            tolerance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_plain_decimal_seconds() {
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse("9223372036854775807"), Ok(i64::MAX));
        for bad in ["", "-1", "+1", " 1", "1.5", "1e9", "0x10", "9223372036854775808", "١٢"] {
            assert_eq!(parse(bad), Err(HeaderIssue::BadTimestamp), "{bad:?}");
        }
    }

    #[test]
    fn window_is_inclusive_and_overflow_free() {
        assert_eq!(check_timestamp(0, 0, 0), Ok(()));
        assert_eq!(check_timestamp(i64::MAX, i64::MAX, 0), Ok(()));
        let too_old = WebhookError::TimestampTooOld {
            timestamp: 0,
            now: i64::MAX,
            tolerance: u64::MAX / 4,
        };
        assert_eq!(check_timestamp(0, i64::MAX, u64::MAX / 4), Err(too_old));
        let future = WebhookError::FutureTimestamp {
            timestamp: i64::MAX,
            now: i64::MIN,
            tolerance: 300,
        };
        assert_eq!(check_timestamp(i64::MAX, i64::MIN, 300), Err(future));
        assert_eq!(check_timestamp(i64::MAX, i64::MIN, u64::MAX), Ok(()));
    }
}
