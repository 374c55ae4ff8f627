//! The notes page over a real WebSocket, on both backends: it needs a login, writes from
//! its form, and updates live when a note arrives through the API or the webhook.

mod common;

use common::{INBOX_SECRET, Server, make_user, open_tab, recv, send, token};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::{Value, json};

/// The note rows a frame adds to the list: all of them when it sets the list (it was
/// empty), else those its list operations insert.
fn inserted(frame: &Value) -> Vec<Value> {
    let change = &frame["changes"]["notes"]["notes"];
    match change["op"].as_str() {
        Some("set") => change["value"].as_array().cloned().unwrap_or_default(),
        _ => {
            let ops = change["ops"].as_array().cloned().unwrap_or_default();
            ops.into_iter()
                .filter(|op| op["op"] == "insert")
                .map(|op| op["value"].clone())
                .collect()
        }
    }
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn the_notes_page_needs_a_login(test: &TestDb) {
        let server = Server::start(&test.url).await;
        make_user(&test.db, "ada", "pw").await;
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let anonymous = client.get(server.url("/notes")).send().await.unwrap();
        assert_eq!(anonymous.status(), 302);
        assert_eq!(anonymous.headers()["location"], "/login?next=%2Fnotes");
        let cookie = server.login("ada", "pw").await;
        let page = client.get(server.url("/notes")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("<title>My notes · Notes</title>"));
        assert_eq!(client.get(server.url("/")).send().await.unwrap().status(), 200, "the home page is public");
    }

    async fn the_notes_page_updates_live(test: &TestDb) {
        let server = Server::start(&test.url).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let bob = make_user(&test.db, "bob", "pw").await;
        let (ada_token, bob_token) = (token(&test.db, &ada).await, token(&test.db, &bob).await);
        let cookie = server.login("ada", "pw").await;
        let (mut tab, hydrate) = open_tab(&server, &cookie, "/notes").await;
        assert_eq!(hydrate["states"]["notes"], json!({"notes": [], "errors": {}}), "{hydrate}");

        // From the page's form: invalid input lands in `errors`; a valid note is inserted.
        let create = |seq: u64, fields: Value| json!({"type": "event", "seq": seq, "state": "notes", "handler": "create", "payload": fields});
        send(&mut tab, create(1, json!({"title": "", "body": "b"}))).await;
        let reply = recv(&mut tab).await;
        assert_eq!(reply["changes"]["notes"]["errors"]["value"]["title"], json!(["This field may not be blank."]), "{reply}");
        send(&mut tab, create(2, json!({"title": "From the page", "body": "Typed in."}))).await;
        let reply = recv(&mut tab).await;
        assert_eq!(reply["seq"], 2);
        assert_eq!(inserted(&reply)[0]["title"], "From the page", "{reply}");

        // Over the API, as a script would: the open tab hears of it, as one inserted row.
        let response = reqwest::Client::new()
            .post(server.url("/api/notes/"))
            .header("authorization", &ada_token)
            .json(&json!({"title": "From the API", "body": "Posted with curl."}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let push = recv(&mut tab).await;
        assert!(push.get("seq").is_none(), "a push, not a reply: {push}");
        let rows = inserted(&push);
        assert_eq!((rows.len(), rows[0]["title"].as_str(), rows[0]["body"].as_str()), (1, Some("From the API"), Some("Posted with curl.")), "{push}");
        assert_eq!(push["changes"]["notes"]["notes"]["ops"][0]["index"], 0, "newest first: {push}");

        // Through the webhook: the same.
        let delivery = json!({"username": "ada", "title": "From the inbox", "body": "Sent by a script."});
        assert_eq!(server.deliver(INBOX_SECRET, "delivery-1", &delivery).await, (200, "ok".to_owned()));
        let push = recv(&mut tab).await;
        assert_eq!(inserted(&push)[0]["title"], "From the inbox", "{push}");

        // Bob's notes are not Ada's business: his write sends her tab nothing.
        let response = reqwest::Client::new()
            .post(server.url("/api/notes/"))
            .header("authorization", &bob_token)
            .json(&json!({"title": "Bob's", "body": "Private."}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        send(&mut tab, json!({"type": "event", "seq": 3, "state": "notes", "handler": "refresh"})).await;
        let reply = recv(&mut tab).await;
        assert_eq!(reply["seq"], 3, "the next frame answers Ada's own event: no push for Bob's note: {reply}");
        assert!(!reply.to_string().contains("Bob's"), "{reply}");
    }
}
