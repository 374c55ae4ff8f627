//! What a handler can reach: the user, the database, the route, client actions.

use std::collections::BTreeMap;
use std::rc::Rc;

use duet_models::{Db, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Broadcaster, EventError};

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
    /// Navigate to `to` (a path of this app, or an absolute URL).
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
}

/// The context of one event: who sent it, on which page, with which database.
pub struct EventCtx {
    user: Option<Rc<User>>,
    db: Db,
    route: Route,
    actions: Vec<ClientAction>,
    subscriptions: Vec<(String, &'static str)>,
    broadcaster: Broadcaster,
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

    /// Asks the browser to navigate to `to` after applying this event's changes.
    pub fn redirect(&mut self, to: impl Into<String>) {
        self.actions.push(ClientAction::Redirect { to: to.into() });
    }

    /// Asks the browser to call its registered function `name` with `args`.
    pub fn call(&mut self, name: impl Into<String>, args: Vec<Value>) {
        self.actions.push(ClientAction::Call {
            name: name.into(),
            args,
        });
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

    pub(crate) fn with_broadcaster(mut self, broadcaster: Broadcaster) -> EventCtx {
        self.broadcaster = broadcaster;
        self
    }

    pub(crate) fn take_subscriptions(&mut self) -> Vec<(String, &'static str)> {
        std::mem::take(&mut self.subscriptions)
    }

    /// The actions requested so far, leaving none.
    pub fn take_actions(&mut self) -> Vec<ClientAction> {
        std::mem::take(&mut self.actions)
    }
}
