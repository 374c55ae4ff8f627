//! Any signature headers and body: every verifier answers Ok or a WebhookError, never
//! panics; none accepts a signature nobody made (the secrets are not in the input).
#![no_main]

use duet_webhooks::{
    GenericHmacVerifier, GithubVerifier, Headers, SlackVerifier, StandardWebhooksVerifier, StripeVerifier,
    WebhookVerifier,
};
use libfuzzer_sys::fuzz_target;

/// The headers the verifiers read, in the order the input's chunks fill them.
const NAMES: [&str; 10] = [
    "Stripe-Signature",
    "X-Hub-Signature-256",
    "X-GitHub-Delivery",
    "X-Slack-Signature",
    "X-Slack-Request-Timestamp",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Signature",
    "X-Delivery",
];

fuzz_target!(|data: &[u8]| {
    // Chunks split at 0xFF: header values in NAMES' order, the last one the body. A header
    // may come twice (a chunk of more than one value).
    let mut chunks = data.split(|b| *b == 0xff);
    let mut headers = Headers::new();
    for name in NAMES {
        let Some(chunk) = chunks.next() else { break };
        for value in chunk.split(|b| *b == b'\n') {
            headers.append(name, value);
        }
    }
    let body = chunks.next().unwrap_or_default();
    let now = 1_700_000_000;
    let verifiers: Vec<Box<dyn WebhookVerifier>> = vec![
        Box::new(StripeVerifier::new(["whsec_fuzz"]).unwrap()),
        Box::new(GithubVerifier::new(["fuzz"]).unwrap()),
        Box::new(SlackVerifier::new(["fuzz"]).unwrap()),
        Box::new(StandardWebhooksVerifier::new(["whsec_ZnV6emZ1enpmdXp6ZnV6emZ1eno="]).unwrap()),
        Box::new(
            GenericHmacVerifier::new("acme", "X-Signature", ["fuzz"])
                .unwrap()
                .with_delivery_id_header("X-Delivery"),
        ),
    ];
    for verifier in verifiers {
        assert!(
            verifier.verify(body, &headers, now).is_err(),
            "{} accepted a signature made without its secret",
            verifier.provider()
        );
    }
});
