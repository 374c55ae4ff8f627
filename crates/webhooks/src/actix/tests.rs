//! The read pipeline without a server: what it accepts, refuses, and logs.

use std::io;
use std::sync::{Arc, Mutex};

use actix_web::test::TestRequest;
use serde_json::json;

use super::WebhookEndpoint;
use crate::{HeaderIssue, WebhookError, github, stripe};

/// A log sink shared with the subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `test` on an actix system, returning what it logged.
fn logged(test: impl AsyncFnOnce()) -> String {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        actix_web::rt::System::new().block_on(test());
    });
    String::from_utf8(logs.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn a_refusal_is_logged_precisely_and_answered_vaguely() {
    let endpoint = WebhookEndpoint::github(["secret"]).unwrap();
    let logs = logged(async || {
        let (req, payload) = TestRequest::post()
            .uri("/webhooks/github")
            .insert_header(("Content-Type", "application/json"))
            .insert_header((github::SIGNATURE_HEADER, "sha256=00"))
            .set_payload("{}")
            .to_http_parts();
        let error = endpoint.verify_request(&req, payload).await.unwrap_err();
        let wrong_length = HeaderIssue::WrongLength {
            expected: 32,
            actual: 1,
        };
        assert_eq!(
            error,
            WebhookError::invalid_header(github::SIGNATURE_HEADER, wrong_length)
        );
        let response = actix_web::ResponseError::error_response(&error);
        let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        assert_eq!(body, r#"{"detail":"invalid signature"}"#);
    });
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("webhook refused"), "{logs}");
    assert!(logs.contains(r#"provider="github""#), "{logs}");
    assert!(logs.contains(r#"path="/webhooks/github""#), "{logs}");
    assert!(logs.contains("a signature is 1 bytes long, expected 32"), "{logs}");
}

#[test]
fn a_verified_stripe_event() {
    let endpoint = WebhookEndpoint::stripe(["whsec_k"]).unwrap();
    let body = r#"{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap();
    let logs = logged(async || {
        let (req, payload) = TestRequest::post()
            .insert_header(("content-type", "application/json; charset=utf-8"))
            .insert_header((stripe::SIGNATURE_HEADER, stripe::sign("whsec_k", now, body.as_bytes())))
            .set_payload(body)
            .to_http_parts();
        let verified = endpoint.verify_request(&req, payload).await.unwrap();
        assert_eq!(verified.body(), body.as_bytes());
        assert_eq!(verified.delivery_id(), Some("evt_1"));
        assert_eq!(verified.kind(), Some("invoice.paid"));
        assert_eq!(verified.object(), Some(&json!({"id": "in_1"})));
        assert_eq!(verified.provider(), "stripe");
        assert_eq!(verified.verification().timestamp, Some(now));
        assert!(format!("{verified:?}").contains("evt_1"));
    });
    assert_eq!(logs, "");
}

#[test]
fn the_content_type_and_length_are_checked_before_the_body_is_read() {
    let endpoint = WebhookEndpoint::stripe(["whsec_k"]).unwrap().with_body_limit(8);
    logged(async || {
        let (req, payload) = TestRequest::post()
            .insert_header(("content-type", "text/plain"))
            .set_payload("{}")
            .to_http_parts();
        let error = endpoint.verify_request(&req, payload).await.unwrap_err();
        let expected = WebhookError::UnsupportedMediaType {
            received: "text/plain".into(),
            expected: "application/json".into(),
        };
        assert_eq!(error, expected);
        let (req, payload) = TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .insert_header(("content-length", "9"))
            .to_http_parts();
        let error = endpoint.verify_request(&req, payload).await.unwrap_err();
        assert_eq!(error, WebhookError::PayloadTooLarge { limit: 8 });
        let (req, payload) = TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"id\":1234}")
            // understated, so that only the streamed count can tell
            .insert_header(("content-length", "2"))
            .to_http_parts();
        let error = endpoint.verify_request(&req, payload).await.unwrap_err();
        assert_eq!(error, WebhookError::PayloadTooLarge { limit: 8 });
    });
}
