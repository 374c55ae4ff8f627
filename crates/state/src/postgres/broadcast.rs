//! `PgBroadcaster`: publishes and logouts carried between instances over PostgreSQL's
//! `LISTEN`/`NOTIFY`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::pg::PgQueryBuilder;
use diesel::query_builder::QueryBuilder;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use duet_models::Error;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::relay::{self, Envelope, Outbox, SILENCE};
use crate::{BroadcastDrop, Broadcaster, Transport};

/// Names this transport in logs.
const NAME: &str = "postgres broadcaster";
/// PostgreSQL refuses a `NOTIFY` payload of this many bytes or more.
const PAYLOAD_LIMIT: usize = 8000;
/// The longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`): a longer channel is cut.
const MAX_CHANNEL: usize = 63;
const CHANNEL_SUFFIX: &str = ":broadcast";
/// A connection or a statement not done within this long fails.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long the sender waits before connecting again after a failed attempt.
const SEND_RETRY: Duration = Duration::from_millis(500);

/// Carries a [`Broadcaster`]'s publishes and logouts to every instance of the app over one
/// PostgreSQL notification channel (`{prefix}:broadcast`). Each instance delivers its own
/// publishes to its own tabs at once and ignores its echo; the others deliver what they
/// receive to theirs.
///
/// It holds two connections of its own, outside the app's pool: one that `LISTEN`s, one
/// that sends with `SELECT pg_notify($1, $2)`. Both show as `duet {channel}` in
/// `pg_stat_activity.application_name`.
///
/// Sending never blocks a publisher: messages queue (up to 10,000) for a background task.
/// While PostgreSQL is away, messages for other instances are dropped (counted and logged)
/// — this instance's tabs still get theirs — and both connections come back by themselves
/// (the listener with backoff). A listening connection that dies silently is noticed within
/// 3 s: each instance sends itself a heartbeat every second, and a listener that hears
/// nothing is replaced. Messages sent while an instance was not listening are not
/// replayed to it. Messages of 8000 bytes or more are refused (see the module docs).
pub struct PgBroadcaster {
    outbox: Outbox,
    oversized: Arc<AtomicU64>,
}

impl std::fmt::Debug for PgBroadcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBroadcaster")
            .field("origin", &self.outbox.origin())
            .field("dropped", &self.dropped())
            .field("oversized", &self.oversized())
            .finish_non_exhaustive()
    }
}

impl PgBroadcaster {
    /// Connects to `database_url` twice, listens on `{prefix}:broadcast` (so nothing sent
    /// after this returns is missed), starts the background tasks on the current Tokio
    /// runtime and sets itself as `broadcaster`'s transport.
    ///
    /// Fails with [`Error::Config`] when the channel name would be longer than PostgreSQL
    /// keeps (63 bytes: a prefix of at most 53) and with [`Error::Unavailable`] when
    /// PostgreSQL cannot be reached now.
    pub async fn start(
        database_url: &str,
        prefix: &str,
        broadcaster: &Broadcaster,
    ) -> Result<Arc<PgBroadcaster>, Error> {
        let channel = channel(prefix)?;
        let listening = listen(database_url, &channel).await?;
        let sending = connect(database_url, &channel).await?;
        let (outbox, outgoing) = Outbox::new(NAME).map_err(|e| Error::Unavailable(format!("no randomness: {e}")))?;
        let origin = outbox.origin().to_owned();
        let transport = Arc::new(PgBroadcaster {
            outbox,
            oversized: Arc::new(AtomicU64::new(0)),
        });
        transport.outbox.start_heartbeat();
        tokio::spawn(send_loop(
            Sender {
                url: database_url.to_owned(),
                channel: channel.clone(),
                dropped: transport.outbox.dropped_counter(),
                oversized: Arc::clone(&transport.oversized),
            },
            sending,
            outgoing,
        ));
        tokio::spawn(receive_loop(
            database_url.to_owned(),
            channel,
            listening,
            origin,
            broadcaster.clone(),
        ));
        if !broadcaster.set_transport(transport.clone()) {
            tracing::warn!("{NAME}: the broadcaster already had a transport; this one is unused");
        }
        Ok(transport)
    }

    /// How many messages the other instances missed because the queue was full or
    /// PostgreSQL did not take them.
    pub fn dropped(&self) -> u64 {
        self.outbox.dropped()
    }

    /// How many messages were refused for being too large for `NOTIFY`.
    pub fn oversized(&self) -> u64 {
        self.oversized.load(Ordering::Relaxed)
    }
}

