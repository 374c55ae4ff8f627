//! [Standard Webhooks](https://www.standardwebhooks.com/) (and Svix, which it comes from):
//! `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64> [v1,<base64> …]`,
//! each `v1` the HMAC-SHA256 of `{id}.{timestamp}.{body}`.
//!
//! Svix's branded `svix-id`, `svix-timestamp` and `svix-signature` headers are read when no
//! `webhook-id` is present.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::hmac_sha256::{self, SignatureEncoding, Tag};
use crate::secrets::Secrets;
use crate::{
    DEFAULT_TOLERANCE, HeaderIssue, HeaderSource, MAX_SIGNATURES, Verification, WebhookError, WebhookVerifier,
    check_timestamp, headers, timestamp,
};

/// The header carrying the message id, which is also the delivery id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The prefix of a secret as providers display it; it is not part of the key.
pub const SECRET_PREFIX: &str = "whsec_";

/// One naming of the three headers.
struct Names {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const STANDARD: Names = Names {
    id: ID_HEADER,
    timestamp: TIMESTAMP_HEADER,
    signature: SIGNATURE_HEADER,
};

const SVIX: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// Verifies Standard Webhooks (and Svix) messages.
///
/// Secrets are `whsec_` followed by the base64 of the key (the prefix is optional). The
/// timestamp must lie within the tolerance (300 s unless set) of `now`, in either
/// direction. The delivery id is the `webhook-id`.
///
/// ```
/// use duet_webhooks::{StandardWebhooksVerifier, WebhookVerifier, standard};
///
/// let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
/// let verifier = StandardWebhooksVerifier::new([secret])?.with_provider("acme");
/// let body = br#"{"type":"invoice.paid"}"#;
/// let signature = standard::sign(secret, "msg_1", 1649367553, body)?;
/// let headers = [
///     ("webhook-id", "msg_1"),
///     ("webhook-timestamp", "1649367553"),
///     ("webhook-signature", signature.as_str()),
/// ];
/// let verified = verifier.verify(body, &headers, 1649367553)?;
/// assert_eq!(verified.delivery_id.as_deref(), Some("msg_1"));
/// assert_eq!(verifier.provider(), "acme");
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StandardWebhooksVerifier {
    provider: &'static str,
    secrets: Secrets,
    tolerance: u64,
}

impl StandardWebhooksVerifier {
    /// A verifier accepting a signature under any of `secrets` (several during a rotation).
    /// Its provider name is `"standard-webhooks"` until [`Self::with_provider`].
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when `secrets` is empty, or one is not base64 after
    /// the optional `whsec_` prefix, or decodes to no bytes.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        let keys = secrets
            .into_iter()
            .enumerate()
            .map(|(index, secret)| decode_secret(secret.as_ref(), index))
            .collect::<Result<_, _>>()?;
        Ok(StandardWebhooksVerifier {
            provider: "standard-webhooks",
            secrets: Secrets::new(keys)?,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Accepts timestamps up to `seconds` away from `now`.
    #[must_use]
    pub fn with_tolerance(mut self, seconds: u64) -> Self {
        self.tolerance = seconds;
        self
    }

    /// Names the provider (for example `"clerk"`), since many send Standard Webhooks and
    /// their message ids only need to be unique per provider.
    #[must_use]
    pub fn with_provider(mut self, provider: &'static str) -> Self {
        self.provider = provider;
        self
    }
}

impl WebhookVerifier for StandardWebhooksVerifier {
    fn provider(&self) -> &'static str {
        self.provider
    }

    fn verify(&self, body: &[u8], headers: &dyn HeaderSource, now: i64) -> Result<Verification, WebhookError> {
        let svix = headers.get_all(STANDARD.id).is_empty() && !headers.get_all(SVIX.id).is_empty();
        let names = if svix { &SVIX } else { &STANDARD };
        let id = headers::required(headers, names.id)?;
        let text = headers::required(headers, names.timestamp)?;
        let signed_at =
            timestamp::parse(text).map_err(|reason| WebhookError::invalid_header(names.timestamp, reason))?;
        let signatures = parse_signatures(headers::required(headers, names.signature)?)
            .map_err(|reason| WebhookError::invalid_header(names.signature, reason))?;
        self.secrets.check(&signed_message(id, text, body), &signatures)?;
        check_timestamp(signed_at, now, self.tolerance)?;
        Ok(Verification::new(Some(id.to_owned()), Some(signed_at)))
    }
}

/// The `webhook-signature` value for message `id` with `body`, sent at `timestamp` under
/// `secret`: `v1,<base64>`.
///
/// # Errors
///
/// [`WebhookError::InvalidSecret`] when `secret` is not a valid Standard Webhooks secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    let key = decode_secret(secret, 0)?;
    let timestamp = timestamp.to_string();
    let tag = hmac_sha256::sign(&key, &signed_message(id, &timestamp, body));
    Ok(format!("v1,{}", SignatureEncoding::Base64.encode(&tag)))
}

/// What is signed: `{id}.{timestamp}.{body}`, with the timestamp as sent.
fn signed_message<'a>(id: &'a str, timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
}

