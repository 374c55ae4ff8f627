//! Streams through the engine: their ops go out in the event's frame and the hydrate, and
//! the stored tab holds none of their items.

use std::sync::Arc;
use std::time::Duration;

use duet_models::Db;
use duet_state::wire::{ClientRoute, ServerMessage};
use duet_state::{
    Caller, Engine, EventCtx, EventResult, MemoryStateManager, Registry, State, StateManager, Stream, events,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize)]
struct Item {
    id: i64,
    text: String,
}

#[derive(State, Default, Serialize, Deserialize)]
#[state(name = "feed")]
struct FeedState {
    items: Stream<Item>,
    /// The next item's id.
    next: i64,
}

#[events]
impl FeedState {
    /// The page's on_load: a fresh stream of three items.
    async fn load(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.items.reset();
        for _ in 0..3 {
            self.add_one();
        }
        Ok(())
    }

    async fn add(&mut self, _ctx: &mut EventCtx, count: i64) -> EventResult {
        for _ in 0..count {
            self.add_one();
        }
        Ok(())
    }

    /// Shows one item, flushes, shows another: the reply carries only the second.
    async fn add_in_steps(&mut self, ctx: &mut EventCtx) -> EventResult {
        self.add_one();
        ctx.flush(self).await;
        self.add_one();
        Ok(())
    }

    async fn change(&mut self, _ctx: &mut EventCtx, id: i64) -> EventResult {
        self.items.update(&Item {
            id,
            text: "changed".into(),
        });
        self.items.delete(id + 1);
        self.items.limit(-100);
        Ok(())
    }

    async fn fail_after_adding(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.add_one();
        Err(duet_state::EventError::msg("no"))
    }
}

impl FeedState {
    fn add_one(&mut self) {
        self.next += 1;
        let item = Item {
            id: self.next,
            text: format!("item {}", self.next),
        };
        self.items.prepend(&item);
    }
}

async fn engine() -> (Engine, Arc<MemoryStateManager>) {
    let db = Db::connect_url("sqlite://:memory:").await.unwrap();
    let mut registry = Registry::new();
    registry.register::<FeedState>().unwrap();
    registry.on_load("/feed", "feed", "load").unwrap();
    let manager = Arc::new(MemoryStateManager::new(Duration::from_secs(60)));
    let engine = Engine::new(
        registry,
        Arc::clone(&manager) as Arc<dyn StateManager>,
        db,
        duet_state::Broadcaster::new(),
    );
    (engine, manager)
}

fn route(path: &str) -> ClientRoute {
    ClientRoute { path: path.into() }
}

fn json_of(message: &ServerMessage) -> Value {
    serde_json::to_value(message).unwrap()
}

fn insert_first(id: i64) -> Value {
    json!({"op": "insert", "at": 0, "item": {"id": id, "text": format!("item {id}")}})
}

/// What the store holds of the tab's `feed` state.
async fn stored(manager: &MemoryStateManager, tab: &str) -> Value {
    let mut lock = manager.lock(tab).await.unwrap();
    let record = lock.record.take().expect("the tab is stored");
    manager.release(lock);
    Value::Object(record.states["feed"].clone())
}

#[tokio::test]
async fn a_hydrate_resets_each_stream_then_carries_what_on_load_streamed() {
    let (engine, manager) = engine().await;
    let caller = Caller::default();
    let (tab, hydrate) = engine.hello(&caller, None, &route("/feed"), None).await.unwrap();
    let hydrate = json_of(&hydrate);
    assert_eq!(
        hydrate["states"]["feed"],
        json!({"items": [], "next": 3}),
        "no items in the state"
    );
    assert_eq!(
        hydrate["streams"]["feed"]["items"],
        json!({"op": "stream", "ops": [{"op": "reset"}, insert_first(1), insert_first(2), insert_first(3)]})
    );
    assert_eq!(stored(&manager, &tab).await, json!({"items": [], "next": 3}));

    // On a page without on_load the stream is only reset: the page renders afresh.
    let (_, elsewhere) = engine.hello(&caller, Some(tab), &route("/"), None).await.unwrap();
    assert_eq!(
        json_of(&elsewhere)["streams"]["feed"]["items"],
        json!({"op": "stream", "ops": [{"op": "reset"}]})
    );
}

#[tokio::test]
async fn stream_ops_go_out_once_and_the_store_keeps_no_items() {
    let (engine, manager) = engine().await;
    let caller = Caller::default();
    let (tab, _) = engine.hello(&caller, None, &route("/feed"), None).await.unwrap();
    let small = stored(&manager, &tab).await.to_string();

    let reply = json_of(&engine.event(&caller, &tab, 1, None, "feed", "add", json!(10_000)).await);
    assert_eq!(
        reply["changes"]["feed"]["items"]["ops"].as_array().unwrap().len(),
        10_000
    );
    let large = stored(&manager, &tab).await.to_string();
    assert_eq!(large, r#"{"items":[],"next":10003}"#);
    assert!(
        large.len() <= small.len() + 4,
        "10,000 items cost the store a counter's digits"
    );

    // The next event sends only its own ops: nothing queued is kept across events.
    let reply = json_of(&engine.event(&caller, &tab, 2, None, "feed", "change", json!(7)).await);
    assert_eq!(
        reply["changes"]["feed"],
        json!({"items": {"op": "stream", "ops": [
            {"op": "update", "item": {"id": 7, "text": "changed"}},
            {"op": "delete", "key": 8},
            {"op": "limit", "keep": -100},
        ]}})
    );

    // A failed event sends nothing, stream ops included, and stores nothing.
    let failed = json_of(
        &engine
            .event(&caller, &tab, 3, None, "feed", "fail_after_adding", Value::Null)
            .await,
    );
    assert_eq!(failed["type"], "error", "{failed}");
    assert_eq!(stored(&manager, &tab).await, json!({"items": [], "next": 10003}));
    let reply = json_of(&engine.event(&caller, &tab, 4, None, "feed", "add", json!(1)).await);
    assert_eq!(
        reply["changes"]["feed"],
        json!({"items": {"op": "stream", "ops": [insert_first(10_004)]}, "next": {"op": "set", "value": 10_004}})
    );
}

#[tokio::test]
async fn without_a_socket_a_flush_leaves_every_op_to_the_reply() {
    let (engine, _) = engine().await;
    let caller = Caller::default();
    let (tab, _) = engine.hello(&caller, None, &route("/feed"), None).await.unwrap();
    // Without a socket a flush sends nothing: every op is in the reply, once.
    let reply = json_of(
        &engine
            .event(&caller, &tab, 1, None, "feed", "add_in_steps", Value::Null)
            .await,
    );
    assert_eq!(
        reply["changes"]["feed"]["items"],
        json!({"op": "stream", "ops": [insert_first(4), insert_first(5)]})
    );
}
