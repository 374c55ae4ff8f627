//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, each `v1` the HMAC-SHA256
//! of `{t}.{body}` under the endpoint's signing secret.

use crate::hmac_sha256::{self, SignatureEncoding, Tag};
use crate::secrets::Secrets;
use crate::{
    DEFAULT_TOLERANCE, HeaderIssue, HeaderSource, MAX_SIGNATURES, Verification, WebhookError, WebhookVerifier,
    check_timestamp, headers, timestamp,
};

/// The header carrying the timestamp and signatures.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// Verifies Stripe webhooks.
///
/// The key is the signing secret's UTF-8 bytes exactly as Stripe shows it, `whsec_` prefix
/// included (it is not base64-decoded). Any `v1` signature may match; `v0` and unknown
/// schemes are ignored, and a header without any `v1` is refused.
///
/// The timestamp must lie within the tolerance (300 s unless set) of `now`. Stripe's own
/// libraries only refuse old timestamps; this one also refuses timestamps more than the
/// tolerance in the future ([`WebhookError::FutureTimestamp`]), so that a signature
/// cannot be made to live longer than the tolerance by a skewed clock.
///
/// [`Verification::delivery_id`] is `None`: Stripe's delivery id is the event's `id` in
/// the JSON body, which the caller reads after verification.
///
/// ```
/// use duet_webhooks::{StripeVerifier, WebhookVerifier, stripe};
///
/// let verifier = StripeVerifier::new(["whsec_test_secret"])?;
/// let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
/// let header = stripe::sign("whsec_test_secret", 1700000000, body);
/// let verified = verifier.verify(body, &[("Stripe-Signature", header.as_str())], 1700000030)?;
/// assert_eq!(verified.timestamp, Some(1700000000));
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StripeVerifier {
    secrets: Secrets,
    tolerance: u64,
}

impl StripeVerifier {
    /// A verifier accepting a signature under any of `secrets` (several during a rotation).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when `secrets` is empty or holds an empty secret.
    pub fn new<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(StripeVerifier {
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

impl WebhookVerifier for StripeVerifier {
    fn provider(&self) -> &'static str {
        "stripe"
    }

    fn verify(&self, body: &[u8], headers: &dyn HeaderSource, now: i64) -> Result<Verification, WebhookError> {
        let value = headers::required(headers, SIGNATURE_HEADER)?;
        let header = parse(value).map_err(|reason| WebhookError::invalid_header(SIGNATURE_HEADER, reason))?;
        let message = signed_message(header.timestamp_text, body);
        self.secrets.check(&message, &header.signatures)?;
        check_timestamp(header.timestamp, now, self.tolerance)?;
        Ok(Verification::new(None, Some(header.timestamp)))
    }
}

/// The `Stripe-Signature` value for `body` sent at `timestamp` under `secret`:
/// `t=<timestamp>,v1=<hex>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let tag = hmac_sha256::sign(secret.as_bytes(), &signed_message(&timestamp, body));
    format!("t={timestamp},v1={}", SignatureEncoding::Hex.encode(&tag))
}

/// What Stripe signs: `{t}.{body}`, with the timestamp as sent.
fn signed_message<'a>(timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 3] {
    [timestamp.as_bytes(), b".", body]
}

/// A parsed `Stripe-Signature`.
struct Header<'a> {
    /// The timestamp as sent: it is what was signed.
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<Tag>,
}

