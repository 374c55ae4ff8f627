//! Any provider that sends one HMAC-SHA256 of the raw body in one header, such as
//! `X-Signature: sha256=<hex>`.

use crate::hmac_sha256::{self, SignatureEncoding, Tag};
use crate::secrets::Secrets;
use crate::{HeaderIssue, HeaderSource, Verification, WebhookError, WebhookVerifier, headers};

/// Verifies an HMAC-SHA256 of the raw body carried in one configurable header.
///
/// The header's value is `prefix` followed by the tag in `encoding` (hex unless set). No
/// timestamp is signed, so nothing stops a replay: deduplicate on the delivery id.
///
/// ```
/// use duet_webhooks::{GenericHmacVerifier, SignatureEncoding, WebhookVerifier, generic};
///
/// let verifier = GenericHmacVerifier::new("acme", "X-Acme-Signature", ["s3cret"])?
///     .with_prefix("sha256=")
///     .with_encoding(SignatureEncoding::Base64)
///     .with_delivery_id_header("X-Acme-Delivery");
///
/// let body = br#"{"event":"ping"}"#;
/// let signature = generic::sign(b"s3cret", "sha256=", SignatureEncoding::Base64, body);
/// let headers = [("X-Acme-Signature", signature.as_str()), ("X-Acme-Delivery", "d-1")];
/// let verified = verifier.verify(body, &headers, 0)?;
/// assert_eq!(verified.delivery_id.as_deref(), Some("d-1"));
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GenericHmacVerifier {
    provider: &'static str,
    header: String,
    prefix: String,
    encoding: SignatureEncoding,
    delivery_id_header: Option<String>,
    secrets: Secrets,
}

impl GenericHmacVerifier {
    /// A verifier for `provider` reading the signature from `header`, accepting a MAC
    /// under any of `secrets` (used as raw bytes). No prefix, hex, no delivery id.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when `secrets` is empty or holds an empty secret.
    pub fn new<S: AsRef<[u8]>>(
        provider: &'static str,
        header: impl Into<String>,
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, WebhookError> {
        Ok(GenericHmacVerifier {
            provider,
            header: header.into(),
            prefix: String::new(),
            encoding: SignatureEncoding::Hex,
            delivery_id_header: None,
            secrets: Secrets::raw(secrets)?,
        })
    }

    /// Requires the header's value to start with `prefix` (for example `sha256=`).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets how the tag is encoded after the prefix.
    #[must_use]
    pub fn with_encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Reads [`Verification::delivery_id`] from the header `name`, when present.
    #[must_use]
    pub fn with_delivery_id_header(mut self, name: impl Into<String>) -> Self {
        self.delivery_id_header = Some(name.into());
        self
    }
}

impl WebhookVerifier for GenericHmacVerifier {
    fn provider(&self) -> &'static str {
        self.provider
    }

    fn verify(&self, body: &[u8], headers: &dyn HeaderSource, _now: i64) -> Result<Verification, WebhookError> {
        verify_body_mac(
            &self.secrets,
            body,
            headers,
            SignatureHeader {
                name: &self.header,
                prefix: &self.prefix,
                encoding: self.encoding,
            },
            self.delivery_id_header.as_deref(),
        )
    }
}

/// The header value carrying the HMAC-SHA256 of `body` under `secret`: `prefix` followed
/// by the tag in `encoding`.
pub fn sign(secret: &[u8], prefix: &str, encoding: SignatureEncoding, body: &[u8]) -> String {
    let tag = hmac_sha256::sign(secret, &[body]);
    format!("{prefix}{}", encoding.encode(&tag))
}

/// A header carrying one tag: `{prefix}{tag in encoding}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignatureHeader<'a> {
    pub(crate) name: &'a str,
    pub(crate) prefix: &'a str,
    pub(crate) encoding: SignatureEncoding,
}

impl SignatureHeader<'_> {
    /// Reads the tag, checking the prefix and the encoding.
    pub(crate) fn read(self, headers: &dyn HeaderSource) -> Result<Tag, WebhookError> {
        let value = headers::required(headers, self.name)?;
        let invalid = |reason| WebhookError::invalid_header(self.name, reason);
        let encoded = value
            .strip_prefix(self.prefix)
            .ok_or_else(|| invalid(HeaderIssue::MissingPrefix(self.prefix.to_owned())))?;
        self.encoding.decode_tag(encoded).map_err(invalid)
    }
}

