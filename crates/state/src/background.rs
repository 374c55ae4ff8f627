//! Work a handler leaves running after its event is answered, updating the tab's state later.

use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;

use duet_models::{Db, User};
use futures_util::FutureExt;

use crate::engine::{Caller, Engine};
use crate::wire::ServerMessage;
use crate::{EventError, EventResult, State};

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
    ///
    /// With a socket of the tab open in this process, the update runs in that socket's task,
    /// between its events, so the push reaches the browser in order with the replies.
    pub async fn update(&self, change: impl FnOnce(&mut S) + Send + 'static) -> EventResult {
        let Spawner { engine, caller, tab } = &self.spawner;
        let (done, result) = tokio::sync::oneshot::channel();
        let user = caller.user_id();
        let job = Job {
            run: Box::new(move |engine, tab| {
                Box::pin(async move {
                    let (outcome, push) = match engine.update::<S>(user, tab, change).await {
                        Ok(push) => (Ok(()), push),
                        Err(error) => (Err(error), None),
                    };
                    let _ = done.send(outcome);
                    push
                })
            }),
        };
        match engine.broadcaster().sockets().run_update(tab, job) {
            Ok(()) => result
                .await
                .unwrap_or_else(|_| Err(EventError::new("not_hydrated", "The tab is gone."))),
            // No socket of the tab here: no reply to keep in order with.
            Err(job) => {
                if let Some(push) = job.run(engine, tab).await {
                    engine.broadcaster().sockets().push(tab, &push.to_text());
                }
                result
                    .await
                    .unwrap_or_else(|_| Err(EventError::new("not_hydrated", "The tab is gone.")))
            }
        }
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

type RunFn = Box<
    dyn for<'a> FnOnce(&'a Engine, &'a str) -> futures_util::future::LocalBoxFuture<'a, Option<ServerMessage>> + Send,
>;

/// One [`Background::update`], ready to run wherever the tab's socket is.
pub(crate) struct Job {
    run: RunFn,
}

impl Job {
    /// Applies the update to `tab`; the push to send, if anything changed.
    pub(crate) async fn run(self, engine: &Engine, tab: &str) -> Option<ServerMessage> {
        (self.run)(engine, tab).await
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
