//! The protocol's logic, apart from the socket: hydrate a tab, apply an event or a
//! navigation exactly once, and say what changed — to the socket that asked, and to the
//! tab's other sockets.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use duet_models::{Db, User};
use futures_util::FutureExt;
use serde_json::Value;

use crate::background::{BackgroundTasks, Job, Jobs, Spawner};
use crate::ctx::Progress;
use crate::delta::{VarOp, diff_state};
use crate::limits::NewTabs;
use crate::manager::{StateManager, StoreError, Subscription, TabLock, TabRecord};
use crate::outbox::Outbox;
use crate::registry::{Outcome, Registry, StateEntry};
use crate::wire::{Changes, ClientRoute, ErrorCode, MAX_SEQ_STEP, PROTOCOL_VERSION, ServerMessage};
use crate::{Broadcaster, ClientAction, EventCtx, EventError, Route, StreamOp, StreamOps};

/// Replies kept per tab for resent events (beyond what the client acknowledged).
const KEPT_REPLIES: usize = 256;

/// The event-state engine of one app: its states, where tabs are kept, and the database.
/// Cloning it is cheap.
#[derive(Clone)]
pub struct Engine {
    registry: Arc<Registry>,
    manager: Arc<dyn StateManager>,
    db: Db,
    broadcaster: Broadcaster,
    background: Arc<BackgroundTasks>,
    spec: Option<Arc<str>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Who is asking: the socket's user, resolved once at the handshake, the anonymous session
/// it came with, and the socket's outbox (where a handler's progress goes).
#[derive(Clone, Default)]
pub struct Caller {
    /// The logged-in user, if any.
    pub user: Option<Rc<User>>,
    /// For an anonymous caller with a session: the session's tag. Its tabs are bound to it.
    session_tag: Option<String>,
    outbox: Option<Outbox>,
    new_tabs: Option<Rc<NewTabs>>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.user_id())
            .field("session", &self.session_tag.is_some())
            .field("socket", &self.outbox.is_some())
            .finish()
    }
}

impl Caller {
    /// `user`, calling from no socket (tests, tools): progress updates go nowhere, and new
    /// tabs are not rate-limited.
    pub fn new(user: Option<Rc<User>>) -> Caller {
        Caller {
            user,
            ..Caller::default()
        }
    }

    /// `user` (or the anonymous session `session_tag`) on a socket with `outbox`, opening new
    /// tabs within `new_tabs`.
    pub(crate) fn on_socket(
        user: Option<Rc<User>>,
        session_tag: Option<String>,
        outbox: Outbox,
        new_tabs: NewTabs,
    ) -> Caller {
        Caller {
            session_tag: if user.is_some() { None } else { session_tag },
            user,
            outbox: Some(outbox),
            new_tabs: Some(Rc::new(new_tabs)),
        }
    }

    pub(crate) fn user_id(&self) -> Option<i64> {
        self.user.as_ref().map(|u| u.id)
    }

    /// Whether `record` is this caller's tab: the same user, and for anonymous tabs the same
    /// session.
    fn owns(&self, record: &TabRecord) -> bool {
        record.user_id == self.user_id() && (record.user_id.is_some() || record.session_tag == self.session_tag)
    }

    /// The same caller, for work whose changes go to every socket of the tab at once (no
    /// progress to this socket alone).
    fn detached(&self) -> Caller {
        Caller {
            outbox: None,
            ..self.clone()
        }
    }
}

/// What an event, a navigation or a `hello` sends: the reply to the socket that asked, and
/// a push with the same changes for the tab's other sockets.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) reply: ServerMessage,
    pub(crate) push: Option<ServerMessage>,
}

impl Answer {
    fn only(reply: ServerMessage) -> Answer {
        Answer { reply, push: None }
    }
}

/// A `hello` that hydrated a tab.
#[derive(Debug)]
pub(crate) struct Greeting {
    pub(crate) tab: String,
    pub(crate) answer: Answer,
}

