//! Properties every scheme has: what it signs it verifies, any single-bit change to what
//! was signed is refused, and no header garbage makes it panic.

use std::ops::Range;

use duet_webhooks::{
    DEFAULT_TOLERANCE, GenericHmacVerifier, GithubVerifier, Headers, MAX_HEADER_LEN, SignatureEncoding, SlackVerifier,
    StandardWebhooksVerifier, StripeVerifier, WebhookError, WebhookVerifier, generic, github, slack, standard, stripe,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};

#[derive(Debug, Clone, Copy)]
enum Scheme {
    Stripe,
    Github,
    Slack,
    Standard,
    Generic,
}

const SCHEMES: [Scheme; 5] = [
    Scheme::Stripe,
    Scheme::Github,
    Scheme::Slack,
    Scheme::Standard,
    Scheme::Generic,
];

/// A request as its sender signs it, with where the signature and timestamp sit.
struct Signed {
    verifier: Box<dyn WebhookVerifier>,
    headers: Vec<(String, Vec<u8>)>,
    /// Index in `headers` of the signature header.
    signature: usize,
    /// Index in `headers`, and byte range in its value, of the signed timestamp.
    timestamp: Option<(usize, Range<usize>)>,
}

impl Signed {
    fn verify(&self, body: &[u8], now: i64) -> Result<(), WebhookError> {
        let headers: Headers = self.headers.iter().cloned().collect();
        self.verifier.verify(body, &headers, now).map(|_| ())
    }

    /// The request with one bit of one header value flipped.
    fn flipped(&self, header: usize, byte: usize, bit: u8) -> Vec<(String, Vec<u8>)> {
        let mut headers = self.headers.clone();
        headers[header].1[byte] ^= 1 << bit;
        headers
    }
}

/// The secret a test signs with: text for most schemes, key bytes for Standard Webhooks.
#[derive(Debug, Clone)]
struct Secret {
    text: String,
    key: Vec<u8>,
}

fn standard_secret(key: &[u8]) -> String {
    format!("whsec_{}", SignatureEncoding::Base64.encode(key))
}

fn pair(name: &str, value: &str) -> (String, Vec<u8>) {
    (name.to_owned(), value.as_bytes().to_vec())
}

fn sign(scheme: Scheme, secret: &Secret, body: &[u8], t: i64) -> Signed {
    let text = secret.text.as_str();
    let t_text = t.to_string();
    let digits = |start: usize| start..start + t_text.len();
    match scheme {
        Scheme::Stripe => Signed {
            verifier: Box::new(StripeVerifier::new([text]).unwrap()),
            headers: vec![pair("Stripe-Signature", &stripe::sign(text, t, body))],
            signature: 0,
            timestamp: Some((0, digits(2))),
        },
        Scheme::Github => Signed {
            verifier: Box::new(GithubVerifier::new([text]).unwrap()),
            headers: vec![
                pair("X-Hub-Signature-256", &github::sign(text, body)),
                pair("X-GitHub-Delivery", "d"),
            ],
            signature: 0,
            timestamp: None,
        },
        Scheme::Slack => Signed {
            verifier: Box::new(SlackVerifier::new([text]).unwrap()),
            headers: vec![
                pair("X-Slack-Request-Timestamp", &t_text),
                pair("X-Slack-Signature", &slack::sign(text, t, body)),
            ],
            signature: 1,
            timestamp: Some((0, digits(0))),
        },
        Scheme::Standard => {
            let secret = standard_secret(&secret.key);
            Signed {
                verifier: Box::new(StandardWebhooksVerifier::new([&secret]).unwrap()),
                headers: vec![
                    pair("webhook-id", "msg_p"),
                    pair("webhook-timestamp", &t_text),
                    pair("webhook-signature", &standard::sign(&secret, "msg_p", t, body).unwrap()),
                ],
                signature: 2,
                timestamp: Some((1, digits(0))),
            }
        }
        Scheme::Generic => {
            let verifier = GenericHmacVerifier::new("acme", "X-Sig", [text])
                .unwrap()
                .with_prefix("sig=")
                .with_encoding(SignatureEncoding::Base64);
            let signature = generic::sign(text.as_bytes(), "sig=", SignatureEncoding::Base64, body);
            Signed {
                verifier: Box::new(verifier),
                headers: vec![pair("X-Sig", &signature)],
                signature: 0,
                timestamp: None,
            }
        }
    }
}

fn secrets() -> impl Strategy<Value = Secret> {
    (".{1,32}", prop::collection::vec(any::<u8>(), 1..48)).prop_map(|(text, key)| Secret { text, key })
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

/// Unix seconds from 1970 to beyond 2100.
fn timestamps() -> impl Strategy<Value = i64> {
    0..5_000_000_000_i64
}

/// A header value: random bytes, signature-shaped text, or something near the size limit.
fn garbage_values() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..96),
        "[tv0-9a-fA-F=, +/_.-]{0,160}".prop_map(String::into_bytes),
        "(t=[0-9]{1,12}|v[01a]?[=,][0-9a-f]{64}|v1,[A-Za-z0-9+/]{43}=|sha256=|v0=|sig=|,| ){0,20}"
            .prop_map(String::into_bytes),
        (MAX_HEADER_LEN - 2..MAX_HEADER_LEN + 2).prop_map(|len| vec![b'a'; len]),
    ]
}

