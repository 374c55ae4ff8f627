//! Nothing stored for a visitor who has done nothing, and no frame that can brick a tab:
//! server-issued tokens, tabs bound to their session, rate-limited new tabs, bounded paths,
//! sequences and tab sizes. Real sockets over TCP.

mod common;

use std::time::Duration;

use common::app::{hello, recv, send, start};
use duet_state::{Rate, SocketConfig};
use serde_json::{Value, json};

fn event(seq: u64, handler: &str, payload: &Value) -> Value {
    json!({"type": "event", "seq": seq, "state": "counter", "handler": handler, "payload": payload})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_chosen_token_is_replaced_by_a_server_issued_one() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    let chosen = "chosen-by-the-client-0123";
    let hydrate = hello(&mut socket, Some(chosen)).await;
    let issued = hydrate["tab"].as_str().unwrap();
    assert_ne!(issued, chosen, "{hydrate}");
    assert!(issued.len() >= 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_tab_belongs_to_its_session() {
    let app = start(SocketConfig::default()).await;
    let mine = app.anonymous_session().await;
    let mut socket = app.connect(Some(&mine), None).await.unwrap();
    let tab = hello(&mut socket, None).await["tab"].as_str().unwrap().to_owned();
    send(&mut socket, event(1, "set_to", &json!(42))).await;
    assert_eq!(recv(&mut socket).await["changes"]["counter"]["count"]["value"], 42);

    // Someone else with the token: another session, or no session at all.
    let theirs = app.anonymous_session().await;
    for cookie in [Some(theirs.as_str()), None] {
        let mut other = app.connect(cookie, None).await.unwrap();
        let hydrate = hello(&mut other, Some(&tab)).await;
        assert_ne!(hydrate["tab"], tab, "{cookie:?} got a tab of its own: {hydrate}");
        assert_eq!(hydrate["states"]["counter"]["count"], 0);
    }
    // The session itself gets its tab back on a new socket.
    let mut again = app.connect(Some(&mine), None).await.unwrap();
    let hydrate = hello(&mut again, Some(&tab)).await;
    assert_eq!(
        (hydrate["tab"].as_str(), hydrate["states"]["counter"]["count"].as_i64()),
        (Some(tab.as_str()), Some(42))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_tabs_are_rate_limited_per_connection_and_per_address() {
    let app = start(SocketConfig {
        new_tabs_per_connection: Rate::new(3, Duration::from_secs(60)),
        new_tabs_per_address: Some(Rate::new(5, Duration::from_secs(60))),
        ..SocketConfig::default()
    })
    .await;
    let mut socket = app.connect(None, None).await.unwrap();
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let hydrate = hello(&mut socket, None).await;
        assert_eq!(hydrate["type"], "hydrate", "{hydrate}");
        tabs.push(hydrate["tab"].as_str().unwrap().to_owned());
    }
    let refused = hello(&mut socket, None).await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("rate_limited")),
        "{refused}"
    );
    // Its own tabs it may still open again: nothing new is stored.
    assert_eq!(hello(&mut socket, Some(&tabs[0])).await["tab"], tabs[0]);
    // Another connection from the same address has what is left of the address's five.
    let mut second = app.connect(None, None).await.unwrap();
    assert_eq!(hello(&mut second, None).await["type"], "hydrate");
    assert_eq!(hello(&mut second, None).await["type"], "hydrate");
    assert_eq!(hello(&mut second, None).await["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_route_paths_are_refused_before_anything_is_stored() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    let path = format!("/{}", "a".repeat(60 * 1000));
    send(
        &mut socket,
        json!({"type": "hello", "protocol": 1, "tab": null, "route": {"path": path}}),
    )
    .await;
    let refused = recv(&mut socket).await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("bad_message")),
        "{refused}"
    );
    assert!(
        refused["message"].as_str().unwrap().contains("at most 2048"),
        "{refused}"
    );
    assert_eq!(
        hello(&mut socket, None).await["type"],
        "hydrate",
        "the socket still serves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_frame_bricks_a_tab() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    for (seq, code) in [
        (u64::MAX, "bad_message"),
        (1 << 53, "bad_message"),
        ((1 << 20) + 1, "out_of_order"),
    ] {
        send(&mut socket, event(seq, "increment", &Value::Null)).await;
        let refused = recv(&mut socket).await;
        assert_eq!(refused["code"], code, "seq {seq}: {refused}");
    }
    send(&mut socket, event(1, "increment", &Value::Null)).await;
    let applied = recv(&mut socket).await;
    assert_eq!(
        (
            applied["seq"].as_u64(),
            applied["changes"]["counter"]["count"]["value"].as_i64()
        ),
        (Some(1), Some(1)),
        "{applied}"
    );
    send(&mut socket, event(1 << 20, "increment", &Value::Null)).await;
    assert_eq!(
        recv(&mut socket).await["changes"]["counter"]["count"]["value"],
        2,
        "a jump within the bound applies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_cannot_grow_past_the_stores_limit() {
    let app = start(SocketConfig::default()).await;
    let mut socket = app.connect(None, None).await.unwrap();
    hello(&mut socket, None).await;
    // 30,000 rows of about 50 bytes: past the default 1 MiB.
    send(&mut socket, event(1, "fill", &json!(30_000))).await;
    let refused = recv(&mut socket).await;
    assert_eq!(
        (refused["seq"].as_u64(), refused["code"].as_str()),
        (Some(1), Some("too_large")),
        "{refused}"
    );
    send(&mut socket, event(2, "fill", &json!(3))).await;
    let applied = recv(&mut socket).await;
    assert_eq!(
        (applied["type"].as_str(), applied["seq"].as_u64()),
        (Some("delta"), Some(2)),
        "{applied}"
    );
}
