//! `RedisStateManager`: tabs in Redis, one lock per tab with a fencing token, two round
//! trips per event.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, MultiplexedConnection};
use ::redis::{AsyncConnectionConfig, Client, RedisError, Script};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{RedisConfig, no_delay, timed_out};
use crate::manager::{StateManager, StoreError, Subscription, TabLock, TabRecord};
use crate::{Route, Stored};

/// Lock and load, in one round trip: a pipeline of plain commands (no script) that sets the
/// lock to a fresh token if it is free (`SET NX PX`), then reads the tab's hash and, for
/// `lock` (`seq` 0), every kept reply. An event's lock reads no replies: only a resend needs
/// one, and [`Shared::resent_replies`] fetches it then.
///
/// No transaction is needed: once the `SET` has taken the lock, nothing else can write the
/// tab (every write checks the lock's token), so the reads that follow see what the last
/// holder stored. When the `SET` fails, the reads are discarded.
fn lock_and_load(config: &RedisConfig, tab: &str, token: u64, seq: u64) -> ::redis::Pipeline {
    let mut pipe = ::redis::pipe();
    pipe.cmd("SET")
        .arg(config.key("lock", tab))
        .arg(token)
        .arg("NX")
        .arg("PX")
        .arg(millis(config.lock_ttl))
        .cmd("HGETALL")
        .arg(config.key("tab", tab));
    if seq == 0 {
        pipe.cmd("ZRANGEBYSCORE")
            .arg(config.key("replies", tab))
            .arg("-inf")
            .arg("+inf");
    }
    pipe
}

/// Store and unlock, in one round trip, only if the lock still holds this token: sets the
/// `ARGV[5]` field/value pairs of the tab, adds the score/member pairs of new replies
/// (counted in the argument after the pairs), removes the replies whose seqs follow, then
/// every reply up to `ARGV[4]` (acknowledged by the client, or too old to keep), refreshes
/// both TTLs, deletes the lock and leaves a wake-up token for a waiter unless one is there
/// already. Returns 0 (lock lost, nothing written) or 1.
const STORE_AND_UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local pairs = tonumber(ARGV[5])
redis.call('HSET', KEYS[2], unpack(ARGV, 6, 5 + 2 * pairs))
local i = 6 + 2 * pairs
local added = tonumber(ARGV[i])
i = i + 1
for _ = 1, added do
  redis.call('ZADD', KEYS[4], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('ZREMRANGEBYSCORE', KEYS[4], ARGV[i], ARGV[i])
  i = i + 1
end
if ARGV[4] ~= '0' then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
redis.call('DEL', KEYS[1])
if redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('RPUSH', KEYS[3], 1)
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return 1
";

/// Extend the lock's life (if it still holds this fence): a running event renews it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Unlock without writing (if the lock still holds this fence), waking one waiter.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('RPUSH', KEYS[2], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
";

/// The tab's field besides states: its meta (JSON: user, route, last applied seq,
/// subscriptions).
const META: &str = "meta";
/// Prefix of a state's field: `s:counter`.
const STATE: &str = "s:";
/// Replies kept per tab: those of the last 256 seqs, as the engine keeps them (it trims what
/// it sees; the store trims what it did not load).
const KEPT_REPLIES: u64 = 256;

#[derive(Serialize)]
struct MetaOut<'a> {
    user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_tag: Option<&'a str>,
    route: &'a Route,
    seq: u64,
    subscriptions: &'a [Subscription],
}

#[derive(Deserialize)]
struct MetaIn {
    user_id: Option<i64>,
    #[serde(default)]
    session_tag: Option<String>,
    route: Route,
    seq: u64,
    #[serde(default)]
    subscriptions: Vec<Subscription>,
}

struct Shared {
    config: RedisConfig,
    client: Client,
    /// The connection made at start-up, used where a thread has none of its own.
    conn: ConnectionManager,
    /// A connection per thread (actix runs one single-threaded runtime per worker): its
    /// driver runs on the worker's own runtime, so a request does not hop to another thread
    /// and back (measured: that hop cost several times the round trip itself).
    per_thread: Mutex<HashMap<ThreadId, ConnectionManager>>,
    store_and_unlock: Script,
    unlock: Script,
    renew: Script,
    round_trips: AtomicU64,
    /// Idle connections for `BLPOP` (a blocking command must not share the multiplexed one).
    waiting: Mutex<Vec<MultiplexedConnection>>,
}

