//! `/_event` over real TCP: a real actix server with sessions and auth, tungstenite clients.

mod common;

use std::time::Duration;

use common::app::{closed, hello, recv, send, start};
use duet_state::SocketConfig;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hydrate_event_delta_and_reconnect() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, Some(&app.base)).await.unwrap();
    let hydrate = hello(&mut socket, None).await;
    assert_eq!(hydrate["type"], "hydrate");
    assert_eq!(hydrate["states"]["counter"]["count"], 0);
    let tab = hydrate["tab"].as_str().unwrap().to_owned();

    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await["changes"]["counter"]["count"],
        json!({"op": "set", "value": 1})
    );

    // 100 events pipelined without waiting: replies come back in order.
    for seq in 2..=101 {
        send(
            &mut socket,
            json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment"}),
        )
        .await;
    }
    for seq in 2..=101 {
        let reply = recv(&mut socket).await;
        assert_eq!(
            (
                reply["seq"].as_u64(),
                reply["changes"]["counter"]["count"]["value"].as_i64()
            ),
            (Some(seq), Some(seq as i64))
        );
    }
    drop(socket);

    // A reconnect with the same token gets the state back, and a resent event its reply.
    let mut again = app.connect(None, None).await.unwrap();
    let hydrate = hello(&mut again, Some(&tab)).await;
    assert_eq!(
        (
            hydrate["tab"].as_str(),
            hydrate["states"]["counter"]["count"].as_i64(),
            hydrate["seq"].as_u64()
        ),
        (Some(tab.as_str()), Some(101), Some(101))
    );
    send(
        &mut again,
        json!({"type": "event", "seq": 101, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(
        recv(&mut again).await["changes"]["counter"]["count"]["value"],
        101,
        "the original reply, not a second increment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_run_in_parallel_and_stay_apart() {
    let app = start(SocketConfig::default()).await;
    let mut a = app.connect(None, None).await.unwrap();
    let mut b = app.connect(None, None).await.unwrap();
    hello(&mut a, None).await;
    hello(&mut b, None).await;
    for seq in 1..=10 {
        send(
            &mut a,
            json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment"}),
        )
        .await;
        send(
            &mut b,
            json!({"type": "event", "seq": seq, "state": "counter", "handler": "set_to", "payload": seq * 100}),
        )
        .await;
    }
    let (mut last_a, mut last_b) = (Value::Null, Value::Null);
    for _ in 0..10 {
        last_a = recv(&mut a).await;
        last_b = recv(&mut b).await;
    }
    assert_eq!(last_a["changes"]["counter"]["count"]["value"], 10);
    assert_eq!(last_b["changes"]["counter"]["count"]["value"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_error_frames_and_the_socket_stays() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["code"], "not_hydrated");
    hello(&mut socket, None).await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::text("{not json"), "bad_frame"),
        (Message::text("[1,2]"), "bad_frame"),
        (Message::text(r#"{"type":"dance"}"#), "unknown_type"),
        (Message::text(r#"{"type":"event","seq":"x"}"#), "bad_message"),
        (Message::binary(vec![1, 2, 3]), "bad_frame"),
        (
            Message::text(r#"{"type":"event","seq":2,"state":"counter","handler":"set_to","payload":"seven"}"#),
            "bad_payload",
        ),
        (
            Message::text(r#"{"type":"event","seq":3,"state":"nope","handler":"x"}"#),
            "unknown_state",
        ),
        (
            Message::text(r#"{"type":"event","seq":4,"state":"counter","handler":"boom"}"#),
            "handler_failed",
        ),
        (
            Message::text(r#"{"type":"event","seq":5,"state":"private","handler":"x"}"#),
            "login_required",
        ),
    ];
    for (frame, code) in cases {
        socket.send(frame).await.unwrap();
        assert_eq!(recv(&mut socket).await["code"], code);
    }
    send(
        &mut socket,
        json!({"type": "event", "seq": 6, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await["changes"]["counter"]["count"]["value"],
        1,
        "still serving; the failures changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_oversized_frames_and_old_protocols_close_the_socket() {
    let app = start(SocketConfig {
        bad_frame_limit: 5,
        max_frame: 1024,
        ..SocketConfig::default()
    })
    .await;
    let mut flood = app.connect(None, None).await.unwrap();
    for _ in 0..6 {
        flood.send(Message::text("garbage")).await.unwrap();
    }
    assert_eq!(closed(&mut flood).await.0, 1008);

    let mut big = app.connect(None, None).await.unwrap();
    big.send(Message::text(format!("{{\"pad\":\"{}\"}}", "x".repeat(4096))))
        .await
        .unwrap();
    assert_eq!(closed(&mut big).await.0, 1009);

    let mut old = app.connect(None, None).await.unwrap();
    send(
        &mut old,
        json!({"type": "hello", "protocol": 2, "route": {"path": "/"}}),
    )
    .await;
    assert_eq!(
        recv(&mut old).await,
        json!({"type": "bye", "code": 4001, "message": "unsupported protocol version 2; this server speaks 1"})
    );
    assert_eq!(
        closed(&mut old).await,
        (4001, "unsupported protocol version 2; this server speaks 1".to_owned())
    );

    // The server is unaffected.
    let mut fine = app.connect(None, None).await.unwrap();
    assert_eq!(hello(&mut fine, None).await["type"], "hydrate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_are_refused() {
    let app = start(SocketConfig {
        allowed_origins: vec!["https://app.example.com".into()],
        ..SocketConfig::default()
    })
    .await;
    let refused = app.connect(None, Some("https://evil.example")).await.unwrap_err();
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 403),
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    assert!(app.connect(None, Some(&app.base)).await.is_ok(), "own origin");
    assert!(
        app.connect(None, Some("https://app.example.com")).await.is_ok(),
        "configured origin"
    );
    assert!(
        app.connect(None, None).await.is_ok(),
        "non-browser clients send no Origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_has_the_sessions_user_and_logout_closes_it() {
    let app = start(SocketConfig::default()).await;
    let mut anonymous = app.connect(None, None).await.unwrap();
    assert!(hello(&mut anonymous, None).await["states"].get("private").is_none());

    let (cookie, csrf) = app.login("ada").await;
    let mut socket = app.connect(Some(&cookie), None).await.unwrap();
    let hydrate = hello(&mut socket, None).await;
    assert!(
        hydrate["states"].get("private").is_some(),
        "the same cookie as HTTP logs the socket in"
    );

    assert_eq!(app.logout(&cookie, &csrf).await, 200);
    assert_eq!(
        recv(&mut socket).await,
        json!({"type": "bye", "code": 4401, "message": "logged out"})
    );
    assert_eq!(closed(&mut socket).await.0, 4401);
    // The anonymous socket is untouched.
    send(
        &mut anonymous,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut anonymous).await["seq"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_time_out() {
    let app = start(SocketConfig {
        heartbeat: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(300),
        ..SocketConfig::default()
    })
    .await;
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    // Not reading means not answering pings: the server hears nothing and gives up.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!((code, reason.as_str()), (1001, "idle timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_messages_reach_subscribed_tabs() {
    let app = start(SocketConfig::default()).await;
    let mut watcher = app.connect(None, None).await.unwrap();
    let tab = hello(&mut watcher, None).await["tab"].as_str().unwrap().to_owned();
    let mut bystander = app.connect(None, None).await.unwrap();
    hello(&mut bystander, None).await;
    assert_eq!(
        app.broadcaster.publish("counter:news", &json!(5)),
        0,
        "nobody listens yet"
    );

    send(
        &mut watcher,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "watch"}),
    )
    .await;
    assert_eq!(recv(&mut watcher).await["seq"], 1);
    // A second socket on the same tab (another window after a reload) gets the push too.
    let mut twin = app.connect(None, None).await.unwrap();
    hello(&mut twin, Some(&tab)).await;

    assert_eq!(app.broadcaster.publish("counter:news", &json!(42)), 1);
    for socket in [&mut watcher, &mut twin] {
        let push = recv(socket).await;
        assert!(push.get("seq").is_none(), "a push acknowledges no event: {push}");
        assert_eq!(push["changes"]["counter"]["count"], json!({"op": "set", "value": 42}));
    }
    // The tab's state really changed, once.
    send(
        &mut watcher,
        json!({"type": "event", "seq": 2, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut watcher).await["changes"]["counter"]["count"]["value"], 43);
    // The bystander heard nothing: its next frame is the reply to its own event.
    send(
        &mut bystander,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(recv(&mut bystander).await["seq"], 1);

    // When the tab's last socket here closes, the topic index forgets it; a reconnect with
    // the tab's token subscribes it again (the subscription is part of the tab's state).
    for socket in [watcher, twin] {
        drop(socket);
    }
    let mut index = String::new();
    for _ in 0..50 {
        index = format!("{:?}", app.broadcaster);
        if index == "Broadcaster { topics: 0, .. }" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(index, "Broadcaster { topics: 0, .. }", "the closed tab left the index");
    assert_eq!(app.broadcaster.publish("counter:news", &json!(1)), 0);
    let mut back = app.connect(None, None).await.unwrap();
    hello(&mut back, Some(&tab)).await;
    assert_eq!(app.broadcaster.publish("counter:news", &json!(7)), 1);
    assert_eq!(recv(&mut back).await["changes"]["counter"]["count"]["value"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_arrives_before_the_reply_and_is_undone_on_failure() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "count_to", "payload": 3}),
    )
    .await;
    for step in 1..=3 {
        let push = recv(&mut socket).await;
        assert!(push.get("seq").is_none(), "progress is a push: {push}");
        assert_eq!(push["changes"]["counter"]["count"], json!({"op": "set", "value": step}));
    }
    let reply = recv(&mut socket).await;
    assert_eq!(reply["seq"], 1);
    assert_eq!(reply["changes"], json!({}), "everything was already shown: {reply}");

    send(
        &mut socket,
        json!({"type": "event", "seq": 2, "state": "counter", "handler": "count_and_fail"}),
    )
    .await;
    for step in [4, 5] {
        assert_eq!(recv(&mut socket).await["changes"]["counter"]["count"]["value"], step);
    }
    let undo = recv(&mut socket).await;
    assert_eq!(
        undo["changes"]["counter"]["count"],
        json!({"op": "set", "value": 3}),
        "the failure rolled the state back, and the client is told: {undo}"
    );
    let error = recv(&mut socket).await;
    assert_eq!(
        (error["type"].as_str(), error["seq"].as_u64()),
        (Some("error"), Some(2))
    );
    assert_eq!(error["message"], "gave up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_work_updates_the_tab_later() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "later", "payload": 42}),
    )
    .await;
    let reply = recv(&mut socket).await;
    assert_eq!((reply["seq"].as_u64(), &reply["changes"]), (Some(1), &json!({})));
    let push = recv(&mut socket).await;
    assert!(push.get("seq").is_none(), "{push}");
    assert_eq!(push["changes"]["counter"]["count"], json!({"op": "set", "value": 42}));
    send(
        &mut socket,
        json!({"type": "event", "seq": 2, "state": "counter", "handler": "increment"}),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await["changes"]["counter"]["count"]["value"],
        43,
        "the background update was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_pushes_keep_their_place_among_replies() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    send(
        &mut socket,
        json!({"type": "event", "seq": 1, "state": "counter", "handler": "later", "payload": 1000}),
    )
    .await;
    // Keep the tab busy while the update lands: the client applies frames in the order
    // they arrive, so the value it ends with must be the server's.
    let mut shown = 0;
    let mut pushed = false;
    let mut seq = 1;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(300) {
        seq += 1;
        send(
            &mut socket,
            json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment"}),
        )
        .await;
        loop {
            let frame = recv(&mut socket).await;
            if let Some(value) = frame["changes"]["counter"]["count"]["value"].as_i64() {
                shown = value;
            }
            if frame.get("seq").is_none() {
                pushed = true;
            } else if frame["seq"] == seq {
                break;
            }
        }
    }
    assert!(pushed, "the background update was pushed");
    seq += 1;
    send(
        &mut socket,
        json!({"type": "event", "seq": seq, "state": "counter", "handler": "increment"}),
    )
    .await;
    let last = recv(&mut socket).await;
    assert_eq!(
        last["changes"]["counter"]["count"]["value"].as_i64(),
        Some(shown + 1),
        "the client's copy followed the server's"
    );
}