impl Transport for PgBroadcaster {
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

/// The channel for `prefix`, checked to be kept whole by PostgreSQL.
fn channel(prefix: &str) -> Result<String, Error> {
    let channel = format!("{prefix}{CHANNEL_SUFFIX}");
    if prefix.is_empty() || channel.len() > MAX_CHANNEL || prefix.contains('\0') {
        return Err(Error::Config(format!(
            "broadcast channel prefix {prefix:?}: must be 1 to {} bytes, without NUL",
            MAX_CHANNEL - CHANNEL_SUFFIX.len()
        )));
    }
    Ok(channel)
}

/// `LISTEN "channel"`, the name quoted as an identifier (so any character is safe).
fn listen_statement(channel: &str) -> Result<String, Error> {
    let mut sql = PgQueryBuilder::new();
    sql.push_sql("LISTEN ");
    sql.push_identifier(channel)?;
    Ok(sql.finish())
}

/// A connection of this transport's own, named after the channel in `pg_stat_activity`.
async fn connect(url: &str, channel: &str) -> Result<AsyncPgConnection, Error> {
    // In scope here only: its `load` would shadow the atomics' elsewhere in the file.
    use diesel_async::RunQueryDsl;
    let setup = async {
        let mut conn = AsyncPgConnection::establish(url)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        diesel::sql_query("SELECT set_config('application_name', $1, false)")
            .bind::<Text, _>(format!("duet {channel}"))
            .execute(&mut conn)
            .await?;
        Ok(conn)
    };
    tokio::time::timeout(TIMEOUT, setup).await.map_err(|_| timed_out())?
}

async fn listen(url: &str, channel: &str) -> Result<AsyncPgConnection, Error> {
    let statement = listen_statement(channel)?;
    let mut conn = connect(url, channel).await?;
    tokio::time::timeout(TIMEOUT, conn.batch_execute(&statement))
        .await
        .map_err(|_| timed_out())??;
    Ok(conn)
}

fn timed_out() -> Error {
    Error::Unavailable("PostgreSQL did not answer in time".into())
}

/// What the send task needs besides its connection.
struct Sender {
    url: String,
    channel: String,
    dropped: Arc<AtomicU64>,
    oversized: Arc<AtomicU64>,
}

impl Sender {
    /// Sends `text`; false when it did not reach PostgreSQL (the connection is then dropped,
    /// to be made again for the next message).
    async fn notify(&self, conn: &mut Option<AsyncPgConnection>, text: &str) -> bool {
        use diesel_async::RunQueryDsl;
        let Some(sending) = conn.as_mut() else {
            return false;
        };
        let notify = diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(self.channel.as_str())
            .bind::<Text, _>(text)
            .execute(sending);
        match tokio::time::timeout(TIMEOUT, notify).await {
            Ok(Ok(_)) => return true,
            Ok(Err(error)) => tracing::warn!(%error, "{NAME}: notify failed; other instances miss it"),
            Err(_) => tracing::warn!("{NAME}: notify timed out; other instances miss it"),
        }
        *conn = None;
        false
    }
}

async fn send_loop(sender: Sender, first: AsyncPgConnection, mut outgoing: mpsc::Receiver<Envelope>) {
    let mut conn = Some(first);
    let mut next_attempt = Instant::now();
    while let Some(envelope) = outgoing.recv().await {
        let Ok(text) = serde_json::to_string(&envelope) else {
            continue;
        };
        if text.len() >= PAYLOAD_LIMIT {
            sender.oversized.fetch_add(1, Ordering::Relaxed);
            let topic = match &envelope {
                Envelope::Publish { topic, .. } => topic.as_str(),
                Envelope::Logout { .. } | Envelope::LogoutUser { .. } => "(logout)",
                Envelope::Heartbeat { .. } => "(heartbeat)",
            };
            tracing::warn!(
                topic,
                bytes = text.len(),
                limit = PAYLOAD_LIMIT,
                "{NAME}: message too large for NOTIFY; other instances miss it"
            );
            continue;
        }
        if conn.is_none() && Instant::now() >= next_attempt {
            match connect(&sender.url, &sender.channel).await {
                Ok(fresh) => {
                    tracing::info!("{NAME}: connected again for sending");
                    conn = Some(fresh);
                }
                Err(error) => {
                    tracing::debug!(%error, "{NAME}: cannot connect for sending yet");
                    next_attempt = Instant::now() + SEND_RETRY;
                }
            }
        }
        if !sender.notify(&mut conn, &text).await && !envelope.is_heartbeat() {
            relay::count_drop(&sender.dropped, NAME, BroadcastDrop::TransportUnreachable);
        }
    }
}

async fn receive_loop(
    url: String,
    channel: String,
    first: AsyncPgConnection,
    origin: String,
    broadcaster: Broadcaster,
) {
    let mut listening = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut conn = match listening.take() {
            Some(conn) => conn,
            None => match listen(&url, &channel).await {
                Ok(conn) => {
                    tracing::info!("{NAME}: listening again");
                    backoff = Duration::from_millis(100);
                    conn
                }
                Err(error) => {
                    tracing::debug!(%error, "{NAME}: cannot listen yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            },
        };
        let mut notifications = std::pin::pin!(conn.notifications_stream());
        loop {
            match tokio::time::timeout(SILENCE, notifications.next()).await {
                Ok(Some(Ok(notification))) => relay::receive(&broadcaster, &origin, &notification.payload, NAME),
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, "{NAME}: the listening connection failed; reconnecting");
                    break;
                }
                Ok(None) => {
                    tracing::warn!("{NAME}: lost the listening connection; reconnecting");
                    break;
                }
                Err(_) => {
                    tracing::warn!(silence = ?SILENCE, "{NAME}: the listening connection heard nothing, not even its own heartbeat; reconnecting");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(prefix: &str, expected: Result<&str, ()>) {
        let statement = channel(prefix).and_then(|channel| listen_statement(&channel));
        assert_eq!(statement.as_deref().map_err(|_| ()), expected, "prefix {prefix:?}");
    }

    #[test]
    fn channel_names_are_quoted_and_kept_whole() {
        check("shop", Ok(r#"LISTEN "shop:broadcast""#));
        check("Shop Staging", Ok(r#"LISTEN "Shop Staging:broadcast""#));
        check(
            r#"a"; DROP TABLE users; --"#,
            Ok(r#"LISTEN "a""; DROP TABLE users; --:broadcast""#),
        );
        check(
            &"p".repeat(53),
            Ok(&format!(r#"LISTEN "{}:broadcast""#, "p".repeat(53))),
        );
        check(&"p".repeat(54), Err(()));
        check("", Err(()));
        check("nul\0", Err(()));
    }
}