/// What handlers produced while running: the changes for the caller (after its progress
/// updates), its actions, and whether progress was shown (then the tab's other sockets need
/// the changes since before the event instead).
#[derive(Default)]
struct Effects {
    changes: Changes,
    actions: Vec<ClientAction>,
    flushed: bool,
    /// The stream ops progress updates sent, by state (the rest are in `changes`): the
    /// tab's other sockets get both.
    flushed_streams: BTreeMap<String, StreamOps>,
}

impl Engine {
    /// An engine over `registry`, keeping tabs in `manager`.
    pub fn new(registry: Registry, manager: Arc<dyn StateManager>, db: Db, broadcaster: Broadcaster) -> Engine {
        Engine {
            registry: Arc::new(registry),
            manager,
            db,
            broadcaster,
            background: Arc::new(BackgroundTasks::default()),
            spec: None,
        }
    }

    /// The hash of the app spec the pages render with, sent in every `hydrate`: a runtime
    /// loaded with another spec (before a deploy) reloads its page.
    pub fn with_spec(mut self, hash: Option<&str>) -> Engine {
        self.spec = hash.map(Arc::from);
        self
    }

    /// The app spec's hash, if the app has pages.
    pub fn spec(&self) -> Option<&str> {
        self.spec.as_deref()
    }

    /// Waits until no background work ([`EventCtx::spawn`]) is running (at shutdown).
    pub async fn background_idle(&self) {
        self.background.idle().await;
    }

    /// How much background work is running.
    pub fn background_running(&self) -> usize {
        self.background.running()
    }

    /// The broadcaster publishing to this engine's tabs.
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.broadcaster
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The registered states.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The tab's last socket in this process has closed (see [`StateManager::let_go`]).
    pub(crate) fn let_go(&self, tab: &str) {
        self.manager.let_go(tab);
    }

    /// At shutdown, once the sockets are closed: lets go of the tabs' locks the state
    /// manager keeps between events (see [`StateManager::let_go_all`]).
    pub async fn let_go_all(&self) {
        self.manager.let_go_all().await;
    }

    /// Applies background work's update to `tab` under its lock, sends its result to
    /// `job.done` and returns the push for the tab's sockets, if anything changed.
    pub(crate) async fn apply(&self, tab: &str, job: Job) -> Option<ServerMessage> {
        let (result, push) = match self
            .apply_job(tab, job.user_id, job.state, job.list_key, job.change)
            .await
        {
            Ok(push) => (Ok(()), push),
            Err(error) => (Err(error), None),
        };
        let _ = job.done.send(result);
        push
    }

    async fn apply_job(
        &self,
        tab: &str,
        user_id: Option<i64>,
        state: &'static str,
        list_key: fn(&str) -> Option<&'static str>,
        change: crate::background::Change,
    ) -> Result<Option<ServerMessage>, EventError> {
        if self.registry.get(state).is_none() {
            return Err(EventError::new(
                ErrorCode::UnknownState,
                format!("no state named {state:?}"),
            ));
        }
        let mut lock = self.manager.lock(tab).await.map_err(|error| {
            tracing::warn!(%error, "state store");
            EventError::unavailable()
        })?;
        let Some(mut record) = lock.record.take().filter(|r| r.user_id == user_id) else {
            self.manager.release(lock);
            return Err(EventError::new(ErrorCode::NotHydrated, "The tab is gone."));
        };
        let (before, after) = change(record.states.get(state).cloned());
        let delta = after.delta_since(&before, &list_key);
        record.states.insert(state.to_owned(), after.stored);
        self.store(lock, record, &[state.to_owned()])
            .await
            .map_err(|error| match error {
                ServerMessage::Error { code, message, .. } => EventError::new(code, message),
                _ => EventError::unavailable(),
            })?;
        Ok((!delta.is_empty()).then(|| ServerMessage::Delta {
            seq: None,
            changes: [(state.to_owned(), delta)].into_iter().collect(),
            router: None,
            actions: Vec::new(),
        }))
    }

