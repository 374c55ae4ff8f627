//! The `/_event` endpoint: the WebSocket around the [`Engine`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};

use crate::engine::{Caller, Engine};
use crate::wire::{ClientMessage, PROTOCOL_VERSION, ServerMessage, parse_client_message};

/// Limits and timings of event sockets.
#[derive(Debug, Clone)]
pub struct SocketConfig {
    /// Origins allowed to open sockets besides the app's own (e.g. `https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// The largest frame accepted, in bytes; larger ones close the socket with 1009.
    pub max_frame: usize,
    /// How often the server pings.
    pub heartbeat: Duration,
    /// A socket silent for this long is closed (1001).
    pub idle_timeout: Duration,
    /// More bad frames than this within `bad_frame_window` close the socket (1008).
    pub bad_frame_limit: u32,
    /// The window for `bad_frame_limit`.
    pub bad_frame_window: Duration,
}

impl Default for SocketConfig {
    fn default() -> SocketConfig {
        SocketConfig {
            allowed_origins: Vec::new(),
            max_frame: 64 * 1024,
            heartbeat: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            bad_frame_limit: 20,
            bad_frame_window: Duration::from_secs(10),
        }
    }
}

/// What other parts of the process ask of a socket's task.
pub(crate) enum Control {
    Close(u16, &'static str),
    /// Background work's update of the tab, run by the socket's task so that its push is
    /// sent in order with the socket's replies.
    Update(crate::background::Job),
    React(String, serde_json::Value),
    Push(String),
}

/// A socket's inbox for messages from the rest of the process. Lighter than a channel: an
/// idle socket holds one small allocation and an empty queue.
#[derive(Default)]
struct Mailbox {
    queue: Mutex<std::collections::VecDeque<Control>>,
    ready: tokio::sync::Notify,
}

impl Mailbox {
    fn send(&self, message: Control) {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(message);
        self.ready.notify_one();
    }

    fn try_recv(&self) -> Option<Control> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
    }
}

/// An open socket: the login it belongs to (if any), its tab once hydrated, and how to
/// reach its task.
struct OpenSocket {
    login: Option<String>,
    tab: Option<String>,
    mailbox: std::sync::Arc<Mailbox>,
}

/// Every open socket of this process, by the login (session auth id) it belongs to, so a
/// logout can end that login's sockets at once, and by tab, so pushes reach a tab's
/// sockets without a scan.
#[derive(Default)]
pub struct Sockets {
    next: AtomicU64,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    sockets: HashMap<u64, OpenSocket>,
    by_tab: HashMap<String, Vec<u64>>,
}

impl Open {
    fn of_tab<'a>(&'a self, tab: &str) -> impl Iterator<Item = &'a OpenSocket> {
        self.by_tab
            .get(tab)
            .into_iter()
            .flatten()
            .filter_map(|id| self.sockets.get(id))
    }

    fn untab(&mut self, id: u64, tab: &str) {
        if let Some(ids) = self.by_tab.get_mut(tab) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_tab.remove(tab);
            }
        }
    }
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sockets").field("open", &self.len()).finish()
    }
}

