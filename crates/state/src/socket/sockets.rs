//! Every open socket of the process, by login and by tab, and how the rest of the process
//! reaches them: frames go into a socket's outbox, work for its task into its inbox.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, OwnedMutexGuard};

use crate::background::Job;
use crate::broadcast::BroadcastDrop;
use crate::outbox::{Outbox, TOO_SLOW};

/// What other parts of the process ask of a socket's task (never a frame: frames go to its
/// outbox).
pub(crate) enum Control {
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
    /// Background work's update of the tab, run by the socket's task so that its push is
    /// sent in order with the socket's replies.
    Update(Job),
    /// A message published on a topic the tab listens to.
    React(String, serde_json::Value),
}

/// A socket's inbox: bounded, lighter than a channel (an idle socket holds one small
/// allocation and an empty queue).
pub(crate) struct Inbox {
    queue: Mutex<VecDeque<Control>>,
    pub(crate) ready: Notify,
    limit: usize,
}

impl Inbox {
    pub(crate) fn new(limit: usize) -> Inbox {
        Inbox {
            queue: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            limit,
        }
    }

    /// Queues `control`; false (dropping it) when the inbox is full.
    fn send(&self, control: Control) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() >= self.limit {
            return false;
        }
        queue.push_back(control);
        drop(queue);
        self.ready.notify_one();
        true
    }

    /// The next piece of work; when more waits, the next `ready` fires at once.
    pub(crate) fn take(&self) -> Option<Control> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let control = queue.pop_front();
        if !queue.is_empty() {
            self.ready.notify_one();
        }
        control
    }
}

/// An open socket: the login it belongs to (if any) and that login's user, its tab once
/// hydrated, and how to reach it.
struct OpenSocket {
    login: Option<String>,
    user: Option<i64>,
    tab: Option<String>,
    inbox: Arc<Inbox>,
    outbox: Outbox,
}

impl OpenSocket {
    /// Hands `control` to the socket's task; a socket whose inbox is full is not keeping
    /// up: it is closed (its client reconnects and hydrates afresh), and false.
    fn send(&self, control: Control) -> bool {
        if self.inbox.send(control) {
            return true;
        }
        tracing::warn!("event socket closed: its inbox is full");
        self.outbox
            .close(TOO_SLOW, "too slow: too much work was waiting for this socket");
        false
    }
}

/// A tab's sockets here, and its turn: held while one of them handles something of the tab
/// and queues the answers, so that every socket of the tab gets them in the order the tab
/// changed.
struct TabSockets {
    ids: Vec<u64>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// Every open socket of this process, by the login (session auth id) it belongs to, so a
/// logout can end that login's sockets at once, and by tab, so pushes reach a tab's
/// sockets without a scan.
#[derive(Default)]
pub struct Sockets {
    next: AtomicU64,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    sockets: HashMap<u64, OpenSocket>,
    tabs: HashMap<String, TabSockets>,
}

impl Open {
    fn of_tab<'a>(&'a self, tab: &str) -> impl Iterator<Item = (u64, &'a OpenSocket)> {
        self.tabs
            .get(tab)
            .into_iter()
            .flat_map(|t| t.ids.iter())
            .filter_map(|id| Some((*id, self.sockets.get(id)?)))
    }

    /// Takes socket `id` off `tab`; true when that was the tab's last socket.
    fn leave(&mut self, id: u64, tab: &str) -> bool {
        let Some(entry) = self.tabs.get_mut(tab) else {
            return false;
        };
        entry.ids.retain(|i| *i != id);
        let last = entry.ids.is_empty();
        if last && Arc::strong_count(&entry.turn) == 1 {
            self.tabs.remove(tab);
        }
        last
    }
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sockets").field("open", &self.len()).finish()
    }
}

/// A tab's turn (see [`Sockets::turn`]); released on drop.
pub(crate) struct TabTurn<'a> {
    sockets: &'a Sockets,
    tab: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for TabTurn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut open = self.sockets.open();
        if open
            .tabs
            .get(&self.tab)
            .is_some_and(|t| t.ids.is_empty() && Arc::strong_count(&t.turn) == 1)
        {
            open.tabs.remove(&self.tab);
        }
    }
}