/// Tabs in Redis, for many instances. See the [module docs](super) for the layout.
///
/// Every event costs two Redis round trips (lock and load; store and unlock), whatever the
/// number of states; only the states an event touched are written. A contended tab costs a
/// `BLPOP` per wake-up (and one more lock attempt) on a connection of its own.
#[derive(Clone)]
pub struct RedisStateManager {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisStateManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStateManager")
            .field("prefix", &self.shared.config.prefix)
            .field("tab_ttl", &self.shared.config.tab_ttl)
            .field("lock_ttl", &self.shared.config.lock_ttl)
            .field("round_trips", &self.round_trips())
            .finish()
    }
}

/// Holds a Redis lock: dropped without `store` (a released or abandoned lock), it unlocks in
/// the background; if even that fails, the lock expires after its TTL.
struct LockGuard {
    shared: Arc<Shared>,
    tab: String,
    fence: u64,
    /// The seqs of the replies loaded, so `store` writes only new ones and deletes dropped
    /// ones.
    replies: Vec<u64>,
    /// The size of each state's stored JSON as loaded, so `store` knows the tab's size
    /// without the states it does not write.
    sizes: HashMap<String, usize>,
    armed: bool,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let (tab, fence) = (std::mem::take(&mut self.tab), self.fence);
        runtime.spawn(async move {
            if let Err(error) = shared.unlock(&tab, fence).await {
                tracing::warn!(%error, "redis: releasing a tab's lock failed; it expires by itself");
            }
        });
    }
}

enum Attempt {
    Locked {
        fence: u64,
        fields: Vec<String>,
        replies: Vec<String>,
    },
    /// Another holder has the lock.
    Held,
}

impl RedisStateManager {
    /// Connects to Redis (failing if it cannot be reached now; later outages are survived).
    pub async fn connect(config: RedisConfig) -> Result<RedisStateManager, RedisError> {
        let (client, conn) = config.connection_manager().await?;
        Ok(RedisStateManager {
            shared: Arc::new(Shared {
                config,
                client,
                conn,
                per_thread: Mutex::new(HashMap::new()),
                store_and_unlock: Script::new(STORE_AND_UNLOCK),
                unlock: Script::new(UNLOCK),
                renew: Script::new(RENEW),
                round_trips: AtomicU64::new(0),
                waiting: Mutex::new(Vec::new()),
            }),
        })
    }

    /// How many requests this manager has sent to Redis (each one round trip).
    pub fn round_trips(&self) -> u64 {
        self.shared.round_trips.load(Ordering::Relaxed)
    }

    /// Its configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }
}

impl Shared {
    /// This thread's connection, made on first use; the shared one if that fails.
    async fn conn(&self) -> ConnectionManager {
        let thread = std::thread::current().id();
        if let Some(conn) = self.per_thread.lock().ok().and_then(|c| c.get(&thread).cloned()) {
            return conn;
        }
        match self.config.connection_manager().await {
            Ok((_, conn)) => {
                if let Ok(mut conns) = self.per_thread.lock() {
                    conns.insert(thread, conn.clone());
                }
                conn
            }
            Err(_) => self.conn.clone(),
        }
    }

    /// Forgets this thread's connection after a failure (its runtime may be gone).
    fn forget_conn(&self) {
        if let Ok(mut conns) = self.per_thread.lock() {
            conns.remove(&std::thread::current().id());
        }
    }

    fn count(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }

    /// A request on a [`ConnectionManager`]: it times out by itself (its response timeout is
    /// the configured one), so no second timer is armed per request.
    async fn counted<T>(&self, request: impl Future<Output = Result<T, RedisError>>) -> Result<T, RedisError> {
        self.count();
        request.await
    }

    /// Anything else: a new connection, or a `BLPOP`.
    async fn timed<T>(&self, request: impl Future<Output = Result<T, RedisError>>) -> Result<T, RedisError> {
        self.count();
        tokio::time::timeout(self.config.timeout, request)
            .await
            .map_err(|_| timed_out())?
    }

    /// One try at the lock (sent again once if the connection was stale: Redis restarted). Replies come only with `seq` 0 (see [`lock_and_load`]).
    async fn attempt(&self, tab: &str, seq: u64) -> Result<Attempt, RedisError> {
        match self.attempt_once(tab, seq).await {
            Err(error) if super::stale(&error) => {
                tracing::debug!(%error, "redis: connection dropped; trying once more");
                self.attempt_once(tab, seq).await
            }
            other => other,
        }
    }

