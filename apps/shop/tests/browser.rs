//! The shop's pages in a real browser: headless Chromium driven over chromedriver
//! (`common::chromium`: set `DUET_TEST_CHROMEDRIVER`; unset, they say they were skipped,
//! and fail under `CI=true`). The account pages are in `account_pages.rs`. A screenshot
//! of `/orders` is saved under the target directory; its path is printed.
#![allow(clippy::print_stderr)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::chromium::{Chromium, shown_errors};
use common::{Server, free_port, make_order, make_user, session_login, shop};
use duet_models::testing::{TestDb, required_env};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

/// Each order row's text (order, status, total), newest first.
fn statuses_script() -> &'static str {
    "return [...document.querySelectorAll('#orders tbody tr')].map(r => [...r.cells].slice(0, 3).map(c => c.innerText).join(' ').replace(/\\s+/g, ' ').trim())"
}

async fn shop_server(test: &TestDb) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(shop(dir.path(), Some(&test.url), &[])).await;
    (dir, server)
}

#[tokio::test]
async fn log_in_see_own_orders_live_navigate_and_log_out() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw-ada").await;
    let bob = make_user(&test.db, "bob", "pw-bob").await;
    let first = make_order(&test.db, &ada, 1000, "pending").await;
    let second = make_order(&test.db, &ada, 2550, "pending").await;
    let bobs = make_order(&test.db, &bob, 700, "pending").await;

    // A page that needs a login sends an anonymous visitor to the login page, and back.
    browser.goto("/orders").await;
    browser.until("document.querySelector('#login-form')").await;
    assert_eq!(browser.path().await, "/login?next=%2Forders");

    // A wrong password is said so on the form; the right one logs in and goes back.
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=password]", "wrong").await;
    browser.click("#login-submit").await;
    browser
        .until("document.querySelector('.duet-form-error')?.innerText.includes('Wrong')")
        .await;
    browser.type_into("input[name=password]", "pw-ada").await;
    browser.click("#login-submit").await;
    browser
        .until("document.querySelectorAll('#orders tbody tr').length === 2")
        .await;
    browser.settled().await;
    assert_eq!(browser.path().await, "/orders");
    assert!(browser.text("header").await.contains("Signed in as ada"));
    let rows = browser.js(statuses_script()).await;
    assert_eq!(
        rows,
        json!([
            format!("#{} pending 25.50 EUR", second.id),
            format!("#{} pending 10.00 EUR", first.id)
        ]),
        "ada's orders, newest first, not bob's (#{})",
        bobs.id
    );
    // The session cookie stays HttpOnly: the page cannot read it.
    assert!(
        !browser
            .js("return document.cookie")
            .await
            .as_str()
            .unwrap()
            .contains("sessionid")
    );

    // An order changed over HTTP (as a mobile app would) appears in the open page, live.
    let (cookie, csrf) = session_login(&server, "ada", "pw-ada").await;
    let marker = browser
        .js("const r = document.querySelector('#orders tbody tr:last-child'); r.dataset.marker = 'kept'; return 1")
        .await;
    assert_eq!(marker, json!(1));
    let patch = reqwest::Client::new()
        .patch(server.url(&format!("/api/v1/orders/{}/", second.id)))
        .header("cookie", &cookie)
        .header("x-csrftoken", &csrf)
        .json(&json!({"status": "shipped"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    browser
        .until("document.querySelector('#orders tbody tr:first-child [data-status]')?.innerText === 'shipped'")
        .await;
    assert_eq!(
        browser
            .js("return document.querySelector('#orders tbody tr:last-child').dataset.marker")
            .await,
        json!("kept"),
        "the other row's DOM was left alone (a keyed replace, not a re-render)"
    );

    // A screenshot of /orders, for the CI log.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots/orders.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    std::fs::write(&shot, browser.client.screenshot().await.expect("screenshot")).unwrap();
    eprintln!("[duet] screenshot of /orders: {}", shot.display());

    // Clicking a row's link navigates client-side (no reload) and runs the page's on_load:
    // an order placed behind the server's back (no broadcast) shows up once we navigate.
    browser.js("window.__sameDocument = true; return 1").await;
    let third = make_order(&test.db, &ada, 990, "pending").await;
    browser.click(&format!("a[href='/orders/{}']", first.id)).await;
    browser.until("document.querySelector('#order')").await;
    assert_eq!(browser.path().await, format!("/orders/{}", first.id));
    assert!(browser.text("#order").await.contains("10.00 EUR"));
    assert_eq!(browser.js("return document.title").await, json!("Order · Shop"));
    browser.click("#back").await;
    browser
        .until("document.querySelectorAll('#orders tbody tr').length === 3")
        .await;
    assert_eq!(
        browser.js("return window.__sameDocument === true").await,
        json!(true),
        "navigation kept the document"
    );
    assert!(browser.text("#orders").await.contains(&format!("#{}", third.id)));

    // The browser's back button goes back through the history, client-side.
    browser.client.back().await.unwrap();
    browser.until("document.querySelector('#order')").await;

    assert_eq!(shown_errors(&browser).await, json!([]), "no error along the way");

    // Log out: back to anonymous, and /orders asks for a login again.
    browser.click("#logout").await;
    browser.until("document.querySelector('#login-link')").await;
    browser.settled().await;
    assert_eq!(browser.path().await, "/");
    browser.click("a[href='/orders']").await;
    browser.until("document.querySelector('#login-form')").await;
    assert_eq!(browser.path().await, "/login?next=%2Forders");
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn events_update_the_dom_survive_reloads_and_reconnects() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (dir, mut server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    browser.goto("/").await;
    browser
        .until("document.querySelector('#count')?.innerText === '0'")
        .await;
    browser.settled().await;

    // Clicks are events; their deltas update the DOM.
    browser.click("#increment").await;
    browser.click("#increment").await;
    browser.click("#decrement").await;
    browser
        .until("document.querySelector('#count').innerText === '1'")
        .await;

    // A form's submit sends its field.
    browser.type_into("#set-value", "10").await;
    browser.click("#set").await;
    browser
        .until("document.querySelector('#count').innerText === '10'")
        .await;
    browser.until("document.querySelector('#bound').value === '10'").await;

    // Two-way binding: typing into the bound input sets the state.
    browser.type_into("#bound", "42").await;
    browser
        .until("document.querySelector('#count').innerText === '42'")
        .await;
    browser.settled().await;

    // A reload keeps the tab (its token is in sessionStorage) and so its state.
    let tab = browser.js("return duet.tab").await;
    browser.client.refresh().await.unwrap();
    browser
        .until("document.querySelector('#count')?.innerText === '42'")
        .await;
    browser.settled().await;
    assert_eq!(browser.js("return duet.tab").await, tab, "the same tab after a reload");

    // The socket dies; clicks made while it is down wait, then apply exactly once.
    let pending = browser
        .js("duet.drop(); document.querySelector('#increment').click(); document.querySelector('#increment').click(); return [duet.status, duet.pending]")
        .await;
    assert_eq!(pending[1], json!(2), "two events queued while disconnected: {pending}");
    browser
        .until("duet.status === 'offline' || duet.status === 'connecting' || duet.status === 'open'")
        .await;
    browser
        .until("document.querySelector('#count').innerText === '44'")
        .await;
    browser.settled().await;
    assert_eq!(browser.text("#duet-status").await, "Live");
    // Reconnect again (as after a network blip): the state is not applied twice.
    browser.js("duet.drop(); return 1").await;
    browser.until("document.documentElement.dataset.duet !== 'open'").await;
    browser.settled().await;
    assert_eq!(browser.text("#count").await, "44");

    // The server goes away: the indicator says so, and the page keeps retrying with
    // backoff. It comes back on the same address: the page reconnects by itself. (Tabs
    // live in the server's memory in this setup, so the tab starts afresh.)
    server.stop();
    browser.until("duet.status === 'offline'").await;
    assert!(
        browser.text("#duet-status").await.starts_with("Offline"),
        "{}",
        browser.text("#duet-status").await
    );
    server.restart(shop(dir.path(), Some(&test.url), &[])).await;
    browser.settled().await;
    browser
        .until("document.querySelector('#count').innerText === '0'")
        .await;
    browser.click("#increment").await;
    browser
        .until("document.querySelector('#count').innerText === '1'")
        .await;
    browser.settled().await;

    // A failing event is shown to the user, and the state is unchanged.
    browser
        .js("duet.send('counter', 'set_to', 'ten').catch(() => {}); return 1")
        .await;
    browser.until("document.querySelector('.duet-error')").await;
    assert!(
        browser.text(".duet-error").await.contains("payload"),
        "{}",
        browser.text(".duet-error").await
    );
    assert_eq!(browser.text("#count").await, "1");

    // An unknown page is the 404 page, rendered by the runtime.
    browser.goto("/no/such/page").await;
    browser
        .until("document.querySelector('h1')?.innerText === 'Page not found'")
        .await;
    browser.client.clone().close().await.unwrap();
}

/// Random list operations, applied to the `/orders` table as deltas: after each, the rows
/// are the list, in order, and rows the ops did not touch keep their DOM nodes.
const LIST_OPS_CHECK: &str = r"
let seed = 7;
const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const list = () => duet.states.orders.orders;
const rows = () => [...document.querySelectorAll('#orders tbody tr')];
let next = 100000;
const row = () => ({ id: next++, status: ['pending', 'paid', 'shipped'][random(3)], total: `${random(100)}.00`, currency: 'EUR' });
const kinds = ['append', 'insert', 'remove', 'replace', 'move', 'truncate', 'set'];
for (let round = 0; round < 300; round++) {
  const n = list().length;
  const kind = kinds[random(kinds.length)];
  let op;
  if (kind === 'append') op = { op: 'append', values: [row(), row()].slice(0, 1 + random(2)) };
  else if (kind === 'insert') op = { op: 'insert', index: random(n + 1), value: row() };
  else if (n === 0) op = { op: 'append', values: [row()] };
  else if (kind === 'remove') op = { op: 'remove', index: random(n) };
  else if (kind === 'replace') { const i = random(n); op = { op: 'replace', index: i, value: { ...row(), id: list()[i].id } }; }
  else if (kind === 'move') op = { op: 'move', from: random(n), to: random(n) };
  else if (kind === 'truncate') op = { op: 'truncate', len: Math.max(n - 1 - random(3), 0) };
  else op = null;
  // Mark every row; a row the op leaves alone must keep its node.
  rows().forEach((r) => { r.dataset.round = String(round); });
  const before = new Map(rows().map((r, i) => [list()[i].id, r]));
  let changes;
  if (op) changes = { op: 'list', ops: [op] };
  else {
    const shuffled = [...list()].sort(() => random(3) - 1);
    changes = { op: 'set', value: shuffled.slice(0, Math.max(shuffled.length - random(2), 0)) };
  }
  if (list().length === 0 && op === null) changes = { op: 'set', value: [row(), row(), row()] };
  duet.applyFrame({ type: 'delta', changes: { orders: { orders: changes } } });
  const shown = rows().map((r) => r.querySelector('a').textContent);
  const want = list().map((o) => `#${o.id}`);
  if (JSON.stringify(shown) !== JSON.stringify(want)) {
    return `round ${round}, ${JSON.stringify(changes)}: rows ${shown} but the list is ${want}`;
  }
  const touched = op && op.op === 'replace' ? list()[op.index].id : null;
  for (const [i, o] of list().entries()) {
    const old = before.get(o.id);
    if (old && o.id !== touched && changes.op === 'list' && rows()[i] !== old) {
      return `round ${round}, ${JSON.stringify(op)}: the row of order ${o.id} was re-rendered`;
    }
  }
}
return 'ok';
";

#[tokio::test]
async fn list_operations_update_only_their_rows() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    for cents in 0..12 {
        make_order(&test.db, &ada, 100 * cents, "pending").await;
    }
    browser.goto("/login?next=/orders").await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=password]", "pw").await;
    browser.click("#login-submit").await;
    browser
        .until("document.querySelectorAll('#orders tbody tr').length === 12")
        .await;
    browser.settled().await;
    assert_eq!(browser.js(LIST_OPS_CHECK).await, json!("ok"));
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn placing_an_order_through_the_form_validates_and_shows_it() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    make_order(&test.db, &ada, 500, "paid").await;
    browser.goto("/login?next=/orders").await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=password]", "pw").await;
    browser.click("#login-submit").await;
    browser
        .until("document.querySelectorAll('#orders tbody tr').length === 1")
        .await;
    browser.settled().await;

    // Invalid input: the state's `errors` var says why, next to the field; nothing is added.
    browser.type_into("input[name=total]", "a lot").await;
    browser.click("#place").await;
    browser.until("document.querySelector('#total-error')").await;
    assert!(!browser.text("#total-error").await.is_empty());
    assert_eq!(
        browser
            .js("return document.querySelectorAll('#orders tbody tr').length")
            .await,
        json!(1)
    );

    // Valid input: the new order appears at the top, and the error goes away.
    browser.type_into("input[name=total]", "12.50").await;
    browser.click("#place").await;
    browser
        .until("document.querySelectorAll('#orders tbody tr').length === 2")
        .await;
    browser.until("!document.querySelector('#total-error')").await;
    assert!(browser.text("#orders tbody tr:first-child").await.contains("12.50 EUR"));
    assert_eq!(shown_errors(&browser).await, json!([]));
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_hello_answered_unavailable_is_retried_until_the_store_is_back() {
    if required_env("DUET_TEST_REDIS_URL", "Redis").is_none() {
        return;
    }
    let Some(redis) = common::redis::OwnRedis::start(free_port()) else {
        return;
    };
    redis.wait_up().await;
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = shop(dir.path(), Some(&test.url), &[]);
    cmd.env("REDIS_URL", redis.url())
        .env("REDIS_TIMEOUT_MS", "300")
        .env("REDIS_LOCK_TTL_MS", "1000");
    let server = Server::start(cmd).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    browser.goto("/").await;
    browser.settled().await;
    // The tab's store stalls (a Redis failover, a kill -9'd instance's lock): `hello` is
    // answered `unavailable`. Without cookies the handshake itself needs no Redis.
    browser.client.delete_all_cookies().await.expect("delete cookies");
    redis.pause();
    browser.js("duet.reconnect(); return 1").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_ne!(
        browser.js("return duet.status").await,
        "open",
        "not hydrated while Redis stalls"
    );
    redis.resume();
    // The runtime says hello again by itself, with backoff: no reload.
    browser.settled().await;
    assert_eq!(shown_errors(&browser).await, json!([]), "nothing to show the user");
}

/// Collects the page's Content-Security-Policy violations so far (buffered reports included).
const CSP_VIOLATIONS: &str = "const done = arguments[0]; \
    const seen = []; \
    const observer = new ReportingObserver((reports) => seen.push(...reports.map((r) => r.body.blockedURL + ' ' + r.body.effectiveDirective)), {types: ['csp-violation'], buffered: true}); \
    observer.observe(); \
    setTimeout(() => { seen.push(...observer.takeRecords().map((r) => r.body.blockedURL + ' ' + r.body.effectiveDirective)); done(seen); }, 200);";

#[tokio::test]
async fn pages_work_under_the_csp_and_a_deploy_reloads_a_stale_page_keeping_its_tab() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    make_user(&test.db, "ada", "pw-ada").await;
    browser.goto("/orders").await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=password]", "pw-ada").await;
    browser.click("#login-submit").await;
    browser.until("document.querySelector('#refresh')").await;
    browser.settled().await;
    // The runtime's own stylesheet applies (a file, not an inline style).
    let status_position = browser
        .js("return getComputedStyle(document.getElementById('duet-status')).position")
        .await;
    assert_eq!(status_position, json!("fixed"));
    let violations = browser
        .client
        .execute_async(CSP_VIOLATIONS, vec![])
        .await
        .expect("reports");
    assert_eq!(violations, json!([]), "no CSP violations");
    // The check sees violations: an inline script is one.
    browser
        .js("const s = document.createElement('script'); s.textContent = 'window.inlined = 1'; document.body.appendChild(s); return null")
        .await;
    let violations = browser
        .client
        .execute_async(CSP_VIOLATIONS, vec![])
        .await
        .expect("reports");
    assert!(violations.to_string().contains("script-src"), "{violations}");
    assert_eq!(
        browser.js("return window.inlined ?? null").await,
        Value::Null,
        "the CSP blocked it"
    );

    // A deploy: the server now announces another spec. The page reloads once, keeping its tab.
    let tab = browser.js("return duet.tab").await;
    browser.js("window.beforeDeploy = true; return null").await;
    browser
        .js(
            "duet.applyFrame({type: 'hydrate', protocol: 1, tab: duet.tab, states: duet.states, \
             router: {path: location.pathname, params: {}}, seq: 0, spec: '00000000000000ff'}); return null",
        )
        .await;
    browser
        .until("window.beforeDeploy === undefined && window.duet && duet.status === 'open'")
        .await;
    assert_eq!(
        browser.js("return duet.tab").await,
        tab,
        "the reloaded page has its tab back"
    );
    assert_eq!(browser.path().await, "/orders");
    assert_eq!(
        browser.js("return sessionStorage.getItem('duet.reloaded-for')").await,
        json!("00000000000000ff")
    );
    // Announced again (an instance not yet updated), it does not reload a second time.
    browser.js("window.stayed = true; return null").await;
    browser
        .js(
            "duet.applyFrame({type: 'hydrate', protocol: 1, tab: duet.tab, states: duet.states, \
             router: {path: location.pathname, params: {}}, seq: 0, spec: '00000000000000ff'}); return null",
        )
        .await;
    browser.settled().await;
    assert_eq!(browser.js("return window.stayed === true").await, json!(true));
}

