//! Operations on the real binary: request and event log lines (pretty and JSON), the request
//! id's round trip, security headers, compression, and no session stored for anonymous
//! visitors.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::ws::{connect, hello, recv, send};
use common::{Server, make_order, make_user, session_login, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// `shop serve` with `RUST_LOG=info` and `env`, its standard error written to a file.
async fn logged_shop(dir: &Path, test: &TestDb, env: &[(&str, &str)]) -> (Server, PathBuf) {
    let log = dir.join("stderr.log");
    let mut cmd = shop(dir, Some(&test.url), &[]);
    cmd.env("RUST_LOG", "info");
    for (name, value) in env {
        cmd.env(name, value);
    }
    (Server::start_logged(cmd, &log).await, log)
}

/// The log's lines that satisfy `wanted`, once there is one (5 s at most).
async fn lines_until(log: &Path, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(log).unwrap();
        let found: Vec<String> = text.lines().filter(|l| wanted(l)).map(str::to_owned).collect();
        if !found.is_empty() {
            return found;
        }
        assert!(Instant::now() < deadline, "no such line in:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_one_line_per_request_and_event_with_the_request_id() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let (server, log) = logged_shop(dir.path(), &test, &[("DUET_LOG_FORMAT", "json")]).await;
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    let order = make_order(&test.db, &ada, 1200, "pending").await;
    let client = reqwest::Client::new();

    // A well-formed id is taken and returned; a bad one is replaced by a generated one.
    let given = client
        .get(server.url("/api/orders/"))
        .header("x-request-id", "ops-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), 401);
    assert_eq!(given.headers()["x-request-id"], "ops-test-1");
    let bad = client
        .get(server.url("/_health"))
        .header("x-request-id", "<script>")
        .send()
        .await
        .unwrap();
    let generated = bad.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let (cookie, _) = session_login(&server, "ada", "ada-pw").await;
    let mine = client
        .get(server.url(&format!("/api/v1/orders/{}/", order.id)))
        .header("cookie", &cookie)
        .header("x-request-id", "ops-test-2")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 200);

    let lines = json_lines(&lines_until(&log, |l| l.contains("ops-test-2") && l.contains("\"request\"")).await);
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["target"], "duet::http");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/v1/orders/{id}/");
    assert_eq!(line["path"], format!("/api/v1/orders/{}/", order.id));
    assert_eq!(line["status"], 200);
    assert_eq!(line["user"], ada.id.to_string());
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["span"]["request_id"], "ops-test-2");

    let refused = json_lines(&lines_until(&log, |l| l.contains("ops-test-1") && l.contains("duet::http")).await);
    assert_eq!(refused[0]["status"], 401);
    assert_eq!(refused[0]["user"], "anonymous");
    assert_eq!(refused[0]["level"], "INFO");
    assert!(refused[0]["error"].as_str().unwrap().len() <= 200, "errors are short");
    let health = json_lines(&lines_until(&log, |l| l.contains(&generated)).await);
    assert_eq!(health[0]["route"], "/_health");

    // Events: one line each, with their handler, seq and outcome.
    let mut socket = connect(&server, None).await;
    assert_eq!(hello(&mut socket, None, "/").await["type"], "hydrate");
    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["type"], "delta");
    send(
        &mut socket,
        json!({"type": "event", "seq": 2, "state": "orders", "handler": "refresh"}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["code"], "login_required");
    let events = json_lines(&lines_until(&log, |l| l.contains("duet::event") && l.contains("\"seq\":2")).await);
    assert_eq!(events[0]["event"], "orders.refresh");
    assert_eq!(events[0]["outcome"], "login_required");
    let events = json_lines(&lines_until(&log, |l| l.contains("duet::event") && l.contains("counter.increment")).await);
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[0]["outcome"], "ok");
    assert_eq!(events[0]["user"], "anonymous");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains('\u{1b}'), "no colour codes in a file");
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("every line is JSON ({e}): {line}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pretty_logs_to_a_file_have_no_colour_and_carry_the_request_id() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let (server, log) = logged_shop(dir.path(), &test, &[]).await;
    let response = reqwest::Client::new()
        .get(server.url("/no/such/page"))
        .header("x-request-id", "pretty-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let lines = lines_until(&log, |l| l.contains("request_id=pretty-1")).await;
    let line = &lines[0];
    assert!(line.contains(" INFO "), "{line}");
    for part in [
        "method=\"GET\"",
        "path=\"/no/such/page\"",
        "status=404",
        "user=\"anonymous\"",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(line.len() < 400, "one short line: {line}");
    assert!(!std::fs::read_to_string(&log).unwrap().contains('\u{1b}'));
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_and_hsts_only_in_production() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
    let page = reqwest::get(server.url("/")).await.unwrap();
    let csp = header(&page, "content-security-policy").expect("a CSP on pages");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(header(&page, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&page, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&page, "referrer-policy"), Some("same-origin"));
    assert_eq!(
        header(&page, "strict-transport-security"),
        None,
        "no HSTS in development"
    );
    let html = page.text().await.unwrap();
    assert!(!html.contains("<style"), "no inline style");
    assert!(
        !html.contains("<script>") && !html.contains("<script type=\"module\">"),
        "no inline script"
    );
    let api = reqwest::get(server.url("/api/orders/")).await.unwrap();
    assert_eq!(header(&api, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&api, "content-security-policy"), None, "JSON needs no CSP");
    drop(server);

    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_ENV", "production")
        .env("DUET_SECRET_KEY", "k".repeat(64))
        .env("DUET_ALLOWED_HOSTS", "127.0.0.1");
    let production = Server::start(cmd).await;
    let page = reqwest::get(production.url("/")).await.unwrap();
    assert_eq!(header(&page, "strict-transport-security"), Some(duet::DEFAULT_HSTS));
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_is_negotiated_and_small_responses_are_left_alone() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
    let client = reqwest::Client::new();
    let get = |path: String, encoding: &'static str| {
        let mut request = client.get(server.url(&path));
        if !encoding.is_empty() {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    let page = get("/".into(), "").await.unwrap().text().await.unwrap();
    let runtime = page
        .split('"')
        .find(|s| s.starts_with("/_duet/duet.") && s.ends_with(".js"))
        .expect("the runtime's URL")
        .to_owned();
    let spec = page
        .split('"')
        .find(|s| s.starts_with("/_duet/app.") && s.ends_with(".json"))
        .expect("the spec's URL")
        .to_owned();
    for path in [runtime, spec] {
        let plain = get(path.clone(), "").await.unwrap();
        assert_eq!(header(&plain, "content-encoding"), None, "{path}");
        let plain = plain.bytes().await.unwrap();
        let br = get(path.clone(), "gzip, deflate, br").await.unwrap();
        assert_eq!(header(&br, "content-encoding"), Some("br"), "{path}");
        assert_eq!(header(&br, "vary"), Some("accept-encoding"));
        let br = br.bytes().await.unwrap();
        assert!(br.len() * 3 < plain.len(), "{path}: {} of {}", br.len(), plain.len());
        assert_eq!(unbrotli(&br), plain);
        let gz = get(path.clone(), "gzip").await.unwrap();
        assert_eq!(header(&gz, "content-encoding"), Some("gzip"), "{path}");
        assert_eq!(gunzip(&gz.bytes().await.unwrap()), plain);
        let refused = get(path.clone(), "br;q=0, gzip;q=0").await.unwrap();
        assert_eq!(header(&refused, "content-encoding"), None, "{path}");
    }

    // A dynamic page of some size is compressed per request.
    let login = get("/admin/login/".into(), "gzip").await.unwrap();
    assert_eq!(header(&login, "content-encoding"), Some("gzip"));
    let html = String::from_utf8(gunzip(&login.bytes().await.unwrap())).unwrap();
    assert!(html.len() > 1024 && html.contains("<form"), "{html}");

    // A JSON list is compressed as negotiated, and decodes to the very same JSON.
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    for _ in 0..20 {
        make_order(&test.db, &ada, 1000, "pending").await;
    }
    let key = duet_models::ApiToken::issue(&test.db, ada.id).await.unwrap();
    let list = |encoding: &'static str| {
        let mut request = client
            .get(server.url("/api/v1/orders/"))
            .header("authorization", format!("Token {key}"));
        if !encoding.is_empty() {
            request = request.header("accept-encoding", encoding);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let encoding = header(&response, "content-encoding").map(str::to_owned);
            let vary = header(&response, "vary").map(str::to_owned);
            let length: usize = header(&response, "content-length").unwrap().parse().unwrap();
            let body = response.bytes().await.unwrap().to_vec();
            assert_eq!(length, body.len(), "Content-Length is the sent body's");
            assert_eq!(vary.as_deref(), Some("accept-encoding"));
            (encoding, body)
        }
    };
    let (identity, plain) = list("").await;
    assert_eq!(identity, None);
    assert!(plain.len() > 1024, "{}", plain.len());
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert!(plain["results"].as_array().is_some_and(|r| !r.is_empty()), "{plain}");
    let (br, body) = list("gzip, deflate, br").await;
    assert_eq!(br.as_deref(), Some("br"));
    assert_eq!(serde_json::from_slice::<Value>(&unbrotli(&body)).unwrap(), plain);
    let (gzip, body) = list("gzip").await;
    assert_eq!(gzip.as_deref(), Some("gzip"));
    assert_eq!(serde_json::from_slice::<Value>(&gunzip(&body)).unwrap(), plain);
    for refused in ["br;q=0, gzip;q=0", "identity"] {
        let (none, body) = list(refused).await;
        assert_eq!(none, None, "{refused}");
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), plain);
    }

    let small = get("/_health".into(), "gzip, br").await.unwrap();
    assert_eq!(header(&small, "content-encoding"), None);
    assert_eq!(small.json::<Value>().await.unwrap()["status"], "ok");

    // An event stream is sent as it is: its first event arrives at once, not held back.
    let boss = duet_models::User::create(
        &test.db,
        duet_models::NewUser {
            username: "boss".into(),
            password: "pw".into(),
            is_staff: true,
            is_superuser: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let boss_key = duet_models::ApiToken::issue(&test.db, boss.id).await.unwrap();
    let mut live = client
        .get(server.url("/admin/shop/order/live/"))
        .header("authorization", format!("Token {boss_key}"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(header(&live, "content-type"), Some("text/event-stream"));
    assert_eq!(header(&live, "content-encoding"), None);
    let first = tokio::time::timeout(Duration::from_secs(5), live.chunk())
        .await
        .expect("the stream's first event, unbuffered")
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b": live\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_anonymous_requests_store_no_session_in_redis() {
    let Some(redis_url) = required_env("DUET_TEST_REDIS_URL", "Redis") else {
        return;
    };
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("ops-anon-{}", std::process::id());
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("REDIS_URL", &redis_url).env("REDIS_KEY_PREFIX", &prefix);
    let server = Server::start(cmd).await;
    make_user(&test.db, "ada", "ada-pw").await;
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    let keys = |pattern: String| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("KEYS")
                .arg(pattern)
                .query_async::<Vec<String>>(&mut conn)
                .await
                .unwrap()
        }
    };

    // Pages, a page's 404, API 401s and 404s, the account views: as a crawler would, with
    // and without keeping cookies.
    let paths = [
        "/",
        "/orders",
        "/no/such/page",
        "/api/orders/",
        "/api/nothing/",
        "/accounts/me/",
        "/accounts/login/",
    ];
    let no_redirects = reqwest::redirect::Policy::none;
    let plain = reqwest::Client::builder().redirect(no_redirects()).build().unwrap();
    let keeping = reqwest::Client::builder()
        .redirect(no_redirects())
        .cookie_store(true)
        .build()
        .unwrap();
    // 32 at a time: a crawler's pace, not a connection flood (1,000 connections opened at
    // once, beside the other tests of this file, were once reset on a loaded machine).
    let statuses: Vec<u16> = futures_util::stream::iter((0..1000).map(|i| {
        let client = if i % 2 == 0 { &plain } else { &keeping };
        let url = server.url(paths[i % paths.len()]);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    }))
    .buffered(32)
    .collect()
    .await;
    for expected in [200, 302, 401, 404] {
        assert!(statuses.contains(&expected), "{expected} among {statuses:?}");
    }
    assert_eq!(
        keys(format!("{prefix}:*")).await,
        Vec::<String>::new(),
        "nothing stored for anonymous visitors"
    );

    // A login is stored, under the prefix.
    session_login(&server, "ada", "ada-pw").await;
    let sessions = keys(format!("{prefix}:session:*")).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let _: () = redis::cmd("DEL").arg(&sessions).query_async(&mut conn).await.unwrap();
}

const STRIPE_SECRET: &str = "whsec_metrics_test_secret";

/// The value of the sample `name` whose labels include `labels`, in Prometheus' text format.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
        let wanted = metric == name
            && labels
                .iter()
                .all(|(label, value)| rest.contains(&format!("{label}=\"{value}\"")));
        wanted.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_known_traffic_on_their_own_listener() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let metrics_addr = format!("127.0.0.1:{}", common::free_port());
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_METRICS_ADDR", &metrics_addr)
        .env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET);
    let server = Server::start(cmd).await;
    let client = reqwest::Client::new();
    let scrape = || async {
        reqwest::get(format!("http://{metrics_addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    // Each health check takes one connection from the pool.
    let checkouts = |text: &str| sample(text, "duet_db_pool_wait_seconds_count", &[]).unwrap_or(0.0);
    let before = checkouts(&scrape().await);
    for _ in 0..5 {
        assert_eq!(client.get(server.url("/_health")).send().await.unwrap().status(), 200);
    }
    assert_eq!(checkouts(&scrape().await) - before, 5.0);
    // A delivery, the same again, and a forgery.
    let event = json!({"id": "evt_metrics", "type": "customer.created", "data": {"object": {}}}).to_string();
    for (secret, status) in [(STRIPE_SECRET, 200), (STRIPE_SECRET, 200), ("whsec_forged", 400)] {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let answer = client
            .post(server.url("/webhooks/stripe/"))
            .header("content-type", "application/json")
            .header(
                "Stripe-Signature",
                duet::webhooks::stripe::sign(secret, now, event.as_bytes()),
            )
            .body(event.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status);
    }
    for _ in 0..3 {
        assert_eq!(
            client.get(server.url("/api/orders/")).send().await.unwrap().status(),
            401
        );
    }
    for _ in 0..2 {
        assert_eq!(client.get(server.url("/_health")).send().await.unwrap().status(), 200);
    }
    let orders_page = client.get(server.url("/api/v1/orders/7/")).send().await.unwrap();
    assert_eq!(orders_page.status(), 401);
    let mut socket = connect(&server, None).await;
    hello(&mut socket, None, "/").await;
    for seq in 1..=2 {
        send(
            &mut socket,
            json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment"}),
        )
        .await;
        assert_eq!(recv(&mut socket).await["seq"], seq);
    }
    send(
        &mut socket,
        json!({"type": "event", "seq": 3, "state": "counter", "handler": "no_such_handler"}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["code"], "unknown_handler");
    // A write through a model publishes on its two topics (the model's and its owner's).
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    let order = make_order(&test.db, &ada, 1000, "pending").await;
    let key = duet_models::ApiToken::issue(&test.db, ada.id).await.unwrap();
    let paid = client
        .patch(server.url(&format!("/api/v1/orders/{}/", order.id)))
        .header("authorization", format!("Token {key}"))
        .json(&json!({"status": "paid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);

    let text = scrape().await;
    let get = |name: &str, labels: &[(&str, &str)]| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in:\n{text}"))
    };
    let requests = "duet_http_requests_total";
    assert_eq!(
        get(
            requests,
            &[("method", "GET"), ("route", "/api/orders/"), ("status", "401")]
        ),
        3.0
    );
    assert_eq!(
        get(requests, &[("method", "GET"), ("route", "/_health"), ("status", "200")]),
        7.0
    );
    // By route pattern, never by raw path.
    assert_eq!(
        get(requests, &[("route", "/api/v1/orders/{id}/"), ("status", "401")]),
        1.0
    );
    assert!(!text.contains("/api/v1/orders/7/"), "no raw paths");
    assert_eq!(
        get(
            "duet_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/orders/")]
        ),
        3.0
    );
    assert!(
        text.contains("duet_http_request_duration_seconds_bucket{"),
        "a histogram"
    );
    assert_eq!(
        get(
            "duet_events_total",
            &[("event", "counter.increment"), ("outcome", "ok")]
        ),
        2.0
    );
    assert_eq!(
        get(
            "duet_events_total",
            &[("event", "unknown"), ("outcome", "unknown_handler")]
        ),
        1.0
    );
    assert!(!text.contains("no_such_handler"), "client-chosen names are not labels");
    assert_eq!(
        get("duet_event_duration_seconds_count", &[("event", "counter.increment")]),
        2.0
    );
    assert_eq!(get("duet_websockets_open", &[]), 1.0);
    assert_eq!(get("duet_broadcasts_published_total", &[]), 2.0);
    // The new tab's hello, two events and the refused one each lock and store the tab.
    assert_eq!(get("duet_tab_lock_seconds_count", &[]), 4.0);
    assert_eq!(get("duet_tab_store_seconds_count", &[]), 4.0);
    for reason in ["socket_behind", "transport_queue_full", "transport_unreachable"] {
        assert_eq!(get("duet_broadcasts_dropped_total", &[("reason", reason)]), 0.0);
    }
    let webhooks = "duet_webhook_deliveries_total";
    for (outcome, count) in [("accepted", 1.0), ("duplicate", 1.0), ("bad_signature", 1.0)] {
        assert_eq!(get(webhooks, &[("provider", "stripe"), ("outcome", outcome)]), count);
    }
    assert_eq!(
        text.matches("duet_webhook_deliveries_total{").count(),
        3,
        "no other outcome"
    );
    assert!(
        text.contains("duet_db_pool_wait_seconds_bucket{le=\"0.00001\"}"),
        "the pool's wait has buckets of its own"
    );
    assert!(get("duet_db_pool_connections", &[]) >= 1.0);
    assert!(get("process_resident_memory_bytes", &[]) > 1e6);
    assert!(get("process_open_fds", &[]) > 3.0);

    // Not on the public port.
    let public = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    assert!(!public.text().await.unwrap().contains("duet_http_requests_total"));
}
