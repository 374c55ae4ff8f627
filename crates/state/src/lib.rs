//! duet's event-state protocol: server-side state per browser tab, events from the SPA,
//! and minimal deltas back, over one WebSocket at `/_event` (docs/protocol.md, version 1).
//!
//! - [`State`] + [`Events`]: a named bundle of serializable vars (some backend-only), its
//!   event handlers and computed vars. [`Registry`] holds an app's states, type-erased
//!   over their JSON form, and its `on_load` handlers per route pattern.
//! - [`Engine`]: the protocol without the socket — `hello` hydrates a tab, `event` and
//!   `navigate` run handlers under the tab's lock, exactly once per `(tab, seq)`, rolling
//!   back on error or panic, and answer with only what changed ([`delta`]: keyed list
//!   operations, so appending one row to 10,000 sends one row).
//! - [`StateManager`]: where tabs live between events — lock-and-load, store-and-unlock,
//!   a lock that can be lost (fencing). [`MemoryStateManager`] keeps them in this process
//!   and forgets idle ones after a TTL.
//! - [`event_socket`] + [`EventService`]: the `/_event` endpoint — Origin check, the
//!   session's user resolved once at the handshake, frame limit, heartbeat and idle timeout,
//!   error frames ([`wire::ErrorCode`]) for bad input, close on floods; one writer per
//!   socket with a bounded outbox, so a client that stops reading is closed (4008), not
//!   buffered; new tabs rate-limited ([`SocketConfig`], [`Rate`]); [`Sockets`] closes a
//!   login's sockets when it logs out (duet-auth's `LogoutListener`).
//!
//! - [`Broadcaster`]: HTTP views and webhooks publish on a topic; tabs that subscribed
//!   (`ctx.subscribe(topic, handler)`) react under their lock and their sockets get the
//!   push. In-process, plus a [`Transport`] to the app's other instances.
//! - `redis` (feature `redis`): `RedisStateManager` and `RedisBroadcaster`, for many
//!   instances behind a load balancer (docs/deployment.md).
//! - `postgres` (feature `postgres`): `PgBroadcaster`, live updates and logouts across
//!   instances over PostgreSQL's `LISTEN`/`NOTIFY`, for deployments without Redis (tabs stay
//!   in each instance's memory).
//!
//! - [`macro@State`] + [`macro@events`]: the macros that write a state's `State` and
//!   `Events` impls (duet-state-macros, whose docs have the attribute and payload tables).
//! - [`ModelState`]: a tab's live list of one model's rows, scoped to its user, with
//!   permission-checked `refresh`/`create`/`update`/`delete` handlers, the model's own
//!   validation (errors in an `errors` var) and live updates from every write to the model;
//!   registered as [`ModelList<M>`](ModelList); with [`ModelState::STREAM_PAGE`] its rows
//!   are a stream, loaded a page at a time.
//! - [`Stream`]: a list var whose items only the browser keeps (append, prepend, insert,
//!   update and delete by key, reset, limit): a tab showing 10,000 rows costs the server
//!   what one showing ten does.
//! - Long handlers: [`EventCtx::flush`] sends progress before the handler returns;
//!   [`EventCtx::spawn`] starts background work that updates the tab later
//!   ([`Background::update`]), each change pushed to the tab's sockets.
//!
//! ```
//! use duet_state::{EventCtx, EventError, EventResult, Events, State, events};
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//!
//! #[derive(State, Default, Serialize, Deserialize)]
//! pub struct CounterState {
//!     count: i64,
//!     #[state(backend)] // never sent to the browser
//!     clicks_today: u32,
//! }
//!
//! #[events]
//! impl CounterState {
//!     async fn increment(&mut self, ctx: &mut EventCtx) -> EventResult {
//!         self.count += 1;
//!         self.clicks_today += 1;
//!         Ok(())
//!     }
//!     async fn set_to(&mut self, ctx: &mut EventCtx, value: i64) -> EventResult {
//!         if value < 0 {
//!             return Err(EventError::msg("The count can't be negative."));
//!         }
//!         self.count = value;
//!         Ok(())
//!     }
//!     #[computed]
//!     fn doubled(&self) -> i64 {
//!         self.count * 2
//!     }
//! }
//!
//! assert_eq!(CounterState::NAME, "counter");
//! assert_eq!(CounterState::BACKEND_VARS, ["clicks_today"]);
//! let names: Vec<_> = CounterState::handlers().iter().map(|h| h.name).collect();
//! assert_eq!(names, ["increment", "set_to"]);
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let db = duet_models::Db::connect_url("sqlite://:memory:").await.unwrap();
//! let mut ctx = EventCtx::detached(db);
//! let mut state = CounterState::default();
//! let set_to = CounterState::handlers()[1];
//! (set_to.call)(&mut state, &mut ctx, json!(5)).await.unwrap();
//! assert_eq!(state.computed()["doubled"], json!(10));
//! let error = (set_to.call)(&mut state, &mut ctx, json!("five")).await.unwrap_err();
//! assert_eq!(error.code, duet_state::wire::ErrorCode::BadPayload);
//! # });
//! ```