#[tokio::test]
async fn staff_ship_orders_in_the_admin_and_see_changes_live() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let boss = duet_models::NewUser {
        username: "boss".into(),
        password: "pw-boss".into(),
        is_superuser: true,
        ..Default::default()
    };
    duet_models::User::create(&test.db, boss).await.unwrap();
    let ada = make_user(&test.db, "ada", "pw-ada").await;
    let orders = [
        make_order(&test.db, &ada, 1000, "paid").await,
        make_order(&test.db, &ada, 2000, "paid").await,
        make_order(&test.db, &ada, 3000, "pending").await,
    ];

    // Anonymous: the admin's login page, then back to the change list.
    browser.goto("/admin/shop/order/").await;
    browser.until("document.querySelector('#username')").await;
    assert_eq!(browser.path().await, "/admin/login/?next=%2Fadmin%2Fshop%2Forder%2F");
    browser.type_into("#username", "boss").await;
    browser.type_into("#password", "pw-boss").await;
    browser.click("form.login button[type=submit]").await;
    browser
        .until("document.querySelector('#changelist tbody tr[data-pk]')")
        .await;
    assert_eq!(browser.path().await, "/admin/shop/order/");

    // Every control has a label; the focus ring is visible.
    let unlabelled = browser
        .js(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]\
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.innerText.trim())\
             .map(e => e.outerHTML)",
        )
        .await;
    assert_eq!(unlabelled, json!([]), "unlabelled controls");
    browser.js("document.querySelector('#q').focus()").await;
    let ring = browser
        .js("return getComputedStyle(document.querySelector('#q')).boxShadow")
        .await;
    assert_ne!(ring, json!("none"), "a visible focus ring");

    // Select two, run "Mark shipped", confirm.
    for order in &orders[..2] {
        browser
            .click(&format!("input[name=_selected][value=\"{}\"]", order.id))
            .await;
    }
    assert_eq!(browser.text("#selected-count").await, "2 selected");
    browser.click("#changelist .bar button[type=submit]").await;
    browser.until("document.querySelector('#confirm')").await;
    assert!(browser.text("#confirm").await.contains("2 orders"));
    browser.click("#confirm button.primary").await;
    browser
        .until("document.querySelector('.notice.ok')?.innerText.includes('2 orders marked shipped.')")
        .await;
    for order in &orders[..2] {
        let now = <shop::orders::Order as duet_models::Model>::get(&test.db, duet_models::Scope::All, order.id)
            .await
            .unwrap();
        assert_eq!(now.status, shop::orders::OrderStatus::Shipped);
    }

    // The third order, selected here, changes through the API: the row updates live and
    // stays selected.
    let third = orders[2].id;
    browser
        .click(&format!("input[name=_selected][value=\"{third}\"]"))
        .await;
    let (cookie, csrf) = session_login(&server, "ada", "pw-ada").await;
    let patched = reqwest::Client::new()
        .patch(server.url(&format!("/api/v1/orders/{third}/")))
        .header("cookie", cookie)
        .header("x-csrftoken", csrf)
        .json(&json!({"status": "cancelled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let row = format!("document.querySelector('tr[data-pk=\"{third}\"]')");
    browser
        .until(&format!(
            "{row}.querySelector('[data-field=status]').innerText.includes('Cancelled')"
        ))
        .await;
    assert_eq!(
        browser
            .js(&format!("return {row}.querySelector('input[name=_selected]').checked"))
            .await,
        json!(true)
    );
}

/// What a basic accessibility check finds wrong on the page: controls without a label,
/// buttons and links without a name, unnamed `nav` landmarks besides the site's header.
const A11Y_PROBLEMS: &str = "
const problems = [];
const short = (el) => el.outerHTML.slice(0, 100);
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const label = [...(el.labels ?? [])].some((l) => l.innerText.trim()) || el.getAttribute('aria-label')
    || el.getAttribute('aria-labelledby');
  if (!label) problems.push('no label: ' + short(el));
}
for (const el of document.querySelectorAll('button, a[href]')) {
  if (!(el.getAttribute('aria-label') || el.innerText).trim()) problems.push('no name: ' + short(el));
}
for (const nav of document.querySelectorAll('main nav')) {
  if (!nav.getAttribute('aria-label')) problems.push('unnamed nav: ' + short(nav));
}
for (const dialog of document.querySelectorAll('dialog')) {
  if (dialog.getAttribute('role') !== 'alertdialog' || dialog.getAttribute('aria-modal') !== 'true'
    || !document.getElementById(dialog.getAttribute('aria-labelledby'))?.innerText) {
    problems.push('dialog without role, aria-modal or a name: ' + short(dialog));
  }
}
return problems;";

/// The toasts' messages (as text: they fade in, and WebDriver's text of a fading element is empty).
const TOAST_TEXT: &str = "return [...document.querySelectorAll('.duet-toast p')].map(p => p.textContent)";

/// The focused element shows a focus ring.
const FOCUS_VISIBLE: &str = "const el = document.activeElement; const style = getComputedStyle(el); \
    return el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2";

/// The order's status in the database.
async fn status_of(test: &TestDb, id: i64) -> shop::orders::OrderStatus {
    <shop::orders::Order as duet_models::Model>::get(&test.db, duet_models::Scope::All, id)
        .await
        .expect("the order")
        .status
}

async fn the_pages_controls_are_labelled(browser: &Chromium) {
    assert_eq!(
        browser.js(A11Y_PROBLEMS).await,
        json!([]),
        "at {}",
        browser.path().await
    );
}

/// The order history's select, date input, checkbox and pagination, by mouse and by keyboard.
#[tokio::test]
async fn history_filters_and_pages_by_mouse_and_keyboard() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    let mut orders = Vec::new();
    for cents in [100, 200, 300, 400, 500] {
        orders.push(make_order(&test.db, &ada, cents, "pending").await);
    }
    let shipped = make_order(&test.db, &ada, 600, "shipped").await;
    browser.goto("/login?next=/history").await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=password]", "pw").await;
    browser.click("#login-submit").await;
    let rows = |n: usize| format!("document.querySelectorAll('#history tbody tr').length === {n}");
    let current =
        |page: u32| format!("document.querySelector('#history-pages [aria-current=page]').innerText === '{page}'");
    browser.until(&rows(5)).await;
    browser.settled().await;
    assert_eq!(browser.path().await, "/history");
    the_pages_controls_are_labelled(&browser).await;
    assert!(
        browser
            .text("#history tbody tr:first-child")
            .await
            .contains(&format!("#{}", shipped.id)),
        "newest first"
    );
    let disabled = |css: &str| format!("document.querySelector('#history-pages {css}').disabled");
    assert_eq!(
        browser.js(&format!("return {}", disabled(".previous"))).await,
        json!(true),
        "no page before the first"
    );
    assert_eq!(browser.js(&format!("return {}", disabled(".next"))).await, json!(false));
    assert_eq!(
        browser
            .js("return document.querySelector('#history-pages').tagName")
            .await,
        json!("NAV")
    );

    // Pagination: Next by mouse, a page number by keyboard (Tab from Previous, Enter).
    browser.click("#history-pages .next").await;
    browser.until(&format!("{} && {}", rows(1), current(2))).await;
    browser.until(&disabled(".next")).await;
    assert!(
        browser
            .text("#history tbody")
            .await
            .contains(&format!("#{}", orders[0].id))
    );
    browser.focus("#history-pages .previous").await;
    browser.press(Key::Tab).await;
    assert_eq!(
        browser
            .js("return document.activeElement.getAttribute('aria-label')")
            .await,
        json!("Page 1"),
        "Tab goes from Previous to the page before"
    );
    assert_eq!(
        browser.js(FOCUS_VISIBLE).await,
        json!(true),
        "the focused page button shows it"
    );
    browser.press(Key::Enter).await;
    browser.until(&format!("{} && {}", rows(5), current(1))).await;
    browser.settled().await;

    // The status select: a choice by mouse, another by keyboard (arrow keys on the focused select).
    let status = browser
        .client
        .find(Locator::Css("#status-filter"))
        .await
        .expect("the status filter");
    status.select_by_value("shipped").await.expect("choose shipped");
    browser
        .until(&format!(
            "{} && document.querySelector('#history [data-status]').innerText === 'shipped'",
            rows(1)
        ))
        .await;
    browser.settled().await;
    assert_eq!(browser.js("return duet.states.history.status").await, json!("shipped"));
    browser.focus("#status-filter").await;
    browser.press(Key::Up).await; // shipped → paid: none
    assert_eq!(
        browser.js(FOCUS_VISIBLE).await,
        json!(true),
        "the focused select shows it"
    );
    browser.until("document.querySelector('#no-history')").await;
    browser.settled().await;
    assert_eq!(browser.js("return duet.states.history.status").await, json!("paid"));
    status.select_by_value("").await.expect("choose all");
    browser.until(&rows(5)).await;
    browser.settled().await;

    // The checkbox: oldest first by mouse, newest first again by keyboard (Space).
    browser.click("#newest-first").await;
    browser
        .until(&format!(
            "document.querySelector('#history tbody tr:first-child td').innerText === '#{}'",
            orders[0].id
        ))
        .await;
    browser.settled().await;
    assert_eq!(
        browser.js("return duet.states.history.newest_first").await,
        json!(false)
    );
    browser.focus("#newest-first").await;
    browser.press(Key::Space).await;
    browser
        .until(&format!(
            "document.querySelector('#history tbody tr:first-child td').innerText === '#{}'",
            shipped.id
        ))
        .await;
    browser.settled().await;
    assert_eq!(browser.js("return duet.states.history.newest_first").await, json!(true));

    // The date input, typed: a day in the future leaves nothing.
    browser.focus("#since-filter").await;
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("01012100")
        .await
        .expect("type a date");
    browser.until("document.querySelector('#no-history')").await;
    browser.settled().await;
    assert_eq!(
        browser.js("return duet.states.history.since").await,
        json!("2100-01-01")
    );
    // Backspace empties a part of the date, and so the date: every order again.
    browser.focus("#since-filter").await;
    browser.press(Key::Backspace).await;
    browser.until(&rows(5)).await;
    browser.settled().await;
    assert_eq!(browser.js("return duet.states.history.since").await, json!(""));
    assert_eq!(shown_errors(&browser).await, json!([]));
}

