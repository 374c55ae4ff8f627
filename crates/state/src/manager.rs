//! Where tabs live between events: the `StateManager` trait and its in-memory implementation.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::Route;
use crate::registry::Stored;

/// Everything the server keeps about one tab.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TabRecord {
    /// The user the tab belongs to (`None`: anonymous). Another user's socket presenting
    /// this tab's token gets a fresh tab instead.
    pub user_id: Option<i64>,
    /// For an anonymous tab opened with a session: the session's tag (a hash, from
    /// duet-auth's `session_tag`). Only that session may use the tab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_tag: Option<String>,
    /// The page the tab shows.
    pub route: Route,
    /// The last applied `seq`.
    pub seq: u64,
    /// Replies to recent events, by `seq`, kept until the client acknowledges them, so a
    /// resent event is answered with its original reply (exactly once).
    pub replies: Vec<(u64, String)>,
    /// Each state's stored vars, by state name.
    pub states: BTreeMap<String, Stored>,
    /// Topics the tab listens to, and which handler reacts.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

/// A tab listening to a topic: `state.handler(payload)` runs for each message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The topic, e.g. `orders:user:42`.
    pub topic: String,
    /// The state whose handler reacts.
    pub state: String,
    /// The handler.
    pub handler: String,
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The lock expired (or was taken over) before the write: nothing was written.
    #[error("the tab's lock was lost")]
    LockLost,
    /// The store cannot be reached.
    #[error("the state store is unavailable: {0}")]
    Unavailable(String),
    /// The tab would be larger than the store keeps: nothing was written.
    #[error("the tab would take {bytes} bytes; at most {limit} are kept")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The store's limit.
        limit: usize,
    },
}

/// A held per-tab lock with the tab's record as it was when the lock was taken.
pub struct TabLock {
    /// The tab's token.
    pub tab: String,
    /// The record, or `None` for a tab the store does not know (new or expired).
    pub record: Option<TabRecord>,
    /// The token of this lock: a write carrying a token the tab's lock no longer holds (it
    /// expired and was taken again) is refused.
    pub fence: u64,
    /// The client has acknowledged the replies up to this `seq` (0: none). The engine sets
    /// it; a manager that keeps replies apart from the record forgets those at the next
    /// `store` (the record it is given holds only what the engine loaded).
    pub acked: u64,
    /// Keeps the lock held until the `TabLock` is dropped.
    _guard: Option<Box<dyn std::any::Any + Send>>,
}

impl std::fmt::Debug for TabLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TabLock")
            .field("tab", &self.tab)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

impl TabLock {
    /// A lock handed out by a manager; `guard` is whatever keeps it held (dropped on release).
    pub fn new(
        tab: String,
        record: Option<TabRecord>,
        fence: u64,
        guard: Option<Box<dyn std::any::Any + Send>>,
    ) -> TabLock {
        TabLock {
            tab,
            record,
            fence,
            acked: 0,
            _guard: guard,
        }
    }

    /// Takes out what keeps the lock held, for the manager that handed it out (a networked
    /// manager disarms its guard once `store` has released the lock).
    pub fn take_guard(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        self._guard.take()
    }
}

/// Stores tabs between events, one writer per tab at a time.
///
/// `lock` waits (without polling) for the tab's lock and loads its record in one step;
/// `store` writes the states the event touched and releases the lock in one step — so a
/// networked store needs two round trips per event whatever the number of states (or one,
/// for a manager that keeps the lock and the record it stored between a busy tab's events,
/// as the Redis one does). A lock can be lost (it expires); `store` then fails with
/// [`StoreError::LockLost`] and writes nothing, so a worker that stalled past its lock can
/// never overwrite newer state.
pub trait StateManager: Send + Sync + 'static {
    /// Takes the tab's lock (waiting in FIFO order) and loads its record.
    fn lock<'a>(&'a self, tab: &'a str) -> BoxFuture<'a, Result<TabLock, StoreError>>;

    /// Writes `record` (of which only the `touched` states changed: the others are as
    /// loaded) and releases the lock. The record is given, not lent: a manager that keeps
    /// it between events (as the Redis one does under a lease) need not copy it.
    fn store<'a>(
        &'a self,
        lock: TabLock,
        record: TabRecord,
        touched: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Releases the lock without writing.
    fn release(&self, lock: TabLock) {
        drop(lock);
    }

    /// The tab's last socket in this process has closed: a manager that keeps a tab's lock
    /// between its events lets it go now. The default does nothing.
    fn let_go(&self, tab: &str) {
        let _ = tab;
    }

    /// The process is shutting down: a manager that keeps locks between events lets them
    /// all go, so that other instances need not wait for them. The default does nothing.
    fn let_go_all(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }

    /// How often a lock held by a running event must be renewed ([`renew`](StateManager::renew))
    /// so that it does not expire; `None` (the default) for locks that do not expire.
    fn renew_every(&self) -> Option<Duration> {
        None
    }

    /// Extends a held lock's life (see [`renew_every`](StateManager::renew_every)). Fails
    /// with [`StoreError::LockLost`] when the lock is no longer held.
    fn renew<'a>(&'a self, lock: &'a TabLock) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = lock;
        Box::pin(std::future::ready(Ok(())))
    }
}

