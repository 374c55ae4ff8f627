//! `#[derive(State)]` and `#[events]`: the generated `State` and `Events` impls, and the
//! handlers' payload mapping run against a detached context.

use duet_models::Db;
use duet_state::{EventCtx, EventError, EventResult, Events, HandlerDef, State, events};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    sku: String,
}

#[derive(Debug, Default, Clone, PartialEq, State, Serialize, Deserialize)]
struct CounterState {
    count: i64,
    #[state(backend)]
    clicks_today: u32,
    #[state(key = "sku")]
    items: Vec<Item>,
    rows: Vec<Value>,
    label: Option<String>,
}

#[events]
impl CounterState {
    async fn increment(&mut self, ctx: &mut EventCtx) -> EventResult {
        self.count += 1;
        self.clicks_today += 1;
        Ok(())
    }

    async fn set_to(&mut self, ctx: &mut EventCtx, value: i64) -> EventResult {
        self.count = value;
        Ok(())
    }

    async fn add(&mut self, _ctx: &mut EventCtx, a: i64, b: i64) -> EventResult {
        self.count = a + b;
        Ok(())
    }

    /// An optional argument may be left out.
    async fn relabel(&mut self, _: &mut EventCtx, count: i64, label: Option<String>) -> Result<(), EventError> {
        self.count = count;
        self.label = label;
        Ok(())
    }

    async fn fail(&mut self, ctx: &mut duet_state::EventCtx) -> duet_state::EventResult {
        self.count = -1;
        Err(EventError::msg("nope"))
    }

    async fn add_item(&mut self, ctx: &mut EventCtx, item: Item) -> EventResult {
        ctx.redirect("/items");
        self.items.push(item);
        Ok(())
    }

    #[computed]
    fn doubled(&self) -> i64 {
        self.count * 2
    }

    #[computed]
    fn summary(&self) -> String {
        format!("{} clicks", self.count)
    }

    fn helper(&self) -> bool {
        self.count > 0
    }

    async fn async_helper(&self) -> i64 {
        self.count
    }
}

#[derive(Default, State, Serialize, Deserialize)]
#[state(name = "orders", login_required)]
#[serde(rename_all = "camelCase")]
struct OrderListState {
    #[state(backend)]
    #[serde(rename = "secretNote")]
    note: String,
    #[state(backend)]
    owner_id: i64,
    #[state(key = "orderId")]
    open_orders: Vec<Value>,
}

#[events]
impl OrderListState {}

#[derive(Default, State, Serialize, Deserialize)]
#[state(name = "split")]
#[state(login_required)]
struct Plain {
    r#type: String,
    #[state(backend)]
    r#ref: String,
}

#[events]
impl Plain {}

/// Raw identifiers, `Self` in an argument, a `#[cfg]`'d handler and computed var.
#[derive(Debug, Default, Clone, PartialEq, State, Serialize, Deserialize)]
struct EdgeState {
    value: i64,
}

#[events]
impl EdgeState {
    async fn r#move(&mut self, _: &mut EventCtx, r#to: i64) -> EventResult {
        self.value = to;
        Ok(())
    }

    async fn replace(&mut self, _: &mut EventCtx, with: Self, times: Option<i64>) -> EventResult {
        self.value = with.value * times.unwrap_or(1);
        Ok(())
    }

    #[cfg(any())]
    async fn compiled_out(&mut self, _: &mut EventCtx) -> EventResult {
        Ok(())
    }

    #[cfg(any())]
    #[computed]
    fn compiled_out_var(&self) -> i64 {
        0
    }

    #[computed]
    fn r#as(&self) -> impl Serialize + use<> {
        "as"
    }
}

async fn ctx() -> EventCtx {
    EventCtx::detached(Db::connect_url("sqlite://:memory:").await.unwrap())
}

fn handler<S: Events>(name: &str) -> HandlerDef<S> {
    S::handlers()
        .into_iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no handler {name}"))
}

/// Runs `name` with `payload` on `state`.
async fn call<S: Events>(state: &mut S, name: &str, payload: Value) -> EventResult {
    let mut ctx = ctx().await;
    (handler::<S>(name).call)(state, &mut ctx, payload).await
}

#[test]
fn names_default_to_the_type_name_in_snake_case_without_state() {
    assert_eq!(CounterState::NAME, "counter");
    assert_eq!(OrderListState::NAME, "orders");
    assert_eq!(Plain::NAME, "split");
}

#[test]
fn backend_vars_use_serde_names() {
    assert_eq!(CounterState::BACKEND_VARS, ["clicks_today"]);
    assert_eq!(OrderListState::BACKEND_VARS, ["secretNote", "ownerId"]);
    assert_eq!(Plain::BACKEND_VARS, ["ref"]);
}

#[test]
fn login_required() {
    let login_required = [
        CounterState::LOGIN_REQUIRED,
        OrderListState::LOGIN_REQUIRED,
        Plain::LOGIN_REQUIRED,
    ];
    assert_eq!(login_required, [false, true, true]);
}

#[test]
fn list_keys_default_to_id() {
    assert_eq!(CounterState::list_key("items"), Some("sku"));
    assert_eq!(CounterState::list_key("rows"), Some("id"));
    assert_eq!(CounterState::list_key("count"), Some("id"));
    assert_eq!(OrderListState::list_key("openOrders"), Some("orderId"));
    assert_eq!(OrderListState::list_key("open_orders"), Some("id"));
    assert_eq!(Plain::list_key("type"), Some("id"));
}

