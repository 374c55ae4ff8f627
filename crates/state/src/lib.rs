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
//!   error frames for bad input, close on floods; [`Sockets`] closes a login's sockets when
//!   it logs out (duet-auth's `LogoutListener`).
//!
//! - [`Broadcaster`]: HTTP views and webhooks publish on a topic; tabs that subscribed
//!   (`ctx.subscribe(topic, handler)`) react under their lock and their sockets get the
//!   push. In-process; the Redis broadcaster comes with the scale-out work.
//!
//! Still to come (see the event-state issue): the `#[derive(State)]`/`#[events]` macros,
//! `ModelState`, progress updates and background work.

mod broadcast;
mod ctx;
pub mod delta;
mod engine;
mod error;
mod manager;
mod registry;
mod socket;
mod state;
pub mod wire;

pub use broadcast::Broadcaster;
pub use ctx::{ClientAction, EventCtx, Route};
pub use delta::{Delta, DeltaError, ListOp, VarOp, apply_state, apply_var, diff_state, diff_var};
pub use engine::{Caller, Engine};
pub use error::EventError;
pub use manager::{MemoryStateManager, StateManager, StoreError, Subscription, TabLock, TabRecord};
pub use registry::{OnLoad, Outcome, Registry, RegistryError, StateEntry, Stored};
pub use socket::{EventService, SocketConfig, Sockets, event_socket};
pub use state::{EventResult, Events, HandlerDef, HandlerFn, State};