    async fn attempt_once(&self, tab: &str, seq: u64) -> Result<Attempt, RedisError> {
        let mut conn = self.conn().await;
        let token = lock_token();
        let request = lock_and_load(&self.config, tab, token, seq);
        let (taken, fields, replies) = if seq == 0 {
            self.counted(request.query_async::<(Option<String>, Vec<String>, Vec<String>)>(&mut conn))
                .await
        } else {
            self.counted(request.query_async::<(Option<String>, Vec<String>)>(&mut conn))
                .await
                .map(|(taken, fields)| (taken, fields, Vec::new()))
        }
        .inspect_err(|_| self.forget_conn())?;
        Ok(match taken {
            Some(_) => Attempt::Locked {
                fence: token,
                fields,
                replies,
            },
            None => Attempt::Held,
        })
    }

    /// The kept replies from `seq` on, read while holding the tab's lock: a resend is
    /// answered with its original reply.
    async fn resent_replies(&self, tab: &str, seq: u64) -> Result<Vec<String>, RedisError> {
        let mut conn = self.conn().await;
        self.counted(
            ::redis::cmd("ZRANGEBYSCORE")
                .arg(self.config.key("replies", tab))
                .arg(seq)
                .arg("+inf")
                .query_async(&mut conn),
        )
        .await
        .inspect_err(|_| self.forget_conn())
    }

    /// Waits for a wake-up token on the tab's list, at most `ttl` (when the holder's lock
    /// expires by itself).
    async fn wait(&self, tab: &str, ttl: Duration) -> Result<(), RedisError> {
        let pooled = self.waiting.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(self.config.timeout)
                    .set_tcp_settings(no_delay());
                self.timed(self.client.get_multiplexed_async_connection_with_config(&config))
                    .await?
            }
        };
        // BLPOP takes seconds (fractions allowed); 0 would mean for ever.
        let seconds = ttl.as_secs_f64().max(0.005);
        self.count();
        let popped = tokio::time::timeout(
            ttl + self.config.timeout,
            ::redis::cmd("BLPOP")
                .arg(self.config.key("wake", tab))
                .arg(seconds)
                .query_async::<Option<(String, String)>>(&mut conn),
        )
        .await
        .map_err(|_| timed_out())?;
        popped?;
        if let Ok(mut idle) = self.waiting.lock() {
            idle.push(conn);
        }
        Ok(())
    }

    /// Runs the store script: 1 when written, 0 when the lock was lost.
    async fn store(
        &self,
        tab: &str,
        fence: u64,
        ttl: Duration,
        acked: u64,
        args: &[String],
    ) -> Result<i64, RedisError> {
        let mut conn = self.conn().await;
        self.counted(
            self.store_and_unlock
                .key(self.config.key("lock", tab))
                .key(self.config.key("tab", tab))
                .key(self.config.key("wake", tab))
                .key(self.config.key("replies", tab))
                .arg(fence)
                .arg(millis(ttl))
                .arg(millis(self.config.lock_ttl))
                .arg(acked)
                .arg(args)
                .invoke_async(&mut conn),
        )
        .await
        .inspect_err(|_| self.forget_conn())
    }

    async fn renew(&self, tab: &str, fence: u64) -> Result<bool, RedisError> {
        let mut conn = self.conn().await;
        self.counted(
            self.renew
                .key(self.config.key("lock", tab))
                .arg(fence)
                .arg(millis(self.config.lock_ttl))
                .invoke_async::<i64>(&mut conn),
        )
        .await
        .inspect_err(|_| self.forget_conn())
        .map(|renewed| renewed == 1)
    }

    async fn unlock(&self, tab: &str, fence: u64) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        self.counted(
            self.unlock
                .key(self.config.key("lock", tab))
                .key(self.config.key("wake", tab))
                .arg(fence)
                .arg(millis(self.config.lock_ttl))
                .invoke_async::<i64>(&mut conn),
        )
        .await
        .map(drop)
    }
}

