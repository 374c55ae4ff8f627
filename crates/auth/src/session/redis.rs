//! Sessions in Redis with bounded waits.
//!
//! actix-session's own `RedisSessionStore` builds its connection manager without a
//! connection or response timeout, and takes no other (except through a deadpool pool):
//! a Redis that stops answering then holds every session-carrying request until TCP gives
//! up (about two minutes). This store speaks the same four commands over a
//! `ConnectionManager` per worker thread with both timeouts, under a key prefix, and says what to do when
//! Redis is away instead of failing the request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as Ttl;
use base64::Engine;
use redis::aio::ConnectionManagerConfig;
use redis::{Cmd, FromRedisValue, RedisError, Value};

use super::UNAVAILABLE_KEY;
use crate::identity::USER_ID_KEY;
use crate::redis_conn::PerThreadConnections;

type State = HashMap<String, String>;

/// Where Redis sessions live and how long a request may wait for them.
#[derive(Debug, Clone)]
pub struct RedisSessionConfig {
    /// `redis://host:port[/db]` (or `rediss://…`).
    pub url: String,
    /// Keys are `{prefix}:session:{key}`.
    pub prefix: String,
    /// Connecting, and each command, fail after this long (and a request then goes on as
    /// described in [`RedisSessionStore`]).
    pub timeout: Duration,
}

impl RedisSessionConfig {
    /// Defaults: prefix `duet`, a 2 s timeout.
    pub fn new(url: impl Into<String>) -> RedisSessionConfig {
        RedisSessionConfig {
            url: url.into(),
            prefix: "duet".into(),
            timeout: Duration::from_secs(2),
        }
    }

    /// Sets the key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisSessionConfig {
        self.prefix = prefix.into();
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> RedisSessionConfig {
        self.timeout = timeout;
        self
    }
}

/// Sessions in Redis, one string key per session holding its JSON, with a TTL.
///
/// While Redis does not answer (within the timeout):
/// - a session that cannot be loaded is marked unavailable for this request: its user is
///   unknown ([`Identity::Unavailable`](crate::Identity::Unavailable): 503 where a user is
///   needed, anonymous where that is safe, such as the SPA shell), nothing is written to it,
///   and its cookie is left alone;
/// - a new anonymous session (a first visit: a CSRF token) that cannot be saved is not
///   saved, and the page is served; a logged-in session that cannot be written, or one that
///   cannot be deleted, is a 503 ([`session_faults`](crate::session_faults));
/// - refreshing a TTL is skipped.
///
/// A connection that fails is dropped and the next command makes a new one, so a restarted
/// Redis is used again at once; a command that fails fast (its connection was from before
/// the restart) is sent once more on a fresh connection, within the same timeout.
#[derive(Clone)]
pub struct RedisSessionStore {
    conns: Arc<PerThreadConnections>,
    prefix: Arc<str>,
    timeout: Duration,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// Connects (within the timeout); fails when Redis cannot be reached now. Later outages
    /// are survived.
    pub async fn connect(config: RedisSessionConfig) -> Result<RedisSessionStore, RedisError> {
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(config.timeout)
            .set_response_timeout(config.timeout)
            .set_number_of_retries(0);
        let store = RedisSessionStore {
            conns: Arc::new(PerThreadConnections::new(
                redis::Client::open(config.url.as_str())?,
                manager,
            )),
            prefix: config.prefix.into(),
            timeout: config.timeout,
        };
        tokio::time::timeout(store.timeout, store.conns.get())
            .await
            .map_err(|_| timed_out())??;
        Ok(store)
    }

    fn key(&self, session_key: &str) -> String {
        format!("{}:session:{session_key}", self.prefix)
    }

