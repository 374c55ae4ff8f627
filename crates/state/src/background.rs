//! Work a handler leaves running after its event is answered, updating the tab's state later.

use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;

use duet_models::{Db, User};
use futures_util::FutureExt;

use crate::engine::{Caller, Engine};
use crate::{EventResult, State};

/// A handle on one tab's state `S`, given to work started with
/// [`EventCtx::spawn`](crate::EventCtx::spawn).
pub struct Background<S> {
    spawner: Spawner,
    state: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Background<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background").field("tab", &self.spawner.tab).finish()
    }
}

impl<S: State> Background<S> {
    /// Changes the tab's state under its lock (waiting for the event being handled, if
    /// any) and pushes what changed to the tab's open sockets. Fails when the tab has
    /// expired or the state store is unavailable.
    pub async fn update(&self, change: impl FnOnce(&mut S)) -> EventResult {
        let Spawner { engine, caller, tab } = &self.spawner;
        engine.update::<S>(caller, tab, change).await
    }

    /// The user whose tab it is.
    pub fn user(&self) -> Option<&User> {
        self.spawner.caller.user.as_deref()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        self.spawner.engine.db()
    }

    /// The tab's token.
    pub fn tab(&self) -> &str {
        &self.spawner.tab
    }
}

/// What it takes to start background work for a tab.
#[derive(Clone)]
pub(crate) struct Spawner {
    engine: Engine,
    caller: Caller,
    tab: String,
}

impl Spawner {
    pub(crate) fn new(engine: Engine, caller: Caller, tab: &str) -> Spawner {
        Spawner {
            engine,
            caller,
            tab: tab.to_owned(),
        }
    }

    /// Starts `work` on this worker's runtime; a panic in it is logged.
    pub(crate) fn spawn<S, F, Fut>(self, work: F)
    where
        S: State,
        F: FnOnce(Background<S>) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let tab = self.tab.clone();
        let background = Background {
            spawner: self,
            state: PhantomData,
        };
        actix_web::rt::spawn(async move {
            if AssertUnwindSafe(work(background)).catch_unwind().await.is_err() {
                tracing::error!(tab, state = S::NAME, "background work panicked");
            }
        });
    }
}