struct Slot {
    lock: Arc<tokio::sync::Mutex<()>>,
    data: Mutex<SlotData>,
}

#[derive(Default)]
struct SlotData {
    /// The record as JSON text: an idle tab then costs its text's length, not a tree of
    /// maps (as in the Redis manager, a tab is loaded per event and stored after).
    record: Option<Box<str>>,
    /// When it was last stored, and how long it is kept idle from then.
    used: Option<(Instant, Duration)>,
    fence: u64,
}

impl SlotData {
    fn is_fresh(&self) -> bool {
        self.used.is_some_and(|(at, ttl)| at.elapsed() < ttl)
    }
}

/// The largest tab kept by default: 1 MiB of JSON.
pub const DEFAULT_MAX_TAB_BYTES: usize = 1 << 20;

/// Tabs in this process's memory, as JSON text: for one instance. Idle tabs expire after
/// the TTL (anonymous ones after their own, shorter one); a tab larger than the limit is
/// not stored ([`StoreError::TooLarge`]).
pub struct MemoryStateManager {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    ttl: Duration,
    anonymous_ttl: Duration,
    max_tab_bytes: usize,
    last_sweep: Mutex<Instant>,
}

impl std::fmt::Debug for MemoryStateManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStateManager")
            .field("ttl", &self.ttl)
            .field("anonymous_ttl", &self.anonymous_ttl)
            .field("tabs", &self.len())
            .finish()
    }
}

impl MemoryStateManager {
    /// A manager forgetting tabs idle for longer than `ttl` (anonymous ones too: see
    /// [`anonymous_ttl`](MemoryStateManager::anonymous_ttl)), keeping tabs of up to
    /// [`DEFAULT_MAX_TAB_BYTES`].
    pub fn new(ttl: Duration) -> MemoryStateManager {
        MemoryStateManager {
            slots: Mutex::new(HashMap::new()),
            ttl,
            anonymous_ttl: ttl,
            max_tab_bytes: DEFAULT_MAX_TAB_BYTES,
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Forgets tabs of anonymous visitors idle for longer than `ttl` (at most the TTL).
    pub fn anonymous_ttl(mut self, ttl: Duration) -> MemoryStateManager {
        self.anonymous_ttl = ttl.min(self.ttl);
        self
    }

    /// Keeps tabs of at most `bytes` (of JSON).
    pub fn max_tab_bytes(mut self, bytes: usize) -> MemoryStateManager {
        self.max_tab_bytes = bytes;
        self
    }

    /// How many tabs are held.
    pub fn len(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// True when no tab is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets tabs idle for longer than their TTL and not locked; returns how many.
    pub fn sweep(&self) -> usize {
        let Ok(mut slots) = self.slots.lock() else {
            return 0;
        };
        let before = slots.len();
        slots.retain(|_, slot| {
            let locked = slot.lock.try_lock().is_err();
            let fresh = slot.data.lock().map(|d| d.is_fresh()).unwrap_or(false);
            locked || fresh
        });
        before - slots.len()
    }

    /// Sweeps at most every quarter of the shorter TTL, from the lock path: no background
    /// task needed.
    fn sweep_now_and_then(&self) {
        let due = self.last_sweep.lock().map(|mut last| {
            let due = last.elapsed() >= self.anonymous_ttl / 4;
            if due {
                *last = Instant::now();
            }
            due
        });
        if due.unwrap_or(false) {
            self.sweep();
        }
    }

    fn slot(&self, tab: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(slots.entry(tab.to_owned()).or_insert_with(|| {
            Arc::new(Slot {
                lock: Arc::new(tokio::sync::Mutex::new(())),
                data: Mutex::new(SlotData::default()),
            })
        }))
    }
}

impl StateManager for MemoryStateManager {
    fn lock<'a>(&'a self, tab: &'a str) -> BoxFuture<'a, Result<TabLock, StoreError>> {
        Box::pin(async move {
            self.sweep_now_and_then();
            let slot = self.slot(tab);
            let guard = Arc::clone(&slot.lock).lock_owned().await;
            let mut data = slot.data.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !data.is_fresh() {
                data.record = None;
            }
            data.fence += 1;
            let record = data.record.as_deref().and_then(|text| {
                serde_json::from_str(text)
                    .map_err(|error| tracing::error!(tab, %error, "a stored tab no longer parses; starting it afresh"))
                    .ok()
            });
            Ok(TabLock::new(tab.to_owned(), record, data.fence, Some(Box::new(guard))))
        })
    }

    fn store<'a>(
        &'a self,
        lock: TabLock,
        record: TabRecord,
        _touched: &'a [String],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let slot = self.slot(&lock.tab);
            let mut data = slot.data.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if data.fence != lock.fence {
                return Err(StoreError::LockLost);
            }
            let text = serde_json::to_string(&record).map_err(|e| StoreError::Unavailable(e.to_string()))?;
            if text.len() > self.max_tab_bytes {
                return Err(StoreError::TooLarge {
                    bytes: text.len(),
                    limit: self.max_tab_bytes,
                });
            }
            data.record = Some(text.into_boxed_str());
            let ttl = if record.user_id.is_some() {
                self.ttl
            } else {
                self.anonymous_ttl
            };
            data.used = Some((Instant::now(), ttl));
            drop(data);
            drop(lock);
            Ok(())
        })
    }

