//! `RedisStateManager`: tabs in Redis, one lock per tab with a fencing token, kept as a
//! lease between the events of a busy tab: one round trip per event while it is held, two
//! otherwise.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, MultiplexedConnection};
use ::redis::{AsyncConnectionConfig, Client, RedisError, Script};
use duet_auth::redis_conn::{PerThreadConnections, no_delay};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::lease::{Lease, Leases, Turn};
use super::{RedisConfig, timed_out};
use crate::manager::{StateManager, StoreError, Subscription, TabLock, TabRecord};
use crate::{Route, Stored};

/// Lock and load, in one round trip: a pipeline of plain commands (no script) that sets the
/// lock to a fresh token if it is free (`SET NX PX`), then reads the tab's hash (its meta,
/// its states and the replies the client has not acknowledged).
///
/// No transaction is needed: once the `SET` has taken the lock, nothing else can write the
/// tab (every write checks the lock's token), so the reads that follow see what the last
/// holder stored. When the `SET` fails, the reads are discarded.
fn lock_and_load(config: &RedisConfig, tab: &str, token: u64) -> ::redis::Pipeline {
    let mut pipe = ::redis::pipe();
    pipe.cmd("SET")
        .arg(config.key("lock", tab))
        .arg(token)
        .arg("NX")
        .arg("PX")
        .arg(millis(config.lock_ttl))
        .cmd("HGETALL")
        .arg(config.key("tab", tab));
    pipe
}

