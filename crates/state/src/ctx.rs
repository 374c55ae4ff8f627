//! What a handler can reach: the user, the database, the route, client actions.

use std::collections::BTreeMap;
use std::rc::Rc;

use duet_models::{Db, User};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::background::{Background, Spawner};
use crate::outbox::Outbox;
use crate::wire::ServerMessage;
use crate::{Broadcaster, EventError, EventResult, State, StreamOps};

/// The page a tab is on: its path and the parameters its route pattern captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The path, e.g. `/orders/7`.
    pub path: String,
    /// Captured parameters, e.g. `{"id": "7"}` for `/orders/{id}`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Something the browser should do besides applying state changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientAction {
    /// Navigate to `to`, a path of this app (the runtime follows redirects only within its
    /// own origin).
    Redirect {
        /// Where to.
        to: String,
    },
    /// Call a function the browser runtime registered under `name`.
    Call {
        /// The function's name.
        name: String,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// Show a short message in the page's toast region (`ctx.toast(...)`).
    Toast(Toast),
}

/// A short message a handler shows the user after an action, as a toast: announced by
/// screen readers (an `aria-live` region), dismissible, gone after a few seconds.
///
/// ```
/// use duet_state::{ClientAction, Toast, ToastLevel};
///
/// let toast = Toast::success("Order #7 cancelled.");
/// assert_eq!(toast.level, ToastLevel::Success);
/// let wire = serde_json::to_value(ClientAction::Toast(toast)).unwrap();
/// assert_eq!(wire, serde_json::json!({"kind": "toast", "level": "success", "message": "Order #7 cancelled."}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toast {
    /// How it looks and how urgently it is announced.
    pub level: ToastLevel,
    /// The text (shown as text, never as HTML).
    pub message: String,
}

/// A [`Toast`]'s kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToastLevel {
    /// Something to know.
    Info,
    /// An action worked.
    Success,
    /// An action failed (announced assertively).
    Error,
}

impl Toast {
    /// An informative toast.
    pub fn info(message: impl Into<String>) -> Toast {
        Toast::new(ToastLevel::Info, message)
    }

    /// A toast saying an action worked.
    pub fn success(message: impl Into<String>) -> Toast {
        Toast::new(ToastLevel::Success, message)
    }

    /// A toast saying an action failed.
    pub fn error(message: impl Into<String>) -> Toast {
        Toast::new(ToastLevel::Error, message)
    }

    fn new(level: ToastLevel, message: impl Into<String>) -> Toast {
        Toast {
            level,
            message: message.into(),
        }
    }
}

/// The context of one event: who sent it, on which page, with which database.
pub struct EventCtx {
    user: Option<Rc<User>>,
    db: Db,
    route: Route,
    actions: Vec<ClientAction>,
    subscriptions: Vec<(String, &'static str)>,
    broadcaster: Broadcaster,
    progress: Option<Progress>,
    spawner: Option<Spawner>,
}

/// Where a running handler's intermediate updates go: the outbox of the socket that sent
/// the event, and what that client shows of the state now.
pub(crate) struct Progress {
    pub(crate) outbox: Outbox,
    pub(crate) state: &'static str,
    pub(crate) shown: Map<String, Value>,
    /// Whether anything was sent.
    pub(crate) sent: bool,
    /// The stream ops sent, by var (for the tab's other sockets).
    pub(crate) streamed: StreamOps,
}

/// What a handler's flushes sent: the client's view of the state after the last one, and
/// every stream op.
pub(crate) struct Flushed {
    pub(crate) shown: Map<String, Value>,
    pub(crate) streamed: StreamOps,
}

impl std::fmt::Debug for EventCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventCtx")
            .field("user", &self.user.as_ref().map(|u| u.id))
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl EventCtx {
    /// A context for `user` on `route`.
    pub fn new(user: Option<Rc<User>>, db: Db, route: Route) -> EventCtx {
        EventCtx {
            user,
            db,
            route,
            actions: Vec::new(),
            subscriptions: Vec::new(),
            broadcaster: Broadcaster::new(),
            progress: None,
            spawner: None,
        }
    }

    /// A context with no user and no page: for tests and background work.
    pub fn detached(db: Db) -> EventCtx {
        EventCtx::new(None, db, Route::default())
    }

    /// The logged-in user, if any (resolved once, when the socket connected).
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }

