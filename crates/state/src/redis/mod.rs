//! Past one machine (feature `redis`): tabs kept in Redis and live updates carried between
//! instances, so any instance can serve any socket of any tab — no sticky sessions.
//!
//! - [`RedisStateManager`]: a [`StateManager`](crate::StateManager) over Redis. Each tab is
//!   one hash with a TTL (`meta`, one field per state, one per reply not yet acknowledged:
//!   kept for resends); its lock is a key holding a random token. Lock-and-load is one pipeline (`SET NX PX`, then the reads), and
//!   store-and-unlock a Lua script that refuses to write unless the lock still
//!   holds the token: two round trips per event, whatever the number of states, and a
//!   worker that lost its lock writes nothing. Waiters block on a per-tab wake-up list
//!   (`BLPOP`) instead of polling.
//!
//!   After a store the instance keeps the lock as a *lease* (the script renews it instead
//!   of deleting it) with the record it wrote, for as long as the tab keeps sending
//!   ([`RedisConfig::lease_idle`] without an event, 100 ms by default, then a sweeper
//!   unlocks it; at once when the tab's last socket here closes): the tab's next event here
//!   is one round trip, the store. Every store still checks the token, so a lease that was
//!   lost (expired, Redis restarted or flushed) writes nothing and is forgotten. A waiter
//!   sets the tab's `want` key as it starts to wait: the holder then unlocks at its next
//!   store instead of keeping the lease. Within the process, one event of a tab at a time
//!   holds the lock (a FIFO turn per tab), and the lease passes from one to the next.
//! - [`RedisBroadcaster`]: a [`Transport`](crate::Transport) over Redis pub/sub: publishes
//!   and logouts on one instance reach the tabs and sockets of every instance; it resubscribes
//!   by itself after Redis restarts.
//!
//! Keys (with the default prefix `duet`): `duet:tab:{tab}` (hash), `duet:lock:{tab}`,
//! `duet:want:{tab}` (a waiter's request),
//! `duet:wake:{tab}` (list) and the channel `duet:broadcast`. One Redis server (or a
//! primary with replicas) is assumed, not Redis Cluster: a tab's keys are used together in
//! one pipeline or script.

mod broadcast;
mod lease;
mod manager;

use std::time::Duration;

use duet_auth::redis_conn::no_delay;

pub use ::redis::RedisError;
pub use broadcast::RedisBroadcaster;
pub use manager::RedisStateManager;

/// How long a tab's lease is kept without an event, by default.
pub const DEFAULT_LEASE_IDLE: Duration = Duration::from_millis(100);

/// Where Redis is and how tabs are kept in it.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port[/db]` (or `rediss://…`).
    pub url: String,
    /// Prefix of every key and channel, so apps (or test runs) can share one Redis.
    pub prefix: String,
    /// An idle tab is forgotten after this long.
    pub tab_ttl: Duration,
    /// An idle tab of an anonymous visitor is forgotten after this long (at most `tab_ttl`).
    pub anonymous_tab_ttl: Duration,
    /// A tab whose states and meta would take more bytes than this is not stored: the event
    /// gets a `too_large` error.
    pub max_tab_bytes: usize,
    /// A lock not released within this long expires, so a crashed instance cannot hold a tab
    /// for ever. A running event renews its lock every third of this; an instance that stalls
    /// (and so stops renewing) past it loses the lock, and its write is refused.
    pub lock_ttl: Duration,
    /// A Redis command not answered within this long fails: the event gets an `unavailable`
    /// error frame instead of hanging while Redis is down.
    pub timeout: Duration,
    /// After a store, this instance keeps the tab's lock as a *lease* for at most this long
    /// without an event (zero: never): the tab's next event here then skips the
    /// lock-and-load round trip. Another instance (or a twin socket there) asking for the
    /// tab gets it at the holder's next store, or once the lease has been idle this long
    /// (checked every quarter of it); a tab whose last socket here closes is let go at once.
    pub lease_idle: Duration,
}

impl RedisConfig {
    /// Defaults: prefix `duet`, tabs kept 1 hour (anonymous ones 15 minutes) and up to
    /// 1 MiB, locks expire after 10 s (renewed while an event runs), commands time out after
    /// 2 s, leases are let go after 100 ms without an event.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            prefix: "duet".into(),
            tab_ttl: Duration::from_secs(60 * 60),
            anonymous_tab_ttl: Duration::from_secs(15 * 60),
            max_tab_bytes: crate::manager::DEFAULT_MAX_TAB_BYTES,
            lock_ttl: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
            lease_idle: DEFAULT_LEASE_IDLE,
        }
    }

    /// Sets the key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisConfig {
        self.prefix = prefix.into();
        self
    }

    /// Sets how long idle tabs are kept.
    pub fn tab_ttl(mut self, ttl: Duration) -> RedisConfig {
        self.tab_ttl = ttl;
        self
    }

    /// Sets how long idle tabs of anonymous visitors are kept.
    pub fn anonymous_tab_ttl(mut self, ttl: Duration) -> RedisConfig {
        self.anonymous_tab_ttl = ttl;
        self
    }

    /// Sets the largest tab stored.
    pub fn max_tab_bytes(mut self, bytes: usize) -> RedisConfig {
        self.max_tab_bytes = bytes;
        self
    }

    /// Sets when an unreleased lock expires.
    pub fn lock_ttl(mut self, ttl: Duration) -> RedisConfig {
        self.lock_ttl = ttl;
        self
    }

    /// Sets the command timeout.
    pub fn timeout(mut self, timeout: Duration) -> RedisConfig {
        self.timeout = timeout;
        self
    }

    /// Sets how long a tab's lease is kept without an event (zero: no leases; every event
    /// locks and unlocks).
    pub fn lease_idle(mut self, idle: Duration) -> RedisConfig {
        self.lease_idle = idle;
        self
    }

    /// `{prefix}:{kind}:{tab}` (built by hand: several are made per event, and `format!`
    /// cost a thousand instructions each).
    fn key(&self, kind: &str, tab: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + kind.len() + tab.len() + 2);
        key.push_str(&self.prefix);
        key.push(':');
        key.push_str(kind);
        key.push(':');
        key.push_str(tab);
        key
    }

    fn channel(&self) -> String {
        format!("{}:broadcast", self.prefix)
    }

    /// How connection managers are made: they reconnect by themselves, with timeouts so
    /// that commands fail fast while Redis is away, and without Nagle's algorithm.
    fn manager_config(&self) -> ::redis::aio::ConnectionManagerConfig {
        ::redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1)
            .set_factor(50)
            .set_max_delay(500)
            .set_tcp_settings(no_delay())
    }

    /// A connection manager made now, within the timeout.
    async fn connection_manager(
        &self,
    ) -> Result<(::redis::Client, ::redis::aio::ConnectionManager), ::redis::RedisError> {
        let client = ::redis::Client::open(self.url.as_str())?;
        let manager = tokio::time::timeout(
            self.timeout,
            client.get_connection_manager_with_config(self.manager_config()),
        )
        .await
        .map_err(|_| timed_out())??;
        Ok((client, manager))
    }
}

/// Whether a request failed on a connection from before a Redis restart (dropped, or the
/// refusal of a reconnection tried while Redis was away): sent once more, it goes out on a
/// fresh connection. A timeout is not retried (the request may be running).
fn stale(error: &::redis::RedisError) -> bool {
    error.is_connection_dropped() || error.is_connection_refusal()
}

fn timed_out() -> ::redis::RedisError {
    ::redis::RedisError::from((::redis::ErrorKind::IoError, "Redis did not answer in time"))
}

#[cfg(test)]
mod tests;
