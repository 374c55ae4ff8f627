//! A test app like duet-mount assembles it (sessions, auth, `/_event`) on a real TCP port,
//! and tungstenite helpers to talk to it.

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use duet_auth::{AuthConfig, LogoutListener, SessionBackend, SessionConfig};
use duet_models::{Db, NewUser, User};
use duet_state::{Broadcaster, Engine, EventService, MemoryStateManager, SocketConfig, event_socket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub broadcaster: Broadcaster,
    _dir: Option<tempfile::TempDir>,
}

/// Starts an app like duet-mount assembles it, on its own thread and runtime, with a
/// database and a broadcaster of its own.
pub async fn start(config: SocketConfig) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.sqlite3").display());
    let db = Db::connect_url(&url).await.unwrap();
    db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await.unwrap();
    let mut app = start_on(db, Broadcaster::new(), config);
    app._dir = Some(dir);
    app
}

/// Starts an app over `db` (a migrated database, which other apps may share, as instances
/// of one app do) publishing through `broadcaster`.
pub fn start_on(db: Db, broadcaster: Broadcaster, config: SocketConfig) -> TestApp {
    let (tx, rx) = std::sync::mpsc::channel();
    let server_db = db.clone();
    let server_broadcaster = broadcaster.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let engine = Engine::new(
                super::registry(),
                Arc::new(MemoryStateManager::new(Duration::from_secs(60))),
                server_db.clone(),
                server_broadcaster.clone(),
            );
            let service = web::Data::new(EventService::new(engine, config));
            // As duet-mount does: a logout closes the login's sockets here and, through the
            // broadcaster's transport, in the other instances.
            let listener: Arc<dyn LogoutListener> = Arc::new(server_broadcaster);
            let listener = web::Data::from(listener);
            let sessions = SessionConfig::new(&[9; 64]);
            let db = web::Data::new(server_db);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(db.clone())
                    .app_data(web::Data::new(AuthConfig::default()))
                    .app_data(service.clone())
                    .app_data(listener.clone())
                    .route("/_event", web::get().to(event_socket))
                    .route("/accounts/login/", web::get().to(duet_auth::accounts::login_form))
                    .route("/accounts/login/", web::post().to(duet_auth::accounts::login))
                    .route("/accounts/logout/", web::post().to(duet_auth::accounts::logout))
                    .wrap(from_fn(duet_auth::authenticate))
                    .wrap(sessions.middleware(SessionBackend::cookie()))
            })
            .workers(2)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    TestApp {
        base: format!("http://{addr}"),
        db,
        broadcaster,
        _dir: None,
    }
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("{}/_event", self.base.replace("http://", "ws://"))
    }

    pub async fn connect(
        &self,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut request = self.ws_url().into_client_request().unwrap();
        if let Some(cookie) = cookie {
            request.headers_mut().insert("cookie", cookie.parse().unwrap());
        }
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(socket, _)| socket)
    }

    /// An anonymous visitor, as a page load makes it: its CSRF cookie (which binds its tabs;
    /// no session is stored for it).
    pub async fn anonymous_session(&self) -> String {
        let form = reqwest::Client::new()
            .get(format!("{}/accounts/login/", self.base))
            .send()
            .await
            .unwrap();
        cookie_pair(&form, "csrftoken")
    }

    /// How many sockets the server has open.
    pub fn open_sockets(&self) -> usize {
        self.broadcaster.sockets().len()
    }

    /// Logs `username` in over HTTP and returns the session cookie.
    pub async fn login(&self, username: &str) -> (String, String) {
        User::create(
            &self.db,
            NewUser {
                username: username.into(),
                password: "pw".into(),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
        let client = reqwest::Client::new();
        let form = client
            .get(format!("{}/accounts/login/", self.base))
            .send()
            .await
            .unwrap();
        // An anonymous visit stores no session: the CSRF token lives in its cookie alone.
        let token = form.json::<Value>().await.unwrap()["csrftoken"]
            .as_str()
            .unwrap()
            .to_owned();
        let login = client
            .post(format!("{}/accounts/login/", self.base))
            .header("cookie", format!("csrftoken={token}"))
            .header("x-csrftoken", &token)
            .json(&json!({"username": username, "password": "pw"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let csrf = login
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|c| c.starts_with("csrftoken="))
            .unwrap();
        let csrf = csrf.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
        (cookie_pair(&login, "sessionid"), csrf)
    }

    /// Logs the session out over HTTP; returns the status.
    pub async fn logout(&self, cookie: &str, csrf: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/accounts/logout/", self.base))
            .header("cookie", cookie)
            .header("x-csrftoken", csrf)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

fn cookie_pair(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("a {name} cookie"))
}

pub async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.unwrap();
}

pub async fn recv(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Reads until the server closes; returns the close code and reason.
pub async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a close in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

pub async fn hello(socket: &mut Socket, tab: Option<&str>) -> Value {
    send(
        socket,
        json!({"type": "hello", "protocol": 1, "tab": tab, "route": {"path": "/"}}),
    )
    .await;
    recv(socket).await
}
