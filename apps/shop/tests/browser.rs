//! The shop's pages in a real browser: headless Chromium driven over chromedriver.
//!
//! Set `DUET_TEST_CHROMEDRIVER` to the chromedriver binary (Debian: `/usr/bin/chromedriver`
//! from `chromium-driver`) to run them; unset, they say they were skipped (and fail under
//! `CI=true`). A screenshot of `/orders` is saved under the target directory; its path is
//! printed.
#![allow(clippy::print_stderr)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port, make_order, make_user, session_login, shop};
use duet_models::testing::{TestDb, required_env};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The variable naming chromedriver.
const CHROMEDRIVER_ENV: &str = "DUET_TEST_CHROMEDRIVER";

/// A chromedriver process and a headless Chromium session; both end on drop.
struct Browser {
    driver: Child,
    client: Client,
    base: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A browser for `server`, or `None` when chromedriver is not configured.
    async fn start(server: &Server) -> Option<Browser> {
        let driver_path = required_env(CHROMEDRIVER_ENV, "browser")?;
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {driver_path}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let mut options = json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-dev-shm-usage", "--window-size=1100,800",
        ]});
        if let Ok(binary) = std::env::var("DUET_TEST_CHROMIUM") {
            options["binary"] = json!(binary);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => panic!("chromedriver at {url}: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Browser {
            driver,
            client,
            base: server.base.clone(),
        })
    }

    async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("goto");
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Polls the JavaScript expression `condition` until it is truthy (10 s at most).
    async fn until(&self, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        while Instant::now() < deadline {
            if self.js(&script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let body = self.js("return document.body.innerText").await;
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let runtime = self.js(RUNTIME_DIAGNOSTICS).await;
        panic!(
            "not true within 10 s: {condition}\nat {url}, the runtime says {runtime}, the page says:\n{}",
            body.as_str().unwrap_or_default()
        );
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let input = self.client.find(Locator::Css(css)).await.expect(css);
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("send keys");
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The live page is hydrated and idle: connected, nothing waiting for a reply.
    async fn settled(&self) {
        self.until("window.duet && duet.status === 'open' && duet.pending === 0")
            .await;
    }
}

/// What the runtime is doing, for failure messages.
const RUNTIME_DIAGNOSTICS: &str = "return window.duet ? {status: duet.status, pending: duet.pending, \
    errors: [...document.querySelectorAll('.duet-error')].map(e => e.innerText)} : 'no runtime'";

/// Error messages the page shows.
async fn shown_errors(browser: &Browser) -> Value {
    browser
        .js("return [...document.querySelectorAll('.duet-error')].map(e => e.innerText)")
        .await
}

/// The text of each order row's status cell, by order id.
fn statuses_script() -> &'static str {
    "return [...document.querySelectorAll('#orders tbody tr')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())"
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
    let Some(browser) = Browser::start(&server).await else {
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
    let Some(browser) = Browser::start(&server).await else {
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
    let Some(browser) = Browser::start(&server).await else {
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
    let Some(browser) = Browser::start(&server).await else {
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
    let Some(browser) = Browser::start(&server).await else {
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
    let Some(browser) = Browser::start(&server).await else {
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
    let Some(browser) = Browser::start(&server).await else {
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

/// Logs `username` in on the login page and goes to `next`.
async fn log_in_to(browser: &Browser, username: &str, password: &str, next: &str) {
    browser.goto(&format!("/login?next={next}")).await;
    browser.until("document.querySelector('#login-form')").await;
    browser.type_into("input[name=username]", username).await;
    browser.type_into("input[name=password]", password).await;
    browser.click("#login-submit").await;
}

/// The order ids the `/history` table shows, in order.
const HISTORY_IDS: &str = "return [...document.querySelectorAll('#history tbody tr')].map(r => Number(r.querySelector('a').textContent.slice(1)))";

/// Random stream operations, applied to the `/history` table as deltas and to a model of
/// what it must show (docs/protocol.md, "Streams"): after each frame the rows are the
/// model's, in order, each once, with the model's status; rows the ops did not name keep
/// their DOM nodes.
const STREAM_OPS_CHECK: &str = r"
let seed = 11;
const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const rows = () => [...document.querySelectorAll('#history tbody tr')];
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
    let Some(browser) = Browser::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    let mut ids = Vec::new();
    for cents in 0..60 {
        ids.push(make_order(&test.db, &ada, 100 * cents, "pending").await.id);
    }
    ids.reverse(); // newest first
    log_in_to(&browser, "ada", "pw", "/history").await;
    browser
        .until("document.querySelectorAll('#history tbody tr').length === 50")
        .await;
    browser.settled().await;
    assert_eq!(browser.js(HISTORY_IDS).await, json!(ids[..50]), "the first page");

    // The next page, from the server: appended, each row once.
    browser.click("#more").await;
    browser.until("document.querySelector('#all-shown')").await;
    assert_eq!(browser.js(HISTORY_IDS).await, json!(ids), "both pages, in order");

    // Writes through the state: the reply carries the one row.
    let ops = browser
        .js("return duet.send('order_feed', 'create', {total: '3.00', currency: 'EUR'}).then((r) => r.changes.order_feed.orders.ops)")
        .await;
    assert_eq!(ops[0]["op"], "insert", "{ops}");
    browser
        .until("document.querySelectorAll('#history tbody tr').length === 61")
        .await;
    let shown = browser.js(HISTORY_IDS).await;
    assert!(shown[0].as_i64().unwrap() > ids[0], "the new order first: {shown}");
    browser
        .js(&format!(
            "return duet.send('order_feed', 'delete', {}).then(() => 1)",
            ids[3]
        ))
        .await;
    browser
        .until("document.querySelectorAll('#history tbody tr').length === 60")
        .await;
    browser.settled().await;
    assert!(
        !browser
            .js(HISTORY_IDS)
            .await
            .as_array()
            .unwrap()
            .contains(&json!(ids[3]))
    );

    assert_eq!(browser.js(STREAM_OPS_CHECK).await, json!("ok"));
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_reconnected_stream_is_reset_and_refilled_without_duplicates() {
    let test = TestDb::sqlite(&shop::MIGRATIONS).await;
    let (_dir, server) = shop_server(&test).await;
    let Some(browser) = Browser::start(&server).await else {
        return;
    };
    let ada = make_user(&test.db, "ada", "pw").await;
    let mut ids = Vec::new();
    for cents in 0..70 {
        ids.push(make_order(&test.db, &ada, 100 * cents, "paid").await.id);
    }
    ids.reverse();
    log_in_to(&browser, "ada", "pw", "/history").await;
    browser
        .until("document.querySelectorAll('#history tbody tr').length === 50")
        .await;
    browser.settled().await;
    browser.click("#more").await;
    browser.until("document.querySelector('#all-shown')").await;
    assert_eq!(browser.js(HISTORY_IDS).await, json!(ids));

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
    assert_eq!(browser.js(HISTORY_IDS).await, json!(ids[..50]), "nothing duplicated");
    assert!(browser.js("return !!document.querySelector('#more')").await == json!(true));

    // Paging on from there continues after the first page, as the server now counts.
    browser.click("#more").await;
    browser.until("document.querySelector('#all-shown')").await;
    assert_eq!(browser.js(HISTORY_IDS).await, json!(ids));

    // A reload is a reconnect with the same tab too.
    browser.client.refresh().await.unwrap();
    browser
        .until("document.querySelectorAll('#history tbody tr').length === 50")
        .await;
    browser.settled().await;
    assert_eq!(browser.js(HISTORY_IDS).await, json!(ids[..50]));
    assert_eq!(shown_errors(&browser).await, json!([]));
    browser.client.clone().close().await.unwrap();
}