/// A fresh lock token, unique among holders: a random number drawn once per process plus a
/// counter, so a holder whose lock expired and was taken by another can never match the new
/// holder's token (the store checks it), without a system call per event.
fn lock_token() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS provides randomness");
        u64::from_le_bytes(bytes)
    });
    base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn unavailable(error: &RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// What [`decode`] read: the record (`None` when there is no tab, or its `meta` is
/// unreadable), the seqs of the replies loaded and each state's stored size.
type Decoded = (Option<TabRecord>, Vec<u64>, HashMap<String, usize>);

/// Builds a record from `HGETALL`'s flat field/value list and the replies loaded (members
/// `{seq}:{reply}`).
fn decode(tab: &str, fields: Vec<String>, replies: Vec<String>) -> Decoded {
    let mut meta = None;
    let mut states = BTreeMap::new();
    let mut sizes = HashMap::new();
    let mut fields = fields.into_iter();
    while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
        if field == META {
            meta = Some(value);
        } else if let Some(name) = field.strip_prefix(STATE) {
            sizes.insert(name.to_owned(), value.len());
            match serde_json::from_str::<Stored>(&value) {
                Ok(stored) => {
                    states.insert(name.to_owned(), stored);
                }
                Err(error) => tracing::warn!(tab, state = name, %error, "redis: unreadable state; using its default"),
            }
        }
    }
    let Some(meta) = meta else {
        return (None, Vec::new(), sizes);
    };
    let meta: MetaIn = match serde_json::from_str(&meta) {
        Ok(meta) => meta,
        Err(error) => {
            tracing::warn!(tab, %error, "redis: unreadable tab; starting afresh");
            return (None, Vec::new(), sizes);
        }
    };
    let replies = parse_replies(replies);
    let seqs = replies.iter().map(|(seq, _)| *seq).collect();
    let record = TabRecord {
        user_id: meta.user_id,
        session_tag: meta.session_tag,
        route: meta.route,
        seq: meta.seq,
        replies,
        states,
        subscriptions: meta.subscriptions,
    };
    (Some(record), seqs, sizes)
}

/// Kept replies from their sorted-set members `{seq}:{reply}`.
fn parse_replies(members: Vec<String>) -> Vec<(u64, String)> {
    members
        .into_iter()
        .filter_map(|m| {
            let (seq, reply) = m.split_once(':')?;
            Some((seq.parse().ok()?, reply.to_owned()))
        })
        .collect()
}

/// The store script's arguments after the fence, the TTLs and the seq up to which replies
/// go: the count of tab pairs, the pairs (meta, touched states), the count of new replies,
/// their score/member pairs, then the seqs of replies to delete. Also the tab's size: its
/// meta and every state (touched ones as written, the others as `sizes` says they were
/// loaded).
fn encode(
    record: &TabRecord,
    touched: &[String],
    loaded: &[u64],
    sizes: &HashMap<String, usize>,
) -> Result<(Vec<String>, usize), serde_json::Error> {
    let meta = serde_json::to_string(&MetaOut {
        user_id: record.user_id,
        session_tag: record.session_tag.as_deref(),
        route: &record.route,
        seq: record.seq,
        subscriptions: &record.subscriptions,
    })?;
    let mut size = meta.len();
    let mut pairs = vec![META.to_owned(), meta];
    for name in touched {
        if let Some(stored) = record.states.get(name) {
            let json = serde_json::to_string(stored)?;
            size += json.len();
            pairs.push(format!("{STATE}{name}"));
            pairs.push(json);
        }
    }
    size += sizes
        .iter()
        .filter(|(name, _)| !touched.contains(name))
        .map(|(_, bytes)| bytes)
        .sum::<usize>();
    let new: Vec<&(u64, String)> = record.replies.iter().filter(|(seq, _)| !loaded.contains(seq)).collect();
    let mut args = Vec::with_capacity(pairs.len() + 2 * new.len() + 2);
    args.push((pairs.len() / 2).to_string());
    args.extend(pairs);
    args.push(new.len().to_string());
    for (seq, reply) in new {
        args.push(seq.to_string());
        args.push(format!("{seq}:{reply}"));
    }
    for seq in loaded {
        if !record.replies.iter().any(|(kept, _)| kept == seq) {
            args.push(seq.to_string());
        }
    }
    Ok((args, size))
}

