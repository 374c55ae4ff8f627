//! Running the real `shop` binary in a scratch directory.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) mod chromium;
pub(crate) mod logins;
pub(crate) mod mail;
pub(crate) mod openapi;
pub(crate) mod redis;
pub(crate) mod ws;

/// A `shop` command with a clean environment, run in `dir`.
pub(crate) fn shop(dir: &Path, database_url: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shop"));
    cmd.args(args).current_dir(dir).env("RUST_LOG", "error");
    for var in [
        "DATABASE_URL",
        "DATABASE_POOL_SIZE",
        "DATABASE_TIMEOUT_SECS",
        "DATABASE_QUERY_TIMEOUT_SECS",
        "REDIS_URL",
        "REDIS_KEY_PREFIX",
        "REDIS_LOCK_TTL_MS",
        "REDIS_LEASE_IDLE_MS",
        "DUET_SECRET_KEY",
        "DUET_ENV",
        "DUET_ADDR",
        "DUET_TRUSTED_ORIGINS",
        "DUET_CORS_ORIGINS",
        "DUET_MIGRATIONS_DIR",
        "DUET_ALLOWED_HOSTS",
        "DUET_NEW_TABS_PER_ADDRESS",
        "DUET_TRUSTED_PROXIES",
        "DUET_THROTTLE_ANON",
        "DUET_THROTTLE_USER",
        "DUET_THROTTLE_LOGIN",
        "REDIS_TIMEOUT_MS",
        "DUET_LOG_FORMAT",
        "DUET_EMAIL_URL",
        "DUET_EMAIL_FROM",
        "DUET_SIGNUP",
    ] {
        cmd.env_remove(var);
    }
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

/// Runs `cmd` with `stdin` as its standard input.
pub(crate) fn run_with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shop");
    let written = child.stdin.take().expect("stdin").write_all(stdin.as_bytes());
    // A command that exits before reading (a usage error) closes its stdin first.
    if let Err(error) = written {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {error}");
    }
    child.wait_with_output().expect("wait for shop")
}