#[test]
fn handlers_are_the_async_fns_taking_mut_self_and_ctx() {
    let names: Vec<_> = CounterState::handlers().iter().map(|h| h.name).collect();
    assert_eq!(names, ["increment", "set_to", "add", "relabel", "fail", "add_item"]);
    assert!(OrderListState::handlers().is_empty());
    let state = CounterState::default();
    assert!(!state.helper());
    assert_eq!(futures_util::FutureExt::now_or_never(state.async_helper()), Some(0));
}

#[tokio::test]
async fn no_arguments_take_null_or_an_empty_object() {
    let mut state = CounterState::default();
    call(&mut state, "increment", Value::Null).await.unwrap();
    call(&mut state, "increment", json!({})).await.unwrap();
    assert_eq!((state.count, state.clicks_today), (2, 2));
}

#[tokio::test]
async fn one_argument_is_the_payload_itself() {
    let mut state = CounterState::default();
    call(&mut state, "set_to", json!(5)).await.unwrap();
    assert_eq!(state.count, 5);
    call(&mut state, "add_item", json!({"sku": "A-1"})).await.unwrap();
    assert_eq!(state.items, [Item { sku: "A-1".into() }]);
}

#[tokio::test]
async fn several_arguments_take_an_object_or_an_array() {
    let mut state = CounterState::default();
    call(&mut state, "add", json!({"a": 1, "b": 2})).await.unwrap();
    assert_eq!(state.count, 3);
    call(&mut state, "add", json!([10, 20])).await.unwrap();
    assert_eq!(state.count, 30);
    call(&mut state, "relabel", json!({"count": 7})).await.unwrap();
    assert_eq!((state.count, state.label.as_deref()), (7, None));
    call(&mut state, "relabel", json!([8, "eight"])).await.unwrap();
    assert_eq!((state.count, state.label.as_deref()), (8, Some("eight")));
    call(&mut state, "relabel", json!([9])).await.unwrap();
    assert_eq!((state.count, state.label.as_deref()), (9, None));
}

#[tokio::test]
async fn bad_payloads_are_refused_before_the_handler_runs() {
    let cases = [
        ("increment", json!(5), "takes no arguments"),
        ("increment", json!({"a": 1}), "takes no arguments"),
        ("set_to", json!("x"), "argument `value`"),
        ("set_to", Value::Null, "argument `value`"),
        ("add", json!({"a": 1}), "missing argument `b`"),
        ("add", json!({"a": 1, "b": 2, "c": 3}), "unknown argument `c`"),
        ("add", json!({"a": 1, "b": "two"}), "argument `b`"),
        ("add", json!([1]), "missing argument `b`"),
        ("add", json!([1, 2, 3]), "at most 2 arguments"),
        ("add", json!(5), "an object with `a`, `b` or an array of 2 arguments"),
        ("add", Value::Null, "missing argument `a`"),
        ("relabel", json!({"label": "x"}), "missing argument `count`"),
        ("add_item", json!({"name": "A-1"}), "argument `item`"),
    ];
    for (name, payload, expected) in cases {
        let mut state = CounterState {
            count: 42,
            ..CounterState::default()
        };
        let before = state.clone();
        let error = call(&mut state, name, payload.clone()).await.unwrap_err();
        assert_eq!(error.code.as_str(), "bad_payload", "{name}({payload})");
        assert!(error.message.contains(expected), "{name}({payload}): {}", error.message);
        assert_eq!(state, before, "{name}({payload}) ran");
    }
}

#[tokio::test]
async fn handler_errors_propagate() {
    let mut state = CounterState::default();
    let error = call(&mut state, "fail", Value::Null).await.unwrap_err();
    assert_eq!(error, EventError::msg("nope"));
}

#[tokio::test]
async fn handlers_reach_the_context() {
    let mut state = CounterState::default();
    let mut ctx = ctx().await;
    (handler::<CounterState>("add_item").call)(&mut state, &mut ctx, json!({"sku": "B"}))
        .await
        .unwrap();
    assert_eq!(
        ctx.take_actions(),
        [duet_state::ClientAction::Redirect { to: "/items".into() }]
    );
}

#[tokio::test]
async fn raw_names_self_arguments_and_cfg() {
    assert_eq!(EdgeState::NAME, "edge");
    let names: Vec<_> = EdgeState::handlers().iter().map(|h| h.name).collect();
    assert_eq!(names, ["move", "replace"]);
    let mut state = EdgeState::default();
    call(&mut state, "move", json!(3)).await.unwrap();
    assert_eq!(state.value, 3);
    call(&mut state, "replace", json!({"with": {"value": 4}, "times": 2}))
        .await
        .unwrap();
    assert_eq!(state.value, 8);
    call(&mut state, "replace", json!([{"value": 5}])).await.unwrap();
    assert_eq!(state.value, 5);
    assert_eq!(state.computed(), json!({"as": "as"}).as_object().cloned().unwrap());
}

#[test]
fn computed_vars() {
    let state = CounterState {
        count: 4,
        ..CounterState::default()
    };
    let computed = state.computed();
    assert_eq!(computed.len(), 2);
    assert_eq!(computed["doubled"], json!(8));
    assert_eq!(computed["summary"], json!("4 clicks"));
    assert!(OrderListState::default().computed().is_empty());
}

#[test]
fn a_derived_state_registers() {
    let mut registry = duet_state::Registry::new();
    registry.register::<CounterState>().unwrap();
    registry.register::<OrderListState>().unwrap();
    registry.register::<Plain>().unwrap();
}
