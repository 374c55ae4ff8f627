//! `shop serve`: health, seeding and the secret key, on both backends.

mod common;

use common::{Server, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use duet_models::{ListQuery, Model, Scope, User};
use shop::orders::Order;

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn a_fresh_development_database_is_seeded_once(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let health = reqwest::get(server.url("/_health")).await.unwrap();
        assert_eq!(health.status(), 200);
        assert_eq!(health.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok", "db": "ok"}));

        let demo = User::authenticate(&test.db, "demo", "demo").await.unwrap().expect("demo/demo is seeded");
        let orders = Order::list(&test.db, &ListQuery::new(Scope::Owner(demo.id))).await.unwrap();
        assert_eq!(orders.len(), 5);
        drop(server);

        // The development key was generated and kept under var/.
        let key = std::fs::read_to_string(dir.path().join("var/secret.key")).unwrap();
        assert!(key.trim().len() >= 64);

        // A restart neither seeds again nor changes the key.
        let again = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        assert_eq!(reqwest::get(again.url("/_health")).await.unwrap().status(), 200);
        assert_eq!(Order::count(&test.db, &ListQuery::new(Scope::All)).await.unwrap(), 5);
        assert_eq!(std::fs::read_to_string(dir.path().join("var/secret.key")).unwrap(), key);
    }

    async fn production_never_seeds(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = shop(dir.path(), Some(&test.url), &[]);
        cmd.env("DUET_ENV", "production")
            .env("DUET_SECRET_KEY", KEY)
            .env("DUET_ALLOWED_HOSTS", "127.0.0.1");
        let server = Server::start(cmd).await;
        assert_eq!(reqwest::get(server.url("/_health")).await.unwrap().status(), 200);
        assert!(matches!(User::by_username(&test.db, "demo").await, Err(duet_models::Error::NotFound)));
        assert!(!dir.path().join("var/secret.key").exists(), "production never writes a key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_together_on_a_fresh_database_both_serve() {
    let Some(test) = TestDb::postgres(&NO_MIGRATIONS).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = || {
        let mut cmd = shop(dir.path(), Some(&test.url), &[]);
        cmd.env("DUET_SECRET_KEY", KEY);
        cmd
    };
    // Both migrate (under the lock), then both find no users: one seeds, neither exits.
    let (a, b) = tokio::join!(Server::start(key()), Server::start(key()));
    for server in [&a, &b] {
        assert_eq!(reqwest::get(server.url("/_health")).await.unwrap().status(), 200);
    }
    let demo = User::by_username(&test.db, "demo").await.expect("seeded");
    assert_eq!(
        Order::count(&test.db, &ListQuery::new(Scope::Owner(demo.id)))
            .await
            .unwrap(),
        5,
        "seeded once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_with_the_reason_when_postgres_goes_away() {
    let Some(test) = TestDb::postgres(&NO_MIGRATIONS).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DATABASE_TIMEOUT_SECS", "1");
    let server = Server::start(cmd).await;
    assert_eq!(reqwest::get(server.url("/_health")).await.unwrap().status(), 200);

    // Take the database away under the running server.
    let name = test.url.rsplit('/').next().unwrap().to_owned();
    let admin = duet_models::Db::connect_url(&std::env::var(duet_models::testing::POSTGRES_ENV).unwrap())
        .await
        .unwrap();
    duet_models::db_run!(admin, |conn| {
        use diesel_async::SimpleAsyncConnection;
        conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await
    })
    .unwrap();

    let down = reqwest::get(server.url("/_health")).await.unwrap();
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["db"].as_str().unwrap().starts_with("database unavailable"),
        "{body}"
    );
}
