//! The `State` trait: a named bundle of vars that lives on the server, per browser tab.

use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{EventCtx, EventError};

/// What a handler returns: `Ok(())`, or an error the client is shown (the state is then
/// rolled back to what it was before the event).
pub type EventResult = Result<(), EventError>;

/// A handler as the dispatcher calls it: the payload arrives as JSON and the generated
/// wrapper turns it into the handler's typed arguments (a bad payload is
/// [`EventError::bad_payload`]).
pub type HandlerFn<S> = for<'a> fn(&'a mut S, &'a mut EventCtx, Value) -> LocalBoxFuture<'a, EventResult>;

/// One named event handler of a state.
pub struct HandlerDef<S> {
    /// The name clients send in `event.handler`.
    pub name: &'static str,
    /// The handler.
    pub call: HandlerFn<S>,
}

impl<S> Clone for HandlerDef<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for HandlerDef<S> {}

impl<S> std::fmt::Debug for HandlerDef<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerDef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A state's handlers and computed vars; written by `#[events]` on an `impl` block.
pub trait Events: Sized {
    /// Every handler, by name.
    fn handlers() -> Vec<HandlerDef<Self>>;

    /// Vars computed from the others, recomputed after every change and sent only when
    /// their value changes.
    fn computed(&self) -> Map<String, Value> {
        Map::new()
    }
}

/// Server-side state for one tab: serializable vars, some of them backend-only, and event
/// handlers. Usually derived: `#[derive(State)]` plus `#[events]` on the handlers' `impl`.
pub trait State: Events + Default + Serialize + DeserializeOwned + 'static {
    /// The state's name on the wire, unique in the app.
    const NAME: &'static str;
    /// Fields kept on the server and never sent to the browser.
    const BACKEND_VARS: &'static [&'static str] = &[];
    /// Whether only logged-in users may load and use it.
    const LOGIN_REQUIRED: bool = false;

    /// The field that identifies items of list var `var`, for keyed list deltas (default `id`).
    fn list_key(var: &str) -> Option<&'static str> {
        let _ = var;
        Some("id")
    }

    /// Checks the state's definition when it is registered (an error stops start-up).
    fn check() -> Result<(), String> {
        Ok(())
    }
}
