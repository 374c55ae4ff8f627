//! One Redis connection per worker thread, for the session store and the throttle.
//!
//! A redis-rs connection runs its I/O in a task on the runtime that made it. Made once at
//! start-up, it ran on the main thread: every command from an actix worker (each a runtime
//! of its own) went over a channel to the main thread, woke it, and woke the worker back
//! with the reply — two thread wake-ups per command on top of the round trip. Each worker
//! makes its own instead, on first use (as the Redis state manager does).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::thread::ThreadId;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

/// Connections to one Redis, by thread.
pub(crate) struct PerThread {
    client: Client,
    config: ConnectionManagerConfig,
    conns: Mutex<HashMap<ThreadId, ConnectionManager>>,
}

impl PerThread {
    /// Connections made with `config`, and without Nagle's algorithm: requests are small
    /// and latency-bound, and on a connection shared by a worker's concurrent requests it
    /// would hold one back while an earlier one is unacknowledged (redis-rs leaves it on).
    pub(crate) fn new(client: Client, config: ConnectionManagerConfig) -> PerThread {
        PerThread {
            client,
            config: config.set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true)),
            conns: Mutex::new(HashMap::new()),
        }
    }

    /// This thread's connection, made now if it has none.
    pub(crate) async fn get(&self) -> Result<ConnectionManager, RedisError> {
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
    pub(crate) fn forget(&self) {
        self.conns().remove(&std::thread::current().id());
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<ThreadId, ConnectionManager>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
