//! The Redis manager against a real Redis (`DUET_TEST_REDIS_URL`; skipped when unset, a
//! failure under `CI=true`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ::redis::AsyncCommands;
use serde_json::json;

use super::{RedisConfig, RedisStateManager};
use crate::manager::{StateManager, StoreError, TabLock, TabRecord};

fn redis_url() -> Option<String> {
    duet_models::testing::required_env("DUET_TEST_REDIS_URL", "Redis")
}

/// A config with a prefix of its own, so tests (and runs) never share keys.
fn config(url: &str) -> RedisConfig {
    static N: AtomicU32 = AtomicU32::new(0);
    RedisConfig::new(url)
        .prefix(format!(
            "duet-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
        .tab_ttl(Duration::from_secs(30))
}

async fn raw(url: &str) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn record(states: &[(&str, i64)], seq: u64) -> TabRecord {
    let mut record = TabRecord {
        user_id: Some(7),
        seq,
        ..TabRecord::default()
    };
    for (name, value) in states {
        let mut vars = serde_json::Map::new();
        vars.insert("value".into(), json!(value));
        record.states.insert((*name).to_owned(), vars);
    }
    record
}

fn value(record: &TabRecord, state: &str) -> i64 {
    record.states[state]["value"].as_i64().unwrap()
}

fn names(states: &[&str]) -> Vec<String> {
    states.iter().map(|s| (*s).to_owned()).collect()
}

/// One event as the engine runs it: lock for its seq, change two of the states, store.
async fn one_event(manager: &RedisStateManager, tab: &str, seq: u64) {
    let mut lock = manager.lock(tab).await.unwrap();
    let mut record = lock.record.take().unwrap();
    assert_eq!(record.seq, seq - 1);
    assert_eq!(record.states.len(), 20, "every state there");
    record.seq = seq;
    record.replies.push((seq, format!("reply {seq}")));
    for state in ["state3", "state17"] {
        let vars = record.states.get_mut(state).unwrap();
        vars.insert("value".into(), json!(seq));
    }
    manager
        .store(lock, record, &names(&["state3", "state17"]))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_event_is_one_round_trip_under_a_lease_and_two_without_whatever_the_number_of_states() {
    let Some(url) = redis_url() else { return };
    // A long idle window, so that a slow test machine does not lose the lease between events.
    let config = config(&url).lease_idle(Duration::from_secs(5));
    let manager = RedisStateManager::connect(config.clone()).await.unwrap();
    let many: Vec<(String, i64)> = (0..20).map(|n| (format!("state{n}"), n)).collect();
    let many: Vec<(&str, i64)> = many.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let all: Vec<&str> = many.iter().map(|(n, _)| *n).collect();

    let before = manager.round_trips();
    let lock = manager.lock("tab").await.unwrap();
    assert_eq!(lock.record, None, "a new tab");
    manager.store(lock, record(&many, 1), &names(&all)).await.unwrap();
    assert_eq!(
        manager.round_trips() - before,
        2,
        "lock+load, store (keeping the lease)"
    );
    assert_eq!(manager.leases(), 1);

    for seq in 2..=11 {
        let before = manager.round_trips();
        one_event(&manager, "tab", seq).await;
        assert_eq!(manager.round_trips() - before, 1, "the store alone, under the lease");
    }
    // Another manager (another instance) sees every write: the lease skips reads, not writes.
    let other = RedisStateManager::connect(config.clone().lease_idle(Duration::ZERO))
        .await
        .unwrap();
    manager.release_leases().await;
    assert_eq!(manager.leases(), 0);
    for seq in 12..=14 {
        let before = other.round_trips();
        one_event(&other, "tab", seq).await;
        assert_eq!(other.round_trips() - before, 2, "no lease: lock+load, store+unlock");
    }
    assert_eq!(other.leases(), 0);
    let lock = manager.lock("tab").await.unwrap();
    let record = lock.record.clone().unwrap();
    assert_eq!(
        (
            value(&record, "state3"),
            value(&record, "state17"),
            value(&record, "state5")
        ),
        (14, 14, 5)
    );
    assert_eq!(record.replies.len(), 13, "lock (seq 0) loads every kept reply");
    assert_eq!(record.user_id, Some(7));
    manager.release(lock);
}

/// What Redis holds for the tab's state `state`, and its last applied seq.
async fn in_redis(conn: &mut ::redis::aio::MultiplexedConnection, config: &RedisConfig, state: &str) -> (String, u64) {
    let key = config.key("tab", "t");
    let stored: String = conn.hget(&key, format!("s:{state}")).await.unwrap();
    let meta: String = conn.hget(&key, "meta").await.unwrap();
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    (stored, meta["seq"].as_u64().unwrap())
}

#[tokio::test]
async fn a_lost_lease_writes_nothing_and_the_next_event_recovers() {
    let Some(url) = redis_url() else { return };
    let config = config(&url).lease_idle(Duration::from_secs(5));
    let a = RedisStateManager::connect(config.clone()).await.unwrap();
    let b = RedisStateManager::connect(config.clone()).await.unwrap();
    let mut conn = raw(&url).await;
    let lock_key = config.key("lock", "t");
    let lock = a.lock("t").await.unwrap();
    a.store(lock, record(&[("a", 1)], 1), &names(&["a"])).await.unwrap();
    assert_eq!(a.leases(), 1);

    // The lock expires under A's lease (as after a pause, a Redis restart or FLUSHALL).
    let _: () = conn.pexpire(&lock_key, 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A's next event runs on its kept record without a round trip; its store is refused.
    let before = a.round_trips();
    let mut lock = a.lock("t").await.unwrap();
    assert_eq!(a.round_trips(), before, "served from the lease");
    let mut next = lock.record.take().unwrap();
    next.states.get_mut("a").unwrap().insert("value".into(), json!(2));
    next.seq = 2;
    assert_eq!(a.store(lock, next, &names(&["a"])).await, Err(StoreError::LockLost));
    assert_eq!(
        in_redis(&mut conn, &config, "a").await,
        (r#"{"value":1}"#.to_owned(), 1),
        "nothing written"
    );
    assert_eq!(a.leases(), 0, "a lost lease is forgotten");
    // The event sent again: locked and loaded afresh, stored.
    let mut lock = a.lock("t").await.unwrap();
    let mut next = lock.record.take().unwrap();
    assert_eq!(next.seq, 1);
    next.states.get_mut("a").unwrap().insert("value".into(), json!(2));
    next.seq = 2;
    a.store(lock, next, &names(&["a"])).await.unwrap();
    assert_eq!(
        in_redis(&mut conn, &config, "a").await,
        (r#"{"value":2}"#.to_owned(), 2)
    );

    // The lock deleted under A's lease and taken by B, which writes: A's stale write is
    // refused, before and after B's store, and A's next event sees B's write.
    let _: () = conn.del(&lock_key).await.unwrap();
    let mut taken = b.lock("t").await.unwrap();
    let mut by_b = taken.record.take().unwrap();
    let mut stale = a.lock("t").await.unwrap();
    let mut by_a = stale.record.take().unwrap();
    assert_ne!(stale.fence, taken.fence);
    by_a.states.get_mut("a").unwrap().insert("value".into(), json!(99));
    by_a.seq = 3;
    by_b.states.get_mut("a").unwrap().insert("value".into(), json!(50));
    by_b.seq = 3;
    assert_eq!(a.store(stale, by_a, &names(&["a"])).await, Err(StoreError::LockLost));
    b.store(taken, by_b, &names(&["a"])).await.unwrap();
    assert_eq!(
        in_redis(&mut conn, &config, "a").await,
        (r#"{"value":50}"#.to_owned(), 3)
    );
    b.release_leases().await;
    let mut lock = a.lock("t").await.unwrap();
    let seen = lock.record.take().unwrap();
    assert_eq!((value(&seen, "a"), seen.seq), (50, 3), "A sees B's write");
    a.release(lock);
}

/// How long `manager` takes to lock tab `t` (and releases it).
async fn time_to_lock(manager: &RedisStateManager) -> Duration {
    let started = Instant::now();
    let lock = manager.lock("t").await.unwrap();
    let waited = started.elapsed();
    manager.release(lock);
    waited
}

#[tokio::test]
async fn another_instance_asking_for_a_leased_tab_gets_it_within_the_idle_window() {
    let Some(url) = redis_url() else { return };
    let idle = Duration::from_millis(300);
    let config = config(&url).lease_idle(idle);
    let a = RedisStateManager::connect(config.clone()).await.unwrap();
    let b = RedisStateManager::connect(config.clone()).await.unwrap();

    // A idle under its lease: B gets the tab once the lease has been idle `idle`, not after
    // the lock's 10 s TTL.
    let lock = a.lock("t").await.unwrap();
    a.store(lock, record(&[("a", 1)], 1), &names(&["a"])).await.unwrap();
    let waited = time_to_lock(&b).await;
    assert!(waited < idle + Duration::from_secs(1), "B waited {waited:?}");
    assert_eq!(a.leases(), 0);

    // A busy under its lease (an event running): B asks for the tab, and A's store unlocks
    // it instead of keeping the lease, long before A's idle window.
    let a = RedisStateManager::connect(config.clone().lease_idle(Duration::from_secs(30)))
        .await
        .unwrap();
    let lock = a.lock("t").await.unwrap();
    a.store(lock, record(&[("a", 2)], 2), &names(&["a"])).await.unwrap();
    let running = a.lock("t").await.unwrap();
    let asking = {
        let b = b.clone();
        tokio::spawn(async move {
            let lock = b.lock("t").await.unwrap();
            let seen = lock.record.as_ref().map(|r| r.seq);
            b.release(lock);
            (Instant::now(), seen)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored = Instant::now();
    a.store(running, record(&[("a", 3)], 3), &names(&["a"])).await.unwrap();
    assert_eq!(a.leases(), 0, "asked for: unlocked, not kept");
    let (got, seen) = asking.await.unwrap();
    assert_eq!(seen, Some(3), "B saw A's store");
    assert!(
        got.duration_since(stored) < Duration::from_secs(1),
        "B woke at A's store: {:?}",
        got.duration_since(stored)
    );
}

#[tokio::test]
async fn idle_leases_are_released_and_a_closed_tab_at_once() {
    let Some(url) = redis_url() else { return };
    let config = config(&url).lease_idle(Duration::from_millis(50));
    let manager = RedisStateManager::connect(config.clone()).await.unwrap();
    let mut conn = raw(&url).await;
    let lock = manager.lock("t").await.unwrap();
    manager.store(lock, record(&[("a", 1)], 1), &[]).await.unwrap();
    let held: bool = conn.exists(config.key("lock", "t")).await.unwrap();
    assert!(held && manager.leases() == 1, "kept after the store");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held: bool = conn.exists(config.key("lock", "t")).await.unwrap();
    assert!(!held && manager.leases() == 0, "released by the sweeper");

    // A long idle window, and the tab's socket closes: let go at once.
    let manager = RedisStateManager::connect(config.clone().lease_idle(Duration::from_secs(30)))
        .await
        .unwrap();
    let lock = manager.lock("t").await.unwrap();
    manager.store(lock, record(&[("a", 2)], 2), &[]).await.unwrap();
    assert_eq!(manager.leases(), 1);
    let closed = Instant::now();
    manager.let_go("t");
    assert_eq!(manager.leases(), 0);
    loop {
        let held: bool = conn.exists(config.key("lock", "t")).await.unwrap();
        if !held {
            break;
        }
        assert!(closed.elapsed() < Duration::from_secs(1), "not let go");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn two_users_of_one_tab_in_one_process_hand_the_lease_on_in_order() {
    let Some(url) = redis_url() else { return };
    let manager = Arc::new(
        RedisStateManager::connect(config(&url).lease_idle(Duration::from_secs(5)))
            .await
            .unwrap(),
    );
    let lock = manager.lock("t").await.unwrap();
    manager.store(lock, record(&[("a", 0)], 0), &[]).await.unwrap();
    let before = manager.round_trips();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let manager = Arc::clone(&manager);
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let mut lock = manager.lock("t").await.unwrap();
                let mut next = lock.record.take().unwrap();
                let n = value(&next, "a");
                tokio::task::yield_now().await;
                next.states.get_mut("a").unwrap().insert("value".into(), json!(n + 1));
                manager.store(lock, next, &names(&["a"])).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        manager.round_trips() - before,
        50,
        "one round trip each: the lease passed on"
    );
    let lock = manager.lock("t").await.unwrap();
    assert_eq!(value(lock.record.as_ref().unwrap(), "a"), 50, "no lost update");
    manager.release(lock);
}

#[tokio::test]
async fn only_touched_states_are_written() {
    let Some(url) = redis_url() else { return };
    let config = config(&url);
    let manager = RedisStateManager::connect(config.clone()).await.unwrap();
    let mut conn = raw(&url).await;
    let key = config.key("tab", "t");

    let lock = manager.lock("t").await.unwrap();
    manager
        .store(lock, record(&[("a", 1), ("b", 1)], 1), &names(&["a", "b"]))
        .await
        .unwrap();
    // Someone else's write to `b` (as if another field changed it in between) stays: an
    // event that did not touch `b` does not write it back.
    let _: () = conn.hset(&key, "s:b", r#"{"value":42}"#).await.unwrap();
    let mut lock = manager.lock("t").await.unwrap();
    let mut next = lock.record.take().unwrap();
    next.states.get_mut("a").unwrap().insert("value".into(), json!(2));
    next.states.get_mut("b").unwrap().insert("value".into(), json!(1000));
    next.replies.push((2, "two".into()));
    next.seq = 2;
    manager.store(lock, next, &names(&["a"])).await.unwrap();
    let b: String = conn.hget(&key, "s:b").await.unwrap();
    assert_eq!(b, r#"{"value":42}"#, "b was not touched, so not written");
    let a: String = conn.hget(&key, "s:a").await.unwrap();
    assert_eq!(a, r#"{"value":2}"#);

    let mut kept: Vec<String> = conn.hkeys(&key).await.unwrap();
    kept.sort();
    assert_eq!(
        kept,
        ["meta", "r:2", "s:a", "s:b"],
        "the reply kept for a resend is a field of the tab"
    );
}

/// The fields of the tab `t` holding kept replies, in seq order.
async fn reply_fields(conn: &mut ::redis::aio::MultiplexedConnection, config: &RedisConfig) -> Vec<String> {
    let fields: Vec<String> = conn.hkeys(config.key("tab", "t")).await.unwrap();
    let mut replies: Vec<String> = fields.into_iter().filter(|f| f.starts_with("r:")).collect();
    replies.sort_by_key(|f| f[2..].parse::<u64>().unwrap());
    replies
}

#[tokio::test]
async fn replies_are_kept_within_the_limit_and_a_resend_needs_no_extra_read() {
    let Some(url) = redis_url() else { return };
    // A long idle window: the lease is held throughout, whatever the machine's speed.
    let config = config(&url).lease_idle(Duration::from_secs(5));
    let manager = RedisStateManager::connect(config.clone()).await.unwrap();
    let mut conn = raw(&url).await;
    let lock = manager.lock("t").await.unwrap();
    manager
        .store(lock, record(&[("a", 1)], 0), &names(&["a"]))
        .await
        .unwrap();
    // As the engine does it for a client that never acknowledges: lock, push the event's
    // reply, store.
    for seq in 1..=300u64 {
        let mut lock = manager.lock("t").await.unwrap();
        let mut next = lock.record.take().unwrap();
        assert_eq!(
            next.replies.last().map(|(seq, _)| *seq),
            seq.checked_sub(1).filter(|s| *s > 0),
            "the replies Redis holds come with the lease"
        );
        next.seq = seq;
        next.replies.push((seq, format!("reply {seq}")));
        manager.store(lock, next, &[]).await.unwrap();
    }
    let kept = reply_fields(&mut conn, &config).await;
    assert_eq!(kept.len(), 256, "the oldest are dropped by the store");
    assert_eq!((kept[0].as_str(), kept[255].as_str()), ("r:45", "r:300"));
    // A resend: its reply is there, with no round trip under the lease.
    let before = manager.round_trips();
    let mut lock = manager.lock("t").await.unwrap();
    assert_eq!(manager.round_trips() - before, 0, "under the lease, nothing to read");
    let mut record = lock.record.take().unwrap();
    assert_eq!(record.replies.len(), 256);
    assert_eq!(record.replies[254], (299, "reply 299".to_owned()));
    // hello with `acked`: the acknowledged ones dropped, and deleted from Redis.
    record.replies.retain(|(seq, _)| *seq > 298);
    manager.store(lock, record, &[]).await.unwrap();
    assert_eq!(reply_fields(&mut conn, &config).await, ["r:299", "r:300"]);
    // Without a lease (another instance), the lock-and-load reads them with the tab.
    manager.release_leases().await;
    let other = RedisStateManager::connect(config.clone().lease_idle(Duration::ZERO))
        .await
        .unwrap();
    let before = other.round_trips();
    let mut lock = other.lock("t").await.unwrap();
    assert_eq!(other.round_trips() - before, 1, "lock and load, replies included");
    assert_eq!(
        lock.record.take().unwrap().replies,
        [(299, "reply 299".to_owned()), (300, "reply 300".to_owned())]
    );
    other.release(lock);
}

#[tokio::test]
async fn acknowledged_replies_are_deleted() {
    let Some(url) = redis_url() else { return };
    let config = config(&url);
    let manager = RedisStateManager::connect(config.clone()).await.unwrap();
    let mut conn = raw(&url).await;
    let lock = manager.lock("t").await.unwrap();
    manager.store(lock, record(&[("a", 1)], 0), &[]).await.unwrap();
    // As the engine does it for events carrying `acked` (the browser runtime's way): only
    // the replies the client has not acknowledged stay in Redis.
    for seq in 1..=50u64 {
        let mut lock = manager.lock("t").await.unwrap();
        let mut next = lock.record.take().unwrap();
        let held: Vec<u64> = next.replies.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(held, (seq > 1).then_some(seq - 1).into_iter().collect::<Vec<_>>());
        lock.acked = seq - 1;
        next.seq = seq;
        next.replies.push((seq, format!("reply {seq}")));
        manager.store(lock, next, &[]).await.unwrap();
    }
    assert_eq!(
        reply_fields(&mut conn, &config).await,
        ["r:50"],
        "replies up to the acked seq are gone"
    );
    // A resend of the last event is still answered from Redis, by another instance too.
    manager.release_leases().await;
    let mut lock = manager.lock("t").await.unwrap();
    let record = lock.record.take().unwrap();
    assert_eq!(record.replies, [(50, "reply 50".to_owned())]);
    manager.release(lock);
}

#[tokio::test]
async fn a_held_lease_sets_the_tab_ttl_and_renews_the_lock_only_when_due() {
    let Some(url) = redis_url() else { return };
    // The TTL is set again once an eighth of it has passed (100 ms here); the lease is
    // trusted for two thirds of the lock's TTL (600 ms), and renewed with less than a third
    // of the lock's TTL (300 ms) of that left.
    let config = config(&url)
        .tab_ttl(Duration::from_millis(800))
        .lock_ttl(Duration::from_millis(900))
        .lease_idle(Duration::from_secs(5));
    let manager = RedisStateManager::connect(config.clone()).await.unwrap();
    let mut conn = raw(&url).await;
    let (tab, lock_key) = (config.key("tab", "t"), config.key("lock", "t"));
    let event = |seq: u64| {
        let manager = &manager;
        async move {
            let mut lock = manager.lock("t").await.unwrap();
            let mut next = lock.record.take().unwrap_or_else(|| record(&[("a", 0)], 0));
            next.seq = seq;
            manager.store(lock, next, &names(&["a"])).await.unwrap();
        }
    };
    event(1).await;
    let ttl: i64 = conn.pttl(&tab).await.unwrap();
    assert!((700..=900).contains(&ttl), "the TTL and its refresh window: {ttl}");
    // Marks that show whether the next store sets them again.
    let _: () = conn.pexpire(&tab, 60_000).await.unwrap();
    let _: () = conn.pexpire(&lock_key, 60_000).await.unwrap();
    event(2).await;
    let (ttl, lock_ttl): (i64, i64) = (conn.pttl(&tab).await.unwrap(), conn.pttl(&lock_key).await.unwrap());
    assert!(ttl > 50_000, "set 10 ms ago: not set again ({ttl})");
    assert!(lock_ttl > 50_000, "trusted for long enough: not renewed ({lock_ttl})");
    tokio::time::sleep(Duration::from_millis(350)).await;
    event(3).await;
    let (ttl, lock_ttl): (i64, i64) = (conn.pttl(&tab).await.unwrap(), conn.pttl(&lock_key).await.unwrap());
    assert!(ttl <= 900, "past its window: set again ({ttl})");
    assert!(lock_ttl <= 900, "less than a third left: renewed ({lock_ttl})");
    let lock = manager.lock("t").await.unwrap();
    assert_eq!(lock.record.as_ref().unwrap().seq, 3, "every store wrote");
    manager.release(lock);
}

#[tokio::test]
async fn a_worker_that_lost_its_lock_writes_nothing() {
    let Some(url) = redis_url() else { return };
    let manager = RedisStateManager::connect(config(&url).lock_ttl(Duration::from_millis(200)))
        .await
        .unwrap();
    let lock = manager.lock("t").await.unwrap();
    manager
        .store(lock, record(&[("a", 1)], 1), &names(&["a"]))
        .await
        .unwrap();

    let slow = manager.lock("t").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // the slow worker stalls past its TTL
    let mut fast = manager.lock("t").await.unwrap();
    assert_ne!(fast.fence, slow.fence, "a new lock, a new token");
    let mut next = fast.record.take().unwrap();
    next.states.get_mut("a").unwrap().insert("value".into(), json!(2));
    next.seq = 2;
    // The slow worker wakes up and tries to write its stale state: refused, before and
    // after the new holder's write.
    assert_eq!(
        manager.store(slow, record(&[("a", 99)], 2), &names(&["a"])).await,
        Err(StoreError::LockLost)
    );
    manager.store(fast, next, &names(&["a"])).await.unwrap();
    let lock = manager.lock("t").await.unwrap();
    assert_eq!(value(lock.record.as_ref().unwrap(), "a"), 2);
    let forged = TabLock::new("t".into(), None, lock.fence, None);
    assert_eq!(
        manager.store(forged, record(&[("a", 7)], 3), &names(&["a"])).await,
        Err(StoreError::LockLost),
        "a lock this manager did not hand out cannot write"
    );
    manager.release(lock);
}

#[tokio::test]
async fn waiters_are_woken_by_the_unlock_not_by_polling() {
    let Some(url) = redis_url() else { return };
    let manager = Arc::new(
        RedisStateManager::connect(config(&url).lock_ttl(Duration::from_secs(5)))
            .await
            .unwrap(),
    );
    let first = manager.lock("t").await.unwrap();
    let mut waiters = Vec::new();
    for _ in 0..4 {
        let manager = Arc::clone(&manager);
        waiters.push(tokio::spawn(async move {
            let lock = manager.lock("t").await.unwrap();
            let acquired = Instant::now();
            let seen = lock.record.as_ref().map_or(0, |r| r.seq);
            manager.store(lock, record(&[], seen + 1), &[]).await.unwrap();
            (seen, acquired)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = manager.round_trips();
    let released = Instant::now();
    manager.store(first, record(&[], 0), &[]).await.unwrap();
    let mut seen = Vec::new();
    for waiter in waiters {
        let (s, acquired) = waiter.await.unwrap();
        assert!(
            acquired.duration_since(released) < Duration::from_secs(2),
            "woken by the unlock, long before the 5 s lock TTL"
        );
        seen.push(s);
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3], "one at a time, each saw the write before it");
    let spent = manager.round_trips() - before;
    // Each waiter: a few wake-ups (BLPOP + lock attempt each), a lock and a store. Polling
    // every few milliseconds for 300 ms would have cost far more.
    assert!(spent <= 1 + 4 * 2 + 4 * 4 * 2, "{spent} round trips");
}

#[tokio::test]
async fn an_abandoned_lock_expires_and_the_next_holder_sees_the_last_write() {
    let Some(url) = redis_url() else { return };
    let manager = RedisStateManager::connect(config(&url).lock_ttl(Duration::from_millis(400)))
        .await
        .unwrap();
    let lock = manager.lock("t").await.unwrap();
    manager
        .store(lock, record(&[("a", 1)], 1), &names(&["a"]))
        .await
        .unwrap();
    // A worker dies holding the lock: nothing unlocks it.
    let mut crashed = manager.lock("t").await.unwrap();
    std::mem::forget(crashed.take_guard());
    let started = Instant::now();
    let lock = manager.lock("t").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "waited for the expiry: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(2),
        "woke at the expiry, not later: {waited:?}"
    );
    assert_eq!(value(lock.record.as_ref().unwrap(), "a"), 1);
    manager.release(lock);
}

#[tokio::test]
async fn release_wakes_the_next_waiter_and_tabs_expire() {
    let Some(url) = redis_url() else { return };
    let config = config(&url).tab_ttl(Duration::from_millis(1500));
    let manager = Arc::new(RedisStateManager::connect(config.clone()).await.unwrap());
    let lock = manager.lock("t").await.unwrap();
    manager
        .store(lock, record(&[("a", 1)], 1), &names(&["a"]))
        .await
        .unwrap();
    let mut conn = raw(&url).await;
    let ttl: i64 = conn.pttl(config.key("tab", "t")).await.unwrap();
    assert!(
        ttl > 1400 && ttl <= 1500 + 1500 / 8,
        "the tab carries its TTL and the lease's refresh window: {ttl}"
    );

    let held = manager.lock("t").await.unwrap();
    let waiter = {
        let manager = Arc::clone(&manager);
        tokio::spawn(async move {
            let started = Instant::now();
            let lock = manager.lock("t").await.unwrap();
            manager.release(lock);
            started.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    manager.release(held);
    assert!(
        waiter.await.unwrap() < Duration::from_secs(1),
        "released, not expired (10 s)"
    );

    tokio::time::sleep(Duration::from_millis(1900)).await;
    let lock = manager.lock("t").await.unwrap();
    assert_eq!(lock.record, None, "an idle tab is forgotten after its TTL");
    manager.release(lock);
}

#[tokio::test]
async fn redis_away_is_unavailable_not_a_hang() {
    // Nothing listens on port 1: connecting fails at once.
    let result =
        RedisStateManager::connect(RedisConfig::new("redis://127.0.0.1:1").timeout(Duration::from_millis(500))).await;
    assert!(result.is_err());
}
