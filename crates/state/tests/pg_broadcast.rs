//! `PgBroadcaster` against a real PostgreSQL (`DUET_TEST_POSTGRES_URL`; skipped when unset,
//! a failure under `CI=true`): two instances A and B — test apps over one database, each
//! with its own broadcaster and transport — on one channel, as behind a load balancer.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::app::{Socket, TestApp, closed, hello, recv, send, start_on};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use duet_models::Db;
use duet_state::postgres::PgBroadcaster;
use duet_state::{Broadcaster, SocketConfig};
use serde_json::{Value, json};

struct Pair {
    a: TestApp,
    b: TestApp,
    transport_a: Arc<PgBroadcaster>,
    url: String,
    /// The channel's connections show under this `application_name`.
    application_name: String,
    _dir: tempfile::TempDir,
}

/// A and B on a channel prefix of their own (tests run in parallel), or `None` when
/// PostgreSQL is not configured.
async fn pair() -> Option<Pair> {
    static N: AtomicU32 = AtomicU32::new(0);
    let url = duet_models::testing::required_env("DUET_TEST_POSTGRES_URL", "PostgreSQL")?;
    let prefix = format!("duet-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    // The apps' own data (users, sessions) is in SQLite; only the channel is in PostgreSQL.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect_url(&format!("sqlite://{}", dir.path().join("t.sqlite3").display()))
        .await
        .unwrap();
    db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await.unwrap();
    let (broadcaster_a, broadcaster_b) = (Broadcaster::new(), Broadcaster::new());
    let transport_a = PgBroadcaster::start(&url, &prefix, &broadcaster_a).await.unwrap();
    PgBroadcaster::start(&url, &prefix, &broadcaster_b).await.unwrap();
    Some(Pair {
        a: start_on(db.clone(), broadcaster_a, SocketConfig::default()),
        b: start_on(db, broadcaster_b, SocketConfig::default()),
        transport_a,
        url,
        application_name: format!("duet {prefix}:broadcast"),
        _dir: dir,
    })
}

/// A new tab on `app` that ran `handler` (`watch`: `counter:news` sets the count; `tally`:
/// each `counter:tally` message increments it).
async fn subscribed_tab(app: &TestApp, handler: &str) -> Socket {
    let mut socket = app.connect(None, None).await.unwrap();
    assert_eq!(hello(&mut socket, None).await["type"], "hydrate");
    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": handler}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["seq"], 1);
    socket
}

/// The count a push set.
async fn pushed_count(socket: &mut Socket) -> i64 {
    let push = recv(socket).await;
    assert!(push.get("seq").is_none(), "a push: {push}");
    push["changes"]["counter"]["count"]["value"]
        .as_i64()
        .unwrap_or_else(|| panic!("a count change: {push}"))
}

async fn pushed_count_within(socket: &mut Socket, wait: Duration) -> Option<i64> {
    tokio::time::timeout(wait, pushed_count(socket)).await.ok()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs `sql` (counting rows of `pg_stat_activity`) for the pair's connections.
async fn count_connections(pair: &Pair, sql: &str) -> i64 {
    let mut admin = AsyncPgConnection::establish(&pair.url).await.unwrap();
    let count: Count = diesel::sql_query(sql)
        .bind::<Text, _>(&pair.application_name)
        .get_result(&mut admin)
        .await
        .unwrap();
    count.n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_on_a_reaches_a_tab_on_b() {
    let Some(pair) = pair().await else { return };
    let mut tab = subscribed_tab(&pair.b, "watch").await;
    assert_eq!(pair.a.broadcaster.publish("counter:news", &json!(42)), 0, "no tab on A");
    assert_eq!(pushed_count(&mut tab).await, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_ignores_its_own_echo() {
    let Some(pair) = pair().await else { return };
    let mut on_a = subscribed_tab(&pair.a, "tally").await;
    send(
        &mut on_a,
        json!({"type": "event", "seq": 2, "state": "counter", "handler": "watch"}),
    )
    .await;
    assert_eq!(recv(&mut on_a).await["seq"], 2);
    let mut on_b = subscribed_tab(&pair.b, "tally").await;

    assert_eq!(pair.a.broadcaster.publish("counter:tally", &Value::Null), 1);
    assert_eq!(pushed_count(&mut on_a).await, 1, "delivered on A at once");
    assert_eq!(pushed_count(&mut on_b).await, 1, "and on B through PostgreSQL");
    // B has A's notification, so A's echo is ahead of anything B sends now: had A delivered
    // its echo, its tab would count 2 before B's message and 3 after it.
    assert_eq!(pair.b.broadcaster.publish("counter:tally", &Value::Null), 1);
    pair.b.broadcaster.publish("counter:news", &json!(100));
    assert_eq!(pushed_count(&mut on_a).await, 2, "B's message, once");
    assert_eq!(
        pushed_count(&mut on_a).await,
        100,
        "then B's second: nothing in between"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_a_closes_the_logins_sockets_on_b() {
    let Some(pair) = pair().await else { return };
    let (cookie, csrf) = pair.b.login("ada").await;
    let mut adas = pair.b.connect(Some(&cookie), None).await.unwrap();
    assert_eq!(hello(&mut adas, None).await["type"], "hydrate");
    let mut anonymous = subscribed_tab(&pair.b, "watch").await;

    assert_eq!(pair.a.logout(&cookie, &csrf).await, 200);
    assert_eq!(
        recv(&mut adas).await,
        json!({"type": "bye", "code": 4401, "message": "logged out"})
    );
    assert_eq!(closed(&mut adas).await.0, 4401);
    pair.a.broadcaster.publish("counter:news", &json!(5));
    assert_eq!(pushed_count(&mut anonymous).await, 5, "other sockets stay open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ways_recover_after_postgres_kills_the_connections() {
    let Some(pair) = pair().await else { return };
    let mut on_a = subscribed_tab(&pair.a, "watch").await;
    let mut on_b = subscribed_tab(&pair.b, "watch").await;
    let ours = "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1";
    assert_eq!(count_connections(&pair, ours).await, 4, "a listener and a sender each");

    let killed = count_connections(
        &pair,
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1",
    )
    .await;
    assert_eq!(killed, 4);

    // What is sent while a listener is away is lost; keep publishing until it arrives.
    for (from, to, base) in [(&pair.a, &mut on_b, 1_000), (&pair.b, &mut on_a, 2_000)] {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut n = base;
        loop {
            n += 1;
            from.broadcaster.publish("counter:news", &json!(n));
            if pushed_count_within(to, Duration::from_millis(300)).await.is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no delivery after the connections were killed"
            );
        }
        // Back to normal: the next message arrives (after any late ones).
        from.broadcaster.publish("counter:news", &json!(base + 999));
        while pushed_count(to).await != base + 999 {}
    }
    assert!(
        pair.transport_a.dropped() >= 1,
        "the message sent on the killed connection was counted"
    );
    assert_eq!(count_connections(&pair, ours).await, 4, "all connected again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_too_large_for_notify_is_refused_and_counted() {
    let Some(pair) = pair().await else { return };
    let mut on_b = subscribed_tab(&pair.b, "watch").await;
    pair.a.broadcaster.publish("counter:news", &json!("x".repeat(8_000)));
    let deadline = Instant::now() + Duration::from_secs(5);
    while pair.transport_a.oversized() == 0 {
        assert!(Instant::now() < deadline, "the large message was not refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pair.a.broadcaster.publish("counter:news", &json!(7));
    assert_eq!(
        pushed_count(&mut on_b).await,
        7,
        "the next message goes through; the large one never arrived"
    );
    assert_eq!((pair.transport_a.oversized(), pair.transport_a.dropped()), (1, 0));
}

/// `url` with its host and port replaced by `addr`'s.
fn through(url: &str, addr: std::net::SocketAddr) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_host(Some(&addr.ip().to_string())).unwrap();
    url.set_port(Some(addr.port())).unwrap();
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_dies_silently_is_replaced_within_seconds() {
    let Some(url) = duet_models::testing::required_env("DUET_TEST_POSTGRES_URL", "PostgreSQL") else {
        return;
    };
    let parsed = url::Url::parse(&url).unwrap();
    let upstream = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(5432));
    let proxy = common::proxy::Proxy::start(upstream).await;
    let prefix = format!("duet-test-{}-silent", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect_url(&format!("sqlite://{}", dir.path().join("t.sqlite3").display()))
        .await
        .unwrap();
    db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await.unwrap();
    let (broadcaster_a, broadcaster_b) = (Broadcaster::new(), Broadcaster::new());
    // A reaches PostgreSQL through the proxy; B directly.
    PgBroadcaster::start(&through(&url, proxy.addr), &prefix, &broadcaster_a)
        .await
        .unwrap();
    PgBroadcaster::start(&url, &prefix, &broadcaster_b).await.unwrap();
    let a = start_on(db.clone(), broadcaster_a, SocketConfig::default());
    let b = start_on(db, broadcaster_b, SocketConfig::default());
    let mut tab = subscribed_tab(&a, "watch").await;
    b.broadcaster.publish("counter:news", &json!(1));
    assert_eq!(pushed_count(&mut tab).await, 1);

    // A's connections go silent: no error, no close, nothing.
    proxy.freeze();
    let frozen = Instant::now();
    let mut n = 2;
    let heard = loop {
        b.broadcaster.publish("counter:news", &json!(n));
        if let Some(count) = pushed_count_within(&mut tab, Duration::from_millis(200)).await {
            break count;
        }
        assert!(frozen.elapsed() < Duration::from_secs(15), "A never heard B again");
        n += 1;
    };
    assert!(heard >= 2, "{heard}");
    let took = frozen.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "A noticed its dead listener after {took:?}"
    );
    assert!(proxy.accepted() > 2, "A listens on a new connection");
}