/// Store, in one round trip, only if the lock (`KEYS[1]`) still holds the token `ARGV[1]`:
/// sets the `ARGV[6]` field/value pairs of the tab's hash (`KEYS[2]`: meta, touched states,
/// new replies), deletes the fields named after them (replies acknowledged or too old), and
/// sets the hash's TTL to `ARGV[2]` ms unless it is 0 (the holder refreshed it lately).
/// Then, with `ARGV[4]` = 1 and nobody else waiting for the tab (no `want` key `KEYS[4]`,
/// or one left by this holder while it waited), the lock is kept as a lease — its TTL
/// renewed to `ARGV[3]` ms when `ARGV[5]` = 1 — and the script returns 1; otherwise it
/// deletes the lock and the `want` key, leaves a wake-up token on `KEYS[3]` for a waiter
/// unless one is there already, and returns 2. Returns 0 (lock lost, nothing written) when
/// the token does not match. A held lease's event costs three commands: `MGET`, `HSET`,
/// `HDEL`.
const STORE: &str = r"
local held = redis.call('MGET', KEYS[1], KEYS[4])
if held[1] ~= ARGV[1] then return 0 end
local pairs = tonumber(ARGV[6])
redis.call('HSET', KEYS[2], unpack(ARGV, 7, 6 + 2 * pairs))
if #ARGV > 6 + 2 * pairs then
  redis.call('HDEL', KEYS[2], unpack(ARGV, 7 + 2 * pairs, #ARGV))
end
if ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
local wanted = held[2]
if ARGV[4] == '1' and (not wanted or wanted == ARGV[1]) then
  if wanted then redis.call('DEL', KEYS[4]) end
  if ARGV[5] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return 1
end
redis.call('DEL', KEYS[1], KEYS[4])
if redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('RPUSH', KEYS[3], 1)
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return 2
";

/// Extend the lock's life (if it still holds this fence): a running event renews it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Unlock without writing (if the lock still holds this fence), waking one waiter (and
/// deleting the `want` key it may have left).
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('RPUSH', KEYS[2], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
";

/// The tab's field besides states and replies: its meta (JSON: user, route, last applied
/// seq, subscriptions).
const META: &str = "meta";
/// Prefix of a state's field: `s:counter`.
const STATE: &str = "s:";
/// Prefix of a kept reply's field: `r:42` (the reply to seq 42, for a resend).
const REPLY: &str = "r:";
/// Replies kept per tab: those of the last 256 seqs, as the engine keeps them.
const KEPT_REPLIES: u64 = 256;
/// A leased tab's TTL is set again once this share of it has passed (at most every
/// [`MAX_REFRESH`]), not at every store; it is set to the TTL plus that much, so an idle tab
/// still lives at least its TTL after its last event.
const REFRESH_SHARE: u32 = 8;
const MAX_REFRESH: Duration = Duration::from_secs(60);

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
    /// The connection made at start-up, used where a thread cannot make its own.
    conn: ConnectionManager,
    /// A connection per thread (actix runs one single-threaded runtime per worker), so a
    /// request does not hop to another thread's runtime and back.
    conns: PerThreadConnections,
    store: Script,
    unlock: Script,
    renew: Script,
    round_trips: AtomicU64,
    /// Idle connections for `BLPOP` (a blocking command must not share the multiplexed one).
    waiting: Mutex<Vec<MultiplexedConnection>>,
    /// The leases kept between events, and each tab's turn in this process.
    leases: Arc<Leases>,
}

/// Tabs in Redis, for many instances. See the [module docs](super) for the layout.
///
/// An event costs two Redis round trips (lock and load; store), whatever the number of
/// states; only the states an event touched are written. After the store this process keeps
/// the lock as a *lease* (see [`RedisConfig::lease_idle`]): the tab's next event here, within
/// the idle window, reuses the record it stored and costs one round trip, the store. Every
/// store checks the lock's token, so a lease that was lost writes nothing. A contended tab
/// costs a `BLPOP` per wake-up (and one more lock attempt) on a connection of its own; the
/// waiter leaves a `want` key, so the holder unlocks at its next store instead of keeping
/// the lease, and an idle holder unlocks within the idle window.
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
    /// The tab's turn in this process, passed on when the guard is dropped.
    turn: Option<Turn>,
    /// The seqs of the replies in Redis (loaded, or kept by the lease), so `store` writes
    /// only new ones and deletes dropped ones.
    replies: Vec<u64>,
    /// The size of each state's stored JSON as loaded, so `store` knows the tab's size
    /// without the states it does not write.
    sizes: HashMap<String, usize>,
    /// Under a lease: when the tab's TTL was last set, and to what (`None`: set it now).
    refreshed: Option<(Instant, Duration)>,
    /// Under a lease: until when it is trusted without renewing the lock (`None`: renew
    /// it with the store).
    valid_until: Option<Instant>,
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
                conns: PerThreadConnections::new(client.clone(), config.manager_config()),
                config,
                client,
                conn,
                store: Script::new(STORE),
                unlock: Script::new(UNLOCK),
                renew: Script::new(RENEW),
                round_trips: AtomicU64::new(0),
                waiting: Mutex::new(Vec::new()),
                leases: Arc::new(Leases::default()),
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

    /// How many tab leases this process keeps between events right now.
    pub fn leases(&self) -> usize {
        self.shared.leases.len()
    }

    /// Unlocks every lease kept between events (at shutdown, so that other instances need
    /// not wait for them): returns once Redis has answered (or failed) each unlock.
    pub async fn release_leases(&self) {
        let leases = self.shared.leases.take_all();
        self.shared.unlock_all(leases, "closed").await;
    }
}

impl Shared {
    /// This thread's connection, made on first use (within the timeout); the start-up one
    /// if that fails.
    async fn conn(&self) -> ConnectionManager {
        match tokio::time::timeout(self.config.timeout, self.conns.get()).await {
            Ok(Ok(conn)) => conn,
            _ => self.conn.clone(),
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

    /// One try at the lock (sent again once if the connection was stale: Redis restarted).
    async fn attempt(self: &Arc<Self>, tab: &str, token: u64) -> Result<Attempt, RedisError> {
        match self.attempt_once(tab, token).await {
            Err(error) if super::stale(&error) => {
                tracing::debug!(%error, "redis: connection dropped; trying once more");
                self.forget_leases();
                self.attempt_once(tab, token).await
            }
            other => other,
        }
    }

    async fn attempt_once(&self, tab: &str, token: u64) -> Result<Attempt, RedisError> {
        let mut conn = self.conn().await;
        let request = lock_and_load(&self.config, tab, token);
        let (taken, fields) = self
            .counted(request.query_async::<(Option<String>, Vec<String>)>(&mut conn))
            .await
            .inspect_err(|_| self.conns.forget())?;
        Ok(match taken {
            Some(_) => Attempt::Locked { fence: token, fields },
            None => Attempt::Held,
        })
    }

    /// Asks for the tab (a `want` key holding the waiter's lock token: the holder then
    /// unlocks at its next store instead of keeping a lease) and waits for a wake-up token on
    /// the tab's list, at most `ttl` (when the holder's lock expires by itself). One round
    /// trip.
    async fn wait(&self, tab: &str, ttl: Duration, token: u64) -> Result<(), RedisError> {
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
        let mut request = ::redis::pipe();
        request
            .cmd("SET")
            .arg(self.config.key("want", tab))
            .arg(token)
            .arg("PX")
            // Outlives this wait (one lock TTL), so it is there until the next one renews it.
            .arg(millis(self.config.lock_ttl * 2))
            .ignore()
            .cmd("BLPOP")
            .arg(self.config.key("wake", tab))
            .arg(seconds);
        let popped = tokio::time::timeout(
            ttl + self.config.timeout,
            request.query_async::<(Option<(String, String)>,)>(&mut conn),
        )
        .await
        .map_err(|_| timed_out())?;
        popped?;
        if let Ok(mut idle) = self.waiting.lock() {
            idle.push(conn);
        }
        Ok(())
    }

    /// Sends a store made by [`store_command`]: 1 when written and the lock kept as a lease,
    /// 2 when written and unlocked, 0 when the lock was lost. Should Redis not know the
    /// script (restarted, or `SCRIPT FLUSH`), it is loaded and the store sent again.
    async fn store(&self, command: &::redis::Cmd) -> Result<i64, RedisError> {
        let mut conn = self.conn().await;
        let stored = match self.counted(command.query_async(&mut conn)).await {
            Err(error) if error.kind() == ::redis::ErrorKind::NoScriptError => {
                self.counted(self.store.load_async(&mut conn)).await?;
                self.counted(command.query_async(&mut conn)).await
            }
            other => other,
        };
        stored.inspect_err(|_| self.conns.forget())
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
        .inspect_err(|_| self.conns.forget())
        .map(|renewed| renewed == 1)
    }

    async fn unlock(&self, tab: &str, fence: u64) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        self.counted(
            self.unlock
                .key(self.config.key("lock", tab))
                .key(self.config.key("wake", tab))
                .key(self.config.key("want", tab))
                .arg(fence)
                .arg(millis(self.config.lock_ttl))
                .invoke_async::<i64>(&mut conn),
        )
        .await
        .map(drop)
    }

    /// Unlocks leases taken out of [`Leases`] (`why` they go, for the metrics), each in its
    /// own request (sent together on the multiplexed connection).
    async fn unlock_all(&self, leases: Vec<(String, u64)>, why: &'static str) {
        if leases.is_empty() {
            return;
        }
        metrics::counter!("duet_redis_tab_leases_total", "outcome" => why).increment(leases.len() as u64);
        let unlocks = leases.iter().map(|(tab, fence)| self.unlock(tab, *fence));
        for result in futures_util::future::join_all(unlocks).await {
            if let Err(error) = result {
                tracing::debug!(%error, "redis: releasing a tab lease failed; it expires by itself");
            }
        }
    }

    /// After a dropped connection (Redis may have restarted, and its locks with it): the
    /// leases kept are unlocked in the background and not used again.
    fn forget_leases(self: &Arc<Self>) {
        let leases = self.leases.take_all();
        if leases.is_empty() {
            return;
        }
        let shared = Arc::clone(self);
        tokio::spawn(async move { shared.unlock_all(leases, "forgotten").await });
    }

    /// Starts sweeper `number`: every quarter of the idle window, it unlocks the leases
    /// unused for that long; it stops when none is left (the next kept lease starts another).
    fn start_sweeper(self: &Arc<Self>, number: u64) {
        struct Stopped(Arc<Leases>, u64);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.sweeper_stopped(self.1);
            }
        }
        let shared = Arc::downgrade(self);
        let idle = self.config.lease_idle;
        let every = (idle / 4).max(Duration::from_millis(2));
        let stopped = Stopped(Arc::clone(&self.leases), number);
        tokio::spawn(async move {
            let _stopped = stopped;
            loop {
                tokio::time::sleep(every).await;
                let Some(shared) = shared.upgrade() else { return };
                let (idle_ones, more) = shared.leases.take_idle(idle, number);
                shared.unlock_all(idle_ones, "idle").await;
                if !more {
                    return;
                }
            }
        });
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
/// unreadable), the seqs of the replies in Redis and each state's stored size.
type Decoded = (Option<TabRecord>, Vec<u64>, HashMap<String, usize>);

/// Builds a record from `HGETALL`'s flat field/value list.
fn decode(tab: &str, fields: Vec<String>) -> Decoded {
    let mut meta = None;
    let mut states = BTreeMap::new();
    let mut sizes = HashMap::new();
    let mut replies = Vec::new();
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
        } else if let Some(seq) = field.strip_prefix(REPLY).and_then(|seq| seq.parse::<u64>().ok()) {
            replies.push((seq, value));
        }
    }
    replies.sort_unstable_by_key(|(seq, _)| *seq);
    let seqs = replies.iter().map(|(seq, _)| *seq).collect();
    let Some(meta) = meta else {
        return (None, seqs, sizes);
    };
    let meta: MetaIn = match serde_json::from_str(&meta) {
        Ok(meta) => meta,
        Err(error) => {
            tracing::warn!(tab, %error, "redis: unreadable tab; starting afresh");
            return (None, seqs, sizes);
        }
    };
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

/// A reply's field: `r:42`.
fn reply_field(seq: u64) -> String {
    use std::fmt::Write;
    let mut field = String::with_capacity(REPLY.len() + 20);
    field.push_str(REPLY);
    let _ = write!(field, "{seq}");
    field
}

/// How a store treats the lock and the tab's TTL (the script's `ARGV[1..=5]`).
struct StoreHead {
    fence: u64,
    /// Set the tab's TTL to this (`None`: leave it, the lease holder set it lately).
    ttl: Option<Duration>,
    lock_ttl: Duration,
    /// Keep the lock as a lease (unless someone waits).
    keep: bool,
    /// Renew the kept lock's TTL.
    renew: bool,
}

/// What a store writes: the record's meta, its `touched` states and its replies above
/// `acked` that Redis does not hold yet (`known`: the seqs it holds); what it deletes: the
/// replies Redis holds that are acknowledged or no longer kept.
struct StoreBody<'a> {
    record: &'a TabRecord,
    touched: &'a [String],
    known: &'a [u64],
    acked: u64,
}

