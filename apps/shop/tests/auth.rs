//! Sessions, login/logout, API tokens and CSRF over real HTTP, on both backends.

mod common;

use common::ws::{connect, hello};
use common::{Browser, Server, make_order, make_user, session_login, session_logout, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb};
use reqwest::Method;

fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn login_rotates_the_session_and_logout_ends_it(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        make_user(&test.db, "ada", "ada-pw").await;

        // An attacker plants a session cookie in the victim's browser; the victim then logs
        // in with it (and the CSRF token of their anonymous visit).
        let plain = reqwest::Client::new();
        let (planted, planted_csrf) = pre_login_session(&plain, &server).await;
        let me = |cookie: String| plain.get(server.url("/accounts/me/")).header("Cookie", format!("sessionid={cookie}")).send();
        let anonymous = me(planted.clone()).await.unwrap();
        assert_eq!(anonymous.status(), 401);
        assert_eq!(anonymous.json::<serde_json::Value>().await.unwrap()["detail"], "Authentication credentials were not provided.");

        let login = login_with(&plain, &server, &planted, &planted_csrf).await;
        assert_eq!(login.status(), 200);
        let session = set_cookie(&login, "sessionid").expect("login sets a fresh session cookie").to_owned();
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
        assert!(!session.contains("Secure"), "development cookies work over plain HTTP");
        assert_ne!(cookie_value(&session), planted, "the session id is rotated at login");
        let csrf = set_cookie(&login, "csrftoken").expect("login rotates the CSRF token").to_owned();
        assert!(!csrf.contains("HttpOnly"), "the SPA reads the CSRF cookie");
        assert_ne!(cookie_value(&csrf), planted_csrf, "the CSRF token is rotated at login");
        let session = cookie_value(&session).to_owned();
        let body: serde_json::Value = login.json().await.unwrap();
        assert_eq!(body["user"]["username"], "ada");
        assert!(body["user"].get("password_hash").is_none());

        // The planted pre-login cookie is not logged in; the new one is.
        assert_eq!(me(planted).await.unwrap().status(), 401);
        let mine = me(session).await.unwrap();
        assert_eq!(mine.status(), 200);
        assert_eq!(mine.json::<serde_json::Value>().await.unwrap()["user"]["username"], "ada");

        // Logout is an unsafe request: without the token it is refused.
        let mut browser = Browser::new(&server).await;
        assert_eq!(browser.login("ada", "ada-pw").await.status(), 200);
        assert_eq!(browser.get_json("/accounts/me/").await.0, 200);
        let refused = browser.client.post(browser.url("/accounts/logout/")).send().await.unwrap();
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["detail"], "CSRF Failed: CSRF token missing.");
        let out = browser.unsafe_request(Method::POST, "/accounts/logout/").send().await.unwrap();
        assert_eq!(out.status(), 200);
        assert_eq!(browser.get_json("/accounts/me/").await.0, 401);
    }

    async fn a_cookie_saved_before_logout_is_anonymous_after_it(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let ada = make_user(&test.db, "ada", "ada-pw").await;
        let order = make_order(&test.db, &ada, 1200, "pending").await;
        let (cookie, csrf) = session_login(&server, "ada", "ada-pw").await;
        let plain = reqwest::Client::new();
        let me = || plain.get(server.url("/accounts/me/")).header("cookie", &cookie).send();
        assert_eq!(me().await.unwrap().status(), 200);
        let mut socket = connect(&server, Some(&cookie)).await;
        let hydrate = hello(&mut socket, None, "/orders").await;
        let tab = hydrate["tab"].as_str().unwrap().to_owned();
        assert!(hydrate["states"]["orders"].is_object(), "{hydrate}");

        // The cookie store cannot take a cookie back; the login row can.
        assert_eq!(session_logout(&server, &cookie, &csrf).await, 200);
        assert_eq!(me().await.unwrap().status(), 401, "the saved cookie is not logged in");
        let patch = plain
            .patch(server.url(&format!("/api/v1/orders/{}/", order.id)))
            .header("cookie", &cookie)
            .header("x-csrftoken", &csrf)
            .json(&serde_json::json!({"status": "shipped"}))
            .send()
            .await
            .unwrap();
        assert!(matches!(patch.status().as_u16(), 401 | 403), "{}", patch.status());
        let mut replayed = connect(&server, Some(&cookie)).await;
        let hydrate = hello(&mut replayed, Some(&tab), "/orders").await;
        assert_ne!(hydrate["tab"], tab.as_str(), "the user's tab is not handed back: {hydrate}");
        assert!(hydrate["states"].get("orders").is_none(), "{hydrate}");
    }

    async fn foreign_hosts_are_refused(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let get = |host: Option<&str>, forwarded: Option<&str>| {
            let mut request = plain.get(server.url("/orders"));
            if let Some(host) = host {
                request = request.header("host", host);
            }
            if let Some(forwarded) = forwarded {
                request = request.header("x-forwarded-host", forwarded);
            }
            request.send()
        };
        let own = get(None, None).await.unwrap();
        assert_eq!(own.status(), 302, "the page asks for a login");
        assert!(own.headers()["location"].to_str().unwrap().starts_with("/login?next="));
        for host in ["evil.example", "localhost.evil.example:80"] {
            let refused = get(Some(host), None).await.unwrap();
            assert_eq!(refused.status(), 400, "{host:?}");
            let detail = refused.json::<serde_json::Value>().await.unwrap()["detail"].as_str().unwrap().to_owned();
            assert!(detail.starts_with("Invalid Host header"), "{detail}");
        }
        assert_eq!(get(Some("localhost"), None).await.unwrap().status(), 302, "loopback names are allowed in development");
        // No proxy is trusted: a forwarded host is not believed (tests/proxy.rs trusts one).
        assert_eq!(get(None, Some("evil.example")).await.unwrap().status(), 302, "X-Forwarded-Host ignored");
    }

    async fn failed_logins_are_generic(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        make_user(&test.db, "ada", "ada-pw").await;
        let gone = make_user(&test.db, "gone", "gone-pw").await;
        duet_models::User::set_active(&test.db, gone.id, false).await.unwrap();
        let mut browser = Browser::new(&server).await;
        let generic = serde_json::json!({"detail": "Unable to log in with the provided credentials."});
        for (user, pw) in [("ada", "wrong"), ("nobody", "ada-pw"), ("gone", "gone-pw")] {
            let response = browser.login(user, pw).await;
            assert_eq!(response.status(), 400, "{user}");
            assert_eq!(response.json::<serde_json::Value>().await.unwrap(), generic, "{user}");
        }
        let missing = browser.unsafe_request(Method::POST, "/accounts/login/").json(&serde_json::json!({"username": "ada"})).send().await.unwrap();
        assert_eq!(missing.status(), 400);
        assert_eq!(missing.json::<serde_json::Value>().await.unwrap()["password"][0], "This field is required.");
        // A form post carries the token in a field instead of a header.
        let form = browser
            .client
            .post(browser.url("/accounts/login/"))
            .form(&[("username", "ada"), ("password", "ada-pw"), ("csrfmiddlewaretoken", browser.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 200);
        browser.refresh_csrf().await;
        let xml = browser.unsafe_request(Method::POST, "/accounts/login/").header("content-type", "text/xml").body("<x/>").send().await.unwrap();
        assert_eq!(xml.status(), 415);
        let garbage = browser.unsafe_request(Method::POST, "/accounts/login/").header("content-type", "application/json").body("{oops").send().await.unwrap();
        assert_eq!(garbage.status(), 400);
    }

    async fn login_itself_is_csrf_protected(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        make_user(&test.db, "ada", "ada-pw").await;
        let fresh = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let no_session = fresh.post(server.url("/accounts/login/")).json(&serde_json::json!({"username": "ada", "password": "ada-pw"})).send().await.unwrap();
        assert_eq!(no_session.status(), 403);
        assert_eq!(no_session.json::<serde_json::Value>().await.unwrap()["detail"], "CSRF Failed: CSRF cookie not set.");
        let browser = Browser::new(&server).await;
        let credentials = serde_json::json!({"username": "ada", "password": "ada-pw"});
        let foreign = browser
            .client
            .post(browser.url("/accounts/login/"))
            .header("X-CSRFToken", &browser.csrf)
            .header("Origin", "http://evil.example")
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        assert_eq!(
            foreign.json::<serde_json::Value>().await.unwrap()["detail"],
            "CSRF Failed: Origin checking failed - http://evil.example does not match any trusted origins."
        );
        // A second Origin header cannot smuggle a foreign origin past a good first one.
        let smuggled = browser
            .unsafe_request(Method::POST, "/accounts/login/")
            .header("Origin", "http://evil.example")
            .json(&credentials)
            .send()
            .await
            .unwrap();
        assert_eq!(smuggled.status(), 403);
        // With the right token and origin, it works.
        let good = browser.unsafe_request(Method::POST, "/accounts/login/").json(&credentials).send().await.unwrap();
        assert_eq!(good.status(), 200);
    }

    async fn csrf_applies_to_sessions_not_tokens_or_webhooks(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
        let ada = make_user(&test.db, "ada", "ada-pw").await;
        let order = make_order(&test.db, &ada, 1000, "pending").await;
        let path = format!("/api/v1/orders/{}/", order.id);
        let mut browser = Browser::new(&server).await;
        assert_eq!(browser.login("ada", "ada-pw").await.status(), 200);
        let patch = serde_json::json!({"status": "paid"});

        // (extra headers, expected status, expected detail)
        type Case<'a> = (Vec<(&'a str, String)>, u16, Option<&'a str>);
        let cases: Vec<Case<'_>> = vec![
            (vec![], 403, Some("CSRF Failed: CSRF token missing.")),
            (vec![("X-CSRFToken", "wrong".into())], 403, Some("CSRF Failed: CSRF token incorrect.")),
            (vec![("X-CSRFToken", browser.csrf.clone()), ("Origin", "https://evil.example".into())], 403,
             Some("CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.")),
            (vec![("X-CSRFToken", browser.csrf.clone()), ("Referer", "https://evil.example/page".into())], 403,
             Some("CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.")),
            (vec![("X-CSRFToken", browser.csrf.clone()), ("Origin", browser.base.clone())], 200, None),
            (vec![("X-CSRFToken", browser.csrf.clone())], 200, None),
        ];
        for (headers, status, detail) in cases {
            let mut request = browser.client.patch(browser.url(&path)).json(&patch);
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{headers:?}");
            if let Some(detail) = detail {
                assert_eq!(response.json::<serde_json::Value>().await.unwrap()["detail"], detail, "{headers:?}");
            }
        }

        // A token-authenticated client needs no CSRF token, from any origin.
        let key = duet_models::ApiToken::issue(&test.db, ada.id).await.unwrap();
        let api = reqwest::Client::new();
        for scheme in ["Token", "Bearer"] {
            let response = api.patch(server.url(&path)).header("Authorization", format!("{scheme} {key}"))
                .header("Origin", "https://elsewhere.example").json(&patch).send().await.unwrap();
            assert_eq!(response.status(), 200, "{scheme}");
        }
        let bad = api.get(server.url("/api/orders/")).header("Authorization", "Token not-a-real-token").send().await.unwrap();
        assert_eq!(bad.status(), 401);
        assert_eq!(bad.json::<serde_json::Value>().await.unwrap()["detail"], "Invalid token.");

        // Webhooks are CSRF-exempt even with a session: the request reaches routing (404: no such hook).
        let hook = browser.client.post(browser.url("/webhooks/nothing-here/")).body("{}").send().await.unwrap();
        assert_eq!(hook.status(), 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_cookies_are_secure() {
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("DUET_ENV", "production")
        .env("DUET_SECRET_KEY", "k".repeat(64))
        .env("DUET_ALLOWED_HOSTS", "127.0.0.1");
    let server = Server::start(cmd).await;
    make_user(&test.db, "ada", "ada-pw").await;
    let form = reqwest::get(server.url("/accounts/login/")).await.unwrap();
    let csrf = set_cookie(&form, "csrftoken").expect("csrftoken is set").to_owned();
    assert!(csrf.contains("Secure"), "{csrf}");
    let login = login_with(
        &reqwest::Client::new(),
        &server,
        "planted0planted0planted0planted0",
        cookie_value(&csrf),
    )
    .await;
    assert_eq!(login.status(), 200);
    for name in ["sessionid", "csrftoken"] {
        let cookie = set_cookie(&login, name).unwrap_or_else(|| panic!("{name} is set"));
        assert!(cookie.contains("Secure"), "{cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_rotate_and_purge() {
    let Some(redis_url) = duet_models::testing::required_env("DUET_TEST_REDIS_URL", "Redis") else {
        return;
    };
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("REDIS_URL", &redis_url);
    let server = Server::start(cmd).await;
    make_user(&test.db, "ada", "ada-pw").await;
    let plain = reqwest::Client::new();
    let (planted, planted_csrf) = pre_login_session(&plain, &server).await;
    let login = login_with(&plain, &server, &planted, &planted_csrf).await;
    assert_eq!(login.status(), 200);
    let session = cookie_value(set_cookie(&login, "sessionid").unwrap()).to_owned();
    let csrf = cookie_value(set_cookie(&login, "csrftoken").unwrap()).to_owned();
    assert_ne!(session, planted);
    // With Redis the cookie holds only a key: a short value, not the encrypted state.
    assert!(session.len() < 200, "{session}");
    let me = |cookie: &str| {
        plain
            .get(server.url("/accounts/me/"))
            .header("Cookie", format!("sessionid={cookie}"))
            .send()
    };
    assert_eq!(
        me(&planted).await.unwrap().status(),
        401,
        "the pre-login key was dropped at rotation"
    );
    assert_eq!(
        me(&session).await.unwrap().status(),
        200,
        "the key works while the session lives"
    );
    let logout = plain
        .post(server.url("/accounts/logout/"))
        .header("Cookie", format!("sessionid={session}"))
        .header("X-CSRFToken", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    assert_eq!(
        me(&session).await.unwrap().status(),
        401,
        "logout deletes the session from Redis"
    );
}

/// A session cookie an attacker plants in the victim's browser before login, and the CSRF
/// token of the victim's anonymous visit. Anonymous visits store no session (the login form
/// sets only the `csrftoken` cookie), so the planted id is one the server never issued.
async fn pre_login_session(client: &reqwest::Client, server: &Server) -> (String, String) {
    let before = client.get(server.url("/accounts/login/")).send().await.unwrap();
    assert!(
        set_cookie(&before, "sessionid").is_none(),
        "an anonymous visit stores no session"
    );
    let csrf = cookie_value(set_cookie(&before, "csrftoken").expect("the CSRF cookie")).to_owned();
    let body = before.json::<serde_json::Value>().await.unwrap();
    assert_eq!(body["csrftoken"], csrf.as_str());
    ("planted0planted0planted0planted0".to_owned(), csrf)
}

/// Logs ada in on the session `cookie`.
async fn login_with(client: &reqwest::Client, server: &Server, cookie: &str, csrf: &str) -> reqwest::Response {
    client
        .post(server.url("/accounts/login/"))
        .header("Cookie", format!("sessionid={cookie}; csrftoken={csrf}"))
        .header("X-CSRFToken", csrf)
        .json(&serde_json::json!({"username": "ada", "password": "ada-pw"}))
        .send()
        .await
        .unwrap()
}
