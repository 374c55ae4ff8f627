//! Work a handler leaves running after its event is answered, updating the tab's state later.
//!
//! Background work never touches a socket or the store itself: each
//! [`Background::update`] becomes a [`Job`] that reports back to the tab's owner — a socket
//! of the tab in this process, which applies it between its events (so its push is in order
//! with the replies), or the engine when no socket of the tab is open here.

use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use duet_models::{Db, User};
use futures_util::FutureExt;
use serde_json::{Map, Value};

use crate::registry::{Outcome, Stored, load, outcome};
use crate::wire::ErrorCode;
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
        let (done, result) = tokio::sync::oneshot::channel();
        let job = Job {
            user_id: self.spawner.user.as_ref().map(|u| u.id),
            state: S::NAME,
            list_key: S::list_key,
            change: Box::new(move |stored| {
                let mut state: S = load(S::NAME, stored);
                let before = outcome(&state).client;
                change(&mut state);
                (before, outcome(&state))
            }),
            done,
        };
        self.spawner.jobs.submit(&self.spawner.tab, job).await;
        result
            .await
            .unwrap_or_else(|_| Err(EventError::new(ErrorCode::NotHydrated, "The tab is gone.")))
    }

    /// The user whose tab it is.
    pub fn user(&self) -> Option<&User> {
        self.spawner.user.as_deref()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.spawner.db
    }

    /// The tab's token.
    pub fn tab(&self) -> &str {
        &self.spawner.tab
    }
}

pub(crate) type Change = Box<dyn FnOnce(Option<Stored>) -> (Map<String, Value>, Outcome) + Send>;

/// One [`Background::update`], ready to run wherever the tab's owner is.
pub(crate) struct Job {
    /// The user the tab must belong to.
    pub(crate) user_id: Option<i64>,
    /// The state it changes.
    pub(crate) state: &'static str,
    /// The state's list keys, to diff it.
    pub(crate) list_key: fn(&str) -> Option<&'static str>,
    /// Loads the stored state, changes it: the client's view before, and the outcome.
    pub(crate) change: Change,
    /// Where the update's result goes.
    pub(crate) done: tokio::sync::oneshot::Sender<EventResult>,
}

/// Who runs a tab's background updates (the engine: on a socket of the tab, or itself).
pub(crate) trait Jobs {
    /// Runs `job` on `tab`, sending its result to `job.done`.
    fn submit<'a>(&'a self, tab: &'a str, job: Job) -> futures_util::future::LocalBoxFuture<'a, ()>;
}

/// How much background work is running in this process, so that shutdown can wait for it.
#[derive(Debug, Default)]
pub(crate) struct BackgroundTasks {
    running: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One running piece of background work; it is done when dropped.
struct Running(Arc<BackgroundTasks>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl BackgroundTasks {
    fn start(self: &Arc<Self>) -> Running {
        self.running.fetch_add(1, Ordering::AcqRel);
        Running(Arc::clone(self))
    }

    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Returns once nothing runs.
    pub(crate) async fn idle(&self) {
        loop {
            // Registered before the check: a notification between the two is not missed.
            let notified = self.idle.notified();
            if self.running() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// What it takes to start background work for a tab.
#[derive(Clone)]
pub(crate) struct Spawner {
    tab: String,
    user: Option<Rc<User>>,
    db: Db,
    jobs: Rc<dyn Jobs>,
    tasks: Arc<BackgroundTasks>,
}

impl Spawner {
    pub(crate) fn new(
        tab: &str,
        user: Option<Rc<User>>,
        db: Db,
        jobs: Rc<dyn Jobs>,
        tasks: Arc<BackgroundTasks>,
    ) -> Spawner {
        Spawner {
            tab: tab.to_owned(),
            user,
            db,
            jobs,
            tasks,
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
        let running = self.tasks.start();
        let background = Background {
            spawner: self,
            state: PhantomData,
        };
        actix_web::rt::spawn(async move {
            let _running = running;
            if AssertUnwindSafe(work(background)).catch_unwind().await.is_err() {
                tracing::error!(tab, state = S::NAME, "background work panicked");
            }
        });
    }
}
