//! The protocol's logic, apart from the socket: hydrate a tab, apply an event or a
//! navigation exactly once, and say what changed.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;

use duet_models::{Db, User};
use futures_util::FutureExt;
use serde_json::Value;

use crate::delta::diff_state;
use crate::manager::{StateManager, StoreError, Subscription, TabLock, TabRecord};
use crate::registry::{Outcome, Registry};
use crate::wire::{Changes, ClientRoute, PROTOCOL_VERSION, ServerMessage};
use crate::{Broadcaster, ClientAction, EventCtx, EventError, Route};

/// Replies kept per tab for resent events (beyond what the client acknowledged).
const KEPT_REPLIES: usize = 256;

/// The event-state engine of one app: its states, where tabs are kept, and the database.
pub struct Engine {
    registry: Registry,
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

/// Who is asking: the socket's user, resolved once at the handshake.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The logged-in user, if any.
    pub user: Option<Rc<User>>,
}

impl Caller {
    fn user_id(&self) -> Option<i64> {
        self.user.as_ref().map(|u| u.id)
    }
}

impl Engine {
    /// An engine over `registry`, keeping tabs in `manager`.
    pub fn new(registry: Registry, manager: Arc<dyn StateManager>, db: Db, broadcaster: Broadcaster) -> Engine {
        Engine {
            registry,
            manager,
            db,
            broadcaster,
        }
    }

    /// The broadcaster publishing to this engine's tabs.
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.broadcaster
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
        for (state, handler) in subscribed {
            let step = self.run(
                caller,
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
        }
        let (router, _, _) = self.route_and_load(caller, &mut record, &route.path).await;
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
        let token = lock.tab.clone();
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

    /// `event`: runs `state.handler(payload)` for the tab, once per `seq`.
    pub async fn event(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        state: &str,
        handler: &str,
        payload: Value,
    ) -> ServerMessage {
        let (lock, mut record) = match self.begin(caller, tab, seq).await {
            Ok(begun) => begun,
            Err(reply) => return reply,
        };
        let before = record.clone();
        let step = async {
            let mut changes = Changes::new();
            let mut actions = Vec::new();
            self.run(caller, &mut record, state, handler, payload, &mut changes, &mut actions)
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
    pub async fn navigate(&self, caller: &Caller, tab: &str, seq: u64, route: &ClientRoute) -> ServerMessage {
        let (lock, mut record) = match self.begin(caller, tab, seq).await {
            Ok(begun) => begun,
            Err(reply) => return reply,
        };
        let before = record.clone();
        let step = async {
            let (router, changes, actions) = self.route_and_load(caller, &mut record, &route.path).await;
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
    async fn begin(&self, caller: &Caller, tab: &str, seq: u64) -> Result<(TabLock, TabRecord), ServerMessage> {
        let mut lock = self
            .manager
            .lock_for_seq(tab, seq)
            .await
            .map_err(|e| with_seq(store_error(&e), seq))?;
        let Some(record) = lock.record.take().filter(|r| r.user_id == caller.user_id()) else {
            self.manager.release(lock);
            return Err(ServerMessage::error(
                Some(seq),
                "not_hydrated",
                "This tab is unknown or expired: send hello again.",
            ));
        };
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
                ServerMessage::error(Some(seq), error.code, error.message)
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
        record: &mut TabRecord,
        state: &str,
        handler: &str,
        payload: Value,
        changes: &mut Changes,
        actions: &mut Vec<ClientAction>,
    ) -> Result<(), EventError> {
        let entry = self.registry.get(state).ok_or_else(|| EventError {
            code: "unknown_state",
            message: format!("no state named {state:?}"),
        })?;
        if entry.login_required() && caller.user.is_none() {
            return Err(EventError::login_required());
        }
        let stored = record.states.get(state).cloned();
        let before = entry.view(stored.clone()).client;
        let mut ctx = EventCtx::new(caller.user.clone(), self.db.clone(), record.route.clone())
            .with_broadcaster(self.broadcaster.clone());
        let after = entry.run(stored, handler, payload, &mut ctx).await?;
        let delta = diff_state(&before, &after.client, &|var| entry.list_key(var));
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

    /// Points the tab at `path` and runs its `on_load` handlers; a failing one is logged
    /// and skipped so the page still loads.
    async fn route_and_load(
        &self,
        caller: &Caller,
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
    ServerMessage::error(None, "unavailable", "The state store is unavailable; try again.")
}

fn with_seq(message: ServerMessage, seq: u64) -> ServerMessage {
    match message {
        ServerMessage::Error { code, message, .. } => ServerMessage::Error {
            seq: Some(seq),
            code,
            message,
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