    /// Releases the lock; a tab that was never stored (a token the store did not know)
    /// leaves nothing behind.
    fn release(&self, lock: TabLock) {
        let tab = lock.tab.clone();
        drop(lock);
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get(&tab) {
            let unused = slot.lock.try_lock().is_ok()
                && slot.data.lock().map(|d| d.record.is_none()).unwrap_or(false)
                && Arc::strong_count(slot) == 1;
            if unused {
                slots.remove(&tab);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> TabRecord {
        TabRecord {
            seq,
            ..TabRecord::default()
        }
    }

    #[tokio::test]
    async fn lock_load_store_round_trip() {
        let manager = MemoryStateManager::new(Duration::from_secs(60));
        let lock = manager.lock("t1").await.unwrap();
        assert_eq!(lock.record, None, "a new tab");
        manager.store(lock, record(3), &[]).await.unwrap();
        let lock = manager.lock("t1").await.unwrap();
        assert_eq!(lock.record.as_ref().map(|r| r.seq), Some(3));
        manager.release(lock);
        assert_eq!(manager.len(), 1);
    }

    #[tokio::test]
    async fn waiters_queue_in_order_and_see_the_previous_write() {
        let manager = Arc::new(MemoryStateManager::new(Duration::from_secs(60)));
        let first = manager.lock("t").await.unwrap();
        let mut waiters = Vec::new();
        for n in 1..=5u64 {
            let manager = Arc::clone(&manager);
            waiters.push(tokio::spawn(async move {
                let lock = manager.lock("t").await.unwrap();
                let seen = lock.record.as_ref().map_or(0, |r| r.seq);
                manager.store(lock, record(seen + 1), &[]).await.unwrap();
                (n, seen)
            }));
            tokio::task::yield_now().await;
        }
        manager.store(first, record(0), &[]).await.unwrap();
        let mut seen: Vec<u64> = Vec::new();
        for w in waiters {
            seen.push(w.await.unwrap().1);
        }
        assert_eq!(
            seen,
            [0, 1, 2, 3, 4],
            "each writer saw the one before it, in arrival order"
        );
    }

    #[tokio::test]
    async fn idle_tabs_expire() {
        let manager = MemoryStateManager::new(Duration::from_millis(30));
        let lock = manager.lock("t").await.unwrap();
        manager.store(lock, record(1), &[]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(manager.sweep(), 1);
        assert_eq!(manager.lock("t").await.unwrap().record, None);
    }

    #[tokio::test]
    async fn anonymous_tabs_expire_sooner_and_unknown_ones_leave_nothing() {
        let manager = MemoryStateManager::new(Duration::from_secs(60)).anonymous_ttl(Duration::from_millis(30));
        let lock = manager.lock("anon").await.unwrap();
        manager.store(lock, record(1), &[]).await.unwrap();
        let lock = manager.lock("ada").await.unwrap();
        let ada = TabRecord {
            user_id: Some(7),
            ..record(1)
        };
        manager.store(lock, ada, &[]).await.unwrap();
        let unknown = manager.lock("unknown").await.unwrap();
        assert_eq!(unknown.record, None);
        manager.release(unknown);
        assert_eq!(manager.len(), 2, "a token nobody stored leaves no slot");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(manager.sweep(), 1, "the anonymous tab expired, the user's did not");
        assert_eq!(manager.lock("ada").await.unwrap().record.unwrap().user_id, Some(7));
    }

    #[tokio::test]
    async fn a_tab_past_the_limit_is_not_stored() {
        let manager = MemoryStateManager::new(Duration::from_secs(60)).max_tab_bytes(100);
        let lock = manager.lock("t").await.unwrap();
        let mut big = record(1);
        big.route.path = format!("/{}", "a".repeat(200));
        assert!(matches!(
            manager.store(lock, big, &[]).await,
            Err(StoreError::TooLarge { limit: 100, .. })
        ));
        assert_eq!(manager.lock("t").await.unwrap().record, None, "nothing was written");
    }

    #[tokio::test]
    async fn a_stale_lock_cannot_write() {
        let manager = MemoryStateManager::new(Duration::from_secs(60));
        let lock = manager.lock("t").await.unwrap();
        let stale = TabLock::new("t".into(), None, lock.fence, None);
        manager.store(lock, record(1), &[]).await.unwrap();
        let newer = manager.lock("t").await.unwrap();
        assert_eq!(manager.store(stale, record(99), &[]).await, Err(StoreError::LockLost));
        manager.store(newer, record(2), &[]).await.unwrap();
        assert_eq!(manager.lock("t").await.unwrap().record.unwrap().seq, 2);
    }
}
