//! The self-service account flows over real HTTP, on both backends: sign-up and address
//! confirmation, password reset, password change, email change, log out everywhere. Mail
//! goes through the real Mailer to a directory (`DUET_EMAIL_URL=file://…`), from which
//! the tests read the links back; SMTP itself is tested in `crates/mail/tests/smtp.rs`.

mod common;

use std::time::{Duration, Instant};

use common::mail::{mail_to, mails_to, serve, token_in};
use common::ws::{connect, hello};
use common::{Browser, Server, free_port, send, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

async fn post(browser: &Browser, path: &str, body: Value) -> (u16, Value) {
    send(browser.unsafe_request(Method::POST, path).json(&body)).await
}

async fn make_user(test: &TestDb, username: &str, email: &str, password: &str) -> duet_models::User {
    duet_models::User::create(
        &test.db,
        duet_models::NewUser {
            username: username.into(),
            email: email.into(),
            password: password.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

const INVALID_LINK: &str = "This link is invalid or has already been used. Ask for a new one.";

/// Waits until `socket` is closed by the server with `code`.
async fn closed_with(socket: &mut common::ws::Socket, code: u16) {
    use tokio_tungstenite::tungstenite::Message;
    let closing = async {
        while let Some(frame) = socket.next().await {
            if let Ok(Message::Close(Some(close))) = frame {
                return u16::from(close.code);
            }
        }
        0
    };
    let got = tokio::time::timeout(Duration::from_secs(5), closing)
        .await
        .expect("the socket closes");
    assert_eq!(got, code);
}

/// With sessions in Redis (`REDIS_URL`), a password change and "log out everywhere" end
/// the other sessions and close their sockets as with cookie sessions.
#[tokio::test]
async fn with_redis_sessions_the_other_logins_end() {
    let Some(redis) = required_env("DUET_TEST_REDIS_URL", "Redis") else {
        return;
    };
    let test = TestDb::sqlite(&NO_MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("accounts-{}", std::process::id());
    let server = serve(
        dir.path(),
        &test,
        &[("REDIS_URL", &redis), ("REDIS_KEY_PREFIX", &prefix)],
    )
    .await;
    make_user(&test, "ada", "ada@example.com", common::logins::FIRST_PASSWORD).await;
    common::logins::other_logins_end(&server, &server).await;
    let client = common::redis::redis_client(&redis).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let sessions: Vec<String> = common::redis::redis_query(&mut conn, &["KEYS", &format!("{prefix}:session:*")])
        .await
        .unwrap();
    assert!(!sessions.is_empty(), "the sessions were in Redis");
}

duet_models::db_tests! {
    migrations: NO_MIGRATIONS;

    async fn sign_up_confirm_and_log_in(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(dir.path(), test, &[]).await;
        let browser = Browser::new(&server).await;

        // Django's password rules, DRF's shape: every broken rule of every field at once.
        let (status, body) = post(&browser, "/accounts/signup/", json!({"username": "ada lovelace", "email": "nope", "password": "123"})).await;
        assert_eq!(status, 400);
        assert_eq!(body, json!({
            "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
            "email": ["Enter a valid email address."],
            "password": ["This password is too short. It must contain at least 8 characters.", "This password is too common.", "This password is entirely numeric."],
        }));
        let (status, body) = post(&browser, "/accounts/signup/", json!({"username": "ada", "email": "ada@example.com", "password": "ada-example"})).await;
        assert_eq!((status, &body["password"]), (400, &json!(["The password is too similar to the email address."])));
        let (status, body) = post(&browser, "/accounts/signup/", json!({})).await;
        assert_eq!(status, 400);
        assert_eq!(body["username"], json!(["This field is required."]));

        // CSRF as for login: a form post without the token is refused.
        let refused = browser.client.post(browser.url("/accounts/signup/")).json(&json!({})).send().await.unwrap();
        assert_eq!(refused.status(), 403);

        let (status, body) = post(&browser, "/accounts/signup/", json!({"username": "ada", "email": "Ada@Example.com", "password": "correct horse battery"})).await;
        assert_eq!(status, 201, "{body}");
        assert!(body.get("user").is_none(), "the shop confirms the address before logging in: {body}");
        let (status, body) = post(&browser, "/accounts/signup/", json!({"username": "ada", "email": "ada@example.com", "password": "correct horse battery"})).await;
        assert_eq!(status, 400);
        assert_eq!(body, json!({"username": ["A user with that username already exists."], "email": ["A user with that email already exists."]}));

        // Not before the address is confirmed.
        let mut other = Browser::new(&server).await;
        assert_eq!(other.login("ada", "correct horse battery").await.status(), 400);

        let mail = mail_to(dir.path(), "ada@example.com", 1).await;
        let host = server.base.trim_start_matches("http://");
        for header in ["From: Shop <shop@example.com>", &format!("Subject: Confirm your email address on {host}"), "Content-Type: multipart/alternative", "Content-Type: text/plain", "Content-Type: text/html"] {
            assert!(mail.contains(header), "{header:?} in\n{mail}");
        }
        assert!(mail.contains(&format!("{}/verify?token=", server.base)), "{mail}");
        let token = token_in(&mail);
        assert_eq!(token.len(), 43, "32 random bytes, base64url");

        // Forged and altered tokens are refused; the real one logs in, once.
        let (status, body) = post(&browser, "/accounts/verify/", json!({"token": "forged"})).await;
        assert_eq!((status, body), (400, json!({"token": [INVALID_LINK]})));
        let (status, body) = post(&browser, "/accounts/verify/", json!({"token": format!("{token}x")})).await;
        assert_eq!((status, body), (400, json!({"token": [INVALID_LINK]})));
        let mut browser = browser;
        let (status, body) = post(&browser, "/accounts/verify/", json!({"token": token})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["username"], "ada");
        assert_eq!(body["user"]["email"], "ada@example.com");
        assert_eq!(body["user"]["email_verified"], true);
        browser.refresh_csrf().await;
        assert_eq!(browser.get_json("/accounts/me/").await.0, 200);
        let (status, body) = post(&browser, "/accounts/verify/", json!({"token": token})).await;
        assert_eq!((status, body), (400, json!({"token": [INVALID_LINK]})), "a used token is spent");
        assert_eq!(other.login("ada", "correct horse battery").await.status(), 200);

        // Closed sign-up: refused before anything is made.
        drop(server);
        let server = serve(dir.path(), test, &[("DUET_SIGNUP", "closed")]).await;
        let browser = Browser::new(&server).await;
        let (status, body) = post(&browser, "/accounts/signup/", json!({"username": "bob", "email": "bob@example.com", "password": "correct horse battery"})).await;
        assert_eq!((status, body), (403, json!({"detail": "Sign-up is closed."})));
    }

    async fn password_reset_tells_nothing_expires_and_ends_every_session(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(dir.path(), test, &[]).await;
        let ada = make_user(test, "ada", "ada@example.com", "old password 1").await;
        let mut logged_in = Browser::new(&server).await;
        assert_eq!(logged_in.login("ada", "old password 1").await.status(), 200);
        assert_eq!(logged_in.get_json("/accounts/me/").await.0, 200);

        // The same answer for an account's address and for an unknown one.
        let browser = Browser::new(&server).await;
        let known = post(&browser, "/accounts/password/reset/", json!({"email": "ada@example.com"})).await;
        let unknown = post(&browser, "/accounts/password/reset/", json!({"email": "nobody@example.com"})).await;
        assert_eq!(known.0, 200);
        assert_eq!(known, unknown);
        let (status, body) = post(&browser, "/accounts/password/reset/", json!({"email": "nope"})).await;
        assert_eq!((status, body), (400, json!({"email": ["Enter a valid email address."]})));

        let mail = mail_to(dir.path(), "ada@example.com", 1).await;
        assert!(mail.contains("Subject: Reset your password"), "{mail}");
        assert!(mail.contains(&format!("{}/reset-password?token=", server.base)), "{mail}");
        let token = token_in(&mail);
        assert!(mails_to(dir.path(), "nobody@example.com").is_empty());

        // A verification link is not a reset link.
        let other = duet_models::UserToken::issue(&test.db, ada.id, duet_models::TokenPurpose::Verify, "ada@example.com").await.unwrap();
        let (status, body) = post(&browser, "/accounts/password/reset/confirm/", json!({"token": other, "password": "new password 2"})).await;
        assert_eq!((status, body), (400, json!({"token": [INVALID_LINK]})));

        // A password that breaks a rule keeps the token.
        let (status, body) = post(&browser, "/accounts/password/reset/confirm/", json!({"token": token, "password": "password"})).await;
        assert_eq!((status, body), (400, json!({"password": ["This password is too common."]})));
        let (status, _) = post(&browser, "/accounts/password/reset/confirm/", json!({"token": token, "password": "new password 2"})).await;
        assert_eq!(status, 200);
        let (status, body) = post(&browser, "/accounts/password/reset/confirm/", json!({"token": token, "password": "new password 3"})).await;
        assert_eq!((status, body), (400, json!({"token": [INVALID_LINK]})), "used once");
        let (status, body) = post(&browser, "/accounts/verify/", json!({"token": other})).await;
        assert_eq!((status, body), (400, json!({"token": [INVALID_LINK]})), "every token died with the password");

        // Every session of the user ended; the old password no longer works.
        assert_eq!(logged_in.get_json("/accounts/me/").await.0, 401);
        let mut fresh = Browser::new(&server).await;
        assert_eq!(fresh.login("ada", "old password 1").await.status(), 400);
        assert_eq!(fresh.login("ada", "new password 2").await.status(), 200);

        // An hour later the link has expired.
        post(&browser, "/accounts/password/reset/", json!({"email": "ada@example.com"})).await;
        let token = token_in(&mail_to(dir.path(), "ada@example.com", 2).await);
        let hash = duet_models::ApiToken::hash_key(&token);
        let earlier = duet_models::now() - chrono::Duration::minutes(61);
        {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use duet_models::schema::user_tokens;
            let updated = duet_models::db_run!(&test.db, |conn| diesel::update(user_tokens::table.filter(user_tokens::token_hash.eq(&hash)))
                .set(user_tokens::created_at.eq(earlier))
                .execute(conn)
                .await)
            .unwrap();
            assert_eq!(updated, 1);
        }
        let (status, body) = post(&browser, "/accounts/password/reset/confirm/", json!({"token": token, "password": "new password 4"})).await;
        assert_eq!((status, body), (400, json!({"token": ["This link has expired. Ask for a new one."]})));
    }

    async fn password_change_and_logout_everywhere_end_the_other_sessions(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(dir.path(), test, &[]).await;
        make_user(test, "ada", "ada@example.com", "first password").await;
        let mut here = Browser::new(&server).await;
        let mut there = Browser::new(&server).await;
        assert_eq!(here.login("ada", "first password").await.status(), 200);
        assert_eq!(there.login("ada", "first password").await.status(), 200);
        let (there_cookie, _) = common::session_login(&server, "ada", "first password").await;
        let mut socket = connect(&server, Some(&there_cookie)).await;
        hello(&mut socket, None, "/orders").await;

        let anonymous = Browser::new(&server).await;
        let (status, _) = post(&anonymous, "/accounts/password/change/", json!({"old_password": "first password", "password": "second password"})).await;
        assert_eq!(status, 401);
        let (status, body) = post(&here, "/accounts/password/change/", json!({"old_password": "wrong", "password": "ada"})).await;
        assert_eq!(status, 400);
        assert_eq!(body["old_password"], json!(["Your old password was entered incorrectly. Please enter it again."]));
        assert_eq!(body["password"][0], "This password is too short. It must contain at least 8 characters.");
        assert_eq!(there.get_json("/accounts/me/").await.0, 200, "a refused change ends nothing");

        let (status, body) = post(&here, "/accounts/password/change/", json!({"old_password": "first password", "password": "second password"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(here.get_json("/accounts/me/").await.0, 200, "this session stays");
        assert_eq!(there.get_json("/accounts/me/").await.0, 401, "the others end");
        closed_with(&mut socket, 4401).await;

        let mut again = Browser::new(&server).await;
        assert_eq!(again.login("ada", "second password").await.status(), 200);
        let (status, body) = post(&here, "/accounts/logout-everywhere/", json!({})).await;
        assert_eq!((status, body["ended"].clone()), (200, json!(1)));
        assert_eq!(again.get_json("/accounts/me/").await.0, 401);
        assert_eq!(here.get_json("/accounts/me/").await.0, 200);
    }

    async fn email_change_confirms_the_new_address_and_tells_the_old(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(dir.path(), test, &[]).await;
        make_user(test, "ada", "ada@example.com", "ada password").await;
        make_user(test, "bob", "bob@example.com", "bob password").await;
        let mut browser = Browser::new(&server).await;
        assert_eq!(browser.login("ada", "ada password").await.status(), 200);

        let (status, body) = post(&browser, "/accounts/email/change/", json!({"email": "bob@example.com"})).await;
        assert_eq!((status, body), (400, json!({"email": ["A user with that email already exists."]})));
        let (status, body) = post(&browser, "/accounts/email/change/", json!({"email": "ada@example.com"})).await;
        assert_eq!((status, body), (400, json!({"email": ["This is already your email address."]})));
        let (status, _) = post(&browser, "/accounts/email/change/", json!({"email": "lovelace@example.com"})).await;
        assert_eq!(status, 200);
        assert_eq!(browser.get_json("/accounts/me/").await.1["user"]["email"], "ada@example.com", "not before it is confirmed");

        let token = token_in(&mail_to(dir.path(), "lovelace@example.com", 1).await);
        let (status, body) = post(&browser, "/accounts/verify/", json!({"token": token})).await;
        assert_eq!(status, 200, "{body}");
        let me = browser.get_json("/accounts/me/").await.1;
        assert_eq!(me["user"]["email"], "lovelace@example.com");
        assert_eq!(me["user"]["email_verified"], true);
        let told = mail_to(dir.path(), "ada@example.com", 1).await;
        assert!(told.contains("The address of your account is now lovelace@example.com"), "{told}");
    }

    async fn the_flows_are_rate_limited(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(dir.path(), test, &[]).await;
        make_user(test, "ada", "ada@example.com", "first password").await;
        let mut browser = Browser::new(&server).await;

        // Per address asked for, counted alike for an account's address and an unknown one:
        // the limit reveals nothing either.
        let per_email = duet::auth::flows::limits::RESET_EMAIL.rate.requests();
        for email in ["ada@example.com", "nobody@example.com"] {
            for _ in 0..per_email {
                assert_eq!(post(&browser, "/accounts/password/reset/", json!({"email": email})).await.0, 200);
            }
            let refused = browser
                .unsafe_request(Method::POST, "/accounts/password/reset/")
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status(), 429, "{email}");
            let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=3600).contains(&wait), "Retry-After: {wait}");
            let body: Value = refused.json().await.unwrap();
            assert!(body["detail"].as_str().unwrap().starts_with("Request was throttled."), "{body}");
        }

        // Per account: guessing the current password through the change form stops too.
        assert_eq!(browser.login("ada", "first password").await.status(), 200);
        let per_account = duet::auth::flows::limits::PASSWORD_CHANGE.rate.requests();
        for _ in 0..per_account {
            let wrong = json!({"old_password": "a guess", "password": "new password 2"});
            assert_eq!(post(&browser, "/accounts/password/change/", wrong).await.0, 400);
        }
        let right = json!({"old_password": "first password", "password": "new password 2"});
        assert_eq!(post(&browser, "/accounts/password/change/", right).await.0, 429);
    }

    async fn a_request_that_mails_succeeds_while_the_smtp_server_is_down(test: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("shop.log");
        let mut cmd = shop(dir.path(), Some(&test.url), &[]);
        cmd.env("DUET_EMAIL_URL", format!("smtp://127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "warn");
        let server = Server::start_logged(cmd, &log).await;
        let browser = Browser::new(&server).await;
        let started = Instant::now();
        let (status, _) = post(&browser, "/accounts/signup/", json!({"username": "ada", "email": "ada@example.com", "password": "correct horse battery"})).await;
        assert_eq!(status, 201);
        loop {
            let text = std::fs::read_to_string(&log).unwrap();
            if text.contains("email not sent; trying again") {
                assert!(text.contains("to=ada@example.com"), "{text}");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the failure is logged:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
