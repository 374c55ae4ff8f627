//! HMAC-SHA256, the MAC every scheme here uses, and the encodings of its tags.
//!
//! Tags are compared with [`hmac::Mac::verify_slice`], in constant time; never with `==`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::HeaderIssue;

/// The length of an HMAC-SHA256 tag in bytes.
pub const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag.
pub type Tag = [u8; TAG_LEN];

/// HMAC-SHA256 keyed with `key`, fed the concatenation of `message`'s parts.
pub(crate) fn keyed(key: &[u8], message: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in message {
        mac.update(part);
    }
    mac
}

/// The HMAC-SHA256 tag of the concatenation of `message`'s parts under `key`.
///
/// ```
/// use duet_webhooks::hmac_sha256;
///
/// let tag = hmac_sha256::sign(b"key", &[b"The quick brown fox ", b"jumps over the lazy dog"]);
/// assert_eq!(
///     hex::encode(tag),
///     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
/// );
/// ```
pub fn sign(key: &[u8], message: &[&[u8]]) -> Tag {
    keyed(key, message).finalize().into_bytes().into()
}

/// Whether `tag` is the HMAC-SHA256 of the concatenation of `message`'s parts under `key`,
/// compared in constant time. A `tag` of the wrong length never matches.
pub fn verify(key: &[u8], message: &[&[u8]], tag: &[u8]) -> bool {
    keyed(key, message).verify_slice(tag).is_ok()
}

/// How a signature header spells a tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// Lowercase hexadecimal. Uppercase is refused when decoding, as the providers' own
    /// libraries do (they compare hex strings), so every tag has one spelling.
    #[default]
    Hex,
    /// Standard base64 with padding (RFC 4648 §4).
    Base64,
}

impl SignatureEncoding {
    /// `tag` in this encoding.
    pub fn encode(self, tag: &[u8]) -> String {
        match self {
            SignatureEncoding::Hex => hex::encode(tag),
            SignatureEncoding::Base64 => BASE64.encode(tag),
        }
    }

    /// Decodes `text` as an HMAC-SHA256 tag: [`HeaderIssue::NotHex`] or
    /// [`HeaderIssue::NotBase64`] when it is not this encoding (base64 must be canonical:
    /// padded, with zero trailing bits), and
    /// [`HeaderIssue::WrongLength`] when it is but does not decode to [`TAG_LEN`] bytes.
    pub fn decode_tag(self, text: &str) -> Result<Tag, HeaderIssue> {
        let bytes = match self {
            SignatureEncoding::Hex if text.bytes().any(|b| b.is_ascii_uppercase()) => {
                return Err(HeaderIssue::NotHex);
            }
            SignatureEncoding::Hex => hex::decode(text).map_err(|_| HeaderIssue::NotHex)?,
            SignatureEncoding::Base64 => BASE64.decode(text).map_err(|_| HeaderIssue::NotBase64)?,
        };
        Tag::try_from(bytes.as_slice()).map_err(|_| HeaderIssue::WrongLength {
            expected: TAG_LEN,
            actual: bytes.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2.
    #[test]
    fn rfc4231_vector() {
        let tag = sign(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hex::encode(tag), expected);
        assert!(verify(b"Jefe", &[b"what do ya want for nothing?"], &tag));
        assert!(!verify(b"Jefe", &[b"what do ya want for nothing!"], &tag));
        assert!(!verify(b"Jefe", &[b"what do ya want for nothing?"], &tag[..31]));
        assert!(!verify(b"Jefe", &[b"what do ya want for nothing?"], &[]));
    }

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let tag = sign(b"k", &[b"m"]);
        for encoding in [SignatureEncoding::Hex, SignatureEncoding::Base64] {
            assert_eq!(encoding.decode_tag(&encoding.encode(&tag)), Ok(tag));
            let short = encoding.encode(&tag[..31]);
            let wrong = HeaderIssue::WrongLength {
                expected: 32,
                actual: 31,
            };
            assert_eq!(encoding.decode_tag(&short), Err(wrong));
        }
        let hex = SignatureEncoding::Hex;
        assert_eq!(hex.decode_tag(&"ab".repeat(32)), Ok([0xab; 32]));
        assert_eq!(hex.decode_tag(&"AB".repeat(32)), Err(HeaderIssue::NotHex));
        assert_eq!(hex.decode_tag(&"zz".repeat(32)), Err(HeaderIssue::NotHex));
        assert_eq!(hex.decode_tag("abc"), Err(HeaderIssue::NotHex));
        let base64 = SignatureEncoding::Base64;
        assert_eq!(base64.decode_tag("!!!!"), Err(HeaderIssue::NotBase64));
        assert_eq!(base64.decode_tag("YQ"), Err(HeaderIssue::NotBase64));
        let zeros = format!("{}=", "A".repeat(43));
        assert_eq!(base64.decode_tag(&zeros), Ok([0; 32]));
        let trailing_bits = format!("{}B=", "A".repeat(42));
        assert_eq!(base64.decode_tag(&trailing_bits), Err(HeaderIssue::NotBase64));
        assert_eq!(base64.decode_tag(&"A".repeat(43)), Err(HeaderIssue::NotBase64));
    }
}
