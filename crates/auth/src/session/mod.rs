//! Session middleware: a signed-and-encrypted cookie store by default, Redis when configured.
//!
//! Redis sessions wait a bounded time ([`RedisSessionConfig::timeout`]): a session that cannot
//! be read is marked unavailable for the request (its user is unknown: [`Identity::Unavailable`](crate::Identity::Unavailable),
//! answered 503 where a user is needed, anonymous where that is safe), and a write that
//! cannot be made is a 503 through [`session_faults`], never a hang.

mod redis;

use std::collections::HashMap;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::{CookieSessionStore, LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::body::MessageBody;
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::middleware::Next;

pub use self::redis::{RedisSessionConfig, RedisSessionStore};
use crate::AuthError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sessionid";

/// How sessions are kept and how their cookie is set.
#[derive(Clone)]
pub struct SessionConfig {
    key: Key,
    secure: bool,
    ttl: Duration,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("secure", &self.secure)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// Sessions signed with `secret` (at least 64 bytes), lasting two weeks.
    ///
    /// # Panics
    /// When `secret` is shorter than 64 bytes; check it at configuration time.
    pub fn new(secret: &[u8]) -> SessionConfig {
        SessionConfig {
            key: Key::derive_from(secret),
            secure: false,
            ttl: Duration::weeks(2),
        }
    }

    /// Marks cookies `Secure` (production, behind HTTPS).
    pub fn secure(mut self, secure: bool) -> SessionConfig {
        self.secure = secure;
        self
    }

    /// How long an idle session lives.
    pub fn ttl(mut self, ttl: Duration) -> SessionConfig {
        self.ttl = ttl;
        self
    }

    /// Whether cookies are marked `Secure`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The middleware over `store`: cookie `sessionid`, HttpOnly, SameSite=Lax.
    pub fn middleware(&self, store: SessionBackend) -> SessionMiddleware<SessionBackend> {
        SessionMiddleware::builder(store, self.key.clone())
            .cookie_name(SESSION_COOKIE.to_owned())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(self.secure)
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(self.ttl))
            .build()
    }
}

/// Where session state lives: in the (encrypted) cookie itself, or in Redis.
#[derive(Clone)]
pub enum SessionBackend {
    /// The whole session in an encrypted, authenticated cookie (one process or many, no server state).
    Cookie(std::sync::Arc<CookieSessionStore>),
    /// The session in Redis; the cookie holds only its key.
    Redis(RedisSessionStore),
}

/// The key marking a session that could not be read (see [`session_faults`]).
pub(crate) const UNAVAILABLE_KEY: &str = "_duet_unavailable";

/// True when the request's session could not be read from its store: who is asking is
/// unknown, and nothing may be written to the session.
pub(crate) fn is_unavailable(session: &actix_session::Session) -> bool {
    matches!(session.get::<bool>(UNAVAILABLE_KEY), Ok(Some(true)))
}

impl SessionBackend {
    /// The cookie store.
    pub fn cookie() -> SessionBackend {
        SessionBackend::Cookie(std::sync::Arc::new(CookieSessionStore::default()))
    }

    /// A Redis store (with bounded waits); fails when Redis cannot be reached now.
    pub async fn redis(config: RedisSessionConfig) -> Result<SessionBackend, String> {
        RedisSessionStore::connect(config)
            .await
            .map(SessionBackend::Redis)
            .map_err(|e| e.to_string())
    }

    /// `"cookie"` or `"redis"`.
    pub fn name(&self) -> &'static str {
        match self {
            SessionBackend::Cookie(_) => "cookie",
            SessionBackend::Redis(_) => "redis",
        }
    }
}

type State = HashMap<String, String>;

impl SessionStore for SessionBackend {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        match self {
            SessionBackend::Cookie(store) => store.load(key).await,
            SessionBackend::Redis(store) => store.load(key).await,
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        match self {
            SessionBackend::Cookie(store) => store.save(state, ttl).await,
            SessionBackend::Redis(store) => store.save(state, ttl).await,
        }
    }

    async fn update(&self, key: SessionKey, state: State, ttl: &Duration) -> Result<SessionKey, UpdateError> {
        match self {
            SessionBackend::Cookie(store) => store.update(key, state, ttl).await,
            SessionBackend::Redis(store) => store.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        match self {
            SessionBackend::Cookie(store) => store.update_ttl(key, ttl).await,
            SessionBackend::Redis(store) => store.update_ttl(key, ttl).await,
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match self {
            SessionBackend::Cookie(store) => store.delete(key).await,
            SessionBackend::Redis(store) => store.delete(key).await,
        }
    }
}

/// Middleware (`actix_web::middleware::from_fn(session_faults)`), outside the session
/// middleware: a session store that failed to save, update or delete a session answers 503
/// `{"detail": …}` with `Retry-After`, instead of actix-session's empty 500.
pub async fn session_faults(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    next.call(req).await.map_err(|error| {
        // actix-session wraps every storage failure in an `InternalError` of these types;
        // nothing inside it raises them.
        let from_store = error.as_error::<InternalError<anyhow::Error>>().is_some()
            || error.as_error::<InternalError<SaveError>>().is_some()
            || error.as_error::<InternalError<UpdateError>>().is_some();
        if from_store {
            tracing::warn!(%error, "session store failed: 503");
            AuthError::Unavailable.into()
        } else {
            error
        }
    })
}
