//! `RedisBroadcaster`: publishes and logouts carried between instances over Redis pub/sub.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::redis::RedisError;
use ::redis::aio::ConnectionManager;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{RedisConfig, timed_out};
use crate::{Broadcaster, Transport};

/// Messages waiting to be sent; beyond this (Redis slow or away) new ones are dropped.
const QUEUE: usize = 10_000;

/// One message on the channel. `from` is the sending instance, which has already delivered
/// it to its own tabs.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Envelope {
    Publish {
        from: String,
        topic: String,
        payload: Value,
    },
    Logout {
        from: String,
        login: String,
    },
}

/// Carries a [`Broadcaster`]'s publishes and logouts to every instance of the app, over one
/// Redis pub/sub channel (`{prefix}:broadcast`). Each instance delivers its own publishes to
/// its own tabs at once and ignores its echo; the others deliver what they receive to theirs.
///
/// Sending never blocks a publisher: messages queue (up to 10,000) for a background task.
/// While Redis is away, messages for other instances are dropped (and logged) — this
/// instance's tabs still get theirs — and the subscriber reconnects with backoff; once it
/// is back, delivery resumes without a restart. Messages published while an instance was
/// disconnected are not replayed to it (pub/sub keeps nothing).
pub struct RedisBroadcaster {
    origin: String,
    queue: mpsc::Sender<Envelope>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for RedisBroadcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroadcaster")
            .field("origin", &self.origin)
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
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
        let mut id = [0u8; 12];
        getrandom::fill(&mut id).map_err(|_| RedisError::from((::redis::ErrorKind::IoError, "no randomness")))?;
        let origin = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id);
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let transport = Arc::new(RedisBroadcaster {
            origin: origin.clone(),
            queue,
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(send_loop(conn, channel.clone(), outgoing, config.timeout));
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

    /// How many messages were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn send(&self, envelope: Envelope) {
        if self.queue.try_send(envelope).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "redis broadcaster: queue full, messages dropped");
            }
        }
    }
}

impl Transport for RedisBroadcaster {
    fn publish(&self, topic: &str, payload: &Value) {
        self.send(Envelope::Publish {
            from: self.origin.clone(),
            topic: topic.to_owned(),
            payload: payload.clone(),
        });
    }

    fn logout(&self, session_auth_id: &str) {
        self.send(Envelope::Logout {
            from: self.origin.clone(),
            login: session_auth_id.to_owned(),
        });
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
    channel: String,
    mut outgoing: mpsc::Receiver<Envelope>,
    timeout: Duration,
) {
    while let Some(envelope) = outgoing.recv().await {
        let Ok(text) = serde_json::to_string(&envelope) else {
            continue;
        };
        let mut publish = ::redis::cmd("PUBLISH");
        publish.arg(&channel).arg(text);
        match tokio::time::timeout(timeout, publish.query_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "redis broadcaster: publish failed; other instances miss it"),
            Err(_) => tracing::warn!("redis broadcaster: publish timed out; other instances miss it"),
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
        while let Some(message) = stream.next().await {
            let Ok(text) = message.get_payload::<String>() else {
                continue;
            };
            match serde_json::from_str::<Envelope>(&text) {
                Ok(Envelope::Publish { from, topic, payload }) if from != origin => {
                    broadcaster.deliver(&topic, &payload);
                }
                Ok(Envelope::Logout { from, login }) if from != origin => {
                    let closed = broadcaster.sockets().close_login(&login);
                    tracing::info!(closed, "logout on another instance: closed the session's event sockets");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "redis broadcaster: unreadable message"),
            }
        }
        tracing::warn!("redis broadcaster: lost the subscription; reconnecting");
    }
}
