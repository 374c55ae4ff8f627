//! The protocol's logic, apart from the socket: hydrate a tab, apply an event or a
//! navigation exactly once, and say what changed.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;

use duet_models::{Db, User};
use futures_util::FutureExt;
use serde_json::{Map, Value};

use crate::background::Spawner;
use crate::ctx::Progress;
use crate::delta::diff_state;
use crate::manager::{StateManager, StoreError, Subscription, TabLock, TabRecord};
use crate::registry::{Outcome, Registry, StateEntry, load, outcome};
use crate::wire::{Changes, ClientRoute, PROTOCOL_VERSION, ServerMessage};
use crate::{Broadcaster, ClientAction, EventCtx, EventError, Route, State};

/// Replies kept per tab for resent events (beyond what the client acknowledged).
const KEPT_REPLIES: usize = 256;

/// The event-state engine of one app: its states, where tabs are kept, and the database.
/// Cloning it is cheap (background work holds a clone).
#[derive(Clone)]
pub struct Engine {
    registry: Arc<Registry>,
    manager: Arc<dyn StateManager>,
    db: Db,
    broadcaster: Broadcaster,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Who is asking: the socket's user, resolved once at the handshake, and the socket itself
/// (where a handler's progress updates go).
#[derive(Clone, Default)]
pub struct Caller {
    /// The logged-in user, if any.
    pub user: Option<Rc<User>>,
    socket: Option<actix_ws::Session>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.user_id())
            .field("socket", &self.socket.is_some())
            .finish()
    }
}

impl Caller {
    /// `user`, calling from no socket (tests, tools): progress updates go nowhere.
    pub fn new(user: Option<Rc<User>>) -> Caller {
        Caller { user, socket: None }
    }

    /// `user` on `socket`.
    pub(crate) fn on_socket(user: Option<Rc<User>>, socket: actix_ws::Session) -> Caller {
        Caller {
            user,
            socket: Some(socket),
        }
    }

    pub(crate) fn user_id(&self) -> Option<i64> {
        self.user.as_ref().map(|u| u.id)
    }

    /// The same user, for work that outlives the event (it reports through pushes).
    fn detached(&self) -> Caller {
        Caller::new(self.user.clone())
    }
}

impl Engine {
    /// An engine over `registry`, keeping tabs in `manager`.
    pub fn new(registry: Registry, manager: Arc<dyn StateManager>, db: Db, broadcaster: Broadcaster) -> Engine {
        Engine {
            registry: Arc::new(registry),
            manager,
            db,
            broadcaster,
        }
    }

    /// The broadcaster publishing to this engine's tabs.
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.broadcaster
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Changes state `S` of `user_id`'s `tab` under the tab's lock; returns the push to
    /// send, if anything changed: background work's [`Background::update`](crate::Background::update).
    pub(crate) async fn update<S: State>(
        &self,
        user_id: Option<i64>,
        tab: &str,
        change: impl FnOnce(&mut S),
    ) -> Result<Option<ServerMessage>, EventError> {
        if self.registry.get(S::NAME).is_none() {
            return Err(EventError::new(
                "unknown_state",
                format!("no state named {:?}", S::NAME),
            ));
        }
        let mut lock = self.manager.lock(tab).await.map_err(|error| {
            tracing::warn!(%error, "state store");
            EventError::unavailable()
        })?;
        let Some(mut record) = lock.record.take().filter(|r| r.user_id == user_id) else {
            self.manager.release(lock);
            return Err(EventError::new("not_hydrated", "The tab is gone."));
        };
        let mut state: S = load(S::NAME, record.states.get(S::NAME).cloned());
        let before = outcome(&state).client;
        change(&mut state);
        let after = outcome(&state);
        let delta = diff_state(&before, &after.client, &S::list_key);
        record.states.insert(S::NAME.to_owned(), after.stored);
        self.store(lock, &record, &[S::NAME.to_owned()])
            .await
            .map_err(|_| EventError::unavailable())?;
        Ok((!delta.is_empty()).then(|| ServerMessage::Delta {
            seq: None,
            changes: [(S::NAME.to_owned(), delta)].into_iter().collect(),
            router: None,
            actions: Vec::new(),
        }))
    }

