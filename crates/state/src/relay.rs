//! What the transports to other instances (Redis pub/sub, PostgreSQL LISTEN/NOTIFY) share:
//! the message on the channel, the queue that keeps publishers from blocking, the
//! heartbeat, and what a receiving instance does with a message.
//!
//! Heartbeat: each instance sends itself a message on the channel every [`HEARTBEAT`]; a
//! listener that hears nothing at all — not even its own heartbeat — for [`SILENCE`] is
//! dead without having said so (a partition, a connection a proxy forgot) and is replaced.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{BroadcastDrop, Broadcaster};

/// Messages waiting to be sent; beyond this (the backend slow or away) new ones are dropped.
const QUEUE: usize = 10_000;

/// How often an instance sends itself a heartbeat on the channel.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);

/// A listener that hears nothing for this long is replaced.
pub(crate) const SILENCE: Duration = Duration::from_secs(3);

/// One message on the channel. `from` is the sending instance, which has already delivered
/// it to its own tabs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Envelope {
    Publish {
        from: String,
        topic: String,
        payload: Value,
    },
    Logout {
        from: String,
        login: String,
    },
    /// Every login of `user` but `kept` ended.
    LogoutUser {
        from: String,
        user: i64,
        kept: Option<String>,
    },
    /// Proof of life for the sender's own listener; the others ignore it.
    Heartbeat {
        from: String,
    },
}

impl Envelope {
    /// A heartbeat: not counted when it cannot be sent.
    pub(crate) fn is_heartbeat(&self) -> bool {
        matches!(self, Envelope::Heartbeat { .. })
    }
}

/// The sending side of a transport: wraps publishes and logouts in envelopes signed with
/// this instance's id and queues them for the transport's send task, never blocking.
pub(crate) struct Outbox {
    origin: String,
    queue: mpsc::Sender<Envelope>,
    dropped: Arc<AtomicU64>,
    /// Names the transport in logs.
    name: &'static str,
}

impl Outbox {
    /// A new instance id, its outbox and the receiver the send task drains.
    pub(crate) fn new(name: &'static str) -> Result<(Outbox, mpsc::Receiver<Envelope>), getrandom::Error> {
        let mut id = [0u8; 12];
        getrandom::fill(&mut id)?;
        let origin = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id);
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let outbox = Outbox {
            origin,
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
            name,
        };
        Ok((outbox, outgoing))
    }

    /// This instance's id: the `from` of its envelopes.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// The count of dropped messages, for a send task that drops some too.
    pub(crate) fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn publish(&self, topic: &str, payload: &Value) {
        self.send(Envelope::Publish {
            from: self.origin.clone(),
            topic: topic.to_owned(),
            payload: payload.clone(),
        });
    }

    pub(crate) fn logout(&self, session_auth_id: &str) {
        self.send(Envelope::Logout {
            from: self.origin.clone(),
            login: session_auth_id.to_owned(),
        });
    }

    pub(crate) fn logout_user(&self, user_id: i64, kept: Option<&str>) {
        self.send(Envelope::LogoutUser {
            from: self.origin.clone(),
            user: user_id,
            kept: kept.map(str::to_owned),
        });
    }

    fn send(&self, envelope: Envelope) {
        if self.queue.try_send(envelope).is_err() {
            count_drop(&self.dropped, self.name, BroadcastDrop::TransportQueueFull);
        }
    }

    /// Starts sending a heartbeat every [`HEARTBEAT`] on the current Tokio runtime, for as
    /// long as the transport's send task runs.
    pub(crate) fn start_heartbeat(&self) {
        let (queue, from) = (self.queue.clone(), self.origin.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            loop {
                ticks.tick().await;
                let heartbeat = Envelope::Heartbeat { from: from.clone() };
                if let Err(mpsc::error::TrySendError::Closed(_)) = queue.try_send(heartbeat) {
                    return;
                }
            }
        });
    }
}

/// Counts a dropped message; logs at every power of two so a long outage does not flood
/// the logs.
pub(crate) fn count_drop(dropped: &AtomicU64, name: &'static str, why: BroadcastDrop) {
    why.count();
    let dropped = dropped.fetch_add(1, Ordering::Relaxed) + 1;
    if dropped.is_power_of_two() {
        tracing::warn!(dropped, why = why.label(), "{name}: messages dropped");
    }
}

/// Handles one message off the channel: another instance's publish is delivered to this
/// instance's tabs, its logout closes the login's sockets here; this instance's own echo
/// is ignored.
pub(crate) fn receive(broadcaster: &Broadcaster, origin: &str, text: &str, name: &'static str) {
    match serde_json::from_str::<Envelope>(text) {
        Ok(Envelope::Publish { from, topic, payload }) if from != origin => {
            broadcaster.deliver(&topic, &payload);
        }
        Ok(Envelope::Logout { from, login }) if from != origin => {
            let closed = broadcaster.sockets().close_login(&login);
            tracing::info!(closed, "logout on another instance: closed the session's event sockets");
        }
        Ok(Envelope::LogoutUser { from, user, kept }) if from != origin => {
            let closed = broadcaster.sockets().close_user(user, kept.as_deref());
            tracing::info!(
                closed,
                user_id = user,
                "logged out everywhere on another instance: closed the user's event sockets"
            );
        }
        // Anything heard proves the listener alive; a heartbeat says nothing else.
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "{name}: unreadable message"),
    }
}
