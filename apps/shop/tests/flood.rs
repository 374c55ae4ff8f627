//! A login flood against the real `shop`: password checks are bounded (queued, then 503
//! with `Retry-After`), so memory stays bounded and other requests are served meanwhile.
//! (The effect on throughput is measured by `duet-bench logins`, not here.)

mod common;

use common::{Server, make_user, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use serde_json::json;

/// A client with a session and its CSRF token, as a browser has after loading a page.
async fn visitor(server: &Server) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let body: serde_json::Value = client
        .get(server.url("/accounts/login/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, body["csrftoken"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_wrong_passwords_at_once_are_bounded() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    // The login rate would refuse most of the flood before any password check: off here,
    // where the bound on the checks themselves is measured (tests/throttle.rs tests it).
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_THROTTLE_LOGIN", "off");
    let server = Server::start(cmd).await;
    let ada = make_user(&test.db, "ada", "right").await;
    let token = duet_models::ApiToken::issue(&test.db, ada.id).await.unwrap();
    let mut visitors = Vec::new();
    for _ in 0..64 {
        visitors.push(visitor(&server).await);
    }
    let before = server.peak_rss_mib();

    let logins = visitors.into_iter().map(|(client, csrf)| {
        let url = server.url("/accounts/login/");
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header("x-csrftoken", csrf)
                .json(&json!({"username": "ada", "password": "wrong"}))
                .send()
                .await
                .unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (response.status().as_u16(), retry_after)
        })
    });
    let logins: Vec<_> = logins.collect();
    // Meanwhile a token client is served.
    let api = reqwest::Client::new();
    for _ in 0..20 {
        let response = api
            .get(server.url("/api/orders/"))
            .header("authorization", format!("Token {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let mut refused = 0;
    for login in logins {
        let (status, retry_after) = login.await.unwrap();
        match status {
            400 => {}
            503 => {
                assert_eq!(retry_after.as_deref(), Some("1"), "a 503 says when to retry");
                refused += 1;
            }
            other => panic!("a wrong password is 400, or 503 when too many are checked: {other}"),
        }
    }
    assert!(refused > 0, "64 at once is more than the checks run and queue");
    let peak = server.peak_rss_mib();
    assert!(
        peak < 300,
        "peak RSS {peak} MiB (before the flood: {before} MiB): Argon2 runs a bounded number of times at once"
    );
    // The bound is released: a right password logs in.
    let (client, csrf) = visitor(&server).await;
    let ok = client
        .post(server.url("/accounts/login/"))
        .header("x-csrftoken", csrf)
        .json(&json!({"username": "ada", "password": "right"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