/// The key of `secret` (the `index`-th configured, for the error message).
fn decode_secret(secret: &str, index: usize) -> Result<Vec<u8>, WebhookError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = BASE64
        .decode(encoded)
        .map_err(|_| WebhookError::InvalidSecret(format!("secret #{index} is not base64 after `whsec_`")))?;
    if key.is_empty() {
        return Err(WebhookError::InvalidSecret(format!("secret #{index} is empty")));
    }
    Ok(key)
}

/// The `v1` tags of a space-separated list of `version,signature`; other versions are
/// skipped (`v1a` is asymmetric, not verified here).
fn parse_signatures(value: &str) -> Result<Vec<Tag>, HeaderIssue> {
    let mut tags = Vec::new();
    for (count, entry) in value.split_ascii_whitespace().enumerate() {
        if count == MAX_SIGNATURES {
            return Err(HeaderIssue::TooManySignatures { max: MAX_SIGNATURES });
        }
        let Some((version, signature)) = entry.split_once(',') else {
            return Err(HeaderIssue::Malformed("an entry is not `version,signature`"));
        };
        if version == "v1" {
            tags.push(SignatureEncoding::Base64.decode_tag(signature)?);
        }
    }
    if tags.is_empty() {
        return Err(HeaderIssue::NoSignature);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderIssue::*;
    use crate::WebhookError::*;
    use crate::test_support::{Check, future, invalid, too_old, tweak, wrong_length};

    const OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NEW: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const OTHER: &str = "whsec_c2VjcmV0";
    const BODY: &[u8] = br#"{"type":"ping"}"#;
    const ID: &str = "msg_1";
    const T: i64 = 1_649_367_553;
    const I: &str = ID_HEADER;
    const TS: &str = TIMESTAMP_HEADER;
    const S: &str = SIGNATURE_HEADER;

    fn v1(secret: &str, id: &str, t: i64) -> String {
        sign(secret, id, t, BODY).unwrap()
    }

    fn verifier() -> StandardWebhooksVerifier {
        StandardWebhooksVerifier::new([OLD, NEW]).unwrap()
    }

    #[test]
    fn header_values() {
        let t = T.to_string();
        let good = v1(NEW, ID, T);
        let other = v1(OTHER, ID, T);
        let ok = Ok(Verification::new(Some(ID.into()), Some(T)));
        let sixteen = vec![good.as_str(); 16].join(" ");
        let seventeen = vec![good.as_str(); 17].join(" ");
        let malformed = Malformed("an entry is not `version,signature`");
        #[rustfmt::skip]
        let cases = [
            (ID, t.clone(), good.clone(), ok.clone()),
            (ID, t.clone(), v1(OLD, ID, T), ok.clone()), // the 2nd secret
            (ID, t.clone(), format!("{other} {good}"), ok.clone()), // the 2nd signature
            (ID, t.clone(), format!("v1a,AAAA v2,x  {good}"), ok.clone()), // others ignored
            (ID, t.clone(), sixteen, ok),
            (ID, (T - 301).to_string(), v1(NEW, ID, T - 301), Err(too_old(T - 301, T))),
            (ID, (T + 301).to_string(), v1(NEW, ID, T + 301), Err(future(T + 301, T))),
            ("msg_2", t.clone(), good.clone(), Err(InvalidSignature)),
            (ID, (T + 1).to_string(), good.clone(), Err(InvalidSignature)),
            (ID, t.clone(), tweak(&good, 5), Err(InvalidSignature)),
            (ID, t.clone(), other, Err(InvalidSignature)),
            ("", t.clone(), good.clone(), Err(invalid(I, Empty))),
            (ID, String::new(), good.clone(), Err(invalid(TS, Empty))),
            (ID, "1649367553.0".into(), good.clone(), Err(invalid(TS, BadTimestamp))),
            (ID, t.clone(), " ".into(), Err(invalid(S, Empty))),
            (ID, t.clone(), good.replace(',', "="), Err(invalid(S, malformed))),
            (ID, t.clone(), "v1a,AAAA v2,x".into(), Err(invalid(S, NoSignature))),
            (ID, t.clone(), "v1,not*base64".into(), Err(invalid(S, NotBase64))),
            (ID, t.clone(), format!("{good} v1,AAAA"), Err(invalid(S, wrong_length(3)))),
            (ID, t, seventeen, Err(invalid(S, TooManySignatures { max: 16 }))),
        ];
        let verifier = verifier();
        for (id, timestamp, signature, expected) in cases {
            let headers = [(I, id), (TS, timestamp.as_str()), (S, signature.as_str())];
            assert_eq!(verifier.verify(BODY, &headers, T), expected, "{headers:?}");
        }
    }

    #[test]
    fn requests() {
        let verifier = verifier();
        let check = Check::new(&verifier, T);
        let (t, good) = (T.to_string(), v1(NEW, ID, T));
        let (t, good) = (t.as_str(), good.as_str());
        check.ok(
            BODY,
            &[
                ("Webhook-Id", ID),
                ("Webhook-Timestamp", t),
                ("Webhook-Signature", good),
            ],
        );
        check.ok(
            BODY,
            &[("svix-id", ID), ("svix-timestamp", t), ("svix-signature", good)],
        );
        check.err(br#"{"type":"pong"}"#, &[(I, ID), (TS, t), (S, good)], InvalidSignature);
        check.err(BODY, &[(TS, t), (S, good)], MissingHeader(I.into()));
        check.err(BODY, &[(I, ID), (S, good)], MissingHeader(TS.into()));
        check.err(BODY, &[(I, ID), (TS, t)], MissingHeader(S.into()));
        let svix_timestamp = MissingHeader("svix-timestamp".into());
        check.err(BODY, &[("svix-id", ID), (TS, t), (S, good)], svix_timestamp);
        check.err(BODY, &[(I, ID), (I, ID), (TS, t), (S, good)], invalid(I, Duplicated));
        assert_eq!(verifier.provider(), "standard-webhooks");
        assert_eq!(verifier.with_provider("clerk").provider(), "clerk");
    }

    #[test]
    fn secrets_are_base64_after_the_optional_prefix() {
        let unprefixed = NEW.trim_start_matches(SECRET_PREFIX);
        assert_eq!(sign(unprefixed, ID, T, BODY), sign(NEW, ID, T, BODY));
        let not_base64 = InvalidSecret("secret #1 is not base64 after `whsec_`".into());
        assert_eq!(
            StandardWebhooksVerifier::new([NEW, "whsec_%%%"]).unwrap_err(),
            not_base64
        );
        let empty = InvalidSecret("secret #0 is empty".into());
        assert_eq!(StandardWebhooksVerifier::new(["whsec_"]).unwrap_err(), empty);
        let none: [&str; 0] = [];
        assert!(matches!(StandardWebhooksVerifier::new(none), Err(InvalidSecret(_))));
        assert!(matches!(sign("whsec_!", ID, T, BODY), Err(InvalidSecret(_))));
    }
}