/// Cancelling an order asks first in a modal dialog (Cancel and Escape run nothing), then
/// says what happened in a toast that goes by itself or when dismissed.
#[tokio::test]
async fn cancelling_asks_first_and_a_toast_says_so() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    let pending = make_order(&test.db, &ada, 1000, "pending").await;
    let shipped = make_order(&test.db, &ada, 2000, "shipped").await;
    browser.goto("/login?next=/orders").await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", "ada").await;
    browser.type_into("input[name=password]", "pw").await;
    browser.click("#login-submit").await;
    browser
        .until("document.querySelectorAll('#orders tbody tr').length === 2")
        .await;
    browser.settled().await;
    the_pages_controls_are_labelled(&browser).await;
    let cancel = |id: i64| format!("#orders button[aria-label='Cancel order #{id}']");
    let open = "document.querySelector('dialog.duet-confirm')?.open === true";
    let closed = "!document.querySelector('dialog.duet-confirm')";
    let seq = "return sessionStorage.getItem('duet.seq')";
    let events_before = browser.js(seq).await;

    // By mouse: the dialog opens with the focus on its cancelling button; that runs nothing
    // and gives the focus back.
    browser.click(&cancel(pending.id)).await;
    browser.until(open).await;
    the_pages_controls_are_labelled(&browser).await;
    assert_eq!(
        browser.text("dialog.duet-confirm p").await,
        format!("Cancel order #{}?", pending.id)
    );
    assert_eq!(
        browser.js("return document.activeElement.innerText").await,
        json!("Keep it")
    );
    browser.click("dialog.duet-confirm .duet-confirm-no").await;
    browser.until(closed).await;
    assert_eq!(
        browser
            .js(&format!(
                "return document.activeElement === document.querySelector(\"{}\")",
                cancel(pending.id)
            ))
            .await,
        json!(true),
        "the focus is back on the button"
    );

    // By keyboard: Enter opens it, Escape closes it, nothing runs.
    browser.focus(&cancel(pending.id)).await;
    browser.press(Key::Enter).await;
    browser.until(open).await;
    browser.press(Key::Escape).await;
    browser.until(closed).await;
    browser.settled().await;
    assert_eq!(
        browser.js(seq).await,
        events_before,
        "a cancelled confirmation sends no event"
    );
    assert_eq!(status_of(&test, pending.id).await, shop::orders::OrderStatus::Pending);

    // Enter, Tab to the confirming button, Enter: cancelled, and a toast says so.
    browser.focus(&cancel(pending.id)).await;
    browser.press(Key::Enter).await;
    browser.until(open).await;
    browser.press(Key::Tab).await;
    assert_eq!(
        browser.js("return document.activeElement.innerText").await,
        json!("Cancel order")
    );
    assert_eq!(
        browser.js(FOCUS_VISIBLE).await,
        json!(true),
        "the focused dialog button shows it"
    );
    browser.press(Key::Enter).await;
    browser
        .until("document.querySelector('#orders tbody tr:nth-child(2) [data-status]')?.innerText === 'cancelled'")
        .await;
    browser
        .until("document.querySelector('.duet-toast[data-level=success]')")
        .await;
    assert_eq!(
        browser.js(TOAST_TEXT).await,
        json!([format!("Order #{} cancelled.", pending.id)])
    );
    assert_eq!(
        browser
            .js("return document.querySelector('#duet-toasts').getAttribute('aria-live')")
            .await,
        json!("polite")
    );
    assert_eq!(status_of(&test, pending.id).await, shop::orders::OrderStatus::Cancelled);
    assert_eq!(
        browser
            .js(&format!("return document.querySelector(\"{}\")", cancel(pending.id)))
            .await,
        json!(null),
        "a cancelled order has no Cancel button"
    );
    // It goes by itself.
    browser.until("!document.querySelector('.duet-toast')").await;

    // A shipped order cannot be cancelled: an error toast (an alert), dismissed by mouse.
    browser.click(&cancel(shipped.id)).await;
    browser.until(open).await;
    browser.click("dialog.duet-confirm .duet-confirm-yes").await;
    browser
        .until("document.querySelector('.duet-toast[data-level=error][role=alert]')")
        .await;
    assert_eq!(
        browser.js(TOAST_TEXT).await,
        json!(["A shipped order cannot be cancelled."])
    );
    browser.click(".duet-toast button[aria-label=Dismiss]").await;
    browser.until("!document.querySelector('.duet-toast')").await;
    assert_eq!(status_of(&test, shipped.id).await, shop::orders::OrderStatus::Shipped);

    // A toast dismissed by keyboard: Escape where it has the focus.
    browser.js("duet.toast('info', 'Hello'); return 1").await;
    browser.focus(".duet-toast button").await;
    browser.press(Key::Escape).await;
    browser.until("!document.querySelector('.duet-toast')").await;
    assert_eq!(shown_errors(&browser).await, json!([]));
}