    /// A message on `topic` for `tab`: runs each subscribed handler with `payload` and
    /// returns the push to send to the tab's sockets (`None` when nothing changed).
    pub async fn react(&self, caller: &Caller, tab: &str, topic: &str, payload: &Value) -> Option<ServerMessage> {
        let mut lock = self.lock(tab).await.ok()?;
        let Some(mut record) = lock.record.take().filter(|r| caller.owns(r)) else {
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
        let mut effects = Effects::default();
        // A reaction's changes go to every socket of the tab as one push, so no progress.
        let caller = caller.detached();
        let reactions = async {
            for (state, handler) in subscribed {
                let step = self.run(
                    &caller,
                    tab,
                    &mut record,
                    &state,
                    &handler,
                    payload.clone(),
                    &mut effects,
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
                        effects.changes.clear();
                    }
                }
            }
        };
        self.renewing(&lock, reactions).await;
        let touched = touched(&before, &record);
        self.store(lock, record, &touched).await.ok()?;
        let Effects { changes, actions, .. } = effects;
        (!changes.is_empty() || !actions.is_empty()).then_some(ServerMessage::Delta {
            seq: None,
            changes,
            router: None,
            actions,
        })
    }

    /// `hello`: loads the caller's tab (or creates one, with a new token) and runs the
    /// page's `on_load` handlers; returns the tab's token and the `hydrate` frame. A token
    /// the store does not know, or of another user's (or another session's) tab, gets a
    /// fresh tab: tokens are always issued by the server.
    pub async fn hello(
        &self,
        caller: &Caller,
        tab: Option<String>,
        route: &ClientRoute,
        acked: Option<u64>,
    ) -> Result<(String, ServerMessage), ServerMessage> {
        self.greet(caller, tab, route, acked)
            .await
            .map(|greeting| (greeting.tab, greeting.answer.reply))
    }

    /// [`hello`](Engine::hello), with the push for the tab's other sockets (what the page's
    /// `on_load` handlers changed).
    pub(crate) async fn greet(
        &self,
        caller: &Caller,
        tab: Option<String>,
        route: &ClientRoute,
        acked: Option<u64>,
    ) -> Result<Greeting, ServerMessage> {
        let mut existing = None;
        if let Some(token) = tab.filter(|t| valid_token(t)) {
            let mut lock = self.lock(&token).await?;
            match lock.record.take() {
                Some(record) if caller.owns(&record) => existing = Some((lock, record)),
                _ => self.manager.release(lock),
            }
        }
        let joined = existing.is_some();
        let (mut lock, mut record) = match existing {
            Some(found) => found,
            None => {
                if caller.new_tabs.as_ref().is_some_and(|budget| !budget.allow()) {
                    return Err(ServerMessage::error(
                        None,
                        ErrorCode::RateLimited,
                        "Too many new tabs from this connection or address; try again in a few seconds.",
                    ));
                }
                let lock = self.lock(&new_token()).await?;
                let record = TabRecord {
                    user_id: caller.user_id(),
                    session_tag: caller.session_tag.clone(),
                    ..TabRecord::default()
                };
                (lock, record)
            }
        };
        if let Some(acked) = acked {
            record.replies.retain(|(seq, _)| *seq > acked);
            lock.acked = acked;
        }
        let token = lock.tab.clone();
        let route_before = record.route.clone();
        // No progress updates before the client has its first full state.
        let (router, effects) = self
            .renewing(
                &lock,
                self.route_and_load(&caller.detached(), &token, &mut record, &route.path),
            )
            .await;
        let mut states = BTreeMap::new();
        let mut streams = Changes::new();
        for entry in self.registry.states() {
            if entry.login_required() && caller.user.is_none() {
                continue;
            }
            let Outcome { stored, client, .. } = entry.view(record.states.get(entry.name()).cloned());
            record.states.insert(entry.name().to_owned(), stored);
            states.insert(entry.name().to_owned(), client);
            let loaded = effects.changes.get(entry.name());
            for var in entry.stream_vars() {
                streams
                    .entry(entry.name().to_owned())
                    .or_default()
                    .insert(var.to_owned(), hydrated_stream(loaded.and_then(|vars| vars.get(var))));
            }
        }
        let touched: Vec<String> = record.states.keys().cloned().collect();
        let seq = record.seq;
        self.store(lock, record, &touched).await?;
        let push = (joined && (!effects.changes.is_empty() || router != route_before)).then(|| ServerMessage::Delta {
            seq: None,
            changes: effects.changes,
            router: Some(router.clone()),
            actions: Vec::new(),
        });
        Ok(Greeting {
            tab: token.clone(),
            answer: Answer {
                reply: ServerMessage::Hydrate {
                    protocol: PROTOCOL_VERSION,
                    tab: token,
                    states,
                    router,
                    seq,
                    spec: self.spec.as_deref().map(str::to_owned),
                    streams,
                },
                push,
            },
        })
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
        self.event_for_tab(caller, tab, seq, acked, state, handler, payload)
            .await
            .reply
    }