impl Sockets {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, login: Option<String>, mailbox: std::sync::Arc<Mailbox>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open().sockets.insert(
            id,
            OpenSocket {
                login,
                tab: None,
                mailbox,
            },
        );
        id
    }

    fn set_tab(&self, id: u64, tab: &str) {
        let mut open = self.open();
        let Some(socket) = open.sockets.get_mut(&id) else {
            return;
        };
        let old = socket.tab.replace(tab.to_owned());
        if let Some(old) = old {
            open.untab(id, &old);
        }
        open.by_tab.entry(tab.to_owned()).or_default().push(id);
    }

    /// Asks one socket of `tab` to run the reaction to `topic`; false when none is open.
    pub(crate) fn react(&self, tab: &str, topic: &str, payload: &serde_json::Value) -> bool {
        let open = self.open();
        let Some(socket) = open.of_tab(tab).next() else {
            return false;
        };
        socket.mailbox.send(Control::React(topic.to_owned(), payload.clone()));
        true
    }

    /// Sends `text` to every socket of `tab`.
    pub(crate) fn push(&self, tab: &str, text: &str) {
        self.push_except(tab, None, text);
    }

    /// Sends `text` to every socket of `tab` but `except`.
    fn push_except(&self, tab: &str, except: Option<u64>, text: &str) {
        let open = self.open();
        for (id, socket) in open
            .by_tab
            .get(tab)
            .into_iter()
            .flatten()
            .filter_map(|id| Some((id, open.sockets.get(id)?)))
        {
            if Some(*id) != except {
                socket.mailbox.send(Control::Push(text.to_owned()));
            }
        }
    }

    /// Hands background work's update to a socket of `tab`; gives it back when none is open.
    pub(crate) fn run_update(&self, tab: &str, job: crate::background::Job) -> Result<(), crate::background::Job> {
        let open = self.open();
        let Some(socket) = open.of_tab(tab).next() else {
            return Err(job);
        };
        socket.mailbox.send(Control::Update(job));
        Ok(())
    }

    /// Forgets socket `id`; true when it was its tab's last socket here.
    fn remove(&self, id: u64) -> bool {
        let mut open = self.open();
        let Some(socket) = open.sockets.remove(&id) else {
            return false;
        };
        let Some(tab) = socket.tab else {
            return false;
        };
        open.untab(id, &tab);
        !open.by_tab.contains_key(&tab)
    }

    /// How many sockets are open.
    pub fn len(&self) -> usize {
        self.open().sockets.len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every socket of the login `session_auth_id` with 4401; returns how many.
    pub fn close_login(&self, session_auth_id: &str) -> usize {
        let open = self.open();
        let mut closed = 0;
        for socket in open.sockets.values() {
            if socket.login.as_deref() == Some(session_auth_id) {
                socket.mailbox.send(Control::Close(4401, "logged out"));
                closed += 1;
            }
        }
        closed
    }
}

impl duet_auth::LogoutListener for Sockets {
    fn logged_out(&self, session_auth_id: &str) {
        let closed = self.close_login(session_auth_id);
        tracing::info!(closed, "logout: closed the session's event sockets");
    }
}

/// The app's event service: the engine, the socket settings and the open sockets.
pub struct EventService {
    engine: Engine,
    config: SocketConfig,
    sockets: std::sync::Arc<Sockets>,
}

impl std::fmt::Debug for EventService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventService")
            .field("config", &self.config)
            .field("sockets", &self.sockets)
            .finish_non_exhaustive()
    }
}

impl EventService {
    /// A service running `engine` with `config`.
    pub fn new(engine: Engine, config: SocketConfig) -> EventService {
        let sockets = engine.broadcaster().sockets();
        EventService {
            engine,
            config,
            sockets,
        }
    }