/// Logs `username` in on the login page and goes to `next`.
async fn log_in_to(browser: &Chromium, username: &str, password: &str, next: &str) {
    browser.goto(&format!("/login?next={next}")).await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", username).await;
    browser.type_into("input[name=password]", password).await;
    browser.click("#login-submit").await;
}

/// The order ids the `/feed` table shows, in order.
const FEED_IDS: &str = "return [...document.querySelectorAll('#feed tbody tr')].map(r => Number(r.querySelector('a').textContent.slice(1)))";

/// Random stream operations, applied to the `/feed` table as deltas and to a model of
/// what it must show (docs/protocol.md, "Streams"): after each frame the rows are the
/// model's, in order, each once, with the model's status; rows the ops did not name keep
/// their DOM nodes.
const STREAM_OPS_CHECK: &str = r"
let seed = 11;
const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const rows = () => [...document.querySelectorAll('#feed tbody tr')];
const idOf = (r) => Number(r.querySelector('a').textContent.slice(1));
let model = rows().map((r) => ({ id: idOf(r), status: r.querySelector('.status').textContent }));
let next = 100000;
const item = (id) => ({ id, status: ['pending', 'paid', 'shipped'][random(3)], total: `${random(100)}.00`, currency: 'EUR' });
// An id shown, or (a third of the time) one that is not.
const someId = () => (model.length && random(3) ? model[random(model.length)].id : next++);
const at = (id) => model.findIndex((o) => o.id === id);
const randomOp = () => {
  const kind = random(20);
  if (kind < 8) {
    const where = [-1, 0, random(model.length + 3)][random(3)];
    return { op: 'insert', at: where, item: item(random(2) ? next++ : someId()) };
  }
  if (kind < 12) return { op: 'update', item: item(someId()) };
  if (kind < 17) return { op: 'delete', key: someId() };
  if (kind < 18) return { op: 'reset' };
  return { op: 'limit', keep: random(2) ? random(60) : -random(60) };
};
const applyToModel = (op) => {
  if (op.op === 'insert') {
    const i = at(op.item.id);
    if (i >= 0) model[i] = op.item;
    else model.splice(op.at < 0 || op.at > model.length ? model.length : op.at, 0, op.item);
  } else if (op.op === 'update') {
    const i = at(op.item.id);
    if (i >= 0) model[i] = op.item;
  } else if (op.op === 'delete') {
    const i = at(op.key);
    if (i >= 0) model.splice(i, 1);
  } else if (op.op === 'reset') model = [];
  else if (op.keep >= 0) model.splice(op.keep);
  else model.splice(0, Math.max(model.length + op.keep, 0));
};
for (let round = 0; round < 400; round++) {
  const ops = Array.from({ length: 1 + (random(4) === 0 ? random(4) : 0) }, randomOp);
  const named = new Set(ops.flatMap((op) => (op.item ? [op.item.id] : [])));
  rows().forEach((r) => { r.dataset.round = String(round); });
  const before = new Map(rows().map((r) => [idOf(r), r]));
  ops.forEach(applyToModel);
  duet.applyFrame({ type: 'delta', changes: { order_feed: { orders: { op: 'stream', ops } } } });
  const shown = rows().map(idOf);
  const want = model.map((o) => o.id);
  if (JSON.stringify(shown) !== JSON.stringify(want)) {
    return `round ${round}, ${JSON.stringify(ops)}: rows ${shown} but the stream is ${want}`;
  }
  for (const [i, r] of rows().entries()) {
    if (r.querySelector('.status').textContent !== model[i].status) {
      return `round ${round}, ${JSON.stringify(ops)}: order ${model[i].id} shows an old status`;
    }
    const old = before.get(model[i].id);
    if (old && !named.has(model[i].id) && r !== old) {
      return `round ${round}, ${JSON.stringify(ops)}: the row of order ${model[i].id} was re-rendered`;
    }
  }
  if (JSON.stringify(duet.states.order_feed.orders) !== '[]') return 'the state keeps stream items';
}
return 'ok';
";

