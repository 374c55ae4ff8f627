//! The event-state side of the shop over real WebSockets, on both backends: the counter,
//! the user's orders, and live updates from the API and from Stripe webhooks.

mod common;

use common::ws::{connect, hello, recv, send};
use common::{Browser, Server, make_order, make_user, session_login, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::{Value, json};

const STRIPE_SECRET: &str = "whsec_live_test";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn the_counter_counts(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let mut socket = connect(&server, None).await;
        let hydrate = hello(&mut socket, None, "/").await;
        assert_eq!(hydrate["states"]["counter"], json!({"count": 0}));
        assert!(hydrate["states"].get("orders").is_none(), "orders need a login");
        send(&mut socket, json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"})).await;
        assert_eq!(recv(&mut socket).await, json!({"type": "delta", "seq": 1, "changes": {"counter": {"count": {"op": "set", "value": 1}}}}));
        send(&mut socket, json!({"type": "event", "seq": 2, "state": "counter", "handler": "set_to", "payload": "ten"})).await;
        assert_eq!(recv(&mut socket).await["code"], "bad_payload");
        send(&mut socket, json!({"type": "event", "seq": 3, "state": "orders", "handler": "refresh"})).await;
        assert_eq!(recv(&mut socket).await["code"], "login_required");
    }

    async fn the_counter_stops_at_its_limits(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let mut socket = connect(&server, None).await;
        hello(&mut socket, None, "/").await;
        let event = |seq: u64, handler: &str, payload: Value| {
            json!({"type": "event", "seq": seq, "state": "counter", "handler": handler, "payload": payload})
        };
        send(&mut socket, event(1, "set_to", json!(i64::MAX))).await;
        assert_eq!(recv(&mut socket).await["changes"]["counter"]["count"]["value"], i64::MAX);
        send(&mut socket, event(2, "increment", Value::Null)).await;
        let refused = recv(&mut socket).await;
        assert_eq!((refused["seq"].as_u64(), refused["code"].as_str()), (Some(2), Some("handler_failed")), "an error frame, not a wrap: {refused}");
        send(&mut socket, event(3, "decrement", Value::Null)).await;
        assert_eq!(recv(&mut socket).await["changes"]["counter"]["count"]["value"], i64::MAX - 1, "the count stayed");
        send(&mut socket, event(4, "set_to", json!(i64::MIN))).await;
        recv(&mut socket).await;
        send(&mut socket, event(5, "decrement", Value::Null)).await;
        assert_eq!(recv(&mut socket).await["code"], "handler_failed");
    }

    async fn orders_change_live_from_the_api_and_from_stripe(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = shop(dir.path(), Some(&test.url), &[]);
        cmd.env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET);
        let server = Server::start(cmd).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let bob = make_user(&test.db, "bob", "pw").await;
        let first = make_order(&test.db, &ada, 1000, "pending").await;
        let second = make_order(&test.db, &ada, 2500, "pending").await;
        let bobs = make_order(&test.db, &bob, 500, "pending").await;

        let (cookie, csrf) = session_login(&server, "ada", "pw").await;
        let mut tab = connect(&server, Some(&cookie)).await;
        let hydrate = hello(&mut tab, None, "/orders").await;
        let ids: Vec<i64> = hydrate["states"]["orders"]["orders"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [second.id, first.id], "on_load loaded ada's orders, newest first, and only hers");

        // Ada changes an order over HTTP (as a mobile app would): her open tab hears of it.
        let patch = reqwest::Client::new()
            .patch(server.url(&format!("/api/v1/orders/{}/", first.id)))
            .header("cookie", &cookie)
            .header("x-csrftoken", &csrf)
            .json(&json!({"status": "shipped"}))
            .send()
            .await
            .unwrap();
        assert_eq!(patch.status(), 200);
        let push = recv(&mut tab).await;
        assert!(push.get("seq").is_none(), "{push}");
        let ops = &push["changes"]["orders"]["orders"];
        assert_eq!(ops["op"], "list", "a list operation, not the whole list: {push}");
        assert_eq!(ops["ops"][0]["op"], "replace");
        assert_eq!(ops["ops"][0]["value"]["status"], "shipped");
        assert!(push.to_string().len() < 300, "{push}");

        // Stripe pays the second order: the tab hears of it too.
        let body = json!({"id": "evt_live_1", "type": "checkout.session.completed",
            "data": {"object": {"client_reference_id": second.client_reference}}}).to_string();
        let hook = reqwest::Client::new()
            .post(server.url("/webhooks/stripe/"))
            .header("content-type", "application/json")
            .header("Stripe-Signature", duet::webhooks::stripe::sign(STRIPE_SECRET, now(), body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(hook.status(), 200);
        let push = recv(&mut tab).await;
        assert_eq!(push["changes"]["orders"]["orders"]["ops"][0]["value"]["status"], "paid", "{push}");

        // Bob's orders are not Ada's business: a change to his sends her nothing.
        let bob_key = duet_models::ApiToken::issue(&test.db, bob.id).await.unwrap();
        let bob_patch = reqwest::Client::new()
            .patch(server.url(&format!("/api/v1/orders/{}/", bobs.id)))
            .header("authorization", format!("Token {bob_key}"))
            .json(&json!({"status": "cancelled"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bob_patch.status(), 200);
        send(&mut tab, json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"})).await;
        assert_eq!(recv(&mut tab).await["seq"], 1, "the next frame is the reply to ada's own event, no push for bob's order");
    }

    async fn orders_are_written_from_the_page(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let bob = make_user(&test.db, "bob", "pw").await;
        let old = make_order(&test.db, &ada, 1000, "pending").await;
        let bobs = make_order(&test.db, &bob, 500, "pending").await;
        let (cookie, _) = session_login(&server, "ada", "pw").await;
        let mut tab = connect(&server, Some(&cookie)).await;
        let hydrate = hello(&mut tab, None, "/orders").await;
        assert_eq!(hydrate["states"]["orders"]["errors"], json!({}));
        let mut other_tab = connect(&server, Some(&cookie)).await;
        hello(&mut other_tab, None, "/orders").await;
        let event = |seq: u64, handler: &str, payload: Value| {
            json!({"type": "event", "seq": seq, "state": "orders", "handler": handler, "payload": payload})
        };

        // Invalid input lands in the errors var; nothing is written.
        send(&mut tab, event(1, "create", json!({"total": "12.999", "currency": "eu"}))).await;
        let reply = recv(&mut tab).await;
        let errors = &reply["changes"]["orders"]["errors"]["value"];
        assert!(errors["total"].is_array() && errors["currency"].is_array(), "{reply}");
        assert!(reply["changes"]["orders"].get("orders").is_none(), "{reply}");

        // A valid order is inserted at the top as one row; the errors are cleared.
        send(&mut tab, event(2, "create", json!({"total": "12.50", "currency": "EUR"}))).await;
        let reply = recv(&mut tab).await;
        assert_eq!(reply["changes"]["orders"]["errors"], json!({"op": "set", "value": {}}), "{reply}");
        let ops = &reply["changes"]["orders"]["orders"]["ops"];
        assert_eq!(ops.as_array().unwrap().len(), 1, "{reply}");
        assert_eq!((ops[0]["op"].as_str(), ops[0]["index"].as_u64()), (Some("insert"), Some(0)), "{reply}");
        let row = &ops[0]["value"];
        assert_eq!((row["total"].as_str(), row["currency"].as_str(), row["status"].as_str()), (Some("12.50"), Some("EUR"), Some("pending")));
        let created = row["id"].as_i64().unwrap();
        let push = recv(&mut other_tab).await;
        assert!(push.get("seq").is_none() && push.to_string().contains("12.50"), "Ada's other tab hears of it: {push}");

        // Update and delete, scoped to Ada's own orders.
        send(&mut tab, event(3, "update", json!({"id": created, "status": "paid"}))).await;
        let reply = recv(&mut tab).await;
        assert_eq!(reply["changes"]["orders"]["orders"]["ops"][0]["value"]["status"], "paid", "{reply}");
        send(&mut tab, event(4, "update", json!({"id": bobs.id, "status": "paid"}))).await;
        let refused = recv(&mut tab).await;
        assert_eq!((refused["code"].as_str(), refused["message"].as_str()), (Some("not_found"), Some("Not found.")), "{refused}");
        send(&mut tab, event(5, "update", json!({"status": "paid"}))).await;
        assert_eq!(recv(&mut tab).await["code"], "bad_payload");
        send(&mut tab, event(6, "delete", json!(old.id))).await;
        let reply = recv(&mut tab).await;
        assert_eq!(reply["changes"]["orders"]["orders"]["ops"][0]["op"], "remove", "{reply}");

        use duet_models::{Model, Scope};
        let order = shop::orders::Order::get(&test.db, Scope::All, created).await.unwrap();
        assert_eq!((duet_models::Choices::value(order.status), order.customer.id()), ("paid", ada.id));
        assert!(shop::orders::Order::get(&test.db, Scope::All, old.id).await.is_err(), "deleted");
        assert_eq!(shop::orders::Order::get(&test.db, Scope::All, bobs.id).await.unwrap().status, shop::orders::OrderStatus::Pending, "bob's order untouched");
    }

    async fn validation_errors_are_the_same_over_http_and_the_socket(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let mut api = Browser::new(&server).await;
        assert_eq!(api.login("ada", "pw").await.status(), 200);
        let (cookie, _) = session_login(&server, "ada", "pw").await;
        let mut tab = connect(&server, Some(&cookie)).await;
        hello(&mut tab, None, "/orders").await;
        let inputs = [
            json!({}),
            json!({"total": "12.999", "currency": "eu"}),
            json!({"total": "-3", "currency": "EURO", "status": "lost"}),
            json!({"total": null, "currency": 7, "status": 1}),
        ];
        for (seq, input) in inputs.iter().enumerate() {
            let http = api.unsafe_request(reqwest::Method::POST, "/api/v1/orders/").json(input).send().await.unwrap();
            assert_eq!(http.status(), 400, "{input}");
            let http: Value = http.json().await.unwrap();
            let event = json!({"type": "event", "seq": seq + 1, "state": "orders", "handler": "create", "payload": input});
            send(&mut tab, event).await;
            let reply = recv(&mut tab).await;
            assert_eq!(reply["changes"]["orders"]["errors"]["value"], http, "{input}: one rule set, one answer");
        }
        use duet_models::{ListQuery, Model, Scope};
        assert_eq!(shop::orders::Order::count(&test.db, &ListQuery::new(Scope::Owner(ada.id))).await.unwrap(), 0, "nothing was written");
    }
}
