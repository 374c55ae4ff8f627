//! Known-answer tests: the providers' published examples, byte for byte.

use duet_webhooks::{
    GenericHmacVerifier, GithubVerifier, SlackVerifier, StandardWebhooksVerifier, StripeVerifier, Verification,
    WebhookVerifier, github, slack, standard, stripe,
};

/// `verifier` accepts the request at `timestamp`, a little later and a little earlier.
#[track_caller]
fn accepted_around(
    verifier: &dyn WebhookVerifier,
    body: &[u8],
    headers: &[(&str, &str)],
    timestamp: i64,
) -> Verification {
    for now in [timestamp + 5, timestamp - 5, timestamp + 300] {
        verifier.verify(body, &headers, now).unwrap();
    }
    verifier.verify(body, &headers, timestamp).unwrap()
}

mod github_vector {
    use super::*;

    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn sign_reproduces_it() {
        assert_eq!(github::sign(SECRET, BODY), SIGNATURE);
    }

    #[test]
    fn verify_accepts_it() {
        let verifier = GithubVerifier::new([SECRET]).unwrap();
        let headers = [
            ("X-Hub-Signature-256", SIGNATURE),
            ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ];
        let verified = accepted_around(&verifier, BODY, &headers, 1_700_000_000);
        let expected = Some("72d3162e-cc78-11e3-81ab-4c9367dc0958");
        assert_eq!(verified.delivery_id.as_deref(), expected);
        assert_eq!(verified.timestamp, None);
    }

    #[test]
    fn the_generic_verifier_configured_as_github_accepts_it() {
        let verifier = GenericHmacVerifier::new("github", "X-Hub-Signature-256", [SECRET])
            .unwrap()
            .with_prefix("sha256=");
        accepted_around(&verifier, BODY, &[("x-hub-signature-256", SIGNATURE)], 0);
    }
}

mod slack_vector {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1_531_420_618;
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn sign_reproduces_it() {
        assert_eq!(slack::sign(SECRET, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn verify_accepts_it() {
        let verifier = SlackVerifier::new([SECRET]).unwrap();
        let headers = [
            ("X-Slack-Request-Timestamp", "1531420618"),
            ("X-Slack-Signature", SIGNATURE),
        ];
        let verified = accepted_around(&verifier, BODY, &headers, TIMESTAMP);
        assert_eq!(verified, Verification::new(None, Some(TIMESTAMP)));
    }
}

mod standard_vector {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn sign_reproduces_it() {
        assert_eq!(standard::sign(SECRET, ID, TIMESTAMP, BODY).unwrap(), SIGNATURE);
    }

    #[test]
    fn verify_accepts_it() {
        let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
        let headers = [
            ("webhook-id", ID),
            ("webhook-timestamp", "1649367553"),
            ("webhook-signature", SIGNATURE),
        ];
        let verified = accepted_around(&verifier, BODY, &headers, TIMESTAMP);
        assert_eq!(verified, Verification::new(Some(ID.into()), Some(TIMESTAMP)));
    }

    #[test]
    fn verify_accepts_it_under_svix_names() {
        let verifier = StandardWebhooksVerifier::new([SECRET]).unwrap();
        let headers = [
            ("svix-id", ID),
            ("svix-timestamp", "1649367553"),
            ("svix-signature", SIGNATURE),
        ];
        accepted_around(&verifier, BODY, &headers, TIMESTAMP);
    }
}

mod stripe_vector {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const TIMESTAMP: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const V1: &str = "v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";

    #[test]
    fn sign_reproduces_it() {
        assert_eq!(stripe::sign(SECRET, TIMESTAMP, BODY), format!("t=1700000000,{V1}"));
    }

    #[test]
    fn verify_accepts_it() {
        let verifier = StripeVerifier::new([SECRET]).unwrap();
        let header = format!("t=1700000000,{V1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39");
        let headers = [("Stripe-Signature", header.as_str())];
        let verified = accepted_around(&verifier, BODY, &headers, TIMESTAMP);
        // Stripe's delivery id is the event id in the body, not a header.
        assert_eq!(verified, Verification::new(None, Some(TIMESTAMP)));
    }
}
