//! SIGTERM with open sockets and a running event, two instances behind an imaginary load
//! balancer: the running event is answered and stored, every socket gets `bye` 1012
//! ("restarting"), the tab continues on the other instance, and the process exits within
//! its deadline. Needs `DUET_TEST_REDIS_URL` and `DUET_TEST_POSTGRES_URL`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::ws::{Socket, connect, hello, recv, send};
use common::{Server, shop};
use duet_models::testing::{NO_MIGRATIONS, TestDb, required_env};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn instance(dir: &std::path::Path, test: &TestDb, redis: &str, prefix: &str) -> Command {
    let mut cmd = shop(dir, Some(&test.url), &[]);
    cmd.env("REDIS_URL", redis)
        .env("REDIS_KEY_PREFIX", prefix)
        .env("DUET_SECRET_KEY", "s".repeat(64))
        .env("DUET_SHUTDOWN_TIMEOUT_SECS", "10");
    cmd
}

fn counter(frame: &Value) -> i64 {
    frame["states"]["counter"]["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("a hydrate with the counter: {frame}"))
}

/// The frames up to the socket's close: the text frames, and the close code.
async fn until_closed(socket: &mut Socket) -> (Vec<Value>, Option<u16>) {
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the socket closes in time")
        {
            Some(Ok(Message::Text(text))) => frames.push(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => return (frames, frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return (frames, None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_running_event_says_bye_and_the_tab_moves_on() {
    let Some(redis) = required_env("DUET_TEST_REDIS_URL", "Redis") else {
        return;
    };
    let Some(test) = TestDb::postgres(&NO_MIGRATIONS).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("shutdown-{}", std::process::id());
    let mut a = Server::start(instance(dir.path(), &test, &redis, &prefix)).await;
    let b = Server::start(instance(dir.path(), &test, &redis, &prefix)).await;

    // A tab with some history, and an idle second tab, both on A.
    let mut socket = connect(&a, None).await;
    let hydrate = hello(&mut socket, None, "/").await;
    let tab = hydrate["tab"].as_str().unwrap().to_owned();
    let start = counter(&hydrate);
    for seq in 1..=3 {
        send(
            &mut socket,
            json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment"}),
        )
        .await;
        assert_eq!(recv(&mut socket).await["seq"], seq);
    }
    let mut idle = connect(&a, None).await;
    hello(&mut idle, None, "/").await;

    // An event that takes a while is running when the signal comes.
    send(
        &mut socket,
        json!({"type": "event", "seq": 4, "state": "counter", "handler": "increment_slowly", "payload": 700}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    a.terminate();

    let (frames, code) = until_closed(&mut socket).await;
    assert_eq!(frames.len(), 2, "the event's answer, then bye: {frames:?}");
    assert_eq!(frames[0]["type"], "delta", "the running event is answered: {frames:?}");
    assert_eq!(frames[0]["seq"], 4);
    assert_eq!(frames[1], json!({"type": "bye", "code": 1012, "message": "restarting"}));
    assert_eq!(code, Some(1012));
    let (frames, code) = until_closed(&mut idle).await;
    assert_eq!(frames, [json!({"type": "bye", "code": 1012, "message": "restarting"})]);
    assert_eq!(code, Some(1012));

    // The runtime reconnects at once, elsewhere: the tab is there with everything answered.
    let mut moved = connect(&b, None).await;
    let hydrate = hello(&mut moved, Some(&tab), "/").await;
    assert_eq!(hydrate["type"], "hydrate", "{hydrate}");
    assert_eq!(hydrate["tab"], tab.as_str());
    assert_eq!(hydrate["seq"], 4);
    assert_eq!(counter(&hydrate), start + 4, "the answered event was stored");
    send(
        &mut moved,
        json!({"type": "event", "seq": 5, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut moved).await["seq"], 5);

    let status = a
        .exited_within(Duration::from_secs(10))
        .await
        .expect("A exits within DUET_SHUTDOWN_TIMEOUT_SECS");
    assert!(status.success(), "a clean exit: {status}");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    // New connections to A are refused once it stopped.
    assert!(
        tokio::net::TcpStream::connect(a.base.trim_start_matches("http://"))
            .await
            .is_err()
    );
}
