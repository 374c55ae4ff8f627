//! The shop's account pages in a real browser (headless Chromium over chromedriver; set
//! `DUET_TEST_CHROMEDRIVER`, or they say they were skipped): signing up and opening the
//! mailed link, a password reset that ends another browser's session, an email change.
//! Mail goes through the real Mailer to a real SMTP server (aiosmtpd; set
//! `DUET_TEST_SMTP_PYTHON`), from whose maildir the links are read back and opened in the
//! browser.

mod common;

use common::Server;
use common::chromium::{Chromium, shown_errors};
use common::mail::{SmtpServer, link_in, mail_to, mails_to, serve_smtp};
use duet_models::testing::TestDb;
use serde_json::json;

async fn make_user(test: &TestDb, username: &str, email: &str, password: &str) {
    let new = duet_models::NewUser {
        username: username.into(),
        email: email.into(),
        password: password.into(),
        ..Default::default()
    };
    duet_models::User::create(&test.db, new).await.expect("create user");
}

/// Logs in on the login page, going on to `/account`.
async fn log_in(browser: &Chromium, username: &str, password: &str) {
    browser.goto("/login?next=/account").await;
    browser.until("document.querySelector('#login-form')").await;
    browser.settled().await;
    browser.type_into("input[name=username]", username).await;
    browser.type_into("input[name=password]", password).await;
    browser.click("#login-submit").await;
    browser
        .until(&format!(
            "document.querySelector('main')?.innerText.includes('Signed in as {username}')"
        ))
        .await;
    browser.settled().await;
}

/// Opens the link of the newest mail to `to` in `browser`, on the page that posts its token.
async fn open_link(browser: &Chromium, server: &Server, mail: &str, page: &str) {
    let link = link_in(mail);
    assert!(link.starts_with(&format!("{}{page}?token=", server.base)), "{link}");
    browser.client.goto(&link).await.expect("open the mailed link");
}

#[tokio::test]
async fn a_visitor_signs_up_and_the_mailed_link_logs_them_in() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = SmtpServer::start(dir.path()) else {
        return;
    };
    let server = serve_smtp(dir.path(), &test, &smtp).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    browser.goto("/").await;
    browser.until("document.querySelector('#signup-link')").await;
    browser.settled().await;
    browser.click("#signup-link").await;
    browser.until("document.querySelector('#signup-form')").await;
    assert_eq!(browser.path().await, "/signup");

    // A broken password rule is said next to its field; nothing is made.
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=email]", "Ada@Example.com").await;
    browser.type_into("input[name=password]", "password").await;
    browser.click("#signup-submit").await;
    browser
        .until("document.querySelector('input[name=password] + .duet-field-error')?.innerText === 'This password is too common.'")
        .await;
    assert!(mails_to(dir.path(), "ada@example.com").is_empty());

    browser.type_into("input[name=password]", "correct horse battery").await;
    browser.click("#signup-submit").await;
    browser
        .until("document.querySelector('#signup-form .duet-form-notice')?.innerText.startsWith('Check your email')")
        .await;
    assert_eq!(
        browser.js("return duet.user").await,
        json!(null),
        "not before the address is confirmed"
    );
    assert_eq!(
        browser
            .js("return document.querySelector('input[name=username]').value")
            .await,
        json!(""),
        "the form is cleared"
    );

    // The link in the mail (to the address as stored: trimmed, lowercase) opens the
    // confirmation page; confirming logs in and shows the account.
    let mail = mail_to(dir.path(), "ada@example.com", 1).await;
    open_link(&browser, &server, &mail, "/verify").await;
    browser.until("document.querySelector('#verify-form')").await;
    browser.settled().await;
    browser.click("#verify-submit").await;
    browser
        .until("document.querySelector('header')?.innerText.includes('Signed in as ada')")
        .await;
    browser.settled().await;
    assert_eq!(
        browser.path().await,
        "/account",
        "the token is not left in the address bar"
    );
    assert!(
        browser
            .text("main")
            .await
            .contains("Signed in as ada (ada@example.com)"),
        "{}",
        browser.text("main").await
    );

    // A real login: the server knows it after a reload.
    browser.client.refresh().await.unwrap();
    browser
        .until("document.querySelector('main')?.innerText.includes('Signed in as ada')")
        .await;
    browser.settled().await;

    // The link again: spent.
    open_link(&browser, &server, &mail, "/verify").await;
    browser.until("document.querySelector('#verify-form')").await;
    browser.settled().await;
    browser.click("#verify-submit").await;
    browser
        .until("document.querySelector('#verify-form .duet-form-error')?.innerText.includes('already been used')")
        .await;
    assert_eq!(shown_errors(&browser).await, json!([]));
}