    /// The open sockets (register them as duet-auth's `LogoutListener`).
    pub fn sockets(&self) -> std::sync::Arc<Sockets> {
        std::sync::Arc::clone(&self.sockets)
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// `GET /_event`: checks the Origin, resolves the user from the session once, and upgrades.
pub async fn event_socket(
    req: HttpRequest,
    body: web::Payload,
    service: web::Data<EventService>,
) -> Result<HttpResponse, actix_web::Error> {
    if let Some(origin) = req.headers().get("origin") {
        let origin = origin.to_str().unwrap_or("?");
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        if !(origin.eq_ignore_ascii_case(&own)
            || service
                .config
                .allowed_origins
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin)))
        {
            tracing::warn!(origin, "event socket refused: foreign Origin");
            return Ok(HttpResponse::Forbidden()
                .json(serde_json::json!({"detail": format!("Origin {origin} is not allowed.")})));
        }
    }
    let user = duet_auth::current_user(&req).await?;
    let login = match duet_auth::Identity::of(&req) {
        duet_auth::Identity::Session { session_auth_id, .. } => Some(session_auth_id),
        _ => None,
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(service.config.max_frame)
        .aggregate_continuations()
        .max_continuation_size(service.config.max_frame);
    let service = service.into_inner();
    // The task is the connection's own future: an idle socket holds nothing else.
    let task = Connection {
        service,
        caller: Caller::on_socket(user, session.clone()),
        session,
        tab: None,
        last_bad: false,
        id: 0,
    }
    .run(stream, login);
    actix_web::rt::spawn(task);
    Ok(response)
}

struct Connection {
    service: std::sync::Arc<EventService>,
    session: actix_ws::Session,
    caller: Caller,
    tab: Option<String>,
    /// Whether the frame just handled was a bad one (counted against the flood limit).
    last_bad: bool,
    /// This socket's id in [`Sockets`].
    id: u64,
}

enum Next {
    Continue,
    Close(u16, String),
}

impl Connection {
    async fn run(mut self, mut stream: actix_ws::AggregatedMessageStream, login: Option<String>) {
        let service = std::sync::Arc::clone(&self.service);
        let config = &service.config;
        let mailbox = std::sync::Arc::new(Mailbox::default());
        let id = service.sockets.add(login, std::sync::Arc::clone(&mailbox));
        self.id = id;
        let mut heard = Instant::now();
        let mut heartbeat = tokio::time::interval(config.heartbeat);
        heartbeat.tick().await;
        let mut bad_frames: Vec<Instant> = Vec::new();
        let close = loop {
            // Messages first: one may have arrived while another branch won the last select.
            if let Some(message) = mailbox.try_recv() {
                match Box::pin(self.handle(message)).await {
                    Some(Next::Continue) => continue,
                    Some(Next::Close(code, reason)) => break Some((code, reason)),
                    None => break None,
                }
            }
            let next = tokio::select! {
                message = stream.recv() => {
                    heard = Instant::now();
                    match message {
                        None => break None,
                        Some(Err(ProtocolError::Overflow)) => Next::Close(1009, format!("frame larger than {} bytes", config.max_frame)),
                        Some(Err(error)) => Next::Close(1002, format!("protocol error: {error}")),
                        // Boxed: an idle socket's task then holds no space for handling a frame.
                        Some(Ok(AggregatedMessage::Text(text))) => Box::pin(self.text(&text)).await,
                        Some(Ok(AggregatedMessage::Binary(_))) => Box::pin(self.bad("bad_frame", "binary frames are not accepted".into())).await,
                        Some(Ok(AggregatedMessage::Ping(bytes))) => match Box::pin(self.session.pong(&bytes)).await {
                            Ok(()) => Next::Continue,
                            Err(_) => break None,
                        },
                        Some(Ok(AggregatedMessage::Pong(_))) => Next::Continue,
                        Some(Ok(AggregatedMessage::Close(_))) => Next::Close(1000, "bye".into()),
                    }
                }
                _ = heartbeat.tick() => {
                    if heard.elapsed() > config.idle_timeout {
                        Next::Close(1001, "idle timeout".into())
                    } else if Box::pin(self.session.ping(b"")).await.is_err() {
                        break None;
                    } else {
                        Next::Continue
                    }
                }
                () = mailbox.ready.notified() => continue,
            };
            match next {
                Next::Continue => {}
                Next::Close(code, reason) => break Some((code, reason)),
            }
            if self.counts_as_bad() {
                let now = Instant::now();
                bad_frames.retain(|at| now.duration_since(*at) < config.bad_frame_window);
                bad_frames.push(now);
                if bad_frames.len() > config.bad_frame_limit as usize {
                    break Some((1008, "too many bad frames".into()));
                }
            }
        };
        if self.service.sockets.remove(id)
            && let Some(tab) = &self.tab
        {
            self.service.engine.broadcaster().forget_tab(tab);
        }
        if let Some((code, reason)) = close {
            Box::pin(bye(self.session, code, reason)).await;
        }
    }

