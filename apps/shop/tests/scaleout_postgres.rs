//! Two `shop` processes sharing PostgreSQL and no Redis: live updates, logouts and the
//! other sessions a password change ends cross instances over LISTEN/NOTIFY, while each
//! tab stays with the instance that holds its socket. Needs `DUET_TEST_POSTGRES_URL` (skipped when unset, a failure under `CI=true`).

mod common;

use common::ws::{connect, hello, recv};
use common::{Server, make_order, make_user, session_login, session_logout, shop, stripe_paid};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::json;

const STRIPE_SECRET: &str = "whsec_scaleout_postgres_test";

/// A, then B (so only A seeds the empty database), over one database; cookie sessions
/// signed with one key.
async fn pair() -> Option<(Server, Server, TestDb, tempfile::TempDir)> {
    let test = TestDb::postgres(&NO_MIGRATIONS).await?;
    let dir = tempfile::tempdir().unwrap();
    let instance = || {
        let mut cmd = shop(dir.path(), Some(&test.url), &[]);
        cmd.env("DUET_SECRET_KEY", "s".repeat(64))
            .env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET);
        cmd
    };
    let a = Server::start(instance()).await;
    let b = Server::start(instance()).await;
    Some((a, b, test, dir))
}

#[tokio::test]
async fn a_stripe_webhook_on_b_reaches_the_orders_tab_on_a() {
    let Some((a, b, test, _dir)) = pair().await else { return };
    let ada = make_user(&test.db, "ada", "pw").await;
    let order = make_order(&test.db, &ada, 1250, "pending").await;
    let (cookie, _) = session_login(&a, "ada", "pw").await;
    let mut tab = connect(&a, Some(&cookie)).await;
    let hydrate = hello(&mut tab, None, "/orders").await;
    assert_eq!(
        hydrate["states"]["orders"]["orders"][0]["status"], "pending",
        "{hydrate}"
    );

    assert_eq!(
        stripe_paid(&b, STRIPE_SECRET, "evt_pg_1", &order.client_reference).await,
        200
    );

    let push = recv(&mut tab).await;
    assert!(push.get("seq").is_none(), "a push: {push}");
    assert!(push.to_string().contains(r#""status":"paid""#), "{push}");
}

#[tokio::test]
async fn logout_on_b_closes_the_users_sockets_on_a() {
    let Some((a, b, test, _dir)) = pair().await else { return };
    make_user(&test.db, "ada", "pw").await;
    let (cookie, csrf) = session_login(&a, "ada", "pw").await;
    let mut adas = connect(&a, Some(&cookie)).await;
    assert_eq!(hello(&mut adas, None, "/orders").await["type"], "hydrate");

    assert_eq!(session_logout(&b, &cookie, &csrf).await, 200);
    assert_eq!(
        recv(&mut adas).await,
        json!({"type": "bye", "code": 4401, "message": "logged out"})
    );
}

#[tokio::test]
async fn a_password_change_on_a_ends_the_users_login_and_socket_on_b() {
    let Some((a, b, test, _dir)) = pair().await else { return };
    make_user(&test.db, "ada", common::logins::FIRST_PASSWORD).await;
    common::logins::other_logins_end(&a, &b).await;
}

#[tokio::test]
async fn a_tab_reconnecting_to_the_other_instance_starts_afresh() {
    let Some((a, b, _test, _dir)) = pair().await else {
        return;
    };
    let mut on_a = connect(&a, None).await;
    let tab = hello(&mut on_a, None, "/").await["tab"].as_str().unwrap().to_owned();
    common::ws::send(
        &mut on_a,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut on_a).await["seq"], 1);

    let mut on_b = connect(&b, None).await;
    let hydrate = hello(&mut on_b, Some(&tab), "/").await;
    assert_eq!(
        (&hydrate["seq"], &hydrate["states"]["counter"]["count"]),
        (&json!(0), &json!(0)),
        "B does not know A's tabs: {hydrate}"
    );
}