/// Runs `cmd` to completion.
pub(crate) fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run shop")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `shop serve`, killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) async fn start(cmd: Command) -> Server {
        Server::start_on(cmd, free_port()).await
    }

    /// Starts `cmd` with its standard error written to the file `log`.
    pub(crate) async fn start_logged(cmd: Command, log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create the log file");
        Server::start_with(cmd, free_port(), Stdio::from(file)).await
    }

    /// Stops the server (as a crash would) and starts `cmd` on the same address.
    pub(crate) async fn restart(&mut self, cmd: Command) {
        let port: u16 = self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.stop();
        *self = Server::start_on(cmd, port).await;
    }

    /// Stops the process without ending it (`SIGSTOP`), as a stall would.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused process run again (`SIGCONT`).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    /// Asks the server to shut down (`SIGTERM`), as an orchestrator does.
    pub(crate) fn terminate(&self) {
        self.signal("-TERM");
    }

    /// Waits up to `limit` for the process to exit; its exit status, or `None` if it still runs.
    pub(crate) async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal}");
    }

    /// The server's peak resident memory so far (`VmHWM`), in MiB.
    pub(crate) fn peak_rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM");
        kib / 1024
    }

    /// Kills the server process.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn start_on(cmd: Command, port: u16) -> Server {
        Server::start_with(cmd, port, Stdio::inherit()).await
    }

    async fn start_with(mut cmd: Command, port: u16, stderr: Stdio) -> Server {
        let addr = format!("127.0.0.1:{port}");
        cmd.args(["serve", "--addr", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = cmd.spawn().expect("spawn shop serve");
        let server = Server {
            child,
            base: format!("http://{addr}"),
        };
        server.wait_until_up().await;
        server
    }

    async fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(self.base.trim_start_matches("http://"))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("shop serve did not listen on {} within 30 s", self.base);
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cookie-keeping HTTP client that behaves like the SPA: fetches a CSRF token, logs in,
/// and sends the token on unsafe requests.
pub(crate) struct Browser {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) csrf: String,
}

impl Browser {
    pub(crate) async fn new(server: &Server) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let mut browser = Browser {
            client,
            base: server.base.clone(),
            csrf: String::new(),
        };
        browser.refresh_csrf().await;
        browser
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /accounts/login/`: the session's CSRF token.
    pub(crate) async fn refresh_csrf(&mut self) {
        let body: serde_json::Value = self
            .client
            .get(self.url("/accounts/login/"))
            .send()
            .await
            .expect("login form")
            .json()
            .await
            .expect("json");
        self.csrf = body["csrftoken"].as_str().expect("csrftoken").to_owned();
    }

    pub(crate) async fn login(&mut self, username: &str, password: &str) -> reqwest::Response {
        let response = self
            .unsafe_request(reqwest::Method::POST, "/accounts/login/")
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        if response.status() == 200 {
            // The token is rotated at login; the new one is in the cookie and the session.
            self.refresh_csrf().await;
        }
        response
    }

    /// A request carrying the CSRF token and this site's Origin.
    pub(crate) fn unsafe_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-CSRFToken", &self.csrf)
            .header("Origin", &self.base)
    }

    /// `GET path`, its answer checked against the OpenAPI document.
    pub(crate) async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        send(self.client.get(self.url(path))).await
    }
}

/// Sends `request`; its answer (status and JSON body, `null` when it has none) is checked
/// against the OpenAPI document's schema of its route.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let (client, request) = request.build_split();
    let request = request.expect("a well-formed request");
    let (method, path) = (request.method().to_string(), request.url().path().to_owned());
    let response = client.execute(request).await.expect("request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    openapi::check(&method, &path, status, &body);
    (status, body)
}

/// Creates a user straight in the database.
pub(crate) async fn make_user(db: &duet_models::Db, username: &str, password: &str) -> duet_models::User {
    duet_models::User::create(
        db,
        duet_models::NewUser {
            username: username.into(),
            password: password.into(),
            ..Default::default()
        },
    )
    .await
    .expect("create user")
}

/// Places an order straight in the database.
pub(crate) async fn make_order(
    db: &duet_models::Db,
    user: &duet_models::User,
    cents: i64,
    status: &str,
) -> shop::orders::Order {
    use duet_models::{Choices, Model};
    let new = shop::orders::NewOrder {
        customer: user.id.into(),
        total: duet_models::Money::cents(cents),
        currency: "EUR".into(),
        status: shop::orders::OrderStatus::from_value(status).expect("a status"),
        placed_at: duet_models::now(),
        client_reference: shop::orders::new_reference(),
    };
    shop::orders::Order::create(db, new).await.expect("create order")
}

/// Logs `username` in over HTTP; returns the `sessionid=…` cookie and the CSRF token.
pub(crate) async fn session_login(server: &Server, username: &str, password: &str) -> (String, String) {
    let client = reqwest::Client::new();
    let form = client
        .get(server.url("/accounts/login/"))
        .send()
        .await
        .expect("login form");
    // An anonymous visit stores no session: the token lives in its cookie alone.
    let cookie = set_cookie_pair(&form, "csrftoken");
    let token = form.json::<serde_json::Value>().await.expect("json")["csrftoken"]
        .as_str()
        .expect("token")
        .to_owned();
    let login = client
        .post(server.url("/accounts/login/"))
        .header("cookie", &cookie)
        .header("x-csrftoken", token)
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200, "login as {username}");
    let csrf = set_cookie_pair(&login, "csrftoken");
    (
        set_cookie_pair(&login, "sessionid"),
        csrf.split_once('=').expect("pair").1.to_owned(),
    )
}

/// Logs the session out over HTTP on `server` (any instance); returns the status.
pub(crate) async fn session_logout(server: &Server, cookie: &str, csrf: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("/accounts/logout/"))
        .header("cookie", cookie)
        .header("x-csrftoken", csrf)
        .send()
        .await
        .expect("logout")
        .status()
        .as_u16()
}

/// Sends `server` Stripe's "checkout completed" for the order `reference`, signed with
/// `secret`; returns the status.
pub(crate) async fn stripe_paid(server: &Server, secret: &str, event_id: &str, reference: &str) -> u16 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let body = serde_json::json!({"id": event_id, "type": "checkout.session.completed",
        "data": {"object": {"client_reference_id": reference}}})
    .to_string();
    reqwest::Client::new()
        .post(server.url("/webhooks/stripe/"))
        .header("content-type", "application/json")
        .header(
            "Stripe-Signature",
            duet::webhooks::stripe::sign(secret, now, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16()
}

fn set_cookie_pair(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .expect("the cookie is set")
        .to_owned()
}
