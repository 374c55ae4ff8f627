//! duet's data layer: one [`Db`] over SQLite (embedded, the default) or PostgreSQL, chosen
//! by `DATABASE_URL`; embedded migrations applied safely at start-up; the framework's tables
//! (users, logins, API tokens, webhook deliveries); and the [`Model`] trait through which the
//! event-state side, the HTTP API and the admin all see an application's tables.
//!
//! Queries are written once with diesel and run on either backend by [`db_run!`] (or
//! [`db_read!`] for a read that may run again when PostgreSQL drops its connection);
//! [`model_queries!`] writes a model's scoped list/count/get/delete from its columns.
//!
//! ```
//! use duet_models::{Db, FRAMEWORK_MIGRATIONS, NewUser, User};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> duet_models::Result<()> {
//! let db = Db::connect_url("sqlite://:memory:").await?;
//! db.migrate(&[FRAMEWORK_MIGRATIONS]).await?;
//!
//! let new = NewUser { username: "ada".into(), password: "correct horse".into(), ..NewUser::default() };
//! let ada = User::create(&db, new).await?;
//! assert_eq!(User::authenticate(&db, "ada", "correct horse").await?, Some(ada));
//! assert_eq!(User::authenticate(&db, "ada", "wrong").await?, None);
//! # Ok(()) }
//! ```
//!
//! | feature   | what it adds |
//! |-----------|--------------|
//! | `testing` | [`testing::TestDb`] and [`db_tests!`]: fresh SQLite files and PostgreSQL databases for tests |

mod config;
mod db;
mod deliveries;
mod error;
mod logins;
mod migrate;
mod model;
mod model_queries;
mod password;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod users;
mod validation;

pub use config::{DatabaseUrl, DbConfig};
pub use db::{__bounded, __retire_if_lost, Db, Inline, PgConn, PgPool, Pool, SqliteConn, SqlitePool};
pub use deliveries::{Claim, WebhookDelivery};
pub use error::{Error, Result};
pub use logins::Login;
pub use migrate::{Applied, FRAMEWORK_MIGRATIONS, MigrationSet};
pub use model::{Field, FieldKind, FieldValue, Filter, ListQuery, Model, OrderBy, Scope, cents_to_decimal};
pub use model_queries::ScopeOf;
pub use password::{hash_password, verify_password};
pub use tokens::ApiToken;
pub use users::{NewUser, User};
pub use validation::{Input, NON_FIELD_ERRORS, ValidationErrors, parse_cents};

/// The current UTC time, at the precision both backends store (microseconds).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored UTC timestamp as JSON: RFC 3339 with a `Z`.
pub fn datetime_to_json(at: &chrono::NaiveDateTime) -> serde_json::Value {
    serde_json::Value::String(at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Builds a JSON object from `(name, value)` pairs, for [`Model::to_json`].
pub fn json_object<const N: usize>(
    pairs: [(&str, serde_json::Value); N],
) -> serde_json::Map<String, serde_json::Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
