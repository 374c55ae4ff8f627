//! The `/_event` endpoint: the WebSocket around the [`Engine`].
//!
//! Each socket has two tasks: its reader ([`connection`]) reads frames, runs them through
//! the engine and queues the answers; its writer is the only one that writes, taking frames
//! from the socket's bounded [`Outbox`](crate::outbox::Outbox) with a timeout per write.

mod connection;
mod sockets;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};

pub(crate) use self::sockets::Inbox;
pub use self::sockets::Sockets;
use crate::engine::{Caller, Engine};
use crate::limits::{AddressLimits, NewTabs, Rate};
use crate::outbox::Outbox;

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
    /// A write the client does not take within this long closes the socket.
    pub write_timeout: Duration,
    /// At most this many bytes of frames wait for a socket; past it the client is not keeping
    /// up and the socket is closed (4008).
    pub outbox_bytes: usize,
    /// At most this much work (reactions to broadcasts, background updates) waits for a
    /// socket's task; past it the socket is closed (4008).
    pub inbox: usize,
    /// More bad frames than this within `bad_frame_window` close the socket (1008).
    pub bad_frame_limit: u32,
    /// The window for `bad_frame_limit`.
    pub bad_frame_window: Duration,
    /// New tabs one connection may open (`hello` without a known tab of its own); past it,
    /// `hello` gets a `rate_limited` error.
    pub new_tabs_per_connection: Rate,
    /// New tabs one client address may open, over all its connections (`None`: no limit).
    /// The address is duet-auth's [`Client`](duet_auth::Client)'s: behind a trusted proxy,
    /// the one it forwards.
    pub new_tabs_per_address: Option<Rate>,
}

impl Default for SocketConfig {
    fn default() -> SocketConfig {
        SocketConfig {
            allowed_origins: Vec::new(),
            max_frame: 64 * 1024,
            heartbeat: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            outbox_bytes: 1 << 20,
            inbox: 256,
            bad_frame_limit: 20,
            bad_frame_window: Duration::from_secs(10),
            new_tabs_per_connection: Rate::new(10, Duration::from_secs(6)),
            new_tabs_per_address: Some(Rate::new(60, Duration::from_secs(1))),
        }
    }
}

/// The app's event service: the engine, the socket settings and the open sockets.
pub struct EventService {
    engine: Engine,
    config: SocketConfig,
    sockets: Arc<Sockets>,
    addresses: Option<Arc<AddressLimits>>,
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
        let addresses = config
            .new_tabs_per_address
            .map(|rate| Arc::new(AddressLimits::new(rate)));
        EventService {
            engine,
            config,
            sockets,
            addresses,
        }
    }

    /// The open sockets (register them as duet-auth's `LogoutListener`).
    pub fn sockets(&self) -> Arc<Sockets> {
        Arc::clone(&self.sockets)
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The new-tab budget of a connection from `req`.
    fn new_tabs(&self, req: &HttpRequest) -> NewTabs {
        let address = self.addresses.as_ref().and_then(|limits| {
            let address = duet_auth::Client::of(req).address?;
            Some((address, Arc::clone(limits)))
        });
        NewTabs::new(self.config.new_tabs_per_connection, address)
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
        let own = duet_auth::Client::of(&req).origin();
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
    let (login, session_tag) = match duet_auth::Identity::of(&req) {
        duet_auth::Identity::Session {
            session_auth_id,
            user_id,
        } => (Some((session_auth_id, user_id)), None),
        _ => (None, duet_auth::session_tag(&req)),
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(service.config.max_frame)
        .aggregate_continuations()
        .max_continuation_size(service.config.max_frame);
    let outbox = Outbox::new(service.config.outbox_bytes);
    let inbox = Arc::new(Inbox::new(service.config.inbox));
    let caller = Caller::on_socket(user, session_tag, outbox.clone(), service.new_tabs(&req));
    let service = service.into_inner();
    let id = service.sockets.add(login, Arc::clone(&inbox), outbox.clone());
    actix_web::rt::spawn(connection::write(session, outbox.clone(), service.config.write_timeout));
    // The reader is the connection's own future: an idle socket holds little else.
    actix_web::rt::spawn(connection::Connection::new(service, caller, outbox, inbox, id).run(stream));
    Ok(response)
}
