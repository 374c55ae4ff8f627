//! The inbox webhook of the real `notes` binary, signed for real, on both backends.

mod common;

use common::{INBOX_SECRET, Server, make_user, token};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::{Value, json};

/// The titles of `auth`'s notes, over the API.
async fn titles(server: &Server, auth: &str) -> Vec<String> {
    let list: Value = reqwest::Client::new()
        .get(server.url("/api/notes/"))
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn a_signed_delivery_becomes_a_note_once(test: &TestDb) {
        let server = Server::start(&test.url).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let ada = token(&test.db, &ada).await;
        let note = json!({"username": "ada", "title": "From the inbox", "body": "Sent by a script."});

        assert_eq!(server.deliver(INBOX_SECRET, "d-1", &note).await, (200, "ok".into()));
        assert_eq!(server.deliver(INBOX_SECRET, "d-1", &note).await, (200, "already processed".into()));
        assert_eq!(titles(&server, &ada).await, ["From the inbox"], "the repeated delivery wrote nothing");

        // A wrong signature is refused before anything is read.
        let forged = json!({"username": "ada", "title": "Forged", "body": "x"});
        assert_eq!(server.deliver("not the secret", "d-2", &forged).await, (400, "invalid signature".into()));
        // Unknown users and invalid notes are acknowledged (a retry would not help) and ignored.
        let nobody = json!({"username": "nobody", "title": "Lost", "body": "x"});
        assert_eq!(server.deliver(INBOX_SECRET, "d-3", &nobody).await, (200, "ok".into()));
        let untitled = json!({"username": "ada", "body": "no title"});
        assert_eq!(server.deliver(INBOX_SECRET, "d-4", &untitled).await, (200, "ok".into()));
        assert_eq!(titles(&server, &ada).await, ["From the inbox"]);

        // Without its delivery id a request is refused.
        let body = note.to_string();
        let signature = duet::webhooks::generic::sign(
            INBOX_SECRET.as_bytes(), "sha256=", duet::webhooks::SignatureEncoding::Hex, body.as_bytes());
        let response = reqwest::Client::new()
            .post(server.url("/webhooks/inbox/"))
            .header("content-type", "application/json")
            .header("X-Inbox-Signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_secret_the_webhook_is_absent() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let server = Server::start_with(&test.url, None).await;
    let note = json!({"username": "ada", "title": "t", "body": "b"});
    assert_eq!(
        server.deliver(INBOX_SECRET, "d-1", &note).await,
        (404, "Not found.".into())
    );
}

#[test]
fn help_lists_the_apps_setting_beside_the_frameworks() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::notes(dir.path(), "sqlite://:memory:", &["--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    for setting in [
        "--inbox-secret <SECRET>",
        "[env: NOTES_INBOX_SECRET]",
        "[env: DATABASE_URL=",
    ] {
        assert!(help.contains(setting), "`notes --help` lacks {setting:?}:\n{help}");
    }
}
