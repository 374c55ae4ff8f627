//! Slack: `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 of `v0:{timestamp}:{body}` where
//! the timestamp is the `X-Slack-Request-Timestamp` header.

use crate::generic::SignatureHeader;
use crate::hmac_sha256::{self, SignatureEncoding};
use crate::secrets::Secrets;
use crate::{
    DEFAULT_TOLERANCE, HeaderSource, Verification, WebhookError, WebhookVerifier, check_timestamp, headers, timestamp,
};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// The header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";

const SIGNATURE: SignatureHeader<'static> = SignatureHeader {
    name: SIGNATURE_HEADER,
    prefix: "v0=",
    encoding: SignatureEncoding::Hex,
};

/// Verifies Slack requests signed with the app's signing secret.
///
/// Requests whose timestamp is more than the tolerance (300 s unless set) away from `now`,
/// in either direction, are refused. Slack puts no delivery id in the headers.
///
/// ```
/// use duet_webhooks::{SlackVerifier, WebhookVerifier, slack};
///
/// let verifier = SlackVerifier::new(["8f742231b10e8888abcd99yyyzzz85a5"])?.with_tolerance(60);
/// let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J";
/// let signature = slack::sign("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body);
/// let headers = [
///     ("X-Slack-Request-Timestamp", "1531420618"),
///     ("X-Slack-Signature", signature.as_str()),
/// ];
/// assert_eq!(verifier.verify(body, &headers, 1531420618 + 59)?.timestamp, Some(1531420618));
/// assert!(verifier.verify(body, &headers, 1531420618 + 61).is_err());
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SlackVerifier {
    secrets: Secrets,
    tolerance: u64,
}

impl SlackVerifier {
    /// A verifier accepting a signature under any of `secrets` (several during a rotation).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when `secrets` is empty or holds an empty secret.
    pub fn new<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(SlackVerifier {
            secrets: Secrets::raw(secrets)?,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Accepts timestamps up to `seconds` away from `now`.
    #[must_use]
    pub fn with_tolerance(mut self, seconds: u64) -> Self {
        self.tolerance = seconds;
        self
    }
}

impl WebhookVerifier for SlackVerifier {
    fn provider(&self) -> &'static str {
        "slack"
    }

    fn verify(&self, body: &[u8], headers: &dyn HeaderSource, now: i64) -> Result<Verification, WebhookError> {
        let text = headers::required(headers, TIMESTAMP_HEADER)?;
        let signed_at =
            timestamp::parse(text).map_err(|reason| WebhookError::invalid_header(TIMESTAMP_HEADER, reason))?;
        let tag = SIGNATURE.read(headers)?;
        self.secrets.check(&signed_message(text, body), &[tag])?;
        check_timestamp(signed_at, now, self.tolerance)?;
        Ok(Verification::new(None, Some(signed_at)))
    }
}

/// The `X-Slack-Signature` value for `body` sent at `timestamp` under `secret`:
/// `v0=<hex>`. Send `timestamp` in decimal as `X-Slack-Request-Timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let tag = hmac_sha256::sign(secret.as_bytes(), &signed_message(&timestamp, body));
    format!("{}{}", SIGNATURE.prefix, SIGNATURE.encoding.encode(&tag))
}

/// What Slack signs: `v0:{timestamp}:{body}`, with the timestamp as sent.
fn signed_message<'a>(timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 4] {
    [b"v0:", timestamp.as_bytes(), b":", body]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderIssue::*;
    use crate::WebhookError::*;
    use crate::test_support::{Check, future, invalid, too_old, tweak, wrong_length};

    const BODY: &[u8] = b"token=abc&team_id=T1&text=hello";
    const T: i64 = 1_531_420_618;
    const S: &str = SIGNATURE_HEADER;
    const TS: &str = TIMESTAMP_HEADER;

    fn verifier() -> SlackVerifier {
        SlackVerifier::new(["old", "new"]).unwrap()
    }

    #[test]
    fn header_values() {
        let t = T.to_string();
        let good = sign("new", T, BODY);
        let old = sign("new", T - 301, BODY);
        let future_sig = sign("new", T + 301, BODY);
        #[rustfmt::skip]
        let cases = [
            (t.clone(), good.clone(), Ok(())),
            (t.clone(), sign("old", T, BODY), Ok(())), // the 2nd secret
            ((T - 300).to_string(), sign("new", T - 300, BODY), Ok(())),
            ((T + 300).to_string(), sign("new", T + 300, BODY), Ok(())),
            ((T - 301).to_string(), old, Err(too_old(T - 301, T))),
            ((T + 301).to_string(), future_sig, Err(future(T + 301, T))),
            ((T + 1).to_string(), good.clone(), Err(InvalidSignature)),
            (format!("0{t}"), good.clone(), Err(InvalidSignature)),
            (t.clone(), tweak(&good, 3), Err(InvalidSignature)),
            (t.clone(), sign("other", T, BODY), Err(InvalidSignature)),
            (String::new(), good.clone(), Err(invalid(TS, Empty))),
            ("15314206l8".into(), good.clone(), Err(invalid(TS, BadTimestamp))),
            ("-1".into(), good.clone(), Err(invalid(TS, BadTimestamp))),
            (t.clone(), String::new(), Err(invalid(S, Empty))),
            (t.clone(), good.replace("v0=", "v1="), Err(invalid(S, MissingPrefix("v0=".into())))),
            (t.clone(), good.replace("v0=", "v0=g"), Err(invalid(S, NotHex))),
            (t, "v0=abcd".into(), Err(invalid(S, wrong_length(2)))),
        ];
        let verifier = verifier();
        for (timestamp, signature, expected) in cases {
            let headers = [(TS, timestamp.as_str()), (S, signature.as_str())];
            let result = verifier.verify(BODY, &headers, T);
            assert_eq!(result.map(|_| ()), expected, "{headers:?}");
        }
    }

    #[test]
    fn requests() {
        let verifier = verifier();
        let check = Check::new(&verifier, T);
        let (t, good) = (T.to_string(), sign("new", T, BODY));
        let (t, good) = (t.as_str(), good.as_str());
        let verified = check.ok(BODY, &[("x-slack-signature", good), (TS, t)]);
        assert_eq!(verified, Verification::new(None, Some(T)));
        check.err(
            b"token=abc&team_id=T1&text=hellO",
            &[(TS, t), (S, good)],
            InvalidSignature,
        );
        check.err(BODY, &[(S, good)], MissingHeader(TS.into()));
        check.err(BODY, &[(TS, t)], MissingHeader(S.into()));
        check.err(BODY, &[(TS, t), (TS, t), (S, good)], invalid(TS, Duplicated));
        check.err(BODY, &[(TS, t), (S, good), (S, good)], invalid(S, Duplicated));
        assert_eq!(verifier.provider(), "slack");
    }

    #[test]
    fn tolerance_is_configurable() {
        let verifier = SlackVerifier::new(["k"]).unwrap().with_tolerance(0);
        let (t, signature) = (T.to_string(), sign("k", T, BODY));
        let headers = [(TS, t.as_str()), (S, signature.as_str())];
        Check::new(&verifier, T).ok(BODY, &headers);
        let too_old = TimestampTooOld {
            timestamp: T,
            now: T + 1,
            tolerance: 0,
        };
        Check::new(&verifier, T + 1).err(BODY, &headers, too_old);
    }
}
