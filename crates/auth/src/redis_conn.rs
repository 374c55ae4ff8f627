//! Redis connections as duet makes them: one per worker thread, without Nagle's algorithm.
//!
//! A redis-rs connection runs its I/O in a task on the runtime that made it. Made once at
//! start-up, it ran on the main thread: every command from an actix worker (each a runtime
//! of its own) went over a channel to the main thread, woke it, and woke the worker back
//! with the reply — two thread wake-ups per command on top of the round trip (measured:
//! several times the round trip itself). [`PerThreadConnections`] makes one per worker
//! instead, on first use. duet-auth's session store and throttle use it, and so does
//! duet-state's Redis state manager.
//!
//! ```no_run
//! use duet_auth::redis_conn::PerThreadConnections;
//! use redis::aio::ConnectionManagerConfig;
//!
//! # async fn run() -> redis::RedisResult<()> {
//! let client = redis::Client::open("redis://127.0.0.1:6379")?;
//! let conns = PerThreadConnections::new(client, ConnectionManagerConfig::new());
//! let mut conn = conns.get().await?;
//! let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
//! if pong.is_err() {
//!     conns.forget(); // the next `get` on this thread makes a new connection
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::TcpSettings;
use redis::{Client, RedisError};

/// Connections to one Redis, by thread: [`get`](Self::get) returns the calling thread's,
/// made now if it has none.
pub struct PerThreadConnections {
    client: Client,
    config: ConnectionManagerConfig,
    conns: Mutex<HashMap<ThreadId, ConnectionManager>>,
}

impl std::fmt::Debug for PerThreadConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerThreadConnections")
            .field("threads", &self.conns().len())
            .finish_non_exhaustive()
    }
}

impl PerThreadConnections {
    /// Connections made with `config` (its timeouts and retries), and without Nagle's
    /// algorithm ([`no_delay`]).
    pub fn new(client: Client, config: ConnectionManagerConfig) -> PerThreadConnections {
        PerThreadConnections {
            client,
            config: config.set_tcp_settings(no_delay()),
            conns: Mutex::new(HashMap::new()),
        }
    }

    /// This thread's connection, made now if it has none. Making one is bounded by the
    /// config's connection timeout only: a caller that needs a bound on the whole wait sets
    /// its own.
    pub async fn get(&self) -> Result<ConnectionManager, RedisError> {
        let thread = std::thread::current().id();
        if let Some(conn) = self.conns().get(&thread) {
            return Ok(conn.clone());
        }
        let conn = self
            .client
            .get_connection_manager_with_config(self.config.clone())
            .await?;
        self.conns().insert(thread, conn.clone());
        Ok(conn)
    }

    /// Forgets this thread's connection after a failure: it may be from before a Redis
    /// restart, or from a runtime that has ended (tests run many on one thread).
    pub fn forget(&self) {
        self.conns().remove(&std::thread::current().id());
    }

    fn conns(&self) -> MutexGuard<'_, HashMap<ThreadId, ConnectionManager>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// TCP settings without Nagle's algorithm, for every Redis connection duet makes: requests
/// are small and latency-bound, and on a connection shared by concurrent requests it would
/// hold one back while an earlier one is unacknowledged (redis-rs leaves it on).
pub fn no_delay() -> TcpSettings {
    TcpSettings::default().set_nodelay(true)
}