    /// [`event`](Engine::event), with the push for the tab's other sockets.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn event_for_tab(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        acked: Option<u64>,
        state: &str,
        handler: &str,
        payload: Value,
    ) -> Answer {
        let started = Instant::now();
        let answer = async {
            let (lock, mut record) = match self.begin(caller, tab, seq, acked).await {
                Ok(begun) => begun,
                Err(reply) => return Answer::only(reply),
            };
            let before = record.clone();
            let step = async {
                let mut effects = Effects::default();
                self.run(caller, tab, &mut record, state, handler, payload, &mut effects)
                    .await?;
                Ok((effects, None))
            };
            let result = self.renewing(&lock, AssertUnwindSafe(step).catch_unwind()).await;
            self.finish(lock, record, before, result, tab, seq).await
        }
        .await;
        log_event(caller, &format!("{state}.{handler}"), seq, started, &answer.reply);
        answer
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
        self.navigate_for_tab(caller, tab, seq, acked, route).await.reply
    }

    /// [`navigate`](Engine::navigate), with the push for the tab's other sockets.
    pub(crate) async fn navigate_for_tab(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        acked: Option<u64>,
        route: &ClientRoute,
    ) -> Answer {
        let started = Instant::now();
        let answer = async {
            let (lock, mut record) = match self.begin(caller, tab, seq, acked).await {
                Ok(begun) => begun,
                Err(reply) => return Answer::only(reply),
            };
            let before = record.clone();
            let step = async {
                let (router, effects) = self.route_and_load(caller, tab, &mut record, &route.path).await;
                Ok((effects, Some(router)))
            };
            let result = self.renewing(&lock, AssertUnwindSafe(step).catch_unwind()).await;
            self.finish(lock, record, before, result, tab, seq).await
        }
        .await;
        log_event(caller, "navigate", seq, started, &answer.reply);
        answer
    }

    /// Locks the tab for `seq`. A `seq` already applied is answered with its original reply
    /// (exactly once), without running anything; one too far ahead is refused.
    async fn begin(
        &self,
        caller: &Caller,
        tab: &str,
        seq: u64,
        acked: Option<u64>,
    ) -> Result<(TabLock, TabRecord), ServerMessage> {
        let started = Instant::now();
        let locked = self.manager.lock(tab).await;
        metrics::histogram!("duet_tab_lock_seconds").record(started.elapsed().as_secs_f64());
        let mut lock = locked.map_err(|e| with_seq(store_error(&e), seq))?;
        let Some(mut record) = lock.record.take().filter(|r| caller.owns(r)) else {
            self.manager.release(lock);
            return Err(ServerMessage::error(
                Some(seq),
                ErrorCode::NotHydrated,
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
                    .unwrap_or_else(|_| ServerMessage::error(Some(seq), ErrorCode::OutOfOrder, "reply lost")),
                None => ServerMessage::error(
                    Some(seq),
                    ErrorCode::OutOfOrder,
                    format!("seq {seq} was already applied (last: {})", record.seq),
                ),
            });
        }
        if seq - record.seq > MAX_SEQ_STEP {
            self.manager.release(lock);
            return Err(ServerMessage::error(
                Some(seq),
                ErrorCode::OutOfOrder,
                format!(
                    "seq {seq} is too far ahead of the last applied ({}): at most {MAX_SEQ_STEP} ahead",
                    record.seq
                ),
            ));
        }
        Ok((lock, record))
    }

    /// Records the reply to `seq` (keeping the state from before the event if it failed or
    /// panicked), stores the tab, and says what the tab's other sockets get.
    async fn finish(
        &self,
        lock: TabLock,
        mut record: TabRecord,
        before: TabRecord,
        result: std::thread::Result<Result<(Effects, Option<Route>), EventError>>,
        tab: &str,
        seq: u64,
    ) -> Answer {
        let (reply, push, touched) = match result {
            Ok(Ok((effects, router))) => {
                let touched = touched(&before, &record);
                let push = self.tab_push(&effects, &before, &record, &touched, router.clone());
                let reply = ServerMessage::Delta {
                    seq: Some(seq),
                    changes: effects.changes,
                    router,
                    actions: effects.actions,
                };
                (reply, push, touched)
            }
            Ok(Err(error)) => {
                record = before;
                (ServerMessage::event_error(Some(seq), error), None, Vec::new())
            }
            Err(_) => {
                tracing::error!(tab, seq, "an event handler panicked; the tab keeps its previous state");
                record = before;
                let reply = ServerMessage::error(Some(seq), ErrorCode::HandlerFailed, "Something went wrong.");
                (reply, None, Vec::new())
            }
        };
        record.seq = seq;
        record.replies.push((seq, reply.to_text()));
        if record.replies.len() > KEPT_REPLIES {
            let excess = record.replies.len() - KEPT_REPLIES;
            record.replies.drain(..excess);
        }
        match self.store(lock, record, &touched).await {
            Ok(()) => Answer { reply, push },
            Err(error) => Answer::only(with_seq(error, seq)),
        }
    }

    /// The push for the tab's other sockets after an event: its changes (since before the
    /// event: they did not see the caller's progress) and the new route, without the
    /// caller's actions.
    fn tab_push(
        &self,
        effects: &Effects,
        before: &TabRecord,
        after: &TabRecord,
        touched: &[String],
        router: Option<Route>,
    ) -> Option<ServerMessage> {
        let changes = if effects.flushed {
            let mut changes = Changes::new();
            for name in touched {
                let Some(entry) = self.registry.get(name) else { continue };
                let old = entry.view(before.states.get(name).cloned()).client;
                let new = entry.view(after.states.get(name).cloned()).client;
                let delta = diff_state(&old, &new, &|var| entry.list_key(var));
                if !delta.is_empty() {
                    changes.insert(name.clone(), delta);
                }
            }
            // Every stream op of the event: the flushed ones, then the reply's.
            let mut streams = effects.flushed_streams.clone();
            for (name, vars) in &effects.changes {
                for (var, op) in vars {
                    if let VarOp::Stream { ops } = op {
                        let all = streams.entry(name.clone()).or_default().entry(var.clone()).or_default();
                        all.extend(ops.iter().cloned());
                    }
                }
            }
            for (name, vars) in streams {
                for (var, ops) in vars.into_iter().filter(|(_, ops)| !ops.is_empty()) {
                    changes
                        .entry(name.clone())
                        .or_default()
                        .insert(var, VarOp::Stream { ops });
                }
            }
            changes
        } else {
            effects.changes.clone()
        };
        (!changes.is_empty() || router.is_some()).then_some(ServerMessage::Delta {
            seq: None,
            changes,
            router,
            actions: Vec::new(),
        })
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
        effects: &mut Effects,
    ) -> Result<(), EventError> {
        let entry = self
            .registry
            .get(state)
            .ok_or_else(|| EventError::new(ErrorCode::UnknownState, format!("no state named {state:?}")))?;
        if entry.login_required() && caller.user.is_none() {
            return Err(EventError::login_required());
        }
        let stored = record.states.get(state).cloned();
        let before = entry.view(stored.clone()).client;
        let progress = caller.outbox.clone().map(|outbox| Progress {
            outbox,
            state: entry.name(),
            shown: before.clone(),
            sent: false,
            streamed: StreamOps::new(),
        });
        let jobs: Rc<dyn Jobs> = Rc::new(EngineJobs { engine: self.clone() });
        let mut ctx = EventCtx::new(caller.user.clone(), self.db.clone(), record.route.clone())
            .with_broadcaster(self.broadcaster.clone())
            .with_progress(progress)
            .with_spawner(Spawner::new(
                tab,
                caller.user.clone(),
                self.db.clone(),
                jobs,
                Arc::clone(&self.background),
            ));
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
        let flushed = ctx.take_flushed();
        let after = match result {
            Ok(after) => after,
            Err(error) => {
                if let Some(flushed) = &flushed {
                    self.unflush(caller, entry, &before, &flushed.shown);
                }
                return Err(error);
            }
        };
        let shown = match flushed {
            Some(flushed) => {
                effects.flushed = true;
                let streamed = effects.flushed_streams.entry(state.to_owned()).or_default();
                for (var, ops) in flushed.streamed {
                    streamed.entry(var).or_default().extend(ops);
                }
                flushed.shown
            }
            None => before,
        };
        let delta = after.delta_since(&shown, &|var| entry.list_key(var));
        if !delta.is_empty() {
            let changes = effects.changes.entry(state.to_owned()).or_default();
            for (var, op) in delta {
                match changes.get_mut(&var) {
                    Some(earlier) => earlier.then(op),
                    None => {
                        changes.insert(var, op);
                    }
                }
            }
        }
        record.states.insert(state.to_owned(), after.stored);
        effects.actions.extend(ctx.take_actions());
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

    /// After a failed handler that flushed progress (`shown`): sends the caller the state as
    /// it was before the event (`before`), since the failure rolls it back.
    fn unflush(
        &self,
        caller: &Caller,
        entry: &StateEntry,
        before: &serde_json::Map<String, Value>,
        shown: &serde_json::Map<String, Value>,
    ) {
        let Some(outbox) = &caller.outbox else {
            return;
        };
        let delta = diff_state(shown, before, &|var| entry.list_key(var));
        if delta.is_empty() {
            return;
        }
        let push = ServerMessage::Delta {
            seq: None,
            changes: [(entry.name().to_owned(), delta)].into_iter().collect(),
            router: None,
            actions: Vec::new(),
        };
        outbox.text(push.to_text());
    }

    /// Points the tab at `path` and runs its `on_load` handlers; a failing one is logged
    /// and skipped so the page still loads.
    async fn route_and_load(&self, caller: &Caller, tab: &str, record: &mut TabRecord, path: &str) -> (Route, Effects) {
        let (params, on_load) = self.registry.resolve(path);
        record.route = Route {
            path: path.to_owned(),
            params,
        };
        let mut effects = Effects::default();
        for on_load in on_load {
            if let Err(error) = self
                .run(
                    caller,
                    tab,
                    record,
                    on_load.state,
                    on_load.handler,
                    Value::Null,
                    &mut effects,
                )
                .await
            {
                if error.code == ErrorCode::LoginRequired {
                    continue;
                }
                tracing::warn!(state = on_load.state, handler = on_load.handler, %error, "on_load handler failed");
            }
        }
        (record.route.clone(), effects)
    }

    /// Runs `work` (handlers, under `lock`), renewing the lock while it runs if the manager's
    /// locks expire: a handler may run longer than the lock's TTL without losing its write.
    async fn renewing<T>(&self, lock: &TabLock, work: impl Future<Output = T>) -> T {
        let Some(every) = self.manager.renew_every() else {
            return work.await;
        };
        let mut work = std::pin::pin!(work);
        let mut next = tokio::time::Instant::now() + every;
        loop {
            // The work first: an event that finishes at its first poll (most do) never
            // arms the timer.
            tokio::select! {
                biased;
                done = &mut work => return done,
                () = tokio::time::sleep_until(next) => {
                    next += every;
                    if let Err(error) = self.manager.renew(lock).await {
                        tracing::warn!(tab = lock.tab, %error, "renewing a tab's lock failed");
                    }
                }
            }
        }
    }

    async fn lock(&self, tab: &str) -> Result<TabLock, ServerMessage> {
        let started = Instant::now();
        let lock = self.manager.lock(tab).await.map_err(|e| store_error(&e));
        metrics::histogram!("duet_tab_lock_seconds").record(started.elapsed().as_secs_f64());
        lock
    }

    async fn store(&self, lock: TabLock, record: TabRecord, touched: &[String]) -> Result<(), ServerMessage> {
        let tab = lock.tab.clone();
        let topics = record.subscriptions.iter().map(|s| s.topic.clone()).collect();
        let started = Instant::now();
        let stored = self.manager.store(lock, record, touched).await;
        metrics::histogram!("duet_tab_store_seconds").record(started.elapsed().as_secs_f64());
        stored.map_err(|e| store_error(&e))?;
        self.broadcaster.set_topics(&tab, &topics);
        Ok(())
    }
}

