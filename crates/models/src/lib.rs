//! duet's data layer: one [`Db`] over SQLite (embedded, the default) or PostgreSQL, chosen
//! by `DATABASE_URL`; embedded migrations applied safely at start-up; the framework's tables
//! (users, logins, API tokens, webhook deliveries, groups, permissions, the admin's log); and the [`Model`] trait through which the
//! event-state side, the HTTP API and the admin all see an application's tables.
//!
//! Queries are written once with diesel and run on either backend by [`db_run!`] (or
//! [`db_read!`] for a read that may run again when PostgreSQL drops its connection);
//! [`derive@Model`] writes a model's table, validation and scoped queries from one struct
//! (docs/models.md). [`autodetect`] writes the migrations a model's table needs
//! (`makemigrations`) and checks a live database against the models.
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

// The derives' generated code names `::duet_models::…`: this makes it resolve in this crate
// too (its own models: users, tokens, deliveries).
extern crate self as duet_models;

pub mod autodetect;
mod changes;
mod choices;
mod config;
mod db;
mod deliveries;
mod error;
mod estimate;
mod field;
mod field_type;
mod load;
mod logins;
mod migrate;
mod migration_set;
mod model;
mod password;
mod query;
mod row_timestamp;
pub mod schema;
mod shaped_sql;
mod staff;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod user_tokens;
mod users;
mod validation;
mod values;

pub use autodetect::ModelSchema;
pub use changes::{ChangeHook, ChangeKind, ModelChange};
pub use choices::{Choices, choice_from_json};
pub use config::{DatabaseUrl, DbConfig};
pub use db::{
    __bounded, __checkout, __retire_if_lost, Db, Inline, POOL_WAIT_METRIC, PgConn, PgPool, Pool, SqliteConn, SqlitePool,
};
pub use deliveries::{Claim, DeliveryStatus, WebhookDelivery};
pub use error::{Error, Result};
pub use estimate::RowCount;
pub use field::{AutoNow, Choice, Field, FieldKind, FieldRef, Index, Literal};
pub use field_type::FieldType;
pub use load::LoadRows;
pub use logins::Login;
pub use migrate::{Applied, MigrationState};
pub use migration_set::{FRAMEWORK_MIGRATIONS, MigrationSet};
pub use model::{Model, NewOwner, cents_to_decimal};
pub use query::{Filter, ListQuery, Lookup, OrderBy, Scope, Search, contains_pattern};
pub use values::{Decimal, ForeignKey, Json, Money, UserKey};

pub use duet_models_macros::{Choices, Model};
pub use password::{hash_password, verify_password};
pub use staff::{
    AdminLogEntry, Group, GroupMember, LogAction, NewAdminLogEntry, NewGroup, NewGroupMember, NewPermissionGrant,
    PermissionAction, PermissionGrant, Permissions, diff_rows,
};
pub use tokens::{ApiToken, LAST_USED_PRECISION, TokenCheck, TokenScope, TokenSpec};
pub use user_tokens::{TokenPurpose, TokenRefused, UserToken};
pub use users::{NewUser, User};
pub use validation::{Input, NON_FIELD_ERRORS, ValidationErrors, Validator, parse_cents};

/// What the macros' generated code names; not a public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The current UTC time, at the precision both backends store (microseconds).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// The framework's own models — users, API tokens, webhook deliveries — as the tables
/// `FRAMEWORK_MIGRATIONS` create: checked at start-up beside an app's models, and against
/// those migrations by the tests.
pub fn framework_models() -> Vec<ModelSchema> {
    vec![
        ModelSchema::of::<User>(),
        ModelSchema::of::<ApiToken>(),
        ModelSchema::of::<WebhookDelivery>(),
        ModelSchema::of::<Group>(),
        ModelSchema::of::<GroupMember>(),
        ModelSchema::of::<PermissionGrant>(),
        ModelSchema::of::<AdminLogEntry>(),
        ModelSchema::of::<UserToken>(),
    ]
}

/// `bytes` random bytes from the operating system, as lowercase hex: for references and
/// other values that must not be guessed (API tokens have their own [`ApiToken::issue`]).
///
/// # Panics
/// When the operating system has no randomness to give, which a server cannot run without.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system provides randomness");
    hex::encode(buffer)
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
