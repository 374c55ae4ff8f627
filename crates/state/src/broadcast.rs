//! The in-process broadcaster: code anywhere in the app (an HTTP view, a webhook handler)
//! publishes on a topic; tabs subscribed to it react and their sockets receive the delta.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::socket::Sockets;

/// Publishes messages to the tabs subscribed to a topic.
///
/// A state subscribes its tab while handling an event: `ctx.subscribe("orders:user:42",
/// "refresh")`. `publish("orders:user:42", payload)` then runs that state's `refresh` with
/// `payload` under the tab's lock, on one of the tab's sockets, and sends the change to all
/// of them. Delivery is to the tabs open in this process, plus — when a [`Transport`] is set
/// (the Redis broadcaster, `duet_state::redis`) — to the tabs open in the app's other
/// instances.
#[derive(Clone, Default)]
pub struct Broadcaster {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    topics: Mutex<Index>,
    sockets: Arc<Sockets>,
    transport: OnceLock<Arc<dyn Transport>>,
    listeners: OnceLock<tokio::sync::broadcast::Sender<Delivered>>,
}

/// A message delivered in this instance, as [`Broadcaster::listen`] hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// Its topic (`"model:order"`).
    pub topic: String,
    /// Its payload.
    pub payload: Value,
}

/// How many deliveries a slow listener may fall behind before it misses some (and is told so
/// by `RecvError::Lagged`).
const LISTENER_BACKLOG: usize = 256;

/// Why a published message did not reach a tab or the other instances: the `reason` label
/// of `duet_broadcasts_dropped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastDrop {
    /// A subscribed tab's socket had too much work waiting: it is closed as too slow, and
    /// its client reconnects and hydrates afresh.
    SocketBehind,
    /// The transport's queue to the other instances was full (its backend slow or away).
    TransportQueueFull,
    /// The transport's backend (PostgreSQL) could not be reached to send it.
    TransportUnreachable,
}

impl BroadcastDrop {
    const ALL: [BroadcastDrop; 3] = [
        BroadcastDrop::SocketBehind,
        BroadcastDrop::TransportQueueFull,
        BroadcastDrop::TransportUnreachable,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            BroadcastDrop::SocketBehind => "socket_behind",
            BroadcastDrop::TransportQueueFull => "transport_queue_full",
            BroadcastDrop::TransportUnreachable => "transport_unreachable",
        }
    }

    pub(crate) fn count(self) {
        metrics::counter!("duet_broadcasts_dropped_total", "reason" => self.label()).increment(1);
    }

    /// Makes every reason's series exist (at 0) in the installed recorder, so that a scrape
    /// shows drops as a change from zero.
    pub fn register_all() {
        for reason in BroadcastDrop::ALL {
            metrics::counter!("duet_broadcasts_dropped_total", "reason" => reason.label()).increment(0);
        }
    }
}

/// Carries publishes and logouts to the app's other instances (e.g. Redis pub/sub). The
/// instances that receive them call [`Broadcaster::deliver`] and
/// [`Sockets::close_login`].
pub trait Transport: Send + Sync + 'static {
    /// Sends `payload` on `topic` to the other instances. Must not block: a transport that
    /// cannot send drops the message (and says so in its logs).
    fn publish(&self, topic: &str, payload: &Value);

    /// Tells the other instances that the login `session_auth_id` logged out.
    fn logout(&self, session_auth_id: &str);

    /// Tells the other instances that every login of `user_id` but `kept` ended.
    fn logout_user(&self, user_id: i64, kept: Option<&str>);
}

/// Topic → tabs, and each tab's topics (so a tab's change touches only its own entries).
#[derive(Default)]
struct Index {
    tabs_of: HashMap<String, HashSet<String>>,
    topics_of: HashMap<String, HashSet<String>>,
}

impl std::fmt::Debug for Broadcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let topics = self.inner.topics.lock().map(|t| t.tabs_of.len()).unwrap_or(0);
        f.debug_struct("Broadcaster")
            .field("topics", &topics)
            .finish_non_exhaustive()
    }
}

impl Broadcaster {
    /// A broadcaster with no subscriptions.
    pub fn new() -> Broadcaster {
        Broadcaster::default()
    }

    /// Delivers `payload` to every tab subscribed to `topic`, in this instance and (through
    /// the transport, if any) in the others; returns how many tabs of this instance.
    pub fn publish(&self, topic: &str, payload: &Value) -> usize {
        metrics::counter!("duet_broadcasts_published_total").increment(1);
        let reached = self.deliver(topic, payload);
        if let Some(transport) = self.inner.transport.get() {
            transport.publish(topic, payload);
        }
        reached
    }

    /// Sets the transport to the app's other instances; false if one was already set.
    pub fn set_transport(&self, transport: Arc<dyn Transport>) -> bool {
        self.inner.transport.set(transport).is_ok()
    }