impl Sockets {
    fn open(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self, login: Option<(String, i64)>, inbox: Arc<Inbox>, outbox: Outbox) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (login, user) = login.map_or((None, None), |(login, user)| (Some(login), Some(user)));
        self.open().sockets.insert(
            id,
            OpenSocket {
                login,
                user,
                tab: None,
                inbox,
                outbox,
            },
        );
        id
    }

    /// Waits for `tab`'s turn: the socket holding it may change the tab and queue the
    /// answers for all the tab's sockets before any other socket of the tab here does.
    pub(crate) async fn turn(&self, tab: &str) -> TabTurn<'_> {
        let turn = {
            let mut open = self.open();
            let entry = open.tabs.entry(tab.to_owned()).or_insert_with(|| TabSockets {
                ids: Vec::new(),
                turn: Arc::new(tokio::sync::Mutex::new(())),
            });
            Arc::clone(&entry.turn)
        };
        let guard = turn.lock_owned().await;
        TabTurn {
            sockets: self,
            tab: tab.to_owned(),
            guard: Some(guard),
        }
    }

    /// Socket `id` now shows `tab` (leaving its previous tab); the previous tab, if this
    /// was its last socket here.
    pub(crate) fn join(&self, id: u64, tab: &str) -> Option<String> {
        let mut open = self.open();
        let socket = open.sockets.get_mut(&id)?;
        let old = socket.tab.replace(tab.to_owned());
        if old.as_deref() == Some(tab) {
            return None;
        }
        open.tabs
            .entry(tab.to_owned())
            .or_insert_with(|| TabSockets {
                ids: Vec::new(),
                turn: Arc::new(tokio::sync::Mutex::new(())),
            })
            .ids
            .push(id);
        old.filter(|old| open.leave(id, old))
    }

    /// Asks one socket of `tab` to run the reaction to `topic`; false when none is open, or
    /// when that socket is too far behind to take it (dropped, and counted).
    pub(crate) fn react(&self, tab: &str, topic: &str, payload: &serde_json::Value) -> bool {
        let open = self.open();
        let Some((_, socket)) = open.of_tab(tab).next() else {
            return false;
        };
        let queued = socket.send(Control::React(topic.to_owned(), payload.clone()));
        if !queued {
            BroadcastDrop::SocketBehind.count();
        }
        queued
    }

    /// Queues `text` for every socket of `tab` but `except`.
    pub(crate) fn push(&self, tab: &str, except: Option<u64>, text: &str) {
        let open = self.open();
        for (id, socket) in open.of_tab(tab) {
            if Some(id) != except {
                socket.outbox.text(text.to_owned());
            }
        }
    }

    /// Hands background work's update to a socket of `tab`; gives it back when none is open.
    pub(crate) fn run_update(&self, tab: &str, job: Job) -> Result<(), Job> {
        let open = self.open();
        let Some((_, socket)) = open.of_tab(tab).next() else {
            return Err(job);
        };
        socket.send(Control::Update(job));
        Ok(())
    }

    /// Forgets socket `id`; its tab, when it was the tab's last socket here.
    pub(crate) fn remove(&self, id: u64) -> Option<String> {
        let mut open = self.open();
        let tab = open.sockets.remove(&id)?.tab?;
        open.leave(id, &tab).then_some(tab)
    }

    /// How many sockets are open.
    pub fn len(&self) -> usize {
        self.open().sockets.len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every socket with `code` and `reason` (a `bye` first), each once it has answered
    /// the frame it is handling; returns how many.
    pub fn close_all(&self, code: u16, reason: &'static str) -> usize {
        let open = self.open();
        for socket in open.sockets.values() {
            socket.send(Control::Close(code, reason));
        }
        open.sockets.len()
    }

    /// Closes every socket of the login `session_auth_id` with 4401; returns how many.
    pub fn close_login(&self, session_auth_id: &str) -> usize {
        let open = self.open();
        let mut closed = 0;
        for socket in open.sockets.values() {
            if socket.login.as_deref() == Some(session_auth_id) {
                socket.send(Control::Close(4401, "logged out"));
                closed += 1;
            }
        }
        closed
    }

    /// Closes every socket of `user_id`'s logins but `kept` with 4401; returns how many.
    pub fn close_user(&self, user_id: i64, kept: Option<&str>) -> usize {
        let open = self.open();
        let mut closed = 0;
        for socket in open.sockets.values() {
            if socket.user == Some(user_id) && socket.login.as_deref() != kept {
                socket.send(Control::Close(4401, "logged out"));
                closed += 1;
            }
        }
        closed
    }
}

impl duet_auth::LogoutListener for Sockets {
    fn logged_out(&self, session_auth_id: &str) {
        let closed = self.close_login(session_auth_id);
        tracing::info!(closed, "logout: closed the session's event sockets");
    }

    fn logged_out_elsewhere(&self, user_id: i64, kept: Option<&str>) {
        let closed = self.close_user(user_id, kept);
        tracing::info!(
            closed,
            user_id,
            "logged out everywhere: closed the user's other event sockets"
        );
    }
}
