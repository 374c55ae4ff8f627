//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
//!
//! GitHub signs no timestamp; deduplicate on the `X-GitHub-Delivery` id instead.

use crate::generic::{self, SignatureHeader, verify_body_mac};
use crate::hmac_sha256::SignatureEncoding;
use crate::secrets::Secrets;
use crate::{HeaderSource, Verification, WebhookError, WebhookVerifier};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The header carrying the delivery id.
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";
/// The header naming the event (`push`, `pull_request`, …); it is not signed.
pub const EVENT_HEADER: &str = "X-GitHub-Event";

const SIGNATURE: SignatureHeader<'static> = SignatureHeader {
    name: SIGNATURE_HEADER,
    prefix: "sha256=",
    encoding: SignatureEncoding::Hex,
};

/// Verifies GitHub webhooks; the delivery id is `X-GitHub-Delivery`, when sent.
///
/// ```
/// use duet_webhooks::{GithubVerifier, WebhookVerifier, github};
///
/// let verifier = GithubVerifier::new(["It's a Secret to Everybody"])?;
/// let signature = github::sign("It's a Secret to Everybody", b"Hello, World!");
/// let headers = [("X-Hub-Signature-256", signature.as_str()), ("X-GitHub-Delivery", "72d3162e")];
/// let verified = verifier.verify(b"Hello, World!", &headers, 0)?;
/// assert_eq!(verified.delivery_id.as_deref(), Some("72d3162e"));
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GithubVerifier {
    secrets: Secrets,
}

impl GithubVerifier {
    /// A verifier accepting a signature under any of `secrets` (several during a rotation).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] when `secrets` is empty or holds an empty secret.
    pub fn new<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(GithubVerifier {
            secrets: Secrets::raw(secrets)?,
        })
    }
}

impl WebhookVerifier for GithubVerifier {
    fn provider(&self) -> &'static str {
        "github"
    }

    fn verify(&self, body: &[u8], headers: &dyn HeaderSource, _now: i64) -> Result<Verification, WebhookError> {
        verify_body_mac(&self.secrets, body, headers, SIGNATURE, Some(DELIVERY_HEADER))
    }
}

/// The `X-Hub-Signature-256` value for `body` under `secret`: `sha256=<hex>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    generic::sign(secret.as_bytes(), SIGNATURE.prefix, SIGNATURE.encoding, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderIssue::*;
    use crate::MAX_HEADER_LEN;
    use crate::WebhookError::*;
    use crate::test_support::{Check, invalid, tweak, wrong_length};

    const BODY: &[u8] = b"{\"zen\":\"Keep it logically awesome.\"}";
    const H: &str = SIGNATURE_HEADER;
    const D: &str = DELIVERY_HEADER;

    fn verifier() -> GithubVerifier {
        GithubVerifier::new(["old", "new"]).unwrap()
    }

    #[test]
    fn header_values() {
        let good = sign("new", BODY);
        let hex = &good["sha256=".len()..];
        let overlong = format!("{good}{}", " ".repeat(MAX_HEADER_LEN));
        let too_long = TooLong {
            len: overlong.len(),
            max: MAX_HEADER_LEN,
        };
        let invalid = |issue| Err(invalid(H, issue));
        #[rustfmt::skip]
        let cases = [
            (good.clone(), Ok(())),
            (sign("old", BODY), Ok(())), // the 2nd secret
            (format!(" {good}\t"), Ok(())),
            (sign("other", BODY), Err(InvalidSignature)),
            (tweak(&good, 70), Err(InvalidSignature)),
            (String::new(), invalid(Empty)),
            (hex.to_owned(), invalid(MissingPrefix("sha256=".into()))),
            (format!("sha1={hex}"), invalid(MissingPrefix("sha256=".into()))),
            (format!("SHA256={hex}"), invalid(MissingPrefix("sha256=".into()))),
            (format!("sha256={}", hex.to_uppercase()), invalid(NotHex)),
            (format!("sha256={}zz", &hex[2..]), invalid(NotHex)),
            (good[..70].to_owned(), invalid(NotHex)), // odd length
            (good[..67].to_owned(), invalid(wrong_length(30))),
            (format!("{good}00"), invalid(wrong_length(33))),
            (overlong, invalid(too_long)),
        ];
        let verifier = verifier();
        for (value, expected) in cases {
            let result = verifier.verify(BODY, &[(H, value.as_str())], 0);
            assert_eq!(result.map(|_| ()), expected, "{H}: {value}");
        }
    }

    #[test]
    fn requests() {
        let verifier = verifier();
        let check = Check::new(&verifier, 0);
        let good = sign("new", BODY);
        let good = good.as_str();
        assert_eq!(check.ok(BODY, &[(H, good)]), Verification::new(None, None));
        let with_id = check.ok(BODY, &[("x-hub-signature-256", good), (D, "d-1")]);
        assert_eq!(with_id.delivery_id.as_deref(), Some("d-1"));
        check.err(
            b"{\"zen\":\"Keep it logically awesome!\"}",
            &[(H, good)],
            InvalidSignature,
        );
        check.err(b"", &[(H, good)], InvalidSignature);
        check.err(BODY, &[("X-Hub-Signature", "sha1=00")], MissingHeader(H.into()));
        check.err(BODY, &[(H, good), (H, good)], invalid(H, Duplicated));
        check.err(BODY, &[(H, good), (D, "a"), (D, "b")], invalid(D, Duplicated));
        check.err(BODY, &[(H, good), (D, "")], invalid(D, Empty));
        let bytes: [(&str, &[u8]); 1] = [(H, b"sha256=\xff")];
        check.err(BODY, &bytes, invalid(H, NotUtf8));
    }

    #[test]
    fn names_and_secrets() {
        assert_eq!(verifier().provider(), "github");
        let debug = format!("{:?}", GithubVerifier::new(["hunter2"]).unwrap());
        assert!(!debug.contains("hunter2"), "{debug}");
        let none: [&str; 0] = [];
        assert!(matches!(GithubVerifier::new(none), Err(InvalidSecret(_))));
        assert!(matches!(GithubVerifier::new([""]), Err(InvalidSecret(_))));
    }
}
