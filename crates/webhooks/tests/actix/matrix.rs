//! The requests every scheme is put through, over HTTP.

use serde_json::json;

use crate::common::{Answer, Scheme, Server, unix_now};

/// The 2 MiB body that the 1 MiB default limit refuses.
const OVERSIZED: usize = 2 * 1024 * 1024;

/// Sends delivery `id` of `body`, signed under `secret` at `timestamp`.
pub(crate) async fn send(
    server: &Server,
    scheme: &Scheme,
    id: &str,
    body: &[u8],
    secret: &str,
    timestamp: i64,
) -> Answer {
    let headers = scheme.headers(secret, id, timestamp, body);
    server
        .post(scheme.path, Some(scheme.content_type), &headers, body.to_vec())
        .await
}

/// Sends a fresh, well-signed delivery `id`.
pub(crate) async fn deliver(server: &Server, scheme: &Scheme, id: &str) -> Answer {
    let body = (scheme.body)(id, 0);
    send(server, scheme, id, &body, scheme.secret, unix_now()).await
}

/// What a repeat of a handled delivery gets.
fn repeated(scheme: &Scheme) -> (u16, &'static str) {
    if scheme.deduplicated {
        (200, "already processed")
    } else {
        (200, "ok")
    }
}

/// Valid, replayed, concurrent, tampered, wrongly signed, stale, future, oversized,
/// wrongly typed and unsigned deliveries, and a GET; checking the handler's runs after each.
pub(crate) async fn every_request(server: &Server, scheme: &Scheme) {
    let probe = &server.probe;
    let calls = || probe.calls(scheme.provider);
    let now = unix_now();
    let invalid = (400, "invalid signature");

    // valid: the handler runs once and sees the event
    let body = (scheme.body)("d-1", 0);
    let valid = send(server, scheme, "d-1", &body, scheme.secret, now).await;
    assert_eq!(valid.detail(), (200, "ok"), "{}", scheme.path);
    assert_eq!(calls(), 1);
    let seen = &probe.seen(scheme.provider)[0];
    assert_eq!(seen.kind.as_deref(), scheme.kind);
    assert_eq!(seen.body_len, body.len());
    assert!(seen.has_db);
    let expected_id = scheme.deduplicated.then(|| "d-1".to_owned());
    assert_eq!(seen.delivery_id, expected_id);

    // replayed: answered without running the handler again (unless not deduplicated)
    let replay = send(server, scheme, "d-1", &body, scheme.secret, now).await;
    assert_eq!(replay.detail(), repeated(scheme));
    let mut expected = if scheme.deduplicated { 1 } else { 2 };
    assert_eq!(calls(), expected);

    // sent twice at once: one runs, the other is done or in progress
    probe.delay(300);
    let body = (scheme.body)("d-2", 0);
    let (first, second) = tokio::join!(
        send(server, scheme, "d-2", &body, scheme.secret, now),
        send(server, scheme, "d-2", &body, scheme.secret, now),
    );
    probe.delay(0);
    let mut statuses = [first.detail(), second.detail()];
    statuses.sort_unstable();
    if scheme.deduplicated {
        assert_eq!(statuses[0], (200, "ok"), "{statuses:?}");
        assert!(
            [(409, "delivery in progress"), (200, "already processed")].contains(&statuses[1]),
            "{statuses:?}"
        );
        expected += 1;
    } else {
        assert_eq!(statuses, [(200, "ok"), (200, "ok")]);
        expected += 2;
    }
    assert_eq!(calls(), expected);
    let again = send(server, scheme, "d-2", &body, scheme.secret, now).await;
    assert_eq!(again.detail(), repeated(scheme));
    if !scheme.deduplicated {
        expected += 1;
    }

    // tampered: one byte of the body changed after signing
    let body = (scheme.body)("d-3", 0);
    let headers = scheme.headers(scheme.secret, "d-3", now, &body);
    let mut tampered = body.clone();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'X' { b'Y' } else { b'X' };
    let answer = server
        .post(scheme.path, Some(scheme.content_type), &headers, tampered)
        .await;
    assert_eq!(answer.detail(), invalid);

    // signed with another secret
    let answer = send(server, scheme, "d-3", &body, scheme.wrong_secret, now).await;
    assert_eq!(answer.detail(), invalid);

    // signed too long ago, or in the future (beyond the 300 s tolerance); within it is fine
    if scheme.timestamps {
        for (id, timestamp, expected) in [
            ("d-4", now - 400, invalid),
            ("d-5", now + 400, invalid),
            ("d-6", now - 200, (200, "ok")),
        ] {
            let body = (scheme.body)(id, 0);
            let answer = send(server, scheme, id, &body, scheme.secret, timestamp).await;
            assert_eq!(answer.detail(), expected, "signed at now{:+}", timestamp - now);
        }
        expected += 1;
    }

    // no signature headers at all
    let answer = server
        .post(scheme.path, Some(scheme.content_type), &[], body.clone())
        .await;
    assert_eq!(answer.detail(), invalid);

    // a well-signed body with the wrong content type
    let answer = server
        .post(scheme.path, Some("text/plain"), &headers, body.clone())
        .await;
    assert_eq!(answer.status, 415, "{answer:?}");

    // a well-signed body of 2 MiB, against the 1 MiB limit
    let big = (scheme.body)("d-7", OVERSIZED);
    let answer = send(server, scheme, "d-7", &big, scheme.secret, now).await;
    assert_eq!(
        answer.body,
        json!({"detail": "the body is larger than the limit of 1048576 bytes"})
    );
    assert_eq!(answer.status, 413);

    // another method
    let answer = server.get(scheme.path).await;
    assert_eq!(answer.detail(), (405, "method not allowed"));
    assert_eq!(answer.allow.as_deref(), Some("POST"));

    // none of the refusals ran the handler, and the server still serves
    assert_eq!(calls(), expected);
    assert_eq!(deliver(server, scheme, "d-8").await.detail(), (200, "ok"));
    assert_eq!(calls(), expected + 1);
}
