//! One writer per socket, bounded: every socket of a tab gets its changes, in order; a client
//! that stops reading is cut off instead of growing the server's memory; the idle timeout
//! runs while a write waits. Real sockets over TCP.

mod common;

use std::time::{Duration, Instant};

use common::app::{TestApp, hello, recv, send, start};
use duet_state::SocketConfig;
use serde_json::{Value, json};

fn event(seq: u64, handler: &str, payload: &Value) -> Value {
    json!({"type": "event", "seq": seq, "state": "counter", "handler": handler, "payload": payload})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reach_every_socket_of_a_tab() {
    let app = start(SocketConfig::default()).await;
    let mut a = app.connect(None, None).await.unwrap();
    let tab = hello(&mut a, None).await["tab"].as_str().unwrap().to_owned();
    let mut b = app.connect(None, None).await.unwrap();
    assert_eq!(hello(&mut b, Some(&tab)).await["tab"], tab.as_str());

    send(&mut a, event(1, "set_to", &json!(7))).await;
    assert_eq!(recv(&mut a).await["seq"], 1);
    let push = recv(&mut b).await;
    assert!(push.get("seq").is_none(), "a push, not a reply: {push}");
    assert_eq!(push["changes"]["counter"]["count"], json!({"op": "set", "value": 7}));

    send(&mut b, event(2, "increment", &Value::Null)).await;
    assert_eq!(recv(&mut b).await["changes"]["counter"]["count"]["value"], 8);
    assert_eq!(recv(&mut a).await["changes"]["counter"]["count"]["value"], 8);

    // Progress goes to the sender only; the other socket gets the whole change once.
    send(&mut a, event(3, "count_to", &json!(10))).await;
    let mut frames = Vec::new();
    loop {
        let frame = recv(&mut a).await;
        let reply = frame["seq"] == 3;
        frames.push(frame);
        if reply {
            break;
        }
    }
    assert_eq!(frames.len(), 3, "two progress pushes, then the reply: {frames:?}");
    let push = recv(&mut b).await;
    assert_eq!(push["changes"]["counter"]["count"]["value"], 10, "{push}");
    assert_eq!(push["changes"]["counter"]["doubled"]["value"], 20, "{push}");

    // Many events pipelined: the other window applies the same changes, in the same order.
    for seq in 4..=53u64 {
        let handler = if seq.is_multiple_of(2) { "increment" } else { "add_row" };
        send(&mut a, event(seq, handler, &Value::Null)).await;
    }
    let mut seen = Vec::new();
    for socket in [&mut a, &mut b] {
        let mut state = json!({"count": 10, "rows": 0});
        for _ in 0..50 {
            let frame = recv(socket).await;
            if let Some(count) = frame["changes"]["counter"]["count"]["value"].as_i64() {
                state["count"] = json!(count);
            }
            let rows = &frame["changes"]["counter"]["rows"];
            if let Some(all) = rows["value"].as_array() {
                state["rows"] = json!(all.len());
            }
            if let Some(ops) = rows["ops"].as_array() {
                let added: usize = ops.iter().map(|op| op["values"].as_array().map_or(0, Vec::len)).sum();
                state["rows"] = json!(state["rows"].as_u64().unwrap() + added as u64);
            }
        }
        seen.push(state);
    }
    assert_eq!(seen[0], json!({"count": 35, "rows": 25}));
    assert_eq!(seen[0], seen[1], "the two windows agree");
}

/// A socket following `counter:rows` that then stops reading, and a publisher sending it
/// pushes of about 15 KB until the server forgets the socket (or `limit` passes).
async fn flood_until_forgotten(app: &TestApp, limit: Duration) -> Option<Duration> {
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    send(&mut socket, event(1, "follow", &Value::Null)).await;
    assert_eq!(recv(&mut socket).await["seq"], 1);
    assert_eq!(app.open_sockets(), 1);
    // From here the client reads nothing, and says nothing.
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < limit {
        for _ in 0..20 {
            n += 1;
            app.broadcaster
                .publish("counter:rows", &json!(if n.is_multiple_of(2) { 0 } else { 300 }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if app.open_sockets() == 0 {
            drop(socket);
            return Some(started.elapsed());
        }
    }
    drop(socket);
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_stops_reading_is_cut_off_not_buffered() {
    let app = start(SocketConfig {
        outbox_bytes: 256 * 1024,
        write_timeout: Duration::from_secs(2),
        ..SocketConfig::default()
    })
    .await;
    let forgotten = flood_until_forgotten(&app, Duration::from_secs(20)).await;
    assert!(
        forgotten.is_some(),
        "the server still holds a socket that has not read for 20 s, and everything sent to it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_runs_while_a_write_waits() {
    let app = start(SocketConfig {
        heartbeat: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(1),
        // Neither a full outbox or inbox nor the write timeout ends it first.
        outbox_bytes: 1 << 30,
        inbox: 1 << 20,
        write_timeout: Duration::from_secs(600),
        ..SocketConfig::default()
    })
    .await;
    let forgotten = flood_until_forgotten(&app, Duration::from_secs(20)).await;
    let waited = forgotten.expect("a silent socket is closed although its writer is stuck");
    assert!(waited < Duration::from_secs(10), "closed after {waited:?}");
}
