//! Two `shop` processes on different ports sharing PostgreSQL and Redis, as behind a load
//! balancer without sticky sessions: tabs move between instances, live updates and logouts
//! cross them, an instance dies mid-event, Redis restarts. Needs `DUET_TEST_REDIS_URL` and
//! `DUET_TEST_POSTGRES_URL` (skipped when unset, a failure under `CI=true`).

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::redis::{OwnRedis, redis_client, redis_query};
use common::ws::{Socket, connect, hello, recv, recv_within, send};
use common::{Server, make_order, make_user, session_login, session_logout, shop, stripe_paid};
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const STRIPE_SECRET: &str = "whsec_scaleout_test";

/// Two instances, A and B, over one database and one Redis.
struct Pair {
    a: Server,
    b: Server,
    test: TestDb,
    /// The instances' Redis key prefix.
    prefix: String,
    _dir: tempfile::TempDir,
}

fn instance(dir: &std::path::Path, test: &TestDb, redis: &str, prefix: &str, lock_ttl_ms: u64) -> Command {
    let mut cmd = shop(dir, Some(&test.url), &[]);
    cmd.env("REDIS_URL", redis)
        .env("REDIS_KEY_PREFIX", prefix)
        .env("REDIS_LOCK_TTL_MS", lock_ttl_ms.to_string())
        .env("DUET_SECRET_KEY", "s".repeat(64))
        .env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET);
    cmd
}

/// Starts A, then B (so only A seeds the empty database), or `None` when a service is not
/// configured.
async fn pair_on(redis: &str, lock_ttl_ms: u64) -> Option<Pair> {
    let test = TestDb::postgres(&NO_MIGRATIONS).await?;
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("scaleout-{}-{}", std::process::id(), unique());
    let a = Server::start(instance(dir.path(), &test, redis, &prefix, lock_ttl_ms)).await;
    let b = Server::start(instance(dir.path(), &test, redis, &prefix, lock_ttl_ms)).await;
    Some(Pair {
        a,
        b,
        test,
        prefix,
        _dir: dir,
    })
}

