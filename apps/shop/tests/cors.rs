//! CORS over real HTTP (`DUET_CORS_ORIGINS`): the API prefixes answer listed origins —
//! preflights before authentication, actual requests with credentials — and nothing else
//! ever carries a CORS header; CSRF still guards session writes.

mod common;

use common::{Browser, Server, make_user, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use reqwest::Method;
use serde_json::json;

const LISTED: &str = "https://app.example";
/// Listed for CORS, not trusted for CSRF.
const CORS_ONLY: &str = "https://partner.example";
const UNLISTED: &str = "https://evil.example";

fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .filter(|name| name.as_str().starts_with("access-control-"))
        .map(|name| name.to_string())
        .collect()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

fn varies_by_origin(response: &reqwest::Response) -> bool {
    response.headers().get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .split(',')
            .any(|v| v.trim().eq_ignore_ascii_case("origin"))
    })
}

async fn preflight(server: &Server, path: &str, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, server.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", headers)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_listed_origins_only() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_CORS_ORIGINS", format!("{LISTED},{CORS_ONLY}"))
        .env("DUET_TRUSTED_ORIGINS", LISTED);
    let server = Server::start(cmd).await;
    let ada = make_user(&test.db, "ada", "ada-pw").await;
    let key = duet_models::ApiToken::issue(&test.db, ada.id).await.unwrap();

    // Preflights of the API and the account views, answered before authentication.
    for path in [
        "/api/orders/",
        "/api/v1/orders/7/",
        "/accounts/login/",
        "/accounts/tokens/",
    ] {
        let answer = preflight(&server, path, LISTED, "POST", "content-type,x-csrftoken,authorization").await;
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(header(&answer, "access-control-allow-origin"), LISTED, "{path}");
        assert_eq!(header(&answer, "access-control-allow-credentials"), "true", "{path}");
        let methods = header(&answer, "access-control-allow-methods");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert!(methods.contains(method), "{path}: {methods}");
        }
        let headers = header(&answer, "access-control-allow-headers").to_ascii_lowercase();
        for name in ["authorization", "content-type", "x-csrftoken"] {
            assert!(headers.contains(name), "{path}: {headers}");
        }
        assert!(varies_by_origin(&answer), "{path}");
    }
    // A header that is not allowed is refused, and says nothing.
    let odd = preflight(&server, "/api/orders/", LISTED, "POST", "x-something-else").await;
    assert!(odd.status().is_client_error());
    assert!(header(&odd, "access-control-allow-origin").is_empty());

    // An actual request from a listed origin: readable, with credentials.
    let api = reqwest::Client::new();
    let get = |origin: Option<&str>, path: &str| {
        let request = api
            .get(server.url(path))
            .header("Authorization", format!("Token {key}"));
        match origin {
            Some(origin) => request.header("Origin", origin),
            None => request,
        }
        .send()
    };
    let listed = get(Some(LISTED), "/api/orders/").await.unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(header(&listed, "access-control-allow-origin"), LISTED);
    assert_eq!(header(&listed, "access-control-allow-credentials"), "true");
    assert!(
        header(&listed, "access-control-expose-headers")
            .to_ascii_lowercase()
            .contains("retry-after")
    );
    assert!(varies_by_origin(&listed));
    // Refusals are readable too (the page can show why).
    let refused = api
        .get(server.url("/api/orders/"))
        .header("Origin", LISTED)
        .header("Authorization", "Token nope")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            refused.status().as_u16(),
            header(&refused, "access-control-allow-origin")
        ),
        (401, LISTED)
    );

    // An unlisted origin, or none: no CORS header at all, preflight or not.
    for response in [
        get(Some(UNLISTED), "/api/orders/").await.unwrap(),
        get(None, "/api/orders/").await.unwrap(),
        preflight(&server, "/api/orders/", UNLISTED, "POST", "content-type").await,
    ] {
        assert_eq!(cors_headers(&response), Vec::<String>::new(), "{}", response.url());
        assert!(varies_by_origin(&response), "an API answer varies by origin");
    }
    assert_eq!(
        get(Some(UNLISTED), "/api/orders/").await.unwrap().status(),
        200,
        "non-browser clients are not blocked"
    );

    // Never outside the API: the event socket, the admin, webhooks, the SPA, health.
    for path in [
        "/_event",
        "/admin/",
        "/webhooks/stripe/",
        "/",
        "/no-such-page",
        "/_health",
        "/_duet/app.js",
    ] {
        let actual = reqwest::Client::new()
            .get(server.url(path))
            .header("Origin", LISTED)
            .send()
            .await
            .unwrap();
        assert_eq!(cors_headers(&actual), Vec::<String>::new(), "GET {path}");
        let pre = preflight(&server, path, LISTED, "GET", "content-type").await;
        assert_eq!(cors_headers(&pre), Vec::<String>::new(), "OPTIONS {path}");
    }

    // A session write from a listed origin still needs the CSRF token, and an Origin that
    // is trusted for CSRF (DUET_TRUSTED_ORIGINS): CORS lets the page read, not write.
    let mut browser = Browser::new(&server).await;
    assert_eq!(browser.login("ada", "ada-pw").await.status(), 200);
    let order = common::make_order(&test.db, &ada, 1250, "pending").await;
    let (path, patch) = (format!("/api/v1/orders/{}/", order.id), json!({"status": "paid"}));
    let post = |origin: &str, csrf: bool| {
        let request = browser
            .client
            .patch(browser.url(&path))
            .header("Origin", origin)
            .json(&patch);
        match csrf {
            true => request.header("X-CSRFToken", &browser.csrf),
            false => request,
        }
        .send()
    };
    let no_token = post(LISTED, false).await.unwrap();
    assert_eq!(
        (
            no_token.status().as_u16(),
            header(&no_token, "access-control-allow-origin")
        ),
        (403, LISTED)
    );
    assert_eq!(
        no_token.json::<serde_json::Value>().await.unwrap()["detail"],
        "CSRF Failed: CSRF token missing."
    );
    let untrusted = post(CORS_ONLY, true).await.unwrap();
    assert_eq!(untrusted.status(), 403);
    assert_eq!(
        untrusted.json::<serde_json::Value>().await.unwrap()["detail"],
        format!("CSRF Failed: Origin checking failed - {CORS_ONLY} does not match any trusted origins.")
    );
    let trusted = post(LISTED, true).await.unwrap();
    assert_eq!(
        (
            trusted.status().as_u16(),
            header(&trusted, "access-control-allow-origin")
        ),
        (200, LISTED)
    );
    let _ = browser
        .unsafe_request(Method::POST, "/accounts/logout/")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_origin_is_never_given_credentials_and_cors_is_off_by_default() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_CORS_ORIGINS", "*");
    let mut server = Server::start(cmd).await;
    let answer = preflight(&server, "/api/orders/", UNLISTED, "GET", "authorization").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), "*");
    assert!(
        header(&answer, "access-control-allow-credentials").is_empty(),
        "no cookies for any site"
    );
    let actual = reqwest::Client::new()
        .get(server.url("/api/orders/"))
        .header("Origin", UNLISTED)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&actual, "access-control-allow-origin"), "*");
    assert!(header(&actual, "access-control-allow-credentials").is_empty());

    server.restart(shop(dir.path(), Some(&test.url), &[])).await;
    let off = preflight(&server, "/api/orders/", LISTED, "GET", "authorization").await;
    assert_eq!(cors_headers(&off), Vec::<String>::new());
    let off = reqwest::Client::new()
        .get(server.url("/api/orders/"))
        .header("Origin", LISTED)
        .send()
        .await
        .unwrap();
    assert_eq!(cors_headers(&off), Vec::<String>::new());

    let mut mixed = shop(dir.path(), Some(&test.url), &["check"]);
    mixed.env("DUET_CORS_ORIGINS", "*,https://a.example");
    let bad = common::run(mixed);
    assert_eq!(bad.status.code(), Some(2), "{}", common::stderr(&bad));
}