/// The store script's `EVALSHA` for `keys` (lock, tab, wake, want). Also returns the tab's
/// size (its meta and every state: touched ones as written, the others as `sizes` says they
/// were loaded; `sizes` then holds the touched ones' new sizes too) and the seqs of the
/// replies Redis holds after it.
fn store_command(
    script: &Script,
    keys: &[String; 4],
    head: &StoreHead,
    body: &StoreBody<'_>,
    sizes: &mut HashMap<String, usize>,
) -> Result<(::redis::Cmd, usize, Vec<u64>), serde_json::Error> {
    let record = body.record;
    let meta = serde_json::to_string(&MetaOut {
        user_id: record.user_id,
        session_tag: record.session_tag.as_deref(),
        route: &record.route,
        seq: record.seq,
        subscriptions: &record.subscriptions,
    })?;
    let mut states = Vec::with_capacity(body.touched.len());
    for name in body.touched {
        if let Some(stored) = record.states.get(name) {
            states.push((name, serde_json::to_string(stored)?));
        }
    }
    let size = meta.len()
        + states.iter().map(|(_, json)| json.len()).sum::<usize>()
        + sizes
            .iter()
            .filter(|(name, _)| !body.touched.contains(name))
            .map(|(_, bytes)| bytes)
            .sum::<usize>();
    sizes.extend(states.iter().map(|(name, json)| ((*name).clone(), json.len())));
    let kept: Vec<&(u64, String)> = record.replies.iter().filter(|(seq, _)| *seq > body.acked).collect();
    let new: Vec<&(u64, String)> = kept
        .iter()
        .copied()
        .filter(|(seq, _)| !body.known.contains(seq))
        .collect();

    let mut command = ::redis::cmd("EVALSHA");
    command.arg(script.get_hash()).arg(keys.len()).arg(keys);
    command
        .arg(head.fence)
        .arg(head.ttl.map_or(0, millis))
        .arg(millis(head.lock_ttl))
        .arg(u8::from(head.keep))
        .arg(u8::from(head.renew))
        .arg(1 + states.len() + new.len())
        .arg(META)
        .arg(&meta);
    for (name, json) in &states {
        command.arg(format!("{STATE}{name}")).arg(json);
    }
    for (seq, reply) in &new {
        command.arg(reply_field(*seq)).arg(reply);
    }
    for seq in body.known {
        if !kept.iter().any(|(kept, _)| kept == seq) {
            command.arg(reply_field(*seq));
        }
    }
    Ok((command, size, kept.iter().map(|(seq, _)| *seq).collect()))
}