async fn pair(lock_ttl_ms: u64) -> Option<Pair> {
    let redis = required_env("DUET_TEST_REDIS_URL", "Redis")?;
    pair_on(&redis, lock_ttl_ms).await
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn event(seq: u64, handler: &str, payload: Value) -> Value {
    let mut frame = json!({"type": "event", "seq": seq, "state": "counter", "handler": handler});
    if !payload.is_null() {
        frame["payload"] = payload;
    }
    frame
}

fn count_set(delta: &Value) -> i64 {
    delta["changes"]["counter"]["count"]["value"]
        .as_i64()
        .unwrap_or_else(|| panic!("a counter delta: {delta}"))
}

#[tokio::test]
async fn a_tabs_events_alternate_between_instances_without_loss_or_duplicates() {
    let Some(pair) = pair(10_000).await else { return };
    let mut tab: Option<String> = None;
    let mut previous: Option<Value> = None;
    for seq in 1..=12u64 {
        // Each event on a fresh socket, alternating A and B: a load balancer without stickiness.
        let server = if seq % 2 == 1 { &pair.a } else { &pair.b };
        let mut socket = connect(server, None).await;
        let hydrate = hello(&mut socket, tab.as_deref(), "/").await;
        assert_eq!(hydrate["type"], "hydrate", "{hydrate}");
        match &tab {
            Some(token) => assert_eq!(hydrate["tab"], token.as_str(), "the same tab, on the other instance"),
            None => tab = Some(hydrate["tab"].as_str().unwrap().to_owned()),
        }
        assert_eq!(hydrate["seq"], seq - 1, "every earlier event applied, in order");
        assert_eq!(hydrate["states"]["counter"]["count"], seq - 1);
        send(&mut socket, event(seq, "increment", Value::Null)).await;
        let reply = recv(&mut socket).await;
        assert_eq!(reply["seq"], seq, "{reply}");
        assert_eq!(count_set(&reply), seq as i64);
        if let Some(previous) = &previous {
            // The client resends the event before (it could not know it arrived): it gets
            // the reply the other instance sent, and nothing is applied twice.
            send(&mut socket, event(seq - 1, "increment", Value::Null)).await;
            assert_eq!(&recv(&mut socket).await, previous);
        }
        previous = Some(reply);
        socket.close(None).await.unwrap();
    }
    let mut socket = connect(&pair.a, None).await;
    let hydrate = hello(&mut socket, tab.as_deref(), "/").await;
    assert_eq!(hydrate["states"]["counter"]["count"], 12);
    assert_eq!(hydrate["seq"], 12);
}

#[tokio::test]
async fn two_sockets_of_one_tab_on_both_instances_are_serialized() {
    let Some(pair) = pair(10_000).await else { return };
    let mut first = connect(&pair.a, None).await;
    let hydrate = hello(&mut first, None, "/").await;
    let tab = hydrate["tab"].as_str().unwrap().to_owned();
    let mut second = connect(&pair.b, None).await;
    assert_eq!(hello(&mut second, Some(&tab), "/").await["tab"], tab.as_str());

    // Both sockets send at once, drawing seqs from one counter (one tab, one sequence).
    let seqs = Arc::new(AtomicU64::new(0));
    let run = |mut socket: Socket, seqs: Arc<AtomicU64>| async move {
        let mut replies = Vec::new();
        for _ in 0..40 {
            let seq = seqs.fetch_add(1, Ordering::SeqCst) + 1;
            send(&mut socket, event(seq, "increment", Value::Null)).await;
            replies.push(recv(&mut socket).await);
        }
        replies
    };
    let (on_a, on_b) = tokio::join!(
        tokio::spawn(run(first, Arc::clone(&seqs))),
        tokio::spawn(run(second, Arc::clone(&seqs)))
    );
    let replies: Vec<Value> = on_a.unwrap().into_iter().chain(on_b.unwrap()).collect();
    let mut counts = Vec::new();
    for reply in &replies {
        match reply["type"].as_str() {
            Some("delta") => counts.push(count_set(reply)),
            // A seq overtaken by a higher one from the other socket: refused, not applied.
            Some("error") => assert_eq!(reply["code"], "out_of_order", "{reply}"),
            _ => panic!("unexpected reply {reply}"),
        }
    }
    let applied = counts.len() as i64;
    assert!(applied >= 40, "most events applied: {applied} of 80");
    let distinct: BTreeSet<i64> = counts.iter().copied().collect();
    assert_eq!(
        distinct,
        (1..=applied).collect::<BTreeSet<_>>(),
        "each applied event saw the one before it: no lost update, no duplicate"
    );
    let mut socket = connect(&pair.b, None).await;
    let hydrate = hello(&mut socket, Some(&tab), "/").await;
    assert_eq!(hydrate["states"]["counter"]["count"], applied, "the sequential result");
}

#[tokio::test]
async fn a_stripe_webhook_on_b_reaches_the_orders_tab_on_a() {
    let Some(pair) = pair(10_000).await else { return };
    let ada = make_user(&pair.test.db, "ada", "pw").await;
    let order = make_order(&pair.test.db, &ada, 1250, "pending").await;
    let (cookie, _) = session_login(&pair.a, "ada", "pw").await;
    let mut tab = connect(&pair.a, Some(&cookie)).await;
    let hydrate = hello(&mut tab, None, "/orders").await;
    assert_eq!(
        hydrate["states"]["orders"]["orders"][0]["status"], "pending",
        "{hydrate}"
    );

    assert_eq!(
        stripe_paid(&pair.b, STRIPE_SECRET, "evt_scaleout_1", &order.client_reference).await,
        200
    );
    let push = recv(&mut tab).await;
    assert!(push.get("seq").is_none(), "a push: {push}");
    assert_eq!(pushed_status(&push), "paid", "{push}");
}

/// The one order's status in a push about a one-order list (a `replace` list operation, or
/// the whole list when that is as short).
fn pushed_status(push: &Value) -> &str {
    let orders = &push["changes"]["orders"]["orders"];
    let row = match orders["op"].as_str() {
        Some("list") => &orders["ops"][0]["value"],
        _ => &orders["value"][0],
    };
    row["status"]
        .as_str()
        .unwrap_or_else(|| panic!("an order change: {push}"))
}

#[tokio::test]
async fn logout_on_b_closes_the_users_sockets_on_a() {
    let Some(pair) = pair(10_000).await else { return };
    make_user(&pair.test.db, "ada", "pw").await;
    let (cookie, csrf) = session_login(&pair.a, "ada", "pw").await;
    let mut adas = connect(&pair.a, Some(&cookie)).await;
    assert_eq!(hello(&mut adas, None, "/orders").await["type"], "hydrate");
    let mut anonymous = connect(&pair.a, None).await;
    assert_eq!(hello(&mut anonymous, None, "/").await["type"], "hydrate");

    // The session lives in Redis, so B knows it; the logout request lands on B.
    assert_eq!(session_logout(&pair.b, &cookie, &csrf).await, 200);

    let bye = recv(&mut adas).await;
    assert_eq!(bye, json!({"type": "bye", "code": 4401, "message": "logged out"}));
    match tokio::time::timeout(Duration::from_secs(5), adas.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4401),
        other => panic!("expected a close frame, got {other:?}"),
    }
    send(&mut anonymous, event(1, "increment", Value::Null)).await;
    assert_eq!(recv(&mut anonymous).await["seq"], 1, "other logins' sockets stay open");
}

