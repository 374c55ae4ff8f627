//! `RedisBroadcaster` against a real Redis (`DUET_TEST_REDIS_URL`; skipped when unset, a
//! failure under `CI=true`): two instances on one channel, one of them behind a proxy that
//! goes silent.
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use common::app::{Socket, hello, recv, send, start_on};
use duet_models::Db;
use duet_state::redis::{RedisBroadcaster, RedisConfig};
use duet_state::{Broadcaster, SocketConfig};
use serde_json::json;

/// The count the next push sets, if one comes within `wait`.
async fn pushed_count_within(socket: &mut Socket, wait: Duration) -> Option<i64> {
    let push = tokio::time::timeout(wait, recv(socket)).await.ok()?;
    push["changes"]["counter"]["count"]["value"].as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_that_dies_silently_is_replaced_within_seconds() {
    let Some(url) = duet_models::testing::required_env("DUET_TEST_REDIS_URL", "Redis") else {
        return;
    };
    let parsed = url::Url::parse(&url).unwrap();
    let upstream = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(6379));
    let proxy = common::proxy::Proxy::start(upstream).await;
    let mut proxied = parsed.clone();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    let prefix = format!("duet-test-{}-silent", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect_url(&format!("sqlite://{}", dir.path().join("t.sqlite3").display()))
        .await
        .unwrap();
    db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await.unwrap();
    let (broadcaster_a, broadcaster_b) = (Broadcaster::new(), Broadcaster::new());
    // A reaches Redis through the proxy; B directly.
    RedisBroadcaster::start(&RedisConfig::new(proxied.as_str()).prefix(&prefix), &broadcaster_a)
        .await
        .unwrap();
    RedisBroadcaster::start(&RedisConfig::new(url.as_str()).prefix(&prefix), &broadcaster_b)
        .await
        .unwrap();
    let a = start_on(db.clone(), broadcaster_a, SocketConfig::default());
    let b = start_on(db, broadcaster_b, SocketConfig::default());
    let mut tab = a.connect(None, None).await.unwrap();
    hello(&mut tab, None).await;
    send(
        &mut tab,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "watch"}),
    )
    .await;
    assert_eq!(recv(&mut tab).await["seq"], 1);
    b.broadcaster.publish("counter:news", &json!(1));
    assert_eq!(pushed_count_within(&mut tab, Duration::from_secs(5)).await, Some(1));

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
        "A noticed its dead subscription after {took:?}"
    );
}