impl RedisStateManager {
    async fn lock_tab(&self, tab: &str) -> Result<TabLock, StoreError> {
        let shared = &self.shared;
        // A lock is free at the latest one TTL after each attempt; past a few, something
        // is wrong (or the tab is hammered): give up rather than hang the socket.
        let deadline = Instant::now() + shared.config.lock_ttl * 3 + shared.config.timeout;
        // One event of a tab at a time in this process. A turn held for longer than a lock
        // TTL (a stalled event) is not waited for further: this one then goes to Redis as
        // another instance would (the stalled one's lock has expired, or it is renewed and
        // its holder asked for it), and keeps no lease.
        let mut turn = shared.leases.turn(tab, shared.config.lock_ttl).await;
        // This call's lock token, for each attempt and for its `want` key (so that the
        // store of the holder it becomes does not take its own request for another's).
        let token = lock_token();
        if let Some(lease) = turn.as_ref().and_then(Turn::take_lease) {
            if lease.is_valid()
                && let Some(held) = turn.take()
            {
                return Ok(self.reuse(tab, lease, held));
            }
            // Kept too long to trust: unlocked (if still held), then locked afresh.
            shared.unlock_all(vec![(tab.to_owned(), lease.fence)], "expired").await;
        }
        loop {
            match shared.attempt(tab, token).await.map_err(|e| unavailable(&e))? {
                Attempt::Locked { fence, fields } => {
                    let (record, replies, sizes) = decode(tab, fields);
                    let guard = LockGuard {
                        shared: Arc::clone(shared),
                        tab: tab.to_owned(),
                        fence,
                        turn: turn.take(),
                        replies,
                        sizes,
                        refreshed: None,
                        valid_until: None,
                        armed: true,
                    };
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
                        .wait(tab, shared.config.lock_ttl, token)
                        .await
                        .map_err(|e| unavailable(&e))?;
                }
            }
        }
    }

