//! Throttling over real HTTP: the API's anonymous, user and scoped rates, the login rate
//! (per address and per username, the same answer whether the username exists), in one
//! process's memory and shared by two instances through Redis.

mod common;

use std::process::Command;

use common::{Browser, Server, make_user, shop};
use duet_models::ApiToken;
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};

fn throttled_shop(dir: &std::path::Path, test: &TestDb, settings: &[(&str, &str)]) -> Command {
    let mut cmd = shop(dir, Some(&test.url), &[]);
    for (name, value) in settings {
        cmd.env(name, value);
    }
    cmd
}

/// `GET url` (with `token`, if any): the status, and `Retry-After` in seconds.
async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, Option<u64>) {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let status = response.status().as_u16();
    if status == 429 {
        let body: serde_json::Value = response.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Request was throttled. Expected available in"),
            "{detail}"
        );
    }
    (status, retry_after)
}

async fn statuses(client: &reqwest::Client, url: &str, token: Option<&str>, n: usize) -> Vec<u16> {
    let mut found = Vec::new();
    for _ in 0..n {
        found.push(get(client, url, token).await.0);
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_user_rates_count_per_address_and_per_user() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = [("DUET_THROTTLE_ANON", "3/minute"), ("DUET_THROTTLE_USER", "4/minute")];
    let server = Server::start(throttled_shop(dir.path(), &test, &settings)).await;
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    let bob = make_user(&test.db, "bob", "bob-pw").await;
    let ada_token = ApiToken::issue(&test.db, ada.id).await.unwrap();
    let bob_token = ApiToken::issue(&test.db, bob.id).await.unwrap();
    let client = reqwest::Client::new();

    // Anonymous: three per minute from this address, then 429 for about 60/3 seconds.
    let root = server.url("/api/v1/");
    assert_eq!(statuses(&client, &root, None, 3).await, [200, 200, 200]);
    let (status, retry_after) = get(&client, &root, None).await;
    assert_eq!(status, 429);
    let retry_after = retry_after.expect("Retry-After");
    assert!(
        (19..=20).contains(&retry_after),
        "one request back every 20 s: {retry_after}"
    );
    assert_eq!(
        get(&client, &server.url("/api/orders/"), None).await.0,
        429,
        "every API route of the address"
    );
    assert_eq!(
        get(&client, &server.url("/_health"), None).await.0,
        200,
        "only the API is throttled"
    );

    // A user is counted as a user, not by the address the anonymous budget was spent from.
    let orders = server.url("/api/orders/");
    assert_eq!(statuses(&client, &orders, Some(&ada_token), 4).await, [200; 4]);
    let (status, retry_after) = get(&client, &orders, Some(&ada_token)).await;
    assert_eq!((status, retry_after), (429, Some(15)), "4/minute: one back every 15 s");
    assert_eq!(
        get(&client, &root, Some(&bob_token)).await.0,
        200,
        "bob has his own budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_rate_counts_its_action_only() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(throttled_shop(dir.path(), &test, &[])).await;
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    let bob = make_user(&test.db, "bob", "bob-pw").await;
    let ada_token = ApiToken::issue(&test.db, ada.id).await.unwrap();
    let bob_token = ApiToken::issue(&test.db, bob.id).await.unwrap();
    let client = reqwest::Client::new();
    let summary = server.url("/api/v1/orders/summary/");
    let allowed = shop::api::SUMMARIES.rate.requests() as usize;
    assert!(
        statuses(&client, &summary, Some(&ada_token), allowed)
            .await
            .iter()
            .all(|s| *s == 200)
    );
    let (status, retry_after) = get(&client, &summary, Some(&ada_token)).await;
    assert_eq!((status, retry_after), (429, Some(3)), "20/minute: one back every 3 s");
    assert_eq!(
        get(&client, &server.url("/api/v1/orders/"), Some(&ada_token)).await.0,
        200,
        "other routes are not in the scope"
    );
    assert_eq!(get(&client, &summary, Some(&bob_token)).await.0, 200, "per user");
}

/// A login attempt for `username` from `address` (forwarded by the trusted proxy
/// 127.0.0.1): its status, `Retry-After` and body.
async fn login_from(browser: &Browser, address: &str, username: &str) -> (u16, Option<String>, serde_json::Value) {
    let response = browser
        .unsafe_request(reqwest::Method::POST, "/accounts/login/")
        .header("X-Forwarded-For", address)
        .json(&serde_json::json!({"username": username, "password": "wrong"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_throttled_per_address_and_per_username_alike_for_unknown_names() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    // Behind a trusted proxy, so that each attempt can come from an address of its own.
    let settings = [
        ("DUET_THROTTLE_LOGIN", "3/minute"),
        ("DUET_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let server = Server::start(throttled_shop(dir.path(), &test, &settings)).await;
    make_user(&test.db, "ada", "ada-pw").await;
    let browser = Browser::new(&server).await;

    // Per username: three attempts, each from another address, then 429 — the same for
    // a user that exists and one that does not.
    let mut answers = Vec::new();
    for (username, first) in [("ada", 1), ("nobody", 10)] {
        for n in first..first + 3 {
            let (status, _, body) = login_from(&browser, &format!("198.51.100.{n}"), username).await;
            assert_eq!(status, 400, "{username}: {body}");
            answers.push(body);
        }
        answers.push(serde_json::json!(
            login_from(&browser, &format!("198.51.100.{}", first + 3), username).await
        ));
    }
    assert_eq!(
        answers[..4],
        answers[4..],
        "an unknown username is answered as a known one"
    );
    let refused = &answers[3];
    assert_eq!(refused[0], 429);
    assert_eq!(refused[1], "20");
    assert_eq!(
        refused[2]["detail"],
        "Request was throttled. Expected available in 20 seconds."
    );

    // Per address: three usernames from one address, then 429 for a fourth.
    for username in ["u1", "u2", "u3"] {
        assert_eq!(login_from(&browser, "203.0.113.5", username).await.0, 400);
    }
    assert_eq!(login_from(&browser, "203.0.113.5", "u4").await.0, 429);
    // The right password of a user who is not throttled still works from elsewhere.
    let mut ok = Browser::new(&server).await;
    make_user(&test.db, "cy", "cy-pw").await;
    assert_eq!(ok.login("cy", "cy-pw").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_redis_share_the_count() {
    let Some(redis) = required_env("DUET_TEST_REDIS_URL", "Redis") else {
        return;
    };
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("throttle-{}-{}", std::process::id(), rand_suffix());
    let settings = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("DUET_THROTTLE_USER", "3/minute"),
    ];
    let a = Server::start(throttled_shop(dir.path(), &test, &settings)).await;
    let b = Server::start(throttled_shop(dir.path(), &test, &settings)).await;
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    let token = ApiToken::issue(&test.db, ada.id).await.unwrap();
    let client = reqwest::Client::new();
    let (on_a, on_b) = (a.url("/api/orders/"), b.url("/api/orders/"));
    assert_eq!(get(&client, &on_a, Some(&token)).await.0, 200);
    assert_eq!(get(&client, &on_b, Some(&token)).await.0, 200);
    assert_eq!(get(&client, &on_a, Some(&token)).await.0, 200);
    let (status, retry_after) = get(&client, &on_b, Some(&token)).await;
    assert_eq!(status, 429, "the third request on A spent the budget B sees");
    let retry_after = retry_after.expect("Retry-After");
    assert!((19..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(get(&client, &on_a, Some(&token)).await.0, 429);

    // The counter is one key under the prefix, expiring.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:throttle:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&format!("{prefix}:throttle:user:")), "{keys:?}");
    let ttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 60_000,
        "expires once the budget is whole again: {ttl} ms"
    );
    let _: () = redis::cmd("DEL").arg(&keys[0]).query_async(&mut conn).await.unwrap();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
