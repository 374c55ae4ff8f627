//! `RedisBroadcaster`: publishes and logouts carried between instances over Redis pub/sub.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::redis::RedisError;
use ::redis::aio::ConnectionManager;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{RedisConfig, timed_out};
use crate::relay::{self, Envelope, Outbox, SILENCE};
use crate::{Broadcaster, Transport};

/// Names this transport in logs.
const NAME: &str = "redis broadcaster";

/// Carries a [`Broadcaster`]'s publishes and logouts to every instance of the app, over one
/// Redis pub/sub channel (`{prefix}:broadcast`). Each instance delivers its own publishes to
/// its own tabs at once and ignores its echo; the others deliver what they receive to theirs.
///
/// Sending never blocks a publisher: messages queue (up to 10,000) for a background task.
/// While Redis is away, messages for other instances are dropped (and logged) — this
/// instance's tabs still get theirs — and the subscriber reconnects with backoff; once it
/// is back, delivery resumes without a restart. A subscription that dies silently is
/// noticed within 3 s: each instance publishes itself a heartbeat every second, and a
/// subscription that hears nothing is replaced. Messages published while an instance was
/// disconnected are not replayed to it (pub/sub keeps nothing).
pub struct RedisBroadcaster {
    outbox: Outbox,
}

impl std::fmt::Debug for RedisBroadcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroadcaster")
            .field("origin", &self.outbox.origin())
            .field("dropped", &self.outbox.dropped())
            .finish_non_exhaustive()
    }
}

impl RedisBroadcaster {
    /// Connects, subscribes (so nothing published after this returns is missed), starts the
    /// background tasks on the current Tokio runtime and sets itself as `broadcaster`'s
    /// transport. Fails if Redis cannot be reached now.
    pub async fn start(config: &RedisConfig, broadcaster: &Broadcaster) -> Result<Arc<RedisBroadcaster>, RedisError> {
        let (client, conn) = config.connection_manager().await?;
        let channel = config.channel();
        let messages = subscribe(&client, &channel, config.timeout).await?;
        let (outbox, outgoing) =
            Outbox::new(NAME).map_err(|_| RedisError::from((::redis::ErrorKind::IoError, "no randomness")))?;
        let origin = outbox.origin().to_owned();
        let transport = Arc::new(RedisBroadcaster { outbox });
        transport.outbox.start_heartbeat();
        tokio::spawn(send_loop(
            conn,
            config.clone(),
            outgoing,
            transport.outbox.dropped_counter(),
        ));
        tokio::spawn(receive_loop(
            client,
            channel,
            messages,
            origin,
            broadcaster.clone(),
            config.timeout,
        ));
        if !broadcaster.set_transport(transport.clone()) {
            tracing::warn!("redis broadcaster: the broadcaster already had a transport; this one is unused");
        }
        Ok(transport)
    }

    /// How many messages the other instances missed: dropped because the queue was full, or
    /// because Redis did not take them.
    pub fn dropped(&self) -> u64 {
        self.outbox.dropped()
    }
}

impl Transport for RedisBroadcaster {
    fn publish(&self, topic: &str, payload: &Value) {
        self.outbox.publish(topic, payload);
    }

    fn logout(&self, session_auth_id: &str) {
        self.outbox.logout(session_auth_id);
    }

    fn logout_user(&self, user_id: i64, kept: Option<&str>) {
        self.outbox.logout_user(user_id, kept);
    }
}

async fn subscribe(
    client: &::redis::Client,
    channel: &str,
    timeout: Duration,
) -> Result<::redis::aio::PubSubStream, RedisError> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, RedisError>(pubsub.into_on_message())
    };
    tokio::time::timeout(timeout, connect).await.map_err(|_| timed_out())?
}

async fn send_loop(
    mut conn: ConnectionManager,
    config: RedisConfig,
    mut outgoing: mpsc::Receiver<Envelope>,
    dropped: Arc<AtomicU64>,
) {
    let channel = config.channel();
    while let Some(envelope) = outgoing.recv().await {
        let Ok(text) = serde_json::to_string(&envelope) else {
            continue;
        };
        let mut publish = ::redis::cmd("PUBLISH");
        publish.arg(&channel).arg(text);
        match tokio::time::timeout(config.timeout, publish.query_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => continue,
            Ok(Err(error)) => tracing::warn!(%error, "redis broadcaster: publish failed; other instances miss it"),
            Err(_) => {
                tracing::warn!("redis broadcaster: publish timed out; other instances miss it");
                // A connection that stopped answering may be dead without knowing it (the
                // manager reconnects only on errors): the next message goes on a new one.
                if let Ok((_, fresh)) = config.connection_manager().await {
                    conn = fresh;
                }
            }
        }
        if !envelope.is_heartbeat() {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn receive_loop(
    client: ::redis::Client,
    channel: String,
    first: ::redis::aio::PubSubStream,
    origin: String,
    broadcaster: Broadcaster,
    timeout: Duration,
) {
    let mut messages = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut stream = match messages.take() {
            Some(stream) => stream,
            None => match subscribe(&client, &channel, timeout).await {
                Ok(stream) => {
                    tracing::info!("redis broadcaster: resubscribed");
                    backoff = Duration::from_millis(100);
                    stream
                }
                Err(error) => {
                    tracing::debug!(%error, "redis broadcaster: cannot subscribe yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            },
        };
        loop {
            match tokio::time::timeout(SILENCE, stream.next()).await {
                Ok(Some(message)) => {
                    if let Ok(text) = message.get_payload::<String>() {
                        relay::receive(&broadcaster, &origin, &text, NAME);
                    }
                }
                Ok(None) => {
                    tracing::warn!("redis broadcaster: lost the subscription; reconnecting");
                    break;
                }
                Err(_) => {
                    tracing::warn!(silence = ?SILENCE, "redis broadcaster: the subscription heard nothing, not even its own heartbeat; reconnecting");
                    break;
                }
            }
        }
    }
}