    /// Delivers `payload` to the tabs of this instance subscribed to `topic` (what a
    /// transport calls for a message from another instance); returns how many tabs.
    pub fn deliver(&self, topic: &str, payload: &Value) -> usize {
        let tabs: Vec<String> = self
            .inner
            .topics
            .lock()
            .map(|index| {
                index
                    .tabs_of
                    .get(topic)
                    .map(|tabs| tabs.iter().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let mut reached = 0;
        for tab in tabs {
            if self.inner.sockets.react(&tab, topic, payload) {
                reached += 1;
            }
        }
        if let Some(listeners) = self.inner.listeners.get() {
            // No listener is not an error: nobody is watching right now.
            let _ = listeners.send(Delivered {
                topic: topic.to_owned(),
                payload: payload.clone(),
            });
        }
        tracing::debug!(topic, reached, "published");
        metrics::counter!("duet_broadcast_deliveries_total").increment(reached as u64);
        reached
    }

    /// Every message delivered in this instance from now on — published here or arriving
    /// from the other instances — for code that is not a tab: the admin's live change lists
    /// listen here. A listener that falls more than 256 messages behind is told it lagged.
    pub fn listen(&self) -> tokio::sync::broadcast::Receiver<Delivered> {
        self.inner
            .listeners
            .get_or_init(|| tokio::sync::broadcast::channel(LISTENER_BACKLOG).0)
            .subscribe()
    }

    /// Records that `tab` listens to exactly `topics` (replacing what it listened to).
    pub(crate) fn set_topics(&self, tab: &str, topics: &HashSet<String>) {
        let Ok(mut index) = self.inner.topics.lock() else {
            return;
        };
        let Index { tabs_of, topics_of } = &mut *index;
        let old = topics_of.get(tab);
        if old.map_or(topics.is_empty(), |old| old == topics) {
            return;
        }
        for topic in old.into_iter().flatten().filter(|t| !topics.contains(*t)) {
            if let Some(tabs) = tabs_of.get_mut(topic) {
                tabs.remove(tab);
                if tabs.is_empty() {
                    tabs_of.remove(topic);
                }
            }
        }
        for topic in topics {
            tabs_of.entry(topic.clone()).or_default().insert(tab.to_owned());
        }
        if topics.is_empty() {
            topics_of.remove(tab);
        } else {
            topics_of.insert(tab.to_owned(), topics.clone());
        }
    }

    /// Forgets `tab`'s topics: its last socket here closed (a reconnect subscribes again).
    pub(crate) fn forget_tab(&self, tab: &str) {
        self.set_topics(tab, &HashSet::new());
    }

    /// The open sockets of this process.
    pub fn sockets(&self) -> Arc<Sockets> {
        Arc::clone(&self.inner.sockets)
    }
}

/// Logout closes the login's sockets here and, through the transport, in every instance.
impl duet_auth::LogoutListener for Broadcaster {
    fn logged_out(&self, session_auth_id: &str) {
        duet_auth::LogoutListener::logged_out(&*self.inner.sockets, session_auth_id);
        if let Some(transport) = self.inner.transport.get() {
            transport.logout(session_auth_id);
        }
    }

    fn logged_out_elsewhere(&self, user_id: i64, kept: Option<&str>) {
        duet_auth::LogoutListener::logged_out_elsewhere(&*self.inner.sockets, user_id, kept);
        if let Some(transport) = self.inner.transport.get() {
            transport.logout_user(user_id, kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use metrics_exporter_prometheus::PrometheusBuilder;
    use serde_json::json;

    use super::*;
    use crate::outbox::{Out, Outbox, TOO_SLOW};
    use crate::socket::Inbox;

    #[tokio::test]
    async fn a_socket_too_far_behind_drops_the_broadcast_and_is_counted() {
        let broadcaster = Broadcaster::new();
        let sockets = broadcaster.sockets();
        let outbox = Outbox::new(1024);
        let id = sockets.add(None, Arc::new(Inbox::new(1)), outbox.clone());
        sockets.join(id, "tab");
        broadcaster.set_topics("tab", &HashSet::from(["model:order".to_owned()]));
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let reached = metrics::with_local_recorder(&recorder, || {
            BroadcastDrop::register_all();
            // The socket's task never runs here: the first fills its inbox of one.
            [1, 2].map(|n| broadcaster.publish("model:order", &json!({ "id": n })))
        });
        assert_eq!(reached, [1, 0]);
        let text = handle.render();
        for line in [
            "duet_broadcasts_published_total 2",
            "duet_broadcast_deliveries_total 1",
            "duet_broadcasts_dropped_total{reason=\"socket_behind\"} 1",
            "duet_broadcasts_dropped_total{reason=\"transport_queue_full\"} 0",
            "duet_broadcasts_dropped_total{reason=\"transport_unreachable\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        outbox.ended().await;
        assert!(
            matches!(outbox.next().await, Out::Close(TOO_SLOW, _)),
            "closed as too slow"
        );
    }
}