    /// Runs `cmd` within the timeout; once more, on a fresh connection, if it failed fast
    /// (its connection was from before a restart).
    async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisError> {
        let attempts = async {
            match self.once(cmd).await {
                Err(error) if error.is_io_error() => {
                    tracing::debug!(%error, "redis sessions: stale connection; trying a fresh one");
                    self.once(cmd).await
                }
                other => other,
            }
        };
        let result = tokio::time::timeout(self.timeout, attempts)
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        if result.is_err() {
            // Whatever it was, the next command starts on a new connection.
            self.conns.forget();
        }
        result
    }

    async fn once<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, RedisError> {
        let mut conn = self.conns.get().await?;
        let result = cmd.query_async(&mut conn).await;
        if result.is_err() {
            self.conns.forget();
        }
        result
    }

    /// `SET` a fresh key; the key.
    async fn insert(&self, body: &str, ttl: &Ttl) -> Result<SessionKey, RedisError> {
        let session_key = new_key();
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(session_key.as_ref()))
            .arg(body)
            .arg("NX")
            .arg("EX")
            .arg(ttl.whole_seconds().max(1));
        self.run::<()>(&cmd).await?;
        Ok(session_key)
    }
}

fn timed_out() -> RedisError {
    RedisError::from((redis::ErrorKind::IoError, "Redis did not answer in time"))
}

fn new_key() -> SessionKey {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS provides randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .try_into()
        .expect("43 characters fit a cookie")
}

/// A session with nobody logged in: losing a change to it costs a CSRF token at most.
fn is_anonymous(state: &State) -> bool {
    !state.contains_key(USER_ID_KEY)
}

impl SessionStore for RedisSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let value: Option<String> = match self.run(redis::cmd("GET").arg(self.key(session_key.as_ref()))).await {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, "redis sessions: cannot load a session; it is unavailable for this request");
                return Ok(Some(State::from([(UNAVAILABLE_KEY.to_owned(), "true".to_owned())])));
            }
        };
        match value {
            None => Ok(None),
            Some(value) => serde_json::from_str(&value)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(&self, state: State, ttl: &Ttl) -> Result<SessionKey, SaveError> {
        let body = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        match self.insert(&body, ttl).await {
            Ok(key) => Ok(key),
            Err(error) if is_anonymous(&state) => {
                tracing::warn!(%error, "redis sessions: a new anonymous session was not saved");
                Ok(new_key())
            }
            Err(error) => Err(SaveError::Other(error.into())),
        }
    }

    async fn update(&self, session_key: SessionKey, state: State, ttl: &Ttl) -> Result<SessionKey, UpdateError> {
        if state.contains_key(UNAVAILABLE_KEY) {
            return Err(UpdateError::Other(anyhow::anyhow!(
                "the session could not be read when the request began; it is not written"
            )));
        }
        let body = serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(session_key.as_ref()))
            .arg(&body)
            .arg("XX")
            .arg("EX")
            .arg(ttl.whole_seconds().max(1));
        let written = match self.run::<Value>(&cmd).await {
            // The session expired since it was loaded: save it under a new key.
            Ok(Value::Nil) => self.insert(&body, ttl).await.map(Some),
            Ok(_) => Ok(None),
            Err(error) => Err(error),
        };
        match written {
            Ok(renamed) => Ok(renamed.unwrap_or(session_key)),
            Err(error) if is_anonymous(&state) => {
                tracing::warn!(%error, "redis sessions: an anonymous session's change was not saved");
                Ok(session_key)
            }
            Err(error) => Err(UpdateError::Other(error.into())),
        }
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Ttl) -> Result<(), anyhow::Error> {
        let mut cmd = redis::cmd("EXPIRE");
        cmd.arg(self.key(session_key.as_ref())).arg(ttl.whole_seconds().max(1));
        if let Err(error) = self.run::<()>(&cmd).await {
            tracing::warn!(%error, "redis sessions: a session's TTL was not refreshed");
        }
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        self.run::<()>(redis::cmd("DEL").arg(self.key(session_key.as_ref())))
            .await
            .map_err(Into::into)
    }
}
