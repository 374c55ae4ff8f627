//! Headless Chromium driven over chromedriver, for the tests of pages in a real browser.
//!
//! `DUET_TEST_CHROMEDRIVER` names the chromedriver binary (Debian: `/usr/bin/chromedriver`
//! from `chromium-driver`); unset, [`Chromium::start`] says the test was skipped (a
//! failure under `CI=true`). `DUET_TEST_CHROMIUM` may name the browser binary.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use duet_models::testing::required_env;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::{Server, free_port};

/// The variable naming chromedriver.
const CHROMEDRIVER_ENV: &str = "DUET_TEST_CHROMEDRIVER";

/// A chromedriver process and a headless Chromium session; both end on drop.
pub(crate) struct Chromium {
    driver: Child,
    pub(crate) client: Client,
    base: String,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chromium {
    /// A browser for `server`, or `None` when chromedriver is not configured.
    pub(crate) async fn start(server: &Server) -> Option<Chromium> {
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
        Some(Chromium {
            driver,
            client,
            base: server.base.clone(),
        })
    }

    pub(crate) async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.expect("goto");
    }

    pub(crate) async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Polls the JavaScript expression `condition` until it is truthy (10 s at most).
    pub(crate) async fn until(&self, condition: &str) {
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

    pub(crate) async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let input = self.client.find(Locator::Css(css)).await.expect(css);
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("send keys");
    }

    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Presses `key` in the focused element, as a keyboard would.
    pub(crate) async fn press(&self, key: Key) {
        let focused = self.client.active_element().await.expect("a focused element");
        focused
            .send_keys(&key)
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Focuses the element `css` (as a Tab to it would, without counting Tabs).
    pub(crate) async fn focus(&self, css: &str) {
        let script = format!("document.querySelector({css:?}).focus(); return document.activeElement.matches({css:?})");
        assert_eq!(self.js(&script).await, json!(true), "focus {css}");
    }

    /// The live page is hydrated and idle: connected, nothing waiting for a reply.
    pub(crate) async fn settled(&self) {
        self.until("window.duet && duet.status === 'open' && duet.pending === 0")
            .await;
    }
}

/// What the runtime is doing, for failure messages.
const RUNTIME_DIAGNOSTICS: &str = "return window.duet ? {status: duet.status, pending: duet.pending, \
    errors: [...document.querySelectorAll('.duet-error')].map(e => e.innerText)} : 'no runtime'";

/// Error messages the page shows.
pub(crate) async fn shown_errors(browser: &Chromium) -> Value {
    browser
        .js("return [...document.querySelectorAll('.duet-error')].map(e => e.innerText)")
        .await
}
