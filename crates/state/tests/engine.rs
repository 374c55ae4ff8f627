//! The protocol engine without a socket: hydrate, events, exactly-once, rollback, routes.

mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use duet_models::{Db, NewUser, User};
use duet_state::wire::{ClientRoute, ServerMessage};
use duet_state::{Caller, Engine, MemoryStateManager};
use serde_json::{Value, json};

async fn engine(ttl: Duration) -> Engine {
    let db = Db::connect_url("sqlite://:memory:").await.unwrap();
    db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await.unwrap();
    Engine::new(
        common::registry(),
        Arc::new(MemoryStateManager::new(ttl)),
        db,
        duet_state::Broadcaster::new(),
    )
}

fn route(path: &str) -> ClientRoute {
    ClientRoute { path: path.into() }
}

async fn hello(engine: &Engine, caller: &Caller, tab: Option<&str>) -> (String, Value) {
    let (tab, hydrate) = engine
        .hello(caller, tab.map(str::to_owned), &route("/"), None)
        .await
        .unwrap();
    (tab, serde_json::to_value(hydrate).unwrap())
}

fn text(message: &ServerMessage) -> Value {
    serde_json::to_value(message).unwrap()
}

#[tokio::test]
async fn hydrate_sends_client_vars_only() {
    let engine = engine(Duration::from_secs(60)).await;
    let (tab, hydrate) = hello(&engine, &Caller::default(), None).await;
    assert!(tab.len() >= 16);
    assert_eq!(hydrate["type"], "hydrate");
    assert_eq!(
        hydrate["states"]["counter"],
        json!({"count": 0, "rows": [], "doubled": 0}),
        "no backend var"
    );
    assert!(
        hydrate["states"].get("private").is_none(),
        "login-required states are not sent to anonymous users"
    );
    assert_eq!(hydrate["router"], json!({"path": "/", "params": {}}));
}

#[tokio::test]
async fn events_answer_with_deltas_exactly_once() {
    let engine = engine(Duration::from_secs(60)).await;
    let caller = Caller::default();
    let (tab, _) = hello(&engine, &caller, None).await;
    let first = engine
        .event(&caller, &tab, 1, None, "counter", "increment", Value::Null)
        .await;
    assert_eq!(
        text(&first),
        json!({"type": "delta", "seq": 1, "changes": {"counter": {"count": {"op": "set", "value": 1}, "doubled": {"op": "set", "value": 2}}}})
    );
    // The client resends seq 1 after a reconnect: same reply, applied once.
    let again = engine
        .event(&caller, &tab, 1, None, "counter", "increment", Value::Null)
        .await;
    assert_eq!(again, first);
    let (_, hydrate) = hello(&engine, &caller, Some(&tab)).await;
    assert_eq!(hydrate["states"]["counter"]["count"], 1);
    assert_eq!(hydrate["seq"], 1);

    // 100 pipelined events, in order.
    for seq in 2..=101 {
        let reply = engine
            .event(&caller, &tab, seq, None, "counter", "increment", Value::Null)
            .await;
        assert_eq!(text(&reply)["seq"], seq);
    }
    let (_, hydrate) = hello(&engine, &caller, Some(&tab)).await;
    assert_eq!(hydrate["states"]["counter"]["count"], 101);

    // Acknowledged replies are forgotten: a very old seq is refused, not re-run.
    engine
        .hello(&caller, Some(tab.clone()), &route("/"), Some(101))
        .await
        .unwrap();
    let old = engine
        .event(&caller, &tab, 50, None, "counter", "increment", Value::Null)
        .await;
    assert_eq!(text(&old)["code"], "out_of_order");
}

#[tokio::test]
async fn failures_leave_the_state_as_it_was() {
    let engine = engine(Duration::from_secs(60)).await;
    let caller = Caller::default();
    let (tab, _) = hello(&engine, &caller, None).await;
    engine
        .event(&caller, &tab, 1, None, "counter", "set_to", json!(7))
        .await;
    let cases = [
        (2, "counter", "set_to", json!("seven"), "bad_payload"),
        (3, "counter", "fail", Value::Null, "handler_failed"),
        (4, "counter", "boom", Value::Null, "handler_failed"),
        (5, "nope", "increment", Value::Null, "unknown_state"),
        (6, "counter", "nope", Value::Null, "unknown_handler"),
        (7, "private", "anything", Value::Null, "login_required"),
    ];
    for (seq, state, handler, payload, code) in cases {
        let reply = text(&engine.event(&caller, &tab, seq, None, state, handler, payload).await);
        assert_eq!(
            (reply["type"].as_str(), reply["seq"].as_u64(), reply["code"].as_str()),
            (Some("error"), Some(seq), Some(code)),
            "{handler}"
        );
    }
    assert_eq!(
        text(
            &engine
                .event(&caller, &tab, 4, None, "counter", "boom", Value::Null)
                .await
        )["code"],
        "handler_failed",
        "errors are replayed too"
    );
    let (_, hydrate) = hello(&engine, &caller, Some(&tab)).await;
    assert_eq!(hydrate["states"]["counter"]["count"], 7, "no failure changed the state");
    assert_eq!(
        text(
            &engine
                .event(
                    &caller,
                    "unknown-tab-token-123",
                    1,
                    None,
                    "counter",
                    "increment",
                    Value::Null
                )
                .await
        )["code"],
        "not_hydrated"
    );
}