#[tokio::test]
async fn stream_operations_keep_order_and_keys_in_the_dom() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    let mut ids = Vec::new();
    for cents in 0..60 {
        ids.push(make_order(&test.db, &ada, 100 * cents, "pending").await.id);
    }
    ids.reverse(); // newest first
    log_in_to(&browser, "ada", "pw", "/feed").await;
    browser
        .until("document.querySelectorAll('#feed tbody tr').length === 50")
        .await;
    browser.settled().await;
    assert_eq!(browser.js(FEED_IDS).await, json!(ids[..50]), "the first page");

    // The next page, from the server: appended, each row once.
    browser.click("#more").await;
    browser.until("document.querySelector('#all-shown')").await;
    assert_eq!(browser.js(FEED_IDS).await, json!(ids), "both pages, in order");

    // Writes through the state: the reply carries the one row.
    let ops = browser
        .js("return duet.send('order_feed', 'create', {total: '3.00', currency: 'EUR'}).then((r) => r.changes.order_feed.orders.ops)")
        .await;
    assert_eq!(ops[0]["op"], "insert", "{ops}");
    browser
        .until("document.querySelectorAll('#feed tbody tr').length === 61")
        .await;
    let shown = browser.js(FEED_IDS).await;
    assert!(shown[0].as_i64().unwrap() > ids[0], "the new order first: {shown}");
    browser
        .js(&format!(
            "return duet.send('order_feed', 'delete', {}).then(() => 1)",
            ids[3]
        ))
        .await;
    browser
        .until("document.querySelectorAll('#feed tbody tr').length === 60")
        .await;
    browser.settled().await;
    assert!(!browser.js(FEED_IDS).await.as_array().unwrap().contains(&json!(ids[3])));

    assert_eq!(browser.js(STREAM_OPS_CHECK).await, json!("ok"));
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_reconnected_stream_is_reset_and_refilled_without_duplicates() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Chromium::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    let mut ids = Vec::new();
    for cents in 0..70 {
        ids.push(make_order(&test.db, &ada, 100 * cents, "paid").await.id);
    }
    ids.reverse();
    log_in_to(&browser, "ada", "pw", "/feed").await;
    browser
        .until("document.querySelectorAll('#feed tbody tr').length === 50")
        .await;
    browser.settled().await;
    browser.click("#more").await;
    browser.until("document.querySelector('#all-shown')").await;
    assert_eq!(browser.js(FEED_IDS).await, json!(ids));

    // The socket drops; the runtime reconnects and says hello with its tab. The hydrate
    // tells it to reset the stream, and the page's on_load refills it with the first page.
    browser
        .js("window.hydrates = []; duet.afterApply((f) => { if (f.type === 'hydrate') hydrates.push(f.streams); }); duet.drop(); return 1")
        .await;
    browser.until("window.hydrates.length === 1").await;
    browser.settled().await;
    let streams = browser.js("return hydrates[0]").await;
    let ops = streams["order_feed"]["orders"]["ops"].as_array().unwrap().clone();
    assert_eq!(ops[0], json!({"op": "reset"}), "{streams}");
    assert_eq!(ops.len(), 51, "a reset and the first page: {streams}");
    assert_eq!(browser.js(FEED_IDS).await, json!(ids[..50]), "nothing duplicated");
    assert!(browser.js("return !!document.querySelector('#more')").await == json!(true));

    // Paging on from there continues after the first page, as the server now counts.
    browser.click("#more").await;
    browser.until("document.querySelector('#all-shown')").await;
    assert_eq!(browser.js(FEED_IDS).await, json!(ids));

    // A reload is a reconnect with the same tab too.
    browser.client.refresh().await.unwrap();
    browser
        .until("document.querySelectorAll('#feed tbody tr').length === 50")
        .await;
    browser.settled().await;
    assert_eq!(browser.js(FEED_IDS).await, json!(ids[..50]));
    assert_eq!(shown_errors(&browser).await, json!([]));
    browser.client.clone().close().await.unwrap();
}