#[tokio::test]
async fn a_password_reset_in_one_browser_logs_the_other_out() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = SmtpServer::start(dir.path()) else {
        return;
    };
    let server = serve_smtp(dir.path(), &test, &smtp).await;
    make_user(&test, "ada", "ada@example.com", "old password 1").await;
    let Some(a) = Chromium::start(&server).await else {
        return;
    };
    let Some(b) = Chromium::start(&server).await else {
        return;
    };
    // A is logged in, its account page open and live.
    log_in(&a, "ada", "old password 1").await;

    // B forgot the password: from the login page to the form, then the mailed link.
    b.goto("/login").await;
    b.until("document.querySelector('#forgot-link')").await;
    b.settled().await;
    b.click("#forgot-link").await;
    b.until("document.querySelector('#forgot-form')").await;
    b.type_into("input[name=email]", "ada@example.com").await;
    b.click("#forgot-submit").await;
    b.until("document.querySelector('#forgot-form .duet-form-notice')?.innerText.startsWith('If an account uses that address')")
        .await;
    let mail = mail_to(dir.path(), "ada@example.com", 1).await;
    open_link(&b, &server, &mail, "/reset-password").await;
    b.until("document.querySelector('#reset-form')").await;
    b.settled().await;
    b.type_into("input[name=password]", "ada").await;
    b.click("#reset-submit").await;
    b.until("document.querySelector('input[name=password] + .duet-field-error')?.innerText.includes('too short')")
        .await;
    b.type_into("input[name=password]", "new password 2").await;
    b.click("#reset-submit").await;
    b.until("document.querySelector('#reset-form .duet-form-notice')?.innerText === 'Your password is set. Log in with it.'")
        .await;

    // A's socket was closed (4401): without a navigation, the page drops the user and,
    // the account page needing a login, shows the login page.
    a.until("duet.user === null && location.pathname === '/login'").await;
    a.settled().await;
    assert_eq!(a.path().await, "/login?next=%2Faccount");
    assert!(a.text("header").await.contains("Log in"));
    // Its next navigation is anonymous to the server too (the shell sends it to log in).
    a.goto("/orders").await;
    a.until("document.querySelector('#login-form')").await;
    assert_eq!(a.path().await, "/login?next=%2Forders");

    // The old password fails, the new one works.
    a.settled().await;
    a.type_into("input[name=username]", "ada").await;
    a.type_into("input[name=password]", "old password 1").await;
    a.click("#login-submit").await;
    a.until("document.querySelector('.duet-form-error')?.innerText.includes('Wrong')")
        .await;
    a.type_into("input[name=password]", "new password 2").await;
    a.click("#login-submit").await;
    a.until("document.querySelector('header')?.innerText.includes('Signed in as ada')")
        .await;
    a.settled().await;
    assert_eq!(a.path().await, "/orders");
    assert_eq!(shown_errors(&a).await, json!([]));
    assert_eq!(shown_errors(&b).await, json!([]));
}

#[tokio::test]
async fn the_account_page_changes_the_email_once_the_new_address_confirms() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = SmtpServer::start(dir.path()) else {
        return;
    };
    let server = serve_smtp(dir.path(), &test, &smtp).await;
    make_user(&test, "ada", "ada@example.com", "ada password").await;
    make_user(&test, "bob", "bob@example.com", "bob password").await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    log_in(&browser, "ada", "ada password").await;
    assert!(
        browser
            .text("main")
            .await
            .contains("Signed in as ada (ada@example.com)")
    );

    // Another account's address: said next to the field.
    browser
        .type_into("#email-form input[name=email]", "bob@example.com")
        .await;
    browser.click("#email-submit").await;
    browser
        .until("document.querySelector('#email-form .duet-field-error')?.innerText === 'A user with that email already exists.'")
        .await;

    browser
        .type_into("#email-form input[name=email]", "Lovelace@Example.com")
        .await;
    browser.click("#email-submit").await;
    browser
        .until("document.querySelector('#email-form .duet-form-notice')?.innerText.startsWith('We have sent a link to the new address')")
        .await;
    assert!(
        browser.text("main").await.contains("(ada@example.com)"),
        "not before it is confirmed"
    );

    // The link mailed to the new address confirms it; the page shows it at once.
    let mail = mail_to(dir.path(), "lovelace@example.com", 1).await;
    open_link(&browser, &server, &mail, "/verify").await;
    browser.until("document.querySelector('#verify-form')").await;
    browser.settled().await;
    browser.click("#verify-submit").await;
    browser
        .until("document.querySelector('main')?.innerText.includes('Signed in as ada (lovelace@example.com)')")
        .await;
    browser.settled().await;
    assert_eq!(browser.path().await, "/account");

    // The old address is told; the server has the new one (a reload shows it).
    let told = mail_to(dir.path(), "ada@example.com", 1).await;
    assert!(
        told.contains("The address of your account is now lovelace@example.com"),
        "{told}"
    );
    browser.client.refresh().await.unwrap();
    browser
        .until("document.querySelector('main')?.innerText.includes('(lovelace@example.com)')")
        .await;
    assert_eq!(shown_errors(&browser).await, json!([]));
}
