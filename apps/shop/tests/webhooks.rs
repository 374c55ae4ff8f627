//! The shop's webhooks over real HTTP, on both backends: Stripe pays orders; GitHub and
//! Standard Webhooks deliveries are verified and recorded; missing secrets disable routes.

mod common;

use common::{Browser, Server, make_order, make_user, shop};
use duet::webhooks::{github, standard, stripe};
use duet_models::WebhookDelivery;
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::{Value, json};

const STRIPE_SECRET: &str = "whsec_shop_test_secret";
const GITHUB_SECRET: &str = "github shop secret";
const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn server_with_secrets(test: &TestDb) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
        .env("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
        .env("STANDARD_WEBHOOK_SECRET", STANDARD_SECRET);
    let server = Server::start(cmd).await;
    (dir, server)
}

fn checkout_completed(event_id: &str, reference: &str) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"object": "checkout.session", "client_reference_id": reference, "payment_status": "paid"}}
    })
    .to_string()
}

async fn post_stripe(client: &reqwest::Client, server: &Server, body: &str) -> (u16, Value) {
    let response = client
        .post(server.url("/webhooks/stripe/"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", stripe::sign(STRIPE_SECRET, now(), body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn stripe_checkout_marks_the_order_paid_once(test: &TestDb) {
        let (_dir, server) = server_with_secrets(test).await;
        let ada = make_user(&test.db, "ada", "pw").await;
        let order = make_order(&test.db, &ada, 4200, "pending").await;
        let client = reqwest::Client::new();
        let body = checkout_completed("evt_shop_1", &order.client_reference);

        assert_eq!(post_stripe(&client, &server, &body).await, (200, json!({"detail": "ok"})));
        let paid = <shop::orders::Order as duet_models::Model>::get(&test.db, duet_models::Scope::All, order.id).await.unwrap();
        assert_eq!(paid.status, shop::orders::OrderStatus::Paid);

        // The same delivery again: acknowledged, not handled twice.
        assert_eq!(post_stripe(&client, &server, &body).await, (200, json!({"detail": "already processed"})));
        assert_eq!(WebhookDelivery::done_count(&test.db, "stripe").await.unwrap(), 1);

        // Unknown event types are acknowledged and ignored; unknown orders too.
        let other = json!({"id": "evt_shop_2", "type": "invoice.created", "data": {"object": {}}}).to_string();
        assert_eq!(post_stripe(&client, &server, &other).await.0, 200);
        assert_eq!(post_stripe(&client, &server, &checkout_completed("evt_shop_3", "ord_unknown")).await.0, 200);

        // A forged signature changes nothing.
        let cancel = make_order(&test.db, &ada, 100, "pending").await;
        let forged = checkout_completed("evt_shop_4", &cancel.client_reference);
        let response = client
            .post(server.url("/webhooks/stripe/"))
            .header("content-type", "application/json")
            .header("Stripe-Signature", stripe::sign("whsec_wrong", now(), forged.as_bytes()))
            .body(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"detail": "invalid signature"}));
        let untouched = <shop::orders::Order as duet_models::Model>::get(&test.db, duet_models::Scope::All, cancel.id).await.unwrap();
        assert_eq!(untouched.status, shop::orders::OrderStatus::Pending);
    }

    async fn webhooks_are_csrf_exempt_and_need_no_session(test: &TestDb) {
        let (_dir, server) = server_with_secrets(test).await;
        make_user(&test.db, "ada", "pw").await;
        // A logged-in browser session without any CSRF token still reaches the verifier.
        let mut browser = Browser::new(&server).await;
        assert_eq!(browser.login("ada", "pw").await.status(), 200);
        let body = json!({"id": "evt_session", "type": "ping"}).to_string();
        let response = browser
            .client
            .post(browser.url("/webhooks/stripe/"))
            .header("content-type", "application/json")
            .header("Stripe-Signature", stripe::sign(STRIPE_SECRET, now(), body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(browser.client.get(browser.url("/webhooks/stripe/")).send().await.unwrap().status(), 405);
    }

    async fn github_and_standard_deliveries_are_recorded(test: &TestDb) {
        let (_dir, server) = server_with_secrets(test).await;
        let client = reqwest::Client::new();
        let body = r#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
        let send_github = || {
            client
                .post(server.url("/webhooks/github/"))
                .header("content-type", "application/json")
                .header("X-Hub-Signature-256", github::sign(GITHUB_SECRET, body.as_bytes()))
                .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
                .header("X-GitHub-Event", "ping")
                .body(body)
                .send()
        };
        assert_eq!(send_github().await.unwrap().status(), 200);
        assert_eq!(send_github().await.unwrap().json::<Value>().await.unwrap()["detail"], "already processed");
        assert_eq!(WebhookDelivery::done_count(&test.db, "github").await.unwrap(), 1);

        let body = r#"{"type":"user.created","data":{"id":1}}"#;
        let ts = now();
        let signature = standard::sign(STANDARD_SECRET, "msg_shop_1", ts, body.as_bytes()).unwrap();
        let response = client
            .post(server.url("/webhooks/standard/"))
            .header("content-type", "application/json")
            .header("webhook-id", "msg_shop_1")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(WebhookDelivery::done_count(&test.db, "standard-webhooks").await.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_disables_its_route() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET);
    let server = Server::start(cmd).await;
    let client = reqwest::Client::new();
    let response = client
        .post(server.url("/webhooks/github/"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "no secret, no endpoint: never accepts unsigned deliveries"
    );
    assert_eq!(response.json::<Value>().await.unwrap()["detail"], "Not found.");
    let unsigned = client
        .post(server.url("/webhooks/stripe/"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 400);

    // A malformed secret stops start-up with one line naming the variable.
    let mut bad = shop(dir.path(), Some(&test.url), &["serve", "--addr", "127.0.0.1:0"]);
    bad.env("STANDARD_WEBHOOK_SECRET", "whsec_not base64!")
        .env("RUST_LOG", "off");
    let out = common::run(bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).starts_with("shop: STANDARD_WEBHOOK_SECRET"),
        "{}",
        common::stderr(&out)
    );
}
