//! Redis sessions under faults, with a Redis of the test's own: a stalled Redis costs each
//! request a bounded wait (then 503, or the anonymous shell), and a restarted one is used
//! again at once, on every instance, without a restart. Needs `DUET_TEST_REDIS_URL` (the
//! switch for Redis-backed tests; the shared Redis itself is not touched).

mod common;

use std::time::{Duration, Instant};

use common::redis::OwnRedis;
use common::{Server, make_user, session_login, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};

/// How long the shop waits for Redis before answering anyway.
const REDIS_TIMEOUT_MS: u64 = 500;
/// What the test allows a request while Redis stalls: the timeout, a retry's connection
/// attempt, and slack for a busy machine.
const BOUND: Duration = Duration::from_secs(3);

async fn shop_on(redis: &OwnRedis, test: &TestDb, dir: &std::path::Path) -> Server {
    let mut cmd = shop(dir, Some(&test.url), &[]);
    cmd.env("REDIS_URL", redis.url())
        .env("REDIS_KEY_PREFIX", "sessions-test")
        .env("REDIS_TIMEOUT_MS", REDIS_TIMEOUT_MS.to_string())
        .env("DUET_SECRET_KEY", "r".repeat(64));
    Server::start(cmd).await
}

/// `GET path` with `cookie`: the status and how long it took (a hang is a failure).
async fn timed_get(server: &Server, path: &str, cookie: Option<&str>, token: Option<&str>) -> (u16, Duration) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(token) = token {
        request = request.header("authorization", format!("Token {token}"));
    }
    let started = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(20), request.send())
        .await
        .unwrap_or_else(|_| panic!("GET {path} still waits after 20 s"))
        .unwrap();
    (response.status().as_u16(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_is_a_bounded_wait_then_a_clean_answer() {
    if required_env("DUET_TEST_REDIS_URL", "Redis").is_none() {
        return;
    }
    let Some(redis) = OwnRedis::start(common::free_port()) else {
        return;
    };
    redis.wait_up().await;
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let server = shop_on(&redis, &test, dir.path()).await;
    let ada = make_user(&test.db, "ada", "pw").await;
    let token = duet_models::ApiToken::issue(&test.db, ada.id).await.unwrap();
    let (cookie, _) = session_login(&server, "ada", "pw").await;
    assert_eq!(timed_get(&server, "/accounts/me/", Some(&cookie), None).await.0, 200);

    redis.pause();
    for (path, cookie, token, expected) in [
        // Who is asking is unknown: a clean 503 (with Retry-After), not a hang.
        ("/accounts/me/", Some(cookie.as_str()), None, 503),
        // The shell is safe to serve as to an anonymous visitor, session or not.
        ("/", Some(cookie.as_str()), None, 200),
        ("/", None, None, 200),
        // Token calls never needed Redis.
        ("/api/orders/", None, Some(token.as_str()), 200),
    ] {
        let (status, took) = timed_get(&server, path, cookie, token).await;
        assert_eq!(
            status,
            expected,
            "{path} with cookie {} while Redis stalls",
            cookie.is_some()
        );
        assert!(took < BOUND, "{path} waited {took:?}");
    }
    // A socket handshake with the session cookie fails fast too.
    let started = Instant::now();
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        server.url("/_event").replace("http://", "ws://"),
    )
    .unwrap();
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("the handshake should be refused with 503, got {:?}", other.map(|_| ())),
    }
    assert!(
        started.elapsed() < BOUND,
        "the handshake waited {:?}",
        started.elapsed()
    );

    // Redis answers again: so does the session, within seconds.
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = timed_get(&server, "/accounts/me/", Some(&cookie), None).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the session did not come back: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_redis_serves_sessions_again_at_once() {
    if required_env("DUET_TEST_REDIS_URL", "Redis").is_none() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let Some(mut redis) = OwnRedis::start_persistent(port, data.path()) else {
        return;
    };
    redis.wait_up().await;
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let server = shop_on(&redis, &test, dir.path()).await;
    make_user(&test.db, "ada", "pw").await;
    let (cookie, _) = session_login(&server, "ada", "pw").await;
    assert_eq!(timed_get(&server, "/accounts/me/", Some(&cookie), None).await.0, 200);

    redis.stop();
    let (status, took) = timed_get(&server, "/accounts/me/", Some(&cookie), None).await;
    assert_eq!(status, 503, "Redis is down");
    assert!(took < BOUND, "waited {took:?}");
    redis = OwnRedis::start_persistent(port, data.path()).unwrap();
    redis.wait_up().await;
    // The session survived on disk; the first request after the restart gets it (the stale
    // connection is retried once on a fresh one).
    let (status, took) = timed_get(&server, "/accounts/me/", Some(&cookie), None).await;
    assert_eq!(status, 200, "the first request after the restart");
    assert!(took < BOUND, "waited {took:?}");
    drop(redis);
}
