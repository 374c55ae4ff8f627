//! How each scheme's sender builds and signs a delivery.

use duet_webhooks::{SignatureEncoding, generic, github, slack, standard, stripe};
use serde_json::json;

pub(crate) const STRIPE_SECRET: &str = "whsec_test_secret";
pub(crate) const STRIPE_CONNECT_SECRET: &str = "whsec_connect_secret";
pub(crate) const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub(crate) const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
pub(crate) const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub(crate) const ACME_SECRET: &str = "acme s3cret";

/// Signed headers for delivery `id` of `body` sent at `timestamp` under `secret`.
type Sign = fn(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)>;

/// One scheme as its sender sees it.
#[derive(Debug)]
pub(crate) struct Scheme {
    pub(crate) path: &'static str,
    /// The name deliveries are recorded under.
    pub(crate) provider: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) secret: &'static str,
    /// A well-formed secret that is not the endpoint's.
    pub(crate) wrong_secret: &'static str,
    /// Whether the scheme signs a timestamp.
    pub(crate) timestamps: bool,
    /// Whether the endpoint deduplicates deliveries.
    pub(crate) deduplicated: bool,
    /// The event's kind, as the handler should see it.
    pub(crate) kind: Option<&'static str>,
    /// A body for delivery `id`, padded by `padding` bytes.
    pub(crate) body: fn(id: &str, padding: usize) -> Vec<u8>,
    pub(crate) sign: Sign,
}

impl Scheme {
    /// The headers of a delivery signed under `secret` at `timestamp`.
    pub(crate) fn headers(&self, secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
        (self.sign)(secret, id, timestamp, body)
    }
}

fn pairs<const N: usize>(pairs: [(&str, String); N]) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// A realistic Stripe `checkout.session.completed` event (about 1 KiB unpadded).
fn stripe_event(id: &str, padding: usize) -> Vec<u8> {
    let event = json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_000,
        "type": "checkout.session.completed",
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "data": {
            "object": {
                "id": "cs_test_a1b2c3d4e5f6g7h8i9j0",
                "object": "checkout.session",
                "amount_subtotal": 2000,
                "amount_total": 2000,
                "currency": "eur",
                "client_reference_id": "ord_1",
                "customer": "cus_NffrFeUfNV2Hib",
                "customer_details": {
                    "email": "ada@example.com",
                    "name": "Ada Lovelace",
                    "address": { "city": "London", "country": "GB", "line1": "12 St James's Square", "postal_code": "SW1Y 4JH" },
                },
                "metadata": { "order": "ord_1", "note": "x".repeat(padding) },
                "mode": "payment",
                "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
                "payment_method_types": ["card"],
                "payment_status": "paid",
                "shipping_cost": { "amount_total": 0, "shipping_rate": "shr_1MtwBwLkdIwHu7ixNbxgKaJx" },
                "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
                "status": "complete",
                "success_url": "https://shop.example.com/orders/ord_1/paid",
                "cancel_url": "https://shop.example.com/orders/ord_1",
                "expires_at": 1_700_086_400,
            }
        }
    });
    serde_json::to_vec(&event).unwrap()
}

fn json_event(id: &str, padding: usize) -> Vec<u8> {
    let event = json!({
        "id": id,
        "type": "thing.happened",
        "data": { "object": { "name": "widget" } },
        "padding": "x".repeat(padding),
    });
    serde_json::to_vec(&event).unwrap()
}

fn slack_form(id: &str, padding: usize) -> Vec<u8> {
    format!(
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fwebhook-collect&text={id}&trigger_id=398738663015&padding={}",
        "x".repeat(padding)
    )
    .into_bytes()
}

pub(crate) const STRIPE: Scheme = Scheme {
    path: "/webhooks/stripe",
    provider: "stripe",
    content_type: "application/json",
    secret: STRIPE_SECRET,
    wrong_secret: STRIPE_CONNECT_SECRET,
    timestamps: true,
    deduplicated: true,
    kind: Some("checkout.session.completed"),
    body: stripe_event,
    sign: |secret, _id, t, body| pairs([("Stripe-Signature", stripe::sign(secret, t, body))]),
};

/// The second Stripe endpoint of the app, with its own secret and provider name.
pub(crate) const STRIPE_CONNECT: Scheme = Scheme {
    path: "/webhooks/stripe-connect",
    provider: "stripe-connect",
    secret: STRIPE_CONNECT_SECRET,
    wrong_secret: STRIPE_SECRET,
    ..STRIPE
};

pub(crate) const GITHUB: Scheme = Scheme {
    path: "/webhooks/github",
    provider: "github",
    content_type: "application/json",
    secret: GITHUB_SECRET,
    wrong_secret: "It's a Secret to Nobody",
    timestamps: false,
    deduplicated: true,
    kind: Some("push"),
    body: json_event,
    sign: |secret, id, _t, body| {
        pairs([
            ("X-Hub-Signature-256", github::sign(secret, body)),
            ("X-GitHub-Delivery", id.to_owned()),
            ("X-GitHub-Event", "push".to_owned()),
        ])
    },
};

pub(crate) const STANDARD: Scheme = Scheme {
    path: "/webhooks/standard",
    provider: "standard-webhooks",
    content_type: "application/json",
    secret: STANDARD_SECRET,
    wrong_secret: "whsec_c2VjcmV0",
    timestamps: true,
    deduplicated: true,
    kind: Some("thing.happened"),
    body: json_event,
    sign: |secret, id, t, body| {
        pairs([
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", t.to_string()),
            ("webhook-signature", standard::sign(secret, id, t, body).unwrap()),
        ])
    },
};

pub(crate) const SLACK: Scheme = Scheme {
    path: "/webhooks/slack",
    provider: "slack",
    content_type: "application/x-www-form-urlencoded",
    secret: SLACK_SECRET,
    wrong_secret: "0000000000000000abcd99yyyzzz85a5",
    timestamps: true,
    deduplicated: false,
    kind: None,
    body: slack_form,
    sign: |secret, _id, t, body| {
        pairs([
            ("X-Slack-Request-Timestamp", t.to_string()),
            ("X-Slack-Signature", slack::sign(secret, t, body)),
        ])
    },
};

pub(crate) const ACME: Scheme = Scheme {
    path: "/webhooks/acme",
    provider: "acme",
    content_type: "application/json",
    secret: ACME_SECRET,
    wrong_secret: "acme other",
    timestamps: false,
    deduplicated: true,
    kind: Some("thing.happened"),
    body: json_event,
    sign: |secret, id, _t, body| {
        let signature = generic::sign(secret.as_bytes(), "sha256=", SignatureEncoding::Hex, body);
        pairs([
            ("X-Acme-Signature", signature),
            ("X-Acme-Delivery", id.to_owned()),
            ("X-Acme-Event", "thing.happened".to_owned()),
        ])
    },
};