fn parse(value: &str) -> Result<Header<'_>, HeaderIssue> {
    let mut signed_at = None;
    let mut signatures = Vec::new();
    let mut others = 0;
    for entry in value.split(',') {
        let Some((key, item)) = entry.trim_ascii().split_once('=') else {
            return Err(HeaderIssue::Malformed("an entry is not `key=value`"));
        };
        match key {
            "" => return Err(HeaderIssue::Malformed("an entry has no key")),
            "t" if signed_at.is_some() => return Err(HeaderIssue::Malformed("more than one `t=`")),
            "t" => signed_at = Some((item, timestamp::parse(item)?)),
            _ => {
                others += 1;
                if others > MAX_SIGNATURES {
                    return Err(HeaderIssue::TooManySignatures { max: MAX_SIGNATURES });
                }
                if key == "v1" {
                    signatures.push(SignatureEncoding::Hex.decode_tag(item)?);
                }
            }
        }
    }
    let (timestamp_text, timestamp) = signed_at.ok_or(HeaderIssue::Malformed("no `t=` timestamp"))?;
    if signatures.is_empty() {
        return Err(HeaderIssue::NoSignature);
    }
    Ok(Header {
        timestamp_text,
        timestamp,
        signatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderIssue::*;
    use crate::WebhookError::*;
    use crate::test_support::{Check, future, invalid, too_old, tweak, wrong_length};

    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: i64 = 1_700_000_000;
    const H: &str = SIGNATURE_HEADER;

    /// The hex `v1` of `sign(secret, t, BODY)`.
    fn v1(secret: &str, t: i64) -> String {
        let header = sign(secret, t, BODY);
        header[header.find("v1=").unwrap() + 3..].to_owned()
    }

    fn verifier() -> StripeVerifier {
        StripeVerifier::new(["whsec_old", "whsec_new"]).unwrap()
    }

    #[test]
    fn header_values() {
        let good = v1("whsec_new", T);
        let by_old = v1("whsec_old", T);
        let other = v1("whsec_other", T);
        let flipped = tweak(&good, 63);
        let sixteen = format!(",v1={good}").repeat(16);
        let seventeen = format!(",v0={good}").repeat(17);
        let invalid = |issue| Err(invalid(H, issue));
        let malformed = |text| invalid(Malformed(text));
        #[rustfmt::skip]
        let cases = [
            (format!("t={T},v1={good}"), Ok(())),
            (format!("t={T},v1={by_old}"), Ok(())), // the 2nd secret
            (format!("t={T},v1={other},v1={good}"), Ok(())), // the 2nd signature
            (format!("v0={other},v1={good},t={T},scheme=x"), Ok(())), // others ignored
            (format!("t={T}, v1={good} "), Ok(())),
            (format!("t={T}{sixteen}"), Ok(())),
            (format!("t={},v1={good}", T + 1), Err(InvalidSignature)),
            (format!("t={T},v1={flipped}"), Err(InvalidSignature)),
            (format!("t={T},v1={other}"), Err(InvalidSignature)),
            (format!("t={T},v1={other},v0={good}"), Err(InvalidSignature)),
            (" ".to_owned(), invalid(Empty)),
            (format!("v1={good}"), malformed("no `t=` timestamp")),
            (format!("t={T},t={T},v1={good}"), malformed("more than one `t=`")),
            (format!("t={T},={good}"), malformed("an entry has no key")),
            (format!("t={T},v1={good},"), malformed("an entry is not `key=value`")),
            (format!("t={T};v1={good}"), invalid(BadTimestamp)),
            (format!("t=17e8,v1={good}"), invalid(BadTimestamp)),
            (format!("t=,v1={good}"), invalid(BadTimestamp)),
            (format!("t={T}"), invalid(NoSignature)),
            (format!("t={T},v0={good}"), invalid(NoSignature)),
            (format!("t={T},v1=xyz"), invalid(NotHex)),
            (format!("t={T},v1={}", good.to_uppercase()), invalid(NotHex)),
            (format!("t={T},v1={other},v1=00"), invalid(wrong_length(1))),
            (format!("t={T}{seventeen}"), invalid(TooManySignatures { max: 16 })),
        ];
        let verifier = verifier();
        for (value, expected) in cases {
            let result = verifier.verify(BODY, &[(H, value.as_str())], T);
            assert_eq!(result.map(|_| ()), expected, "{H}: {value}");
        }
    }

    #[test]
    fn timestamp_window() {
        let value = format!("t={T},v1={}", v1("whsec_new", T));
        let verifier = verifier();
        #[rustfmt::skip]
        let cases = [
            (T, Ok(Verification::new(None, Some(T)))),
            (T + 300, Ok(Verification::new(None, Some(T)))),
            (T - 300, Ok(Verification::new(None, Some(T)))),
            (T + 301, Err(too_old(T, T + 301))),
            (T - 301, Err(future(T, T - 301))),
        ];
        for (now, expected) in cases {
            assert_eq!(verifier.verify(BODY, &[(H, &value)], now), expected, "now = {now}");
        }
        let verifier = verifier.with_tolerance(0);
        assert!(verifier.verify(BODY, &[(H, &value)], T + 1).is_err());
    }

    #[test]
    fn requests() {
        let verifier = verifier();
        let check = Check::new(&verifier, T);
        let value = sign("whsec_new", T, BODY);
        let value = value.as_str();
        check.ok(BODY, &[("stripe-signature", value)]);
        check.err(br#"{"id":"evt_2","object":"event"}"#, &[(H, value)], InvalidSignature);
        check.err(b"", &[(H, value)], InvalidSignature);
        check.err(BODY, &[("Stripe-Signatures", value)], MissingHeader(H.into()));
        let twice = [(H, value), ("stripe-signature", value)];
        check.err(BODY, &twice, invalid(H, Duplicated));
        assert_eq!(verifier.provider(), "stripe");
    }

    #[test]
    fn the_key_is_the_secret_text_not_its_base64() {
        let key = b"whsec_dGVzdA==";
        let expected = hmac_sha256::sign(key, &[b"1700000000.", BODY]);
        assert_eq!(v1("whsec_dGVzdA==", T), hex::encode(expected));
    }
}