#[tokio::test]
async fn a_password_change_on_a_ends_the_users_redis_session_and_socket_on_b() {
    let Some(pair) = pair(10_000).await else { return };
    make_user(&pair.test.db, "ada", common::logins::FIRST_PASSWORD).await;
    common::logins::other_logins_end(&pair.a, &pair.b).await;
}

#[tokio::test]
async fn killing_an_instance_mid_event_lets_the_other_continue_from_the_last_commit() {
    let Some(mut pair) = pair(1_000).await else { return };
    let mut socket = connect(&pair.a, None).await;
    let tab = hello(&mut socket, None, "/").await["tab"].as_str().unwrap().to_owned();
    send(&mut socket, event(1, "increment", Value::Null)).await;
    assert_eq!(count_set(&recv(&mut socket).await), 1);
    send(&mut socket, event(2, "increment_slowly", json!(1_500))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    pair.a.child.kill().unwrap(); // mid-event, holding the tab's lock
    pair.a.child.wait().unwrap();
    let killed = Instant::now();

    let mut socket = connect(&pair.b, None).await;
    let hydrate = hello(&mut socket, Some(&tab), "/").await;
    let waited = killed.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "B waited for the lock's 1 s TTL only: {waited:?}"
    );
    assert_eq!(hydrate["seq"], 1, "the unfinished event was not committed: {hydrate}");
    assert_eq!(hydrate["states"]["counter"]["count"], 1, "the last committed state");
    // The client resends what it has no reply for; B applies it once.
    send(&mut socket, event(2, "increment_slowly", json!(10))).await;
    assert_eq!(count_set(&recv(&mut socket).await), 2);
    send(&mut socket, event(3, "increment", Value::Null)).await;
    assert_eq!(count_set(&recv(&mut socket).await), 3);
}