/// The whole check of a scheme that MACs the raw body alone (this one, and GitHub's).
pub(crate) fn verify_body_mac(
    secrets: &Secrets,
    body: &[u8],
    headers: &dyn HeaderSource,
    signature: SignatureHeader<'_>,
    delivery_id_header: Option<&str>,
) -> Result<Verification, WebhookError> {
    let tag = signature.read(headers)?;
    let delivery_id = match delivery_id_header {
        Some(name) => headers::optional(headers, name)?.map(str::to_owned),
        None => None,
    };
    secrets.check(&[body], &[tag])?;
    Ok(Verification::new(delivery_id, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderIssue::*;
    use crate::SignatureEncoding::{Base64, Hex};
    use crate::WebhookError::*;
    use crate::test_support::{Check, invalid, tweak, wrong_length};

    const BODY: &[u8] = b"payload";

    fn verifier() -> GenericHmacVerifier {
        GenericHmacVerifier::new("acme", "X-Sig", ["old", "new"])
            .unwrap()
            .with_prefix("sha1=")
            .with_delivery_id_header("X-Id")
    }

    #[test]
    fn hex_with_prefix() {
        let good = sign(b"new", "sha1=", Hex, BODY);
        let invalid = |issue| Err(invalid("X-Sig", issue));
        #[rustfmt::skip]
        let cases = [
            (good.clone(), Ok(())),
            (sign(b"old", "sha1=", Hex, BODY), Ok(())), // the 2nd secret
            (sign(b"other", "sha1=", Hex, BODY), Err(InvalidSignature)),
            (tweak(&good, 5), Err(InvalidSignature)),
            (String::new(), invalid(Empty)),
            (good["sha1=".len()..].to_owned(), invalid(MissingPrefix("sha1=".into()))),
            (sign(b"new", "sha1=", Base64, BODY), invalid(NotHex)),
            (format!("{good}00"), invalid(wrong_length(33))),
        ];
        let verifier = verifier();
        for (value, expected) in cases {
            let result = verifier.verify(BODY, &[("X-Sig", value.as_str())], 0);
            assert_eq!(result.map(|_| ()), expected, "X-Sig: {value}");
        }
    }

    #[test]
    fn base64_without_prefix() {
        let verifier = GenericHmacVerifier::new("acme", "X-Sig", [b"k"])
            .unwrap()
            .with_encoding(Base64);
        let invalid = |issue| Err(invalid("X-Sig", issue));
        #[rustfmt::skip]
        let cases = [
            (sign(b"k", "", Base64, BODY), Ok(())),
            (sign(b"other", "", Base64, BODY), Err(InvalidSignature)),
            (sign(b"k", "", Hex, BODY), invalid(wrong_length(48))),
            ("not base64!".to_owned(), invalid(NotBase64)),
        ];
        for (value, expected) in cases {
            let result = verifier.verify(BODY, &[("x-sig", value.as_str())], 0);
            assert_eq!(result.map(|_| ()), expected, "X-Sig: {value}");
        }
        assert_eq!(verifier.provider(), "acme");
    }

    #[test]
    fn requests() {
        let verifier = verifier();
        let check = Check::new(&verifier, 0);
        let good = sign(b"new", "sha1=", Hex, BODY);
        let good = good.as_str();
        assert_eq!(check.ok(BODY, &[("x-sig", good)]).delivery_id, None);
        let with_id = check.ok(BODY, &[("x-sig", good), ("x-id", "d-7")]);
        assert_eq!(with_id, Verification::new(Some("d-7".into()), None));
        check.err(b"Payload", &[("X-Sig", good)], InvalidSignature);
        check.err(BODY, &[("X-Other", good)], MissingHeader("X-Sig".into()));
        check.err(BODY, &[("X-Sig", good), ("X-Sig", good)], invalid("X-Sig", Duplicated));
        check.err(
            BODY,
            &[("x-sig", good), ("x-id", "1"), ("x-id", "2")],
            invalid("X-Id", Duplicated),
        );
    }
}