impl RedisStateManager {
    async fn lock_seq(&self, tab: &str, seq: u64) -> Result<TabLock, StoreError> {
        let shared = &self.shared;
        // A lock is free at the latest one TTL after each attempt; past a few, something
        // is wrong (or the tab is hammered): give up rather than hang the socket.
        let deadline = Instant::now() + shared.config.lock_ttl * 3 + shared.config.timeout;
        loop {
            match shared.attempt(tab, seq).await.map_err(|e| unavailable(&e))? {
                Attempt::Locked { fence, fields, replies } => {
                    let (mut record, replies, sizes) = decode(tab, fields, replies);
                    let mut guard = LockGuard {
                        shared: Arc::clone(shared),
                        tab: tab.to_owned(),
                        fence,
                        replies,
                        sizes,
                        armed: true,
                    };
                    if let Some(record) = record.as_mut().filter(|r| seq > 0 && seq <= r.seq) {
                        // A resend (dropping the guard on failure unlocks the tab).
                        let members = shared.resent_replies(tab, seq).await.map_err(|e| unavailable(&e))?;
                        record.replies = parse_replies(members);
                        guard.replies = record.replies.iter().map(|(seq, _)| *seq).collect();
                    }
                    return Ok(TabLock::new(tab.to_owned(), record, fence, Some(Box::new(guard))));
                }
                Attempt::Held => {
                    if Instant::now() >= deadline {
                        return Err(StoreError::Unavailable(format!(
                            "tab lock still held after waiting {:?}",
                            shared.config.lock_ttl * 3
                        )));
                    }
                    // Woken by the holder's unlock, or when its lock has expired at the latest.
                    shared
                        .wait(tab, shared.config.lock_ttl)
                        .await
                        .map_err(|e| unavailable(&e))?;
                }
            }
        }
    }
}

impl StateManager for RedisStateManager {
    fn lock<'a>(&'a self, tab: &'a str) -> BoxFuture<'a, Result<TabLock, StoreError>> {
        Box::pin(self.lock_seq(tab, 0))
    }

    /// Loads the kept replies only for a resend (`seq` at or below the last applied).
    fn lock_for_seq<'a>(&'a self, tab: &'a str, seq: u64) -> BoxFuture<'a, Result<TabLock, StoreError>> {
        Box::pin(self.lock_seq(tab, seq.max(1)))
    }

    fn renew_every(&self) -> Option<Duration> {
        Some(self.shared.config.lock_ttl / 3)
    }

    fn renew<'a>(&'a self, lock: &'a TabLock) -> BoxFuture<'a, Result<(), StoreError>> {
        let (tab, fence) = (lock.tab.clone(), lock.fence);
        Box::pin(async move {
            match self.shared.renew(&tab, fence).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(StoreError::LockLost),
                Err(error) => Err(unavailable(&error)),
            }
        })
    }

    fn store<'a>(
        &'a self,
        mut lock: TabLock,
        record: &'a TabRecord,
        touched: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let Some(mut guard) = lock.take_guard().and_then(|g| g.downcast::<LockGuard>().ok()) else {
                return Err(StoreError::LockLost);
            };
            if guard.fence != lock.fence {
                guard.armed = false;
                return Err(StoreError::LockLost);
            }
            let shared = &self.shared;
            // Refused before the script: dropping the armed guard unlocks the tab.
            let (args, size) = encode(record, touched, &guard.replies, &guard.sizes)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            if size > shared.config.max_tab_bytes {
                return Err(StoreError::TooLarge {
                    bytes: size,
                    limit: shared.config.max_tab_bytes,
                });
            }
            // Whatever happens now, the store script was the unlock: no second one on drop.
            guard.armed = false;
            let ttl = if record.user_id.is_some() {
                shared.config.tab_ttl
            } else {
                shared.config.anonymous_tab_ttl.min(shared.config.tab_ttl)
            };
            let acked = lock.acked.max(record.seq.saturating_sub(KEPT_REPLIES));
            let mut stored = shared.store(&lock.tab, guard.fence, ttl, acked, &args).await;
            if let Err(error) = &stored
                && super::stale(error)
            {
                // Redis restarted: if the script ran, the lock is gone and this says so.
                tracing::debug!(%error, "redis: connection dropped; storing once more");
                stored = shared.store(&lock.tab, guard.fence, ttl, acked, &args).await;
            }
            let stored = stored.map_err(|e| unavailable(&e))?;
            if stored == 1 {
                Ok(())
            } else {
                tracing::warn!(
                    tab = lock.tab,
                    fence = guard.fence,
                    "redis: the tab's lock was lost; nothing written"
                );
                Err(StoreError::LockLost)
            }
        })
    }
}
