//! The app's states, registered once at start-up and handled through their JSON form, so a
//! tab's states can be stored anywhere (memory, Redis) without knowing their types.

use std::collections::{BTreeMap, HashMap};

use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};

use crate::delta::{Delta, VarOp, diff_state};
use crate::stream::{StreamOps, take_streams};
use crate::{EventCtx, EventError, HandlerDef, State};

/// A state's stored form: every var, backend ones included.
pub type Stored = Map<String, Value>;

type RunFn = for<'a> fn(
    &'a StateEntry,
    Option<Stored>,
    &'a str,
    Value,
    &'a mut EventCtx,
) -> LocalBoxFuture<'a, Result<Outcome, EventError>>;
type ViewFn = fn(&StateEntry, Option<Stored>) -> Outcome;

/// The result of running (or just loading) a state: its stored form and what the client sees.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every var, for the store.
    pub stored: Stored,
    /// The client's view: non-backend vars plus computed vars (a stream var is `[]`).
    pub client: Map<String, Value>,
    /// Every stream var, with the ops queued on it since the state was loaded (or last
    /// serialized, by a flush).
    pub streams: StreamOps,
}

impl Outcome {
    /// What the client must apply to go from `shown` to this outcome: the changed vars,
    /// and each stream's ops.
    pub fn delta_since(&self, shown: &Map<String, Value>, list_key: &dyn Fn(&str) -> Option<&'static str>) -> Delta {
        let mut delta = diff_state(shown, &self.client, list_key);
        for (var, ops) in &self.streams {
            if !ops.is_empty() {
                delta.insert(var.clone(), VarOp::Stream { ops: ops.clone() });
            }
        }
        delta
    }
}

/// One registered state, with its type erased.
pub struct StateEntry {
    name: &'static str,
    login_required: bool,
    handler_names: Vec<&'static str>,
    keys: fn(&str) -> Option<&'static str>,
    run: RunFn,
    view: ViewFn,
    handlers: Box<dyn std::any::Any + Send + Sync>,
    stream_vars: Vec<String>,
}

impl std::fmt::Debug for StateEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateEntry")
            .field("name", &self.name)
            .field("handlers", &self.handler_names)
            .finish()
    }
}

impl StateEntry {
    fn new<S: State>() -> StateEntry {
        let defs: HashMap<&'static str, HandlerDef<S>> = S::handlers().into_iter().map(|h| (h.name, h)).collect();
        let mut handler_names: Vec<&'static str> = defs.keys().copied().collect();
        handler_names.sort_unstable();
        StateEntry {
            name: S::NAME,
            login_required: S::LOGIN_REQUIRED,
            handler_names,
            keys: S::list_key,
            run: run::<S>,
            view: view::<S>,
            handlers: Box::new(defs),
            stream_vars: outcome(&S::default()).streams.into_keys().collect(),
        }
    }

    /// The state's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether anonymous users are refused.
    pub fn login_required(&self) -> bool {
        self.login_required
    }

    /// Its handlers' names, sorted.
    pub fn handler_names(&self) -> &[&'static str] {
        &self.handler_names
    }

    /// The key field of list var `var`.
    pub fn list_key(&self, var: &str) -> Option<&'static str> {
        (self.keys)(var)
    }

    /// Its stream vars (see [`Stream`](crate::Stream)).
    pub fn stream_vars(&self) -> impl Iterator<Item = &str> {
        self.stream_vars.iter().map(String::as_str)
    }

    /// Whether `var` is one of its stream vars.
    pub fn is_stream(&self, var: &str) -> bool {
        self.stream_vars.iter().any(|v| v == var)
    }

    /// Loads `stored` (or the default state) and returns its stored and client forms.
    pub fn view(&self, stored: Option<Stored>) -> Outcome {
        (self.view)(self, stored)
    }

    /// Runs `handler` with `payload` on `stored` (or the default state).
    pub fn run<'a>(
        &'a self,
        stored: Option<Stored>,
        handler: &'a str,
        payload: Value,
        ctx: &'a mut EventCtx,
    ) -> LocalBoxFuture<'a, Result<Outcome, EventError>> {
        (self.run)(self, stored, handler, payload, ctx)
    }
}

pub(crate) fn load<S: State>(name: &str, stored: Option<Stored>) -> S {
    match stored {
        None => S::default(),
        Some(map) => serde_json::from_value(Value::Object(map)).unwrap_or_else(|error| {
            // The state's type changed since it was stored (a deploy): start it afresh.
            tracing::warn!(state = name, %error, "stored state no longer fits its type; using the default");
            S::default()
        }),
    }
}

pub(crate) fn outcome<S: State>(state: &S) -> Outcome {
    let mut stored = match serde_json::to_value(state) {
        Ok(Value::Object(map)) => map,
        _ => {
            tracing::error!(state = S::NAME, "a state must serialize to a JSON object");
            Map::new()
        }
    };
    let streams = take_streams(S::NAME, &mut stored, &S::list_key);
    let mut client = stored.clone();
    for var in S::BACKEND_VARS {
        client.remove(*var);
    }
    client.extend(state.computed());
    Outcome {
        stored,
        client,
        streams,
    }
}

