//! Past one machine without Redis (feature `postgres`): live updates and logouts carried
//! between instances by PostgreSQL's `LISTEN`/`NOTIFY`, over the database the app already
//! has.
//!
//! - [`PgBroadcaster`]: a [`Transport`](crate::Transport) that sends each publish or logout
//!   with `SELECT pg_notify($1, $2)` on the channel `{prefix}:broadcast` and listens on it on
//!   a dedicated connection (diesel-async's `notifications_stream`); it reconnects by itself
//!   after the server restarts or kills its connection.
//!
//! What it does not do: keep tabs. Each instance keeps its own tabs in memory, so a socket
//! stays with the instance that hydrated its tab, and a socket that reconnects to another
//! instance starts its tab afresh. For tabs shared by every instance, use the `redis`
//! feature.
//!
//! **Payload limit.** PostgreSQL refuses a `NOTIFY` payload of 8000 bytes or more. Such a
//! message (its JSON envelope: topic, payload and a few dozen bytes) is **refused**: this
//! instance's tabs still get it, the other instances do not, and the refusal is logged (a
//! warning naming the topic and its size) and counted ([`PgBroadcaster::oversized`]).
//! Publish a small notice ("orders of user 42 changed") and let the tabs load the rows.
//!
//! Channels belong to a database: apps with databases of their own never hear each other,
//! whatever their prefix; apps sharing one database need different prefixes.
//!
//! ```no_run
//! # async fn run() -> Result<(), duet_models::Error> {
//! use duet_state::Broadcaster;
//! use duet_state::postgres::PgBroadcaster;
//! use serde_json::json;
//!
//! let broadcaster = Broadcaster::new();
//! let transport = PgBroadcaster::start("postgres://shop@db/shop", "shop", &broadcaster).await?;
//! // Delivered to this instance's subscribed tabs, and to every other instance's.
//! broadcaster.publish("orders:user:42", &json!({"id": 7}));
//! assert_eq!(transport.oversized(), 0);
//! # Ok(()) }
//! ```

mod broadcast;

pub use broadcast::PgBroadcaster;