#[tokio::test]
async fn a_long_event_keeps_its_lock_while_it_runs() {
    let Some(pair) = pair(1_000).await else { return };
    let mut slow = connect(&pair.a, None).await;
    let tab = hello(&mut slow, None, "/").await["tab"].as_str().unwrap().to_owned();
    // 2.5 s of work under a 1 s lock: the running event renews its lock.
    send(&mut slow, event(1, "increment_slowly", json!(2_500))).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut other = connect(&pair.b, None).await;
    send(
        &mut other,
        json!({"type": "hello", "protocol": 1, "tab": tab, "route": {"path": "/"}}),
    )
    .await;
    let reply = recv(&mut slow).await;
    assert_eq!(
        (reply["type"].as_str(), reply["seq"].as_u64()),
        (Some("delta"), Some(1)),
        "{reply}"
    );
    assert_eq!(count_set(&reply), 1);
    let hydrate = recv(&mut other).await;
    assert_eq!(
        (hydrate["seq"].as_u64(), hydrate["states"]["counter"]["count"].as_i64()),
        (Some(1), Some(1)),
        "B waited for the event, then saw it: {hydrate}"
    );
}

#[tokio::test]
async fn an_instance_that_lost_its_lock_cannot_write_stale_state() {
    let Some(pair) = pair(1_000).await else { return };
    let mut slow = connect(&pair.a, None).await;
    let tab = hello(&mut slow, None, "/").await["tab"].as_str().unwrap().to_owned();
    // A stalls mid-event (a long GC pause, a frozen VM) past its 1 s lock, so it cannot
    // renew it; meanwhile B takes the tab over and sets the count.
    send(&mut slow, event(1, "increment_slowly", json!(500))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    pair.a.pause();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut fast = connect(&pair.b, None).await;
    assert_eq!(hello(&mut fast, Some(&tab), "/").await["seq"], 0);
    send(&mut fast, event(2, "set_to", json!(100))).await;
    assert_eq!(count_set(&recv(&mut fast).await), 100);
    pair.a.resume();

    let refused = recv(&mut slow).await;
    assert_eq!(refused["type"], "error", "A's late write was refused: {refused}");
    assert_eq!(refused["seq"], 1);
    assert_eq!(
        (refused["code"].as_str(), refused["message"].as_str()),
        (
            Some("unavailable"),
            Some("That took too long and was not saved; try again.")
        )
    );
    let hydrate = hello(&mut fast, Some(&tab), "/").await;
    assert_eq!(hydrate["states"]["counter"]["count"], 100, "B's write stands");
    assert_eq!(hydrate["seq"], 2);
}

/// How many instances listen on the broadcast channel.
async fn listeners(url: &str, prefix_channel: &str) -> i64 {
    let Ok(client) = redis_client(url) else { return 0 };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    redis_query::<(String, i64)>(&mut conn, &["PUBSUB", "NUMSUB", prefix_channel])
        .await
        .map_or(0, |(_, n)| n)
}

#[tokio::test]
async fn a_redis_restart_gives_clean_errors_and_the_system_recovers() {
    if required_env("DUET_TEST_REDIS_URL", "Redis").is_none() {
        return;
    }
    let port = common::free_port();
    let Some(mut redis) = OwnRedis::start(port) else { return };
    redis.wait_up().await;
    let Some(pair) = pair_on(&redis.url(), 2_000).await else {
        return;
    };
    let ada = make_user(&pair.test.db, "ada", "pw").await;
    let order = make_order(&pair.test.db, &ada, 900, "pending").await;
    let token = duet_models::ApiToken::issue(&pair.test.db, ada.id).await.unwrap();

    let mut socket = connect(&pair.a, None).await;
    let tab = hello(&mut socket, None, "/").await["tab"].as_str().unwrap().to_owned();
    send(&mut socket, event(1, "increment", Value::Null)).await;
    assert_eq!(count_set(&recv(&mut socket).await), 1);

    redis.stop();
    // Events: a clean `unavailable` error frame, quickly, and the socket stays open.
    send(&mut socket, event(2, "increment", Value::Null)).await;
    let error = recv_within(&mut socket, Duration::from_secs(6)).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["code"], "unavailable", "{error}");
    assert_eq!(error["seq"], 2);
    // HTTP that does not need Redis keeps working: health, token-authenticated API, webhooks.
    let health = reqwest::get(pair.b.url("/_health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let orders = reqwest::Client::new()
        .get(pair.b.url("/api/v1/orders/"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(orders.status(), 200);
    assert_eq!(
        stripe_paid(&pair.b, STRIPE_SECRET, "evt_restart_1", &order.client_reference).await,
        200
    );

    // Redis comes back (empty: it keeps nothing on disk). No instance is restarted.
    redis = OwnRedis::start(port).unwrap();
    redis.wait_up().await;
    // The first event on a connection from before the restart is sent again on a fresh
    // one: Redis answers (the tab's state went with the old Redis).
    send(&mut socket, event(3, "increment", Value::Null)).await;
    let reply = recv(&mut socket).await;
    assert_eq!(reply["code"], "not_hydrated", "{reply}");
    let seq = 3;
    let hydrate = hello(&mut socket, Some(&tab), "/").await;
    assert_eq!(hydrate["type"], "hydrate", "{hydrate}");
    send(&mut socket, event(seq + 1, "increment", Value::Null)).await;
    assert_eq!(recv(&mut socket).await["type"], "delta");

    // Both instances resubscribe by themselves; live updates cross instances again.
    let channel = format!("scaleout-{}-", std::process::id());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let client = redis_client(&redis.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let channels: Vec<String> = redis_query(&mut conn, &["PUBSUB", "CHANNELS", "*"]).await.unwrap();
        let ours: Vec<&String> = channels.iter().filter(|c| c.starts_with(&channel)).collect();
        if ours.len() == 1 && listeners(&redis.url(), ours[0]).await == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the instances did not resubscribe: {channels:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (cookie, _) = session_login(&pair.a, "ada", "pw").await;
    let mut orders_tab = connect(&pair.a, Some(&cookie)).await;
    assert_eq!(hello(&mut orders_tab, None, "/orders").await["type"], "hydrate");
    let patch = reqwest::Client::new()
        .patch(pair.b.url(&format!("/api/v1/orders/{}/", order.id)))
        .header("authorization", format!("Token {token}"))
        .json(&json!({"status": "shipped"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 200);
    let push = recv(&mut orders_tab).await;
    assert_eq!(pushed_status(&push), "shipped", "{push}");
}

/// The order ids a client shows after applying `ops` (docs/protocol.md, "Streams") to
/// `shown`.
fn apply_stream(shown: &mut Vec<i64>, ops: &Value) {
    for op in ops.as_array().unwrap_or_else(|| panic!("stream ops: {ops}")) {
        let id = |v: &Value| v.as_i64().unwrap_or_else(|| panic!("an id: {op}"));
        let position = |key: i64, shown: &[i64]| shown.iter().position(|k| *k == key);
        match op["op"].as_str() {
            Some("insert") => {
                let key = id(&op["item"]["id"]);
                if position(key, shown).is_none() {
                    let at = op["at"].as_i64().unwrap();
                    let at = if at < 0 || at as usize > shown.len() {
                        shown.len()
                    } else {
                        at as usize
                    };
                    shown.insert(at, key);
                }
            }
            Some("update") => {}
            Some("delete") => {
                if let Some(i) = position(id(&op["key"]), shown) {
                    shown.remove(i);
                }
            }
            Some("reset") => shown.clear(),
            other => panic!("unexpected stream op {other:?}: {op}"),
        }
    }
}

/// The stream ops of `frame` for the order feed (a delta's changes or a hydrate's streams).
fn feed_ops(frame: &Value) -> &Value {
    let ops = match frame["type"].as_str() {
        Some("hydrate") => &frame["streams"]["order_feed"]["orders"],
        _ => &frame["changes"]["order_feed"]["orders"],
    };
    assert_eq!(ops["op"], "stream", "a stream op in {frame}");
    &ops["ops"]
}

#[tokio::test]
async fn a_stream_pages_across_instances_and_redis_holds_none_of_its_rows() {
    let Some(pair) = pair(10_000).await else { return };
    let ada = make_user(&pair.test.db, "ada", "pw").await;
    let mut ids = Vec::new();
    for cents in 0..120 {
        ids.push(make_order(&pair.test.db, &ada, cents, "pending").await.id);
    }
    ids.reverse(); // newest first
    let (cookie, _) = session_login(&pair.a, "ada", "pw").await;
    let redis = required_env("DUET_TEST_REDIS_URL", "Redis").unwrap();
    let conn = redis_client(&redis)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // A tab on A shows the first page; what Redis stores of the state is its counters.
    let mut on_a = connect(&pair.a, Some(&cookie)).await;
    let hydrate = hello(&mut on_a, None, "/feed").await;
    let tab = hydrate["tab"].as_str().unwrap().to_owned();
    let mut shown = Vec::new();
    apply_stream(&mut shown, feed_ops(&hydrate));
    assert_eq!(shown, ids[..50]);
    let key = format!("{}:tab:{tab}", pair.prefix);
    let stored = || {
        let mut conn = conn.clone();
        let key = key.clone();
        async move {
            redis_query::<String>(&mut conn, &["HGET", &key, "s:order_feed"])
                .await
                .unwrap()
        }
    };
    let first = stored().await;
    assert_eq!(
        serde_json::from_str::<Value>(&first).unwrap(),
        json!({"orders": [], "more": true, "loaded": 50, "errors": {}}),
        "the rows are not stored"
    );
    let more = |seq: u64| json!({"type": "event", "seq": seq, "state": "order_feed", "handler": "more"});
    send(&mut on_a, more(1)).await;
    apply_stream(&mut shown, feed_ops(&recv(&mut on_a).await));
    assert_eq!(shown, ids[..100]);
    on_a.close(None).await.unwrap();

    // The tab moves to B (no sticky sessions): its hydrate resets the stream and refills
    // the first page, so nothing shows twice; paging on B continues from there.
    let mut on_b = connect(&pair.b, Some(&cookie)).await;
    let hydrate = hello(&mut on_b, Some(&tab), "/feed").await;
    assert_eq!(hydrate["tab"], tab.as_str());
    assert_eq!(feed_ops(&hydrate)[0], json!({"op": "reset"}));
    apply_stream(&mut shown, feed_ops(&hydrate));
    assert_eq!(shown, ids[..50]);
    for seq in [2, 3] {
        send(&mut on_b, more(seq)).await;
        let reply = recv(&mut on_b).await;
        assert_eq!(reply["seq"], seq, "{reply}");
        apply_stream(&mut shown, feed_ops(&reply));
    }
    assert_eq!(shown, ids, "every row once, in order");
    let last = stored().await;
    assert_eq!(
        serde_json::from_str::<Value>(&last).unwrap(),
        json!({"orders": [], "more": false, "loaded": 120, "errors": {}}),
    );
    // The same bytes but for the counter's digits and `more`: 120 rows cost what 50 did.
    assert!(last.len() <= first.len() + 2, "{first} → {last}");

    // A change made on A reaches the tab on B as that one row.
    let order = <shop::orders::Order as duet_models::Model>::get(&pair.test.db, duet_models::Scope::All, ids[7])
        .await
        .unwrap();
    assert_eq!(
        stripe_paid(&pair.a, STRIPE_SECRET, "evt_stream_1", &order.client_reference).await,
        200
    );
    let push = recv(&mut on_b).await;
    let ops = feed_ops(&push);
    assert_eq!(ops.as_array().unwrap().len(), 1, "one row: {push}");
    assert_eq!(ops[0]["op"], "update", "{push}");
    assert_eq!(ops[0]["item"]["id"], ids[7]);
    assert_eq!(ops[0]["item"]["status"], "paid");
    assert_eq!(stored().await, last, "a change stores nothing more");
}