fn view<S: State>(_: &StateEntry, stored: Option<Stored>) -> Outcome {
    outcome(&load::<S>(S::NAME, stored))
}

fn run<'a, S: State>(
    entry: &'a StateEntry,
    stored: Option<Stored>,
    handler: &'a str,
    payload: Value,
    ctx: &'a mut EventCtx,
) -> LocalBoxFuture<'a, Result<Outcome, EventError>> {
    Box::pin(async move {
        let defs = entry
            .handlers
            .downcast_ref::<HashMap<&'static str, HandlerDef<S>>>()
            .ok_or_else(|| EventError::msg("internal error"))?;
        let def = defs.get(handler).ok_or_else(|| {
            EventError::new(
                crate::wire::ErrorCode::UnknownHandler,
                format!("state {:?} has no handler {handler:?}", S::NAME),
            )
        })?;
        let mut state = load::<S>(S::NAME, stored);
        (def.call)(&mut state, ctx, payload).await?;
        Ok(outcome(&state))
    })
}

/// Every state of the app, by name.
#[derive(Debug, Default)]
pub struct Registry {
    states: BTreeMap<&'static str, StateEntry>,
    on_load: Vec<OnLoad>,
}

/// A handler run when a tab shows a page matching `pattern`.
#[derive(Debug, Clone)]
pub struct OnLoad {
    /// The route pattern, e.g. `/orders/{id}`.
    pub pattern: String,
    /// The state.
    pub state: &'static str,
    /// The handler.
    pub handler: &'static str,
}

/// Why a registration was refused at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two states share a name.
    #[error("two states are named {0:?}")]
    DuplicateState(&'static str),
    /// The state's own check failed (e.g. a `ModelState` showing a field its model lacks).
    #[error("state {state:?}: {problem}")]
    Invalid {
        /// The state.
        state: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// An on_load names a state that is not registered.
    #[error("on_load for {pattern} names state {state:?}, which is not registered")]
    UnknownState {
        /// The route pattern.
        pattern: String,
        /// The state.
        state: String,
    },
    /// An on_load names a handler the state does not have.
    #[error("on_load for {pattern} names {state}.{handler}, which does not exist (handlers: {known})")]
    UnknownHandler {
        /// The route pattern.
        pattern: String,
        /// The state.
        state: String,
        /// The handler.
        handler: String,
        /// The state's handlers.
        known: String,
    },
}

impl Registry {
    /// No states.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `S`.
    pub fn register<S: State>(&mut self) -> Result<(), RegistryError> {
        if self.states.contains_key(S::NAME) {
            return Err(RegistryError::DuplicateState(S::NAME));
        }
        S::check().map_err(|problem| RegistryError::Invalid {
            state: S::NAME,
            problem,
        })?;
        self.states.insert(S::NAME, StateEntry::new::<S>());
        Ok(())
    }

    /// Runs `state.handler` whenever a tab shows a page matching `pattern` (on hydrate and
    /// on navigation). Checked now: the state and handler must exist.
    pub fn on_load(&mut self, pattern: &str, state: &str, handler: &str) -> Result<(), RegistryError> {
        let entry = self.states.get(state).ok_or_else(|| RegistryError::UnknownState {
            pattern: pattern.into(),
            state: state.into(),
        })?;
        let Some(handler) = entry.handler_names.iter().find(|h| **h == handler) else {
            return Err(RegistryError::UnknownHandler {
                pattern: pattern.into(),
                state: state.into(),
                handler: handler.into(),
                known: entry.handler_names.join(", "),
            });
        };
        self.on_load.push(OnLoad {
            pattern: pattern.to_owned(),
            state: entry.name,
            handler,
        });
        Ok(())
    }

    /// The state named `name`.
    pub fn get(&self, name: &str) -> Option<&StateEntry> {
        self.states.get(name)
    }

    /// Every state.
    pub fn states(&self) -> impl Iterator<Item = &StateEntry> {
        self.states.values()
    }

    /// The on_load handlers of a path, with the parameters its pattern captured.
    pub fn resolve(&self, path: &str) -> (BTreeMap<String, String>, Vec<&OnLoad>) {
        let mut params = BTreeMap::new();
        let mut handlers = Vec::new();
        for on_load in &self.on_load {
            let def = actix_web::dev::ResourceDef::new(on_load.pattern.as_str());
            let mut target = actix_web::dev::Path::new(path);
            if def.capture_match_info(&mut target) {
                for (name, value) in target.iter() {
                    params.insert(name.to_owned(), value.to_owned());
                }
                handlers.push(on_load);
            }
        }
        (params, handlers)
    }
}
