//! Running the real `notes` binary: a server on a free port, logins, event sockets.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The inbox webhook's secret in these tests.
pub(crate) const INBOX_SECRET: &str = "inbox test secret";

/// A `notes` command in `dir` on `database_url`, with none of the developer's settings.
pub(crate) fn notes(dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notes"));
    cmd.args(args)
        .current_dir(dir)
        .env("RUST_LOG", "error")
        .env("DATABASE_URL", database_url);
    for var in [
        "DATABASE_POOL_SIZE",
        "DATABASE_TIMEOUT_SECS",
        "REDIS_URL",
        "REDIS_KEY_PREFIX",
        "REDIS_LOCK_TTL_MS",
        "REDIS_LEASE_IDLE_MS",
        "DUET_SECRET_KEY",
        "DUET_ENV",
        "DUET_ADDR",
        "DUET_TRUSTED_ORIGINS",
        "NOTES_INBOX_SECRET",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A running `notes serve`, killed on drop.
pub(crate) struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Serves on `database_url` with the inbox webhook enabled.
    pub(crate) async fn start(database_url: &str) -> Server {
        Server::start_with(database_url, Some(INBOX_SECRET)).await
    }

    /// Serves on `database_url`; `inbox_secret` enables the webhook.
    pub(crate) async fn start_with(database_url: &str, inbox_secret: Option<&str>) -> Server {
        let dir = tempfile::tempdir().expect("scratch directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = notes(dir.path(), database_url, &["serve", "--addr", &addr]);
        if let Some(secret) = inbox_secret {
            cmd.env("NOTES_INBOX_SECRET", secret);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn notes serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "notes serve did not listen on {addr} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server {
            child,
            base: format!("http://{addr}"),
            _dir: dir,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs `username` in over HTTP, as the login page does; returns the session cookie.
    pub(crate) async fn login(&self, username: &str, password: &str) -> String {
        let client = reqwest::Client::new();
        let form = client
            .get(self.url("/accounts/login/"))
            .send()
            .await
            .expect("login form");
        // An anonymous visit stores no session: the CSRF token lives in its cookie alone.
        let session = cookie(&form, "csrftoken");
        let csrf = form.json::<Value>().await.expect("json")["csrftoken"]
            .as_str()
            .expect("csrftoken")
            .to_owned();
        let login = client
            .post(self.url("/accounts/login/"))
            .header("cookie", &session)
            .header("x-csrftoken", csrf)
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 200, "login as {username}");
        cookie(&login, "sessionid")
    }

    /// Sends `body` to the inbox webhook as delivery `id`, signed with `secret`; returns
    /// the status and the answer's `detail`.
    pub(crate) async fn deliver(&self, secret: &str, id: &str, body: &Value) -> (u16, String) {
        use duet::webhooks::{SignatureEncoding, generic};
        let body = body.to_string();
        let signature = generic::sign(secret.as_bytes(), "sha256=", SignatureEncoding::Hex, body.as_bytes());
        let response = reqwest::Client::new()
            .post(self.url("/webhooks/inbox/"))
            .header("content-type", "application/json")
            .header("X-Inbox-Signature", signature)
            .header("X-Inbox-Delivery", id)
            .body(body)
            .send()
            .await
            .expect("webhook");
        let status = response.status().as_u16();
        let detail = response.json::<Value>().await.unwrap_or(Value::Null)["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (status, detail)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `name=value` of the cookie `name` the response sets.
fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("the response sets {name}"))
        .to_owned()
}

/// A user, straight in the database.
pub(crate) async fn make_user(db: &duet_models::Db, username: &str, password: &str) -> duet_models::User {
    let new = duet_models::NewUser {
        username: username.into(),
        password: password.into(),
        ..Default::default()
    };
    duet_models::User::create(db, new).await.expect("create user")
}

/// An API token for `user`.
pub(crate) async fn token(db: &duet_models::Db, user: &duet_models::User) -> String {
    let token = duet_models::ApiToken::issue(db, user.id).await.expect("token");
    format!("Token {token}")
}

/// An event socket.
pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/_event` with the session `cookie` and says hello on `path`; returns the socket
/// and the `hydrate` frame.
pub(crate) async fn open_tab(server: &Server, cookie: &str, path: &str) -> (Socket, Value) {
    let mut request = server
        .url("/_event")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    let mut socket = tokio_tungstenite::connect_async(request).await.expect("socket").0;
    send(
        &mut socket,
        json!({"type": "hello", "protocol": 1, "tab": null, "route": {"path": path}}),
    )
    .await;
    let hydrate = recv(&mut socket).await;
    (socket, hydrate)
}

/// Sends one frame.
pub(crate) async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next text frame, within 10 s.
pub(crate) async fn recv(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}