    /// The logged-in user, or a `login_required` error.
    pub fn require_user(&self) -> Result<&User, EventError> {
        self.user().ok_or_else(EventError::login_required)
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The tab's current page.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// Asks the browser to navigate to `to`, a path of this app (`/orders/7?tab=2`), after
    /// applying this event's changes. Anything else — another site (`https://…`,
    /// `//evil.example`, `/\evil.example`) — is refused here (and logged): redirects stay on
    /// the app's own origin.
    pub fn redirect(&mut self, to: impl Into<String>) {
        let to = to.into();
        if is_local_path(&to) {
            self.actions.push(ClientAction::Redirect { to });
        } else {
            tracing::warn!(to, "redirect refused: not a path of this app");
        }
    }

    /// Asks the browser to call its registered function `name` with `args`.
    pub fn call(&mut self, name: impl Into<String>, args: Vec<Value>) {
        self.actions.push(ClientAction::Call {
            name: name.into(),
            args,
        });
    }

    /// Shows `toast` in the browser after applying this event's changes (LiveView's
    /// `put_flash`, Reflex's `rx.toast`): `ctx.toast(Toast::success("Order cancelled."))`.
    pub fn toast(&mut self, toast: Toast) {
        self.actions.push(ClientAction::Toast(toast));
    }

    /// Subscribes this tab to `topic`: each message published on it runs this state's
    /// `handler` with the message as payload, and the tab receives what changed.
    pub fn subscribe(&mut self, topic: impl Into<String>, handler: &'static str) {
        self.subscriptions.push((topic.into(), handler));
    }

    /// The app's broadcaster, to publish to other tabs.
    pub fn broadcaster(&self) -> &Broadcaster {
        &self.broadcaster
    }

    /// Sends what `state` changed so far to the browser, before the handler returns: for
    /// progress (`self.step = 3; ctx.flush(self).await;`). The event's reply then carries
    /// only what changed after the last flush; if the handler fails, the browser is sent
    /// the state as it was before the event. Outside a socket's event (on load, reactions,
    /// tests) there is no one waiting and nothing is sent.
    pub async fn flush<S: State>(&mut self, state: &S) {
        let Some(progress) = self.progress.as_mut().filter(|p| p.state == S::NAME) else {
            return;
        };
        let outcome = crate::registry::outcome(state);
        let delta = outcome.delta_since(&progress.shown, &S::list_key);
        if delta.is_empty() {
            return;
        }
        progress.shown = outcome.client;
        for (var, ops) in outcome.streams {
            progress.streamed.entry(var).or_default().extend(ops);
        }
        progress.sent = true;
        let push = ServerMessage::Delta {
            seq: None,
            changes: [(S::NAME.to_owned(), delta)].into_iter().collect(),
            router: None,
            actions: Vec::new(),
        };
        if !progress.outbox.text(push.to_text()) {
            tracing::debug!(state = S::NAME, "flush: the socket is closing");
        }
    }

    /// Runs `work` in the background, after this event is answered; it may update this tab's
    /// state `S` any number of times ([`Background::update`]), each update reaching the
    /// tab's open sockets as a push. Fails outside a tab (a detached context).
    ///
    /// ```no_run
    /// # use duet_state::{Background, EventCtx, EventResult, State, events};
    /// # #[derive(State, Default, serde::Serialize, serde::Deserialize)]
    /// # struct ReportState { report: Option<String> }
    /// # async fn build_report() -> String { String::new() }
    /// #[events]
    /// impl ReportState {
    ///     async fn build(&mut self, ctx: &mut EventCtx) -> EventResult {
    ///         ctx.spawn(|tab: Background<ReportState>| async move {
    ///             let report = build_report().await; // slow: the tab stays usable meanwhile
    ///             let _ = tab.update(move |state| state.report = Some(report)).await;
    ///         })
    ///     }
    /// }
    /// ```
    pub fn spawn<S, F, Fut>(&mut self, work: F) -> EventResult
    where
        S: State,
        F: FnOnce(Background<S>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let spawner = self
            .spawner
            .clone()
            .ok_or_else(|| EventError::msg("Background work needs a tab."))?;
        spawner.spawn(work);
        Ok(())
    }

    pub(crate) fn with_broadcaster(mut self, broadcaster: Broadcaster) -> EventCtx {
        self.broadcaster = broadcaster;
        self
    }

    pub(crate) fn with_progress(mut self, progress: Option<Progress>) -> EventCtx {
        self.progress = progress;
        self
    }

    pub(crate) fn with_spawner(mut self, spawner: Spawner) -> EventCtx {
        self.spawner = Some(spawner);
        self
    }

    /// What [`EventCtx::flush`] sent the client, if it was sent anything.
    pub(crate) fn take_flushed(&mut self) -> Option<Flushed> {
        self.progress.take().filter(|p| p.sent).map(|p| Flushed {
            shown: p.shown,
            streamed: p.streamed,
        })
    }

    pub(crate) fn take_subscriptions(&mut self) -> Vec<(String, &'static str)> {
        std::mem::take(&mut self.subscriptions)
    }

    /// The actions requested so far, leaving none.
    pub fn take_actions(&mut self) -> Vec<ClientAction> {
        std::mem::take(&mut self.actions)
    }
}

/// A path on this origin: `/` then no second `/` or `\` (which browsers read as another
/// host), and no control characters.
fn is_local_path(to: &str) -> bool {
    let mut chars = to.chars();
    chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\')) && !to.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn redirects_stay_on_this_origin() {
        for (to, local) in [
            ("/", true),
            ("/orders/7?tab=2#x", true),
            ("/login?next=//evil.example", true),
            ("//evil.example/", false),
            ("/\\evil.example", false),
            ("https://evil.example/", false),
            ("javascript:alert(1)", false),
            ("orders", false),
            ("", false),
            ("/\tevil", false),
        ] {
            assert_eq!(is_local_path(to), local, "{to:?}");
        }
    }
}