#[tokio::test]
async fn appending_to_a_long_list_sends_one_row() {
    let engine = engine(Duration::from_secs(60)).await;
    let caller = Caller::default();
    let (tab, _) = hello(&engine, &caller, None).await;
    engine
        .event(&caller, &tab, 1, None, "counter", "fill", json!(10_000))
        .await;
    let reply = engine
        .event(&caller, &tab, 2, None, "counter", "add_row", Value::Null)
        .await;
    let frame = reply.to_text();
    assert!(frame.len() < 200, "{} bytes: {frame}", frame.len());
    assert_eq!(
        text(&reply)["changes"]["counter"]["rows"],
        json!({"op": "list", "ops": [{"op": "append", "values": [{"id": 10_000, "status": "paid", "total": "12.50"}]}]})
    );
}

#[tokio::test]
async fn routes_run_on_load_and_send_router_data_once() {
    let engine = engine(Duration::from_secs(60)).await;
    let caller = Caller::default();
    let (tab, hydrate) = engine.hello(&caller, None, &route("/orders/5"), None).await.unwrap();
    let hydrate = text(&hydrate);
    assert_eq!(hydrate["router"], json!({"path": "/orders/5", "params": {"id": "5"}}));
    assert_eq!(hydrate["states"]["counter"]["count"], 5, "on_load ran before hydrate");
    let moved = text(&engine.navigate(&caller, &tab, 1, None, &route("/orders/9")).await);
    assert_eq!(moved["router"], json!({"path": "/orders/9", "params": {"id": "9"}}));
    assert_eq!(moved["changes"]["counter"]["count"], json!({"op": "set", "value": 9}));
    let event = text(
        &engine
            .event(&caller, &tab, 2, None, "counter", "increment", Value::Null)
            .await,
    );
    assert!(event.get("router").is_none(), "router data is not resent with events");
    let home = text(&engine.navigate(&caller, &tab, 3, None, &route("/")).await);
    assert_eq!(home["changes"], json!({}), "no on_load for /");
}

#[tokio::test]
async fn tabs_belong_to_their_user_and_expire() {
    let engine = engine(Duration::from_millis(50)).await;
    let db = Db::connect_url("sqlite://:memory:").await.unwrap();
    db.migrate(&[duet_models::FRAMEWORK_MIGRATIONS]).await.unwrap();
    let ada = User::create(
        &db,
        NewUser {
            username: "ada".into(),
            password: "pw".into(),
            ..NewUser::default()
        },
    )
    .await
    .unwrap();
    let ada = Caller::new(Some(Rc::new(ada)));
    let (tab, hydrate) = hello(&engine, &ada, None).await;
    assert!(
        hydrate["states"].get("private").is_some(),
        "logged-in users get login-required states"
    );
    engine.event(&ada, &tab, 1, None, "counter", "set_to", json!(3)).await;

    // Anonymous (or another user) presenting Ada's token gets a fresh tab.
    let (other_tab, other) = hello(&engine, &Caller::default(), Some(&tab)).await;
    assert_ne!(other_tab, tab);
    assert_eq!(other["states"]["counter"]["count"], 0);
    assert_eq!(
        text(
            &engine
                .event(&Caller::default(), &tab, 2, None, "counter", "increment", Value::Null)
                .await
        )["code"],
        "not_hydrated"
    );

    // Idle past the TTL, the tab is gone.
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (_, expired) = hello(&engine, &ada, Some(&tab)).await;
    assert_eq!(expired["states"]["counter"]["count"], 0);
}

#[tokio::test]
async fn acknowledged_replies_are_forgotten() {
    let engine = engine(Duration::from_secs(60)).await;
    let caller = Caller::default();
    let (tab, _) = hello(&engine, &caller, None).await;
    engine
        .event(&caller, &tab, 1, None, "counter", "increment", Value::Null)
        .await;
    let again = engine
        .event(&caller, &tab, 1, None, "counter", "increment", Value::Null)
        .await;
    assert_eq!(text(&again)["seq"], 1, "an unacknowledged reply is replayed");
    engine
        .event(&caller, &tab, 2, Some(1), "counter", "increment", Value::Null)
        .await;
    let forgotten = engine
        .event(&caller, &tab, 1, None, "counter", "increment", Value::Null)
        .await;
    assert_eq!(text(&forgotten)["code"], "out_of_order", "seq 1 was acknowledged");
    let kept = engine
        .event(&caller, &tab, 2, None, "counter", "increment", Value::Null)
        .await;
    assert_eq!(text(&kept)["changes"]["counter"]["count"]["value"], 2);
}