    /// A message on `topic` for `tab`: runs each subscribed handler with `payload` and
    /// returns the push to send to the tab's sockets (`None` when nothing changed).
    pub async fn react(&self, caller: &Caller, tab: &str, topic: &str, payload: &Value) -> Option<ServerMessage> {
        let mut lock = self.lock(tab).await.ok()?;
        let Some(mut record) = lock.record.take().filter(|r| r.user_id == caller.user_id()) else {
            self.manager.release(lock);
            return None;
        };
        let before = record.clone();
        let subscribed: Vec<(String, String)> = record
            .subscriptions
            .iter()
            .filter(|s| s.topic == topic)
            .map(|s| (s.state.clone(), s.handler.clone()))
            .collect();
        let mut changes = Changes::new();
        let mut actions = Vec::new();
        // A reaction's changes go to every socket of the tab as one push, so no progress.
        let caller = caller.detached();
        for (state, handler) in subscribed {
            let step = self.run(
                &caller,
                tab,
                &mut record,
                &state,
                &handler,
                payload.clone(),
                &mut changes,
                &mut actions,
            );
            match AssertUnwindSafe(step).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(topic, state, handler, %error, "reaction failed"),
                Err(_) => {
                    tracing::error!(
                        topic,
                        state,
                        handler,
                        "reaction panicked; the tab keeps its previous state"
                    );
                    record = before.clone();
                    changes.clear();
                }
            }
        }
        let touched: Vec<String> = record
            .states
            .iter()
            .filter(|(name, vars)| before.states.get(*name) != Some(*vars))
            .map(|(name, _)| name.clone())
            .collect();
        self.store(lock, &record, &touched).await.ok()?;
        (!changes.is_empty() || !actions.is_empty()).then_some(ServerMessage::Delta {
            seq: None,
            changes,
            router: None,
            actions,
        })
    }

    /// The registered states.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// `hello`: loads (or creates) the tab, runs the page's `on_load` handlers and returns
    /// the tab's token and the `hydrate` frame. A token of another user's tab, or of an
    /// expired one, gets a fresh tab.
    pub async fn hello(
        &self,
        caller: &Caller,
        tab: Option<String>,
        route: &ClientRoute,
        acked: Option<u64>,
    ) -> Result<(String, ServerMessage), ServerMessage> {
        let mut lock = match tab {
            Some(token) if valid_token(&token) => self.lock(&token).await?,
            _ => self.lock(&new_token()).await?,
        };
        if lock.record.as_ref().is_some_and(|r| r.user_id != caller.user_id()) {
            self.manager.release(lock);
            lock = self.lock(&new_token()).await?;
        }
        let mut record = lock.record.take().unwrap_or_else(|| TabRecord {
            user_id: caller.user_id(),
            ..TabRecord::default()
        });
        if let Some(acked) = acked {
            record.replies.retain(|(seq, _)| *seq > acked);
            lock.acked = acked;
        }
        // No progress updates before the client has its first full state.
        let tab = lock.tab.clone();
        let (router, _, _) = self
            .route_and_load(&caller.detached(), &tab, &mut record, &route.path)
            .await;
        let mut states = BTreeMap::new();
        for entry in self.registry.states() {
            if entry.login_required() && caller.user.is_none() {
                continue;
            }
            let Outcome { stored, client } = entry.view(record.states.get(entry.name()).cloned());
            record.states.insert(entry.name().to_owned(), stored);
            states.insert(entry.name().to_owned(), client);
        }
        let touched: Vec<String> = record.states.keys().cloned().collect();
        let token = tab;
        let seq = record.seq;
        self.store(lock, &record, &touched).await?;
        Ok((
            token.clone(),
            ServerMessage::Hydrate {
                protocol: PROTOCOL_VERSION,
                tab: token,
                states,
                router,
                seq,
            },
        ))
    }

    /// `event`: runs `state.handler(payload)` for the tab, once per `seq`. Replies up to
    /// `acked` are forgotten.
    #[allow(clippy::too_many_arguments)]
    pub async fn event(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        acked: Option<u64>,
        state: &str,
        handler: &str,
        payload: Value,
    ) -> ServerMessage {
        let (lock, mut record) = match self.begin(caller, tab, seq, acked).await {
            Ok(begun) => begun,
            Err(reply) => return reply,
        };
        let before = record.clone();
        let step = async {
            let mut changes = Changes::new();
            let mut actions = Vec::new();
            self.run(
                caller,
                tab,
                &mut record,
                state,
                handler,
                payload,
                &mut changes,
                &mut actions,
            )
            .await?;
            Ok(ServerMessage::Delta {
                seq: Some(seq),
                changes,
                router: None,
                actions,
            })
        };
        let result = AssertUnwindSafe(step).catch_unwind().await;
        self.finish(lock, record, before, result, tab, seq).await
    }

    /// `navigate`: moves the tab to `route` and runs the page's `on_load` handlers.
    pub async fn navigate(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        acked: Option<u64>,
        route: &ClientRoute,
    ) -> ServerMessage {
        let (lock, mut record) = match self.begin(caller, tab, seq, acked).await {
            Ok(begun) => begun,
            Err(reply) => return reply,
        };
        let before = record.clone();
        let step = async {
            let (router, changes, actions) = self.route_and_load(caller, tab, &mut record, &route.path).await;
            Ok(ServerMessage::Delta {
                seq: Some(seq),
                changes,
                router: Some(router),
                actions,
            })
        };
        let result = AssertUnwindSafe(step).catch_unwind().await;
        self.finish(lock, record, before, result, tab, seq).await
    }

    /// Locks the tab for `seq`. A `seq` already applied is answered with its original reply
    /// (exactly once), without running anything.
    async fn begin(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        acked: Option<u64>,
    ) -> Result<(TabLock, TabRecord), ServerMessage> {
        let mut lock = self
            .manager
            .lock_for_seq(tab, seq)
            .await
            .map_err(|e| with_seq(store_error(&e), seq))?;
        let Some(mut record) = lock.record.take().filter(|r| r.user_id == caller.user_id()) else {
            self.manager.release(lock);
            return Err(ServerMessage::error(
                Some(seq),
                "not_hydrated",
                "This tab is unknown or expired: send hello again.",
            ));
        };
        if let Some(acked) = acked {
            record.replies.retain(|(seq, _)| *seq > acked);
            lock.acked = acked;
        }
        if seq <= record.seq {
            self.manager.release(lock);
            return Err(match record.replies.iter().find(|(s, _)| *s == seq) {
                Some((_, reply)) => serde_json::from_str(reply)
                    .unwrap_or_else(|_| ServerMessage::error(Some(seq), "out_of_order", "reply lost")),
                None => ServerMessage::error(
                    Some(seq),
                    "out_of_order",
                    format!("seq {seq} was already applied (last: {})", record.seq),
                ),
            });
        }
        Ok((lock, record))
    }

    /// Records the reply to `seq` (keeping the state from before the event if it failed or
    /// panicked) and stores the tab.
    async fn finish(
        &self,
        lock: TabLock,
        mut record: TabRecord,
        before: TabRecord,
        result: std::thread::Result<Result<ServerMessage, EventError>>,
        tab: &str,
        seq: u64,
    ) -> ServerMessage {
        let touched: Vec<String> = match &result {
            Ok(Ok(_)) => record
                .states
                .iter()
                .filter(|(name, vars)| before.states.get(*name) != Some(*vars))
                .map(|(name, _)| name.clone())
                .collect(),
            _ => Vec::new(),
        };
        let reply = match result {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) => {
                record = before;
                ServerMessage::event_error(Some(seq), error)
            }
            Err(_) => {
                tracing::error!(tab, seq, "an event handler panicked; the tab keeps its previous state");
                record = before;
                ServerMessage::error(Some(seq), "handler_failed", "Something went wrong.")
            }
        };
        record.seq = seq;
        record.replies.push((seq, reply.to_text()));
        if record.replies.len() > KEPT_REPLIES {
            let excess = record.replies.len() - KEPT_REPLIES;
            record.replies.drain(..excess);
        }
        match self.store(lock, &record, &touched).await {
            Ok(()) => reply,
            Err(error) => with_seq(error, seq),
        }
    }

    /// Runs one handler on one state of `record`, adding its changes and actions.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        caller: &Caller,
        tab: &str,
        record: &mut TabRecord,
        state: &str,
        handler: &str,
        payload: Value,
        changes: &mut Changes,
        actions: &mut Vec<ClientAction>,
    ) -> Result<(), EventError> {
        let entry = self
            .registry
            .get(state)
            .ok_or_else(|| EventError::new("unknown_state", format!("no state named {state:?}")))?;
        if entry.login_required() && caller.user.is_none() {
            return Err(EventError::login_required());
        }
        let stored = record.states.get(state).cloned();
        let before = entry.view(stored.clone()).client;
        let progress = caller.socket.clone().map(|socket| Progress {
            socket,
            state: entry.name(),
            shown: before.clone(),
        });
        let mut ctx = EventCtx::new(caller.user.clone(), self.db.clone(), record.route.clone())
            .with_broadcaster(self.broadcaster.clone())
            .with_progress(progress)
            .with_spawner(Spawner::new(self.clone(), caller.detached(), tab));
        let result = match AssertUnwindSafe(entry.run(stored, handler, payload, &mut ctx))
            .catch_unwind()
            .await
        {
            Ok(result) => result,
            Err(_) => {
                tracing::error!(
                    state,
                    handler,
                    "an event handler panicked; the tab keeps its previous state"
                );
                Err(EventError::msg("Something went wrong."))
            }
        };
        let shown = ctx.take_shown().unwrap_or(before);
        let after = match result {
            Ok(after) => after,
            Err(error) => {
                self.unflush(caller, entry, record, shown).await;
                return Err(error);
            }
        };
        let delta = diff_state(&shown, &after.client, &|var| entry.list_key(var));
        if !delta.is_empty() {
            changes.entry(state.to_owned()).or_default().extend(delta);
        }
        record.states.insert(state.to_owned(), after.stored);
        actions.extend(ctx.take_actions());
        for (topic, handler) in ctx.take_subscriptions() {
            let subscription = Subscription {
                topic,
                state: entry.name().to_owned(),
                handler: handler.to_owned(),
            };
            if !record.subscriptions.contains(&subscription) {
                record.subscriptions.push(subscription);
            }
        }
        Ok(())
    }

    /// After a failed handler that flushed progress: sends the caller the state as it was
    /// before the event, since the failure rolls it back.
    async fn unflush(&self, caller: &Caller, entry: &StateEntry, record: &TabRecord, shown: Map<String, Value>) {
        let Some(socket) = &caller.socket else {
            return;
        };
        let before = entry.view(record.states.get(entry.name()).cloned()).client;
        let delta = diff_state(&shown, &before, &|var| entry.list_key(var));
        if delta.is_empty() {
            return;
        }
        let push = ServerMessage::Delta {
            seq: None,
            changes: [(entry.name().to_owned(), delta)].into_iter().collect(),
            router: None,
            actions: Vec::new(),
        };
        let _ = socket.clone().text(push.to_text()).await;
    }

    /// Points the tab at `path` and runs its `on_load` handlers; a failing one is logged
    /// and skipped so the page still loads.
    async fn route_and_load(
        &self,
        caller: &Caller,
        tab: &str,
        record: &mut TabRecord,
        path: &str,
    ) -> (Route, Changes, Vec<ClientAction>) {
        let (params, on_load) = self.registry.resolve(path);
        record.route = Route {
            path: path.to_owned(),
            params,
        };
        let mut changes = Changes::new();
        let mut actions = Vec::new();
        for on_load in on_load {
            if let Err(error) = self
                .run(
                    caller,
                    tab,
                    record,
                    on_load.state,
                    on_load.handler,
                    Value::Null,
                    &mut changes,
                    &mut actions,
                )
                .await
            {
                if error.code == "login_required" {
                    continue;
                }
                tracing::warn!(state = on_load.state, handler = on_load.handler, %error, "on_load handler failed");
            }
        }
        (record.route.clone(), changes, actions)
    }

    async fn lock(&self, tab: &str) -> Result<TabLock, ServerMessage> {
        self.manager.lock(tab).await.map_err(|e| store_error(&e))
    }

    async fn store(&self, lock: TabLock, record: &TabRecord, touched: &[String]) -> Result<(), ServerMessage> {
        let tab = lock.tab.clone();
        self.manager
            .store(lock, record, touched)
            .await
            .map_err(|e| store_error(&e))?;
        let topics = record.subscriptions.iter().map(|s| s.topic.clone()).collect();
        self.broadcaster.set_topics(&tab, &topics);
        Ok(())
    }
}

fn store_error(error: &StoreError) -> ServerMessage {
    tracing::warn!(%error, "state store");
    let message = match error {
        // The tab's lock expired before the event finished: nothing of it was stored.
        StoreError::LockLost => "That took too long and was not saved; try again.",
        _ => "The state store is unavailable; try again.",
    };
    ServerMessage::error(None, "unavailable", message)
}

fn with_seq(message: ServerMessage, seq: u64) -> ServerMessage {
    match message {
        ServerMessage::Error {
            code, message, fields, ..
        } => ServerMessage::Error {
            seq: Some(seq),
            code,
            message,
            fields,
        },
        other => other,
    }
}

fn valid_token(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn new_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 18];
    // A tab token only names a tab; it grants nothing (the socket's session decides who
    // may use it), but it must not collide.
    getrandom::fill(&mut bytes).expect("the OS provides randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
