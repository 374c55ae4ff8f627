//! Each scheme's endpoint over HTTP, on SQLite and PostgreSQL.

use duet_models::{Db, WebhookDelivery};
use serde_json::json;

use crate::common::{ACME, GITHUB, SLACK, STANDARD, STRIPE, STRIPE_CONNECT, Server, unix_now};
use crate::matrix::{deliver, every_request, send};

duet_models::db_tests! {
    migrations: [duet_models::FRAMEWORK_MIGRATIONS];

    async fn stripe(db: Db) {
        let server = Server::start(Some(db.clone())).await;
        every_request(&server, &STRIPE).await;
        let seen = &server.probe.seen("stripe")[0];
        assert_eq!(seen.object.as_ref().unwrap()["client_reference_id"], "ord_1");
        assert_eq!(seen.event["id"], "d-1");
        assert!((1000..1200).contains(&seen.body_len), "{}", seen.body_len);
        assert_eq!(WebhookDelivery::done_count(&db, "stripe").await.unwrap(), 4);
    }

    async fn github(db: Db) {
        let server = Server::start(Some(db)).await;
        every_request(&server, &GITHUB).await;
        assert_eq!(server.probe.seen("github")[0].object, Some(json!({"name": "widget"})));
    }

    async fn standard_webhooks(db: Db) {
        let server = Server::start(Some(db)).await;
        every_request(&server, &STANDARD).await;
    }

    async fn slack_is_not_deduplicated(db: Db) {
        let server = Server::start(Some(db.clone())).await;
        every_request(&server, &SLACK).await;
        let seen = &server.probe.seen("slack")[0];
        assert_eq!(seen.event["command"], "/webhook-collect");
        assert_eq!(seen.event["text"], "d-1");
        assert_eq!(WebhookDelivery::done_count(&db, "slack").await.unwrap(), 0);
    }

    async fn generic_hmac(db: Db) {
        let server = Server::start(Some(db)).await;
        every_request(&server, &ACME).await;
    }

    async fn stripe_events_must_be_json_with_an_id(db: Db) {
        let server = Server::start(Some(db)).await;
        let now = unix_now();
        let bodies: [&[u8]; 5] = [
            b"not json",
            br#"{"type":"checkout.session.completed"}"#,
            br#"{"id":"","type":"x"}"#,
            br#"{"id":{"nested":1}}"#,
            b"[1,2]",
        ];
        for body in bodies {
            let answer = send(&server, &STRIPE, "", body, STRIPE.secret, now).await;
            assert_eq!(answer.detail(), (400, "invalid payload"), "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(server.probe.calls("stripe"), 0);
    }

    async fn two_stripe_endpoints_keep_their_own_secrets_and_deliveries(db: Db) {
        let server = Server::start(Some(db)).await;
        let now = unix_now();
        let body = (STRIPE.body)("evt_shared", 0);
        for (scheme, other) in [(&STRIPE, &STRIPE_CONNECT), (&STRIPE_CONNECT, &STRIPE)] {
            let answer = send(&server, scheme, "evt_shared", &body, other.secret, now).await;
            assert_eq!(answer.detail(), (400, "invalid signature"), "{}", scheme.path);
        }
        // the same event id reaches both endpoints: each handles it once
        for scheme in [&STRIPE, &STRIPE_CONNECT, &STRIPE, &STRIPE_CONNECT] {
            send(&server, scheme, "evt_shared", &body, scheme.secret, now).await;
        }
        assert_eq!(server.probe.calls("stripe"), 1);
        assert_eq!(server.probe.calls("stripe-connect"), 1);
    }

    async fn header_delivery_ids_are_required(db: Db) {
        let server = Server::start(Some(db)).await;
        let body = (GITHUB.body)("d-1", 0);
        let mut headers = GITHUB.headers(GITHUB.secret, "d-1", 0, &body);
        headers.retain(|(name, _)| name != "X-GitHub-Delivery");
        let answer = server.post(GITHUB.path, Some("application/json"), &headers, body).await;
        assert_eq!(answer.detail(), (400, "invalid payload"));
        assert_eq!(server.probe.calls("github"), 0);
        // with it, and with a charset parameter on the content type
        let body = (GITHUB.body)("d-2", 0);
        let headers = GITHUB.headers(GITHUB.secret, "d-2", 0, &body);
        let content_type = Some("Application/JSON; charset=utf-8");
        let answer = server.post(GITHUB.path, content_type, &headers, body).await;
        assert_eq!(answer.detail(), (200, "ok"));
        assert_eq!(deliver(&server, &GITHUB, "d-2").await.detail(), (200, "already processed"));
    }
}