fn garbage_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let names = select(vec![
        "Stripe-Signature",
        "x-hub-signature-256",
        "X-GitHub-Delivery",
        "X-Slack-Signature",
        "x-slack-request-timestamp",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "X-Sig",
        "Content-Type",
    ])
    .prop_map(str::to_owned);
    prop::collection::vec((names, garbage_values()), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn what_is_signed_verifies(
        secret in secrets(),
        body in bodies(),
        t in timestamps(),
        skew in -(DEFAULT_TOLERANCE as i64)..=DEFAULT_TOLERANCE as i64,
    ) {
        for scheme in SCHEMES {
            let signed = sign(scheme, &secret, &body, t);
            prop_assert_eq!(signed.verify(&body, t + skew), Ok(()), "{:?}", scheme);
        }
    }

    #[test]
    fn a_flipped_body_bit_is_refused(
        secret in secrets(),
        mut body in prop::collection::vec(any::<u8>(), 1..512),
        t in timestamps(),
        byte in any::<Index>(),
        bit in 0..8_u8,
    ) {
        let signed: Vec<_> = SCHEMES.iter().map(|&s| (s, sign(s, &secret, &body, t))).collect();
        let at = byte.index(body.len());
        body[at] ^= 1 << bit;
        for (scheme, signed) in signed {
            let result = signed.verify(&body, t);
            prop_assert_eq!(result, Err(WebhookError::InvalidSignature), "{:?}", scheme);
        }
    }

    #[test]
    fn a_flipped_signature_bit_is_refused(
        secret in secrets(),
        body in bodies(),
        t in timestamps(),
        byte in any::<Index>(),
        bit in 0..8_u8,
    ) {
        for scheme in SCHEMES {
            let signed = sign(scheme, &secret, &body, t);
            let len = signed.headers[signed.signature].1.len();
            let headers = signed.flipped(signed.signature, byte.index(len), bit);
            let flipped = Signed { headers, ..signed };
            let result = flipped.verify(&body, t);
            prop_assert!(result.is_err(), "{:?} accepted {:?}", scheme, flipped.headers);
        }
    }

    #[test]
    fn a_flipped_timestamp_bit_is_refused(
        secret in secrets(),
        body in bodies(),
        t in timestamps(),
        byte in any::<Index>(),
        bit in 0..8_u8,
    ) {
        for scheme in SCHEMES {
            let signed = sign(scheme, &secret, &body, t);
            let Some((header, digits)) = signed.timestamp.clone() else { continue };
            let headers = signed.flipped(header, digits.start + byte.index(digits.len()), bit);
            let flipped = Signed { headers, ..signed };
            let result = flipped.verify(&body, t);
            prop_assert!(result.is_err(), "{:?} accepted {:?}", scheme, flipped.headers);
        }
    }

    #[test]
    fn another_secret_is_refused(
        secret in secrets(),
        other in secrets(),
        body in bodies(),
        t in timestamps(),
    ) {
        prop_assume!(secret.text != other.text && secret.key != other.key);
        for scheme in SCHEMES {
            let mut signed = sign(scheme, &other, &body, t);
            signed.verifier = sign(scheme, &secret, &body, t).verifier;
            let result = signed.verify(&body, t);
            prop_assert_eq!(result, Err(WebhookError::InvalidSignature), "{:?}", scheme);
        }
    }

    #[test]
    fn garbage_never_panics(
        headers in garbage_headers(),
        body in bodies(),
        now in any::<i64>(),
    ) {
        let secret = Secret { text: "s".into(), key: vec![1] };
        let headers: Headers = headers.into_iter().collect();
        for scheme in SCHEMES {
            let verifier = sign(scheme, &secret, b"", 0).verifier;
            let _ = verifier.verify(&body, &headers, now);
        }
    }

    #[test]
    fn mangled_real_headers_never_panic(
        secret in secrets(),
        body in bodies(),
        t in timestamps(),
        now in any::<i64>(),
        edits in prop::collection::vec((any::<Index>(), any::<Index>(), any::<u8>()), 1..6),
    ) {
        for scheme in SCHEMES {
            let signed = sign(scheme, &secret, &body, t);
            let mut headers = signed.headers.clone();
            for (header, byte, value) in &edits {
                let value_bytes = &mut headers[header.index(signed.headers.len())].1;
                let len = value_bytes.len();
                value_bytes[byte.index(len)] = *value;
            }
            let mangled = Signed { headers, ..signed };
            let _ = mangled.verify(&body, now);
        }
    }
}