// The macros' code names `::duet_state::…`: this makes it resolve in this crate too (its
// unit tests), where nothing may use it yet.
#[allow(unused_extern_crates)]
extern crate self as duet_state;

mod background;
mod broadcast;
mod ctx;
pub mod delta;
mod engine;
mod error;
mod limits;
mod manager;
mod model_state;
mod outbox;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
mod registry;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod relay;
mod socket;
mod state;
mod stream;
pub mod wire;

pub use background::Background;
pub use broadcast::{BroadcastDrop, Broadcaster, Delivered, Transport};
pub use ctx::{ClientAction, EventCtx, Route, Toast, ToastLevel};
pub use delta::{Delta, DeltaError, ListOp, VarOp, apply_state, apply_var, diff_state, diff_var};
pub use engine::{Caller, Engine};
pub use error::EventError;
pub use limits::Rate;
pub use manager::{
    DEFAULT_MAX_TAB_BYTES, MemoryStateManager, StateManager, StoreError, Subscription, TabLock, TabRecord,
};
pub use model_state::{ModelList, ModelState};
pub use registry::{OnLoad, Outcome, Registry, RegistryError, StateEntry, Stored};
pub use socket::{EventService, SocketConfig, Sockets, event_socket};
pub use state::{EventResult, Events, HandlerDef, HandlerFn, State};
pub use stream::{Stream, StreamKey, StreamOp, StreamOps};

pub use duet_state_macros::{State, events};

// The lower layers' types that this crate's public signatures use, so that writing states
// needs no other duet crate.
pub use duet_auth::{Access, AllowAny, IsAuthenticated, IsOwner, IsStaff, Permission};
pub use duet_models::{Db, Input, ListQuery, Model, Scope, User, ValidationErrors};
pub use futures_util::future::LocalBoxFuture;

/// What the macros' generated code calls; not a public API.
#[doc(hidden)]
pub mod __private {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Map, Value};

    pub use futures_util::future::LocalBoxFuture;
    pub use serde_json;

    use crate::{EventError, EventResult};

    /// A handler's future, boxed for [`crate::HandlerFn`].
    pub fn boxed<'a>(future: impl Future<Output = EventResult> + 'a) -> LocalBoxFuture<'a, EventResult> {
        Box::pin(future)
    }

    /// A future that fails with `error` at once: the handler isn't run.
    pub fn fail<'a>(error: EventError) -> LocalBoxFuture<'a, EventResult> {
        Box::pin(std::future::ready(Err(error)))
    }

    /// A handler without arguments takes `null` (an absent payload) or `{}`.
    pub fn no_args(payload: &Value) -> Result<(), EventError> {
        match payload {
            Value::Null => Ok(()),
            Value::Object(map) if map.is_empty() => Ok(()),
            other => Err(EventError::bad_payload(format_args!(
                "this handler takes no arguments (send null or {{}}), got {}",
                kind(other)
            ))),
        }
    }

    /// A handler's only argument, `name`: the payload as is.
    pub fn single<T: DeserializeOwned>(name: &str, payload: Value) -> Result<T, EventError> {
        serde_json::from_value(payload).map_err(|e| EventError::bad_payload(format_args!("argument `{name}`: {e}")))
    }

    /// Two or more arguments, `names`: an object keyed by name or an array in order (`null`
    /// counts as `{}`). A missing argument is `None`; unknown keys and extra items are errors.
    pub fn split_args<const N: usize>(payload: Value, names: [&str; N]) -> Result<[Option<Value>; N], EventError> {
        match payload {
            Value::Null => Ok(std::array::from_fn(|_| None)),
            Value::Object(mut map) => {
                if let Some(unknown) = map.keys().find(|k| !names.contains(&k.as_str())) {
                    return Err(EventError::bad_payload(format_args!(
                        "unknown argument `{unknown}` (expected {})",
                        list(&names)
                    )));
                }
                Ok(names.map(|name| map.remove(name)))
            }
            Value::Array(items) if items.len() > N => Err(EventError::bad_payload(format_args!(
                "expected at most {N} arguments ({}), got {}",
                list(&names),
                items.len()
            ))),
            Value::Array(items) => {
                let mut items = items.into_iter();
                Ok(std::array::from_fn(|_| items.next()))
            }
            other => Err(EventError::bad_payload(format_args!(
                "expected an object with {} or an array of {N} arguments, got {}",
                list(&names),
                kind(&other)
            ))),
        }
    }

    /// Argument `name` of several; `None` if the payload left it out.
    pub fn arg<T: DeserializeOwned>(name: &str, value: Option<Value>) -> Result<T, EventError> {
        match value {
            Some(value) => single(name, value),
            None => serde_json::from_value(Value::Null)
                .map_err(|_| EventError::bad_payload(format_args!("missing argument `{name}`"))),
        }
    }

    /// Adds computed var `name` to `vars`, unless its value fails to serialize.
    pub fn insert_computed<T: Serialize + ?Sized>(vars: &mut Map<String, Value>, name: &str, value: &T) {
        if let Ok(value) = serde_json::to_value(value) {
            vars.insert(name.to_owned(), value);
        }
    }

    fn list(names: &[&str]) -> String {
        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    }

    fn kind(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}