    fn counts_as_bad(&mut self) -> bool {
        std::mem::take(&mut self.last_bad)
    }

    async fn text(&mut self, text: &str) -> Next {
        let message = match parse_client_message(text) {
            Ok(message) => message,
            Err((code, detail)) => return self.bad(code, detail).await,
        };
        let engine = &self.service.engine;
        let reply = match message {
            ClientMessage::Hello {
                protocol,
                tab,
                route,
                acked,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return Next::Close(
                        4001,
                        format!("unsupported protocol version {protocol}; this server speaks {PROTOCOL_VERSION}"),
                    );
                }
                match engine.hello(&self.caller, tab, &route, acked).await {
                    Ok((tab, hydrate)) => {
                        self.service.sockets.set_tab(self.id, &tab);
                        self.tab = Some(tab);
                        hydrate
                    }
                    Err(error) => error,
                }
            }
            ClientMessage::Event {
                seq,
                acked,
                state,
                handler,
                payload,
            } => match &self.tab {
                Some(tab) => {
                    engine
                        .event(&self.caller, tab, seq, acked, &state, &handler, payload)
                        .await
                }
                None => ServerMessage::error(Some(seq), "not_hydrated", "send hello first"),
            },
            ClientMessage::Navigate { seq, acked, route } => match &self.tab {
                Some(tab) => engine.navigate(&self.caller, tab, seq, acked, &route).await,
                None => ServerMessage::error(Some(seq), "not_hydrated", "send hello first"),
            },
        };
        self.send(&reply).await
    }

    /// Runs the tab's reaction to a published message and pushes the change to every
    /// socket of the tab (this one included).
    async fn react(&mut self, topic: &str, payload: &serde_json::Value) -> Next {
        let Some(tab) = self.tab.clone() else {
            return Next::Continue;
        };
        if let Some(push) = self.service.engine.react(&self.caller, &tab, topic, payload).await {
            self.service.sockets.push(&tab, &push.to_text());
        }
        Next::Continue
    }

    /// Handles a message from the mailbox; `None` when the socket is gone.
    async fn handle(&mut self, message: Control) -> Option<Next> {
        Some(match message {
            Control::Close(code, reason) => Next::Close(code, reason.into()),
            Control::Push(text) => match self.session.text(text).await {
                Ok(()) => Next::Continue,
                Err(_) => return None,
            },
            Control::React(topic, payload) => self.react(&topic, &payload).await,
            Control::Update(job) => self.update(job).await,
        })
    }

    /// Runs background work's update of this socket's tab; sends the push here first, then
    /// to the tab's other sockets.
    async fn update(&mut self, job: crate::background::Job) -> Next {
        let Some(tab) = self.tab.clone() else {
            return Next::Continue;
        };
        if let Some(push) = job.run(&self.service.engine, &tab).await {
            let text = push.to_text();
            self.service.sockets.push_except(&tab, Some(self.id), &text);
            return match self.session.text(text).await {
                Ok(()) => Next::Continue,
                Err(_) => Next::Close(1000, "closed".into()),
            };
        }
        Next::Continue
    }

    async fn bad(&mut self, code: &'static str, detail: String) -> Next {
        tracing::debug!(code, %detail, "bad frame");
        self.last_bad = true;
        self.send(&ServerMessage::error(None, code, detail)).await
    }

    async fn send(&mut self, message: &ServerMessage) -> Next {
        match self.session.text(message.to_text()).await {
            Ok(()) => Next::Continue,
            Err(_) => Next::Close(1000, "closed".into()),
        }
    }
}

/// Says why in a `bye` frame, then closes with `code`.
async fn bye(mut session: actix_ws::Session, code: u16, reason: String) {
    let bye = ServerMessage::Bye {
        code,
        message: reason.clone(),
    };
    let _ = session.text(bye.to_text()).await;
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::from(code),
            description: Some(reason),
        }))
        .await;
}