    /// The tab's next event under the lease this process kept: the record it stored (with
    /// the replies Redis holds, for a resend), with no round trip.
    fn reuse(&self, tab: &str, lease: Lease, turn: Turn) -> TabLock {
        metrics::counter!("duet_redis_tab_leases_total", "outcome" => "reused").increment(1);
        let Lease {
            fence,
            record,
            sizes,
            refreshed,
            valid_until,
            ..
        } = lease;
        let guard = LockGuard {
            shared: Arc::clone(&self.shared),
            tab: tab.to_owned(),
            fence,
            turn: Some(turn),
            replies: record.replies.iter().map(|(seq, _)| *seq).collect(),
            sizes,
            refreshed: Some(refreshed),
            valid_until: Some(valid_until),
            armed: true,
        };
        TabLock::new(tab.to_owned(), Some(record), fence, Some(Box::new(guard)))
    }
}

impl StateManager for RedisStateManager {
    fn lock<'a>(&'a self, tab: &'a str) -> BoxFuture<'a, Result<TabLock, StoreError>> {
        Box::pin(self.lock_tab(tab))
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
        record: TabRecord,
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
            let config = &shared.config;
            let ttl = if record.user_id.is_some() {
                config.tab_ttl
            } else {
                config.anonymous_tab_ttl.min(config.tab_ttl)
            };
            let now = Instant::now();
            // A leased tab's TTL is set again only once a share of it has passed, and then
            // with that share on top: it still outlives its TTL after its last event.
            let window = (ttl / REFRESH_SHARE).min(MAX_REFRESH);
            let refresh = match guard.refreshed {
                Some((at, set)) if set == ttl && now.duration_since(at) < window => None,
                _ => Some(ttl + window),
            };
            // A kept lock is renewed once less than half of the lease's trust is left.
            let renew = guard
                .valid_until
                .is_none_or(|until| until.saturating_duration_since(now) < config.lock_ttl / 3);
            let head = StoreHead {
                fence: guard.fence,
                ttl: refresh,
                lock_ttl: config.lock_ttl,
                keep: guard.turn.is_some() && !config.lease_idle.is_zero(),
                renew,
            };
            let body = StoreBody {
                record: &record,
                touched,
                known: &guard.replies,
                acked: lock.acked.max(record.seq.saturating_sub(KEPT_REPLIES)),
            };
            let tab = &lock.tab;
            let keys = [
                config.key("lock", tab),
                config.key("tab", tab),
                config.key("wake", tab),
                config.key("want", tab),
            ];
            // Refused before the script: dropping the armed guard unlocks the tab.
            let (command, size, kept) = store_command(&shared.store, &keys, &head, &body, &mut guard.sizes)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            if size > config.max_tab_bytes {
                return Err(StoreError::TooLarge {
                    bytes: size,
                    limit: config.max_tab_bytes,
                });
            }
            // Whatever happens now, the store script unlocks or keeps the lock: no second
            // unlock on drop.
            guard.armed = false;
            // The lock lives at least a TTL from the moment the script is sent; a lease is
            // trusted for two thirds of that.
            let sent = Instant::now();
            let mut stored = shared.store(&command).await;
            if let Err(error) = &stored
                && super::stale(error)
            {
                // Redis restarted: if the script ran, the lock is gone and this says so.
                tracing::debug!(%error, "redis: connection dropped; storing once more");
                shared.forget_leases();
                stored = shared.store(&command).await;
            }
            match stored.map_err(|e| unavailable(&e))? {
                1 => {
                    let Some(turn) = guard.turn.take() else {
                        return Ok(());
                    };
                    let mut record = record;
                    record.replies.retain(|(seq, _)| kept.contains(seq));
                    let lease = Lease {
                        fence: guard.fence,
                        record,
                        sizes: std::mem::take(&mut guard.sizes),
                        valid_until: guard
                            .valid_until
                            .filter(|_| !renew)
                            .unwrap_or(sent + config.lock_ttl * 2 / 3),
                        refreshed: refresh
                            .map_or(guard.refreshed, |_| Some((sent, ttl)))
                            .unwrap_or((sent, ttl)),
                        used: Instant::now(),
                    };
                    if let Some(number) = turn.keep(lease) {
                        shared.start_sweeper(number);
                    }
                    Ok(())
                }
                2 => {
                    if head.keep {
                        metrics::counter!("duet_redis_tab_leases_total", "outcome" => "wanted").increment(1);
                    }
                    Ok(())
                }
                _ => {
                    metrics::counter!("duet_redis_tab_leases_total", "outcome" => "lost").increment(1);
                    tracing::warn!(
                        tab = lock.tab,
                        fence = guard.fence,
                        "redis: the tab's lock was lost; nothing written"
                    );
                    Err(StoreError::LockLost)
                }
            }
        })
    }

    fn let_go_all(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.release_leases())
    }

    /// The tab's last socket here closed: a lease kept for it is unlocked now (in the
    /// background), not at the end of the idle window.
    fn let_go(&self, tab: &str) {
        let Some(lease) = self.shared.leases.take_unused(tab) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let tab = tab.to_owned();
        runtime.spawn(async move { shared.unlock_all(vec![(tab, lease.fence)], "closed").await });
    }
}