/// Runs background updates for the engine: on a socket of the tab in this process (in
/// order with its replies), or here when none is open.
struct EngineJobs {
    engine: Engine,
}

impl Jobs for EngineJobs {
    fn submit<'a>(&'a self, tab: &'a str, job: Job) -> futures_util::future::LocalBoxFuture<'a, ()> {
        Box::pin(async move {
            let sockets = self.engine.broadcaster.sockets();
            if let Err(job) = sockets.run_update(tab, job) {
                // No socket of the tab here: the update is stored, and a socket that opens
                // the tab later gets it in its hydrate.
                self.engine.apply(tab, job).await;
            }
        })
    }
}

/// A stream as a `hydrate` carries it: a reset (the browser shows the page afresh), then
/// what the page's `on_load` handlers put in it (`loaded`).
fn hydrated_stream(loaded: Option<&VarOp>) -> VarOp {
    let loaded = match loaded {
        Some(VarOp::Stream { ops }) => ops.as_slice(),
        _ => &[],
    };
    let mut ops = Vec::with_capacity(loaded.len() + 1);
    if loaded.first() != Some(&StreamOp::Reset) {
        ops.push(StreamOp::Reset);
    }
    ops.extend(loaded.iter().cloned());
    VarOp::Stream { ops }
}

/// The one log line of an event (or navigation) `name` (`state.handler`): INFO with its
/// outcome (`ok` or the error code the client got), WARN when the server failed it. Counted
/// in the metrics too (`duet_events_total`, `duet_event_duration_seconds`), under
/// `unknown` when the client named no registered handler (labels stay bounded).
fn log_event(caller: &Caller, name: &str, seq: u64, started: Instant, reply: &ServerMessage) {
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let user = match caller.user_id() {
        Some(id) => id.to_string(),
        None => "anonymous".to_owned(),
    };
    let outcome = match reply {
        ServerMessage::Error { code, .. } => code.as_str(),
        _ => "ok",
    };
    let label = match reply {
        ServerMessage::Error {
            code: ErrorCode::UnknownState | ErrorCode::UnknownHandler | ErrorCode::BadMessage,
            ..
        } => "unknown".to_owned(),
        _ => name.to_owned(),
    };
    metrics::counter!("duet_events_total", "event" => label.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!("duet_event_duration_seconds", "event" => label).record(elapsed.as_secs_f64());
    match reply {
        ServerMessage::Error {
            code: ErrorCode::HandlerFailed | ErrorCode::Unavailable | ErrorCode::TooLarge,
            message,
            ..
        } => {
            tracing::warn!(target: "duet::event", event = name, seq, duration_ms, user, outcome, error = %message, "event failed");
        }
        _ => tracing::info!(target: "duet::event", event = name, seq, duration_ms, user, outcome, "event"),
    }
}

/// The states whose stored form differs between `before` and `after`.
fn touched(before: &TabRecord, after: &TabRecord) -> Vec<String> {
    after
        .states
        .iter()
        .filter(|(name, vars)| before.states.get(*name) != Some(*vars))
        .map(|(name, _)| name.clone())
        .collect()
}

fn store_error(error: &StoreError) -> ServerMessage {
    tracing::warn!(%error, "state store");
    match error {
        // The tab's lock expired before the event finished: nothing of it was stored.
        StoreError::LockLost => ServerMessage::error(
            None,
            ErrorCode::Unavailable,
            "That took too long and was not saved; try again.",
        ),
        StoreError::TooLarge { .. } => ServerMessage::error(
            None,
            ErrorCode::TooLarge,
            "This page's state grew too large; the change was not saved.",
        ),
        _ => ServerMessage::error(
            None,
            ErrorCode::Unavailable,
            "The state store is unavailable; try again.",
        ),
    }
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
