//! Body limits, the `Verified` extractor, and endpoints missing their configuration.

use duet_webhooks::{SignatureEncoding, generic, slack};
use serde_json::json;

use crate::common::{SLACK, STRIPE, Server, post_chunked, unix_now};
use crate::matrix::deliver;

const SMALL: &str = "/webhooks/small";

fn small_headers(body: &[u8]) -> Vec<(String, String)> {
    let signature = generic::sign(b"acme s3cret", "sha256=", SignatureEncoding::Hex, body);
    vec![("X-Acme-Signature".to_owned(), signature)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_limited_on_content_length_and_on_the_bytes_received() {
    let server = Server::start(None).await;
    let fits = vec![b'a'; 64];
    let answer = server.post(SMALL, None, &small_headers(&fits), fits.clone()).await;
    assert_eq!(answer.detail(), (200, "ok"));
    let seen = &server.probe.seen("small")[0];
    assert_eq!((seen.event.clone(), seen.delivery_id.clone()), (json!(null), None));

    let too_long = vec![b'a'; 65];
    let answer = server
        .post(SMALL, Some("text/plain"), &small_headers(&too_long), too_long.clone())
        .await;
    assert_eq!(answer.status, 413);

    // without Content-Length: counted while streaming
    let (status, body) = post_chunked(server.addr, SMALL, &small_headers(&fits), fits.clone(), 10).await;
    assert_eq!((status, body.contains(r#""detail":"ok""#)), (200, true), "{body}");
    let (status, _) = post_chunked(server.addr, SMALL, &small_headers(&too_long), too_long, 10).await;
    assert_eq!(status, 413);
    let huge = vec![b'a'; 4 * 1024 * 1024];
    let (status, body) = post_chunked(server.addr, STRIPE.path, &[], huge, 64 * 1024).await;
    assert_eq!(status, 415, "{body}"); // the content type is checked first
    let huge = vec![b'a'; 4 * 1024 * 1024];
    let (status, body) = post_chunked(server.addr, SMALL, &small_headers(&huge), huge, 64 * 1024).await;
    assert_eq!(status, 413, "{body}");

    assert_eq!(server.probe.calls("small"), 2);
    let answer = server.post(SMALL, None, &small_headers(&fits), fits).await;
    assert_eq!(answer.detail(), (200, "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_lets_a_handler_answer_for_itself() {
    let server = Server::start(None).await;
    let now = unix_now();
    let form = b"command=%2Fecho&text=hello+there".to_vec();
    let headers = SLACK.headers(SLACK.secret, "", now, &form);
    let form_type = Some("application/x-www-form-urlencoded");
    let answer = server.post("/slack/commands", form_type, &headers, form.clone()).await;
    assert_eq!(
        (answer.status, answer.body),
        (
            200,
            json!({"text": "you said hello there", "command": "/echo", "provider": "slack", "timestamp": now})
        )
    );

    let challenge = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#.to_vec();
    let headers = SLACK.headers(SLACK.secret, "", now, &challenge);
    let answer = server
        .post("/slack/commands", Some("application/json"), &headers, challenge)
        .await;
    assert_eq!(
        answer.body,
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );

    let stale = SLACK.headers(SLACK.secret, "", now - 301, &form);
    let answer = server.post("/slack/commands", form_type, &stale, form.clone()).await;
    assert_eq!(answer.detail(), (400, "invalid signature"));
    let forged = vec![
        ("X-Slack-Request-Timestamp".to_owned(), now.to_string()),
        (
            "X-Slack-Signature".to_owned(),
            slack::sign("not the secret", now, &form),
        ),
    ];
    let answer = server.post("/slack/commands", form_type, &forged, form.clone()).await;
    assert_eq!(answer.detail(), (400, "invalid signature"));
    let answer = server.post("/slack/commands", Some("text/csv"), &headers, form).await;
    assert_eq!(answer.status, 415);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_configuration_is_a_500() {
    let server = Server::start(None).await;
    // the extractor without its endpoint in the app data
    let answer = server
        .post("/unconfigured", Some("application/json"), &[], b"{}".to_vec())
        .await;
    assert_eq!(answer.detail(), (500, "internal error"));
    // deduplication without a Db; Slack, which does not deduplicate, works
    assert_eq!(
        deliver(&server, &STRIPE, "evt_1").await.detail(),
        (500, "internal error")
    );
    assert_eq!(server.probe.calls("stripe"), 0);
    assert_eq!(deliver(&server, &SLACK, "d-1").await.detail(), (200, "ok"));
    assert!(!server.probe.seen("slack")[0].has_db);
}
