use std::path::PathBuf;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::autodetect::{ManualChange, ModelProblem};

/// Everything that can go wrong in the data layer.
///
/// Callers branch on the variant, not on the message: HTTP maps
/// [`Error::NotFound`] to 404, [`Error::UniqueViolation`] to 409 and
/// [`Error::Unavailable`] to 503.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row does not exist, or lies outside the caller's scope.
    #[error("not found")]
    NotFound,
    /// An insert or update collided with a unique constraint.
    #[error("unique violation: {0}")]
    UniqueViolation(String),
    /// A foreign key, check or not-null constraint refused the write.
    #[error("constraint violation: {0}")]
    ConstraintViolation(String),
    /// The input, or a filter's value, did not validate; the errors are in DRF's shape,
    /// keyed by field (a unique value already taken, a bad `?total__gte=`).
    #[error("invalid: {0}")]
    Invalid(crate::ValidationErrors),
    /// The database cannot be reached, or no pooled connection came in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The connection was lost during the query: the server closed it, restarted, or
    /// terminated it (SQLSTATE 57P01, 57P02, 57P03, 57P05, class 08). A read may be retried
    /// on another connection ([`db_read!`](crate::db_read)).
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    /// A query did not finish within the configured time (a stalled server, a partition);
    /// its connection is dropped.
    #[error("database query timed out after {0:?}")]
    TimedOut(std::time::Duration),
    /// The configuration (for example `DATABASE_URL`) is malformed.
    #[error("{0}")]
    Config(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A migration left rows referencing rows that do not exist (SQLite's
    /// `PRAGMA foreign_key_check`, run before the migrations commit); nothing was applied.
    #[error(
        "migration rolled back: rows of {table} reference rows of {parent} that do not exist (PRAGMA foreign_key_check)"
    )]
    ForeignKeyCheck {
        /// The table holding the dangling references.
        table: String,
        /// The table they should reference.
        parent: String,
    },
    /// A migration set's directory is missing or unreadable (in a deployed binary, the
    /// sources are not on the machine).
    #[error("migration set {set}: cannot read {}: {source}", .path.display())]
    MigrationFiles {
        /// The set's name.
        set: &'static str,
        /// The directory or file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// A model's description cannot be a table.
    #[error("model {model}: {problem}")]
    InvalidModel {
        /// The model's name.
        model: &'static str,
        /// What is wrong with it.
        problem: ModelProblem,
    },
    /// `makemigrations` found changes it cannot write as SQL; it wrote nothing.
    #[error(
        "makemigrations wrote nothing: {} change(s) must be written by hand, as a new migration in {} and {}:{}",
        .changes.len(),
        .sqlite.display(),
        .postgres.display(),
        .changes.iter().map(|c| format!("\n  - {c}")).collect::<String>()
    )]
    Unexpressible {
        /// What to write by hand.
        changes: Vec<ManualChange>,
        /// The set's SQLite migration directory.
        sqlite: PathBuf,
        /// The set's PostgreSQL migration directory.
        postgres: PathBuf,
    },
    /// Hashing or checking a password failed for a reason other than a mismatch.
    #[error("password hashing failed: {0}")]
    Password(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Query(DieselError),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DieselError> for Error {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Error::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let message = info.message().to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => Error::UniqueViolation(message),
                    DatabaseErrorKind::ForeignKeyViolation
                    | DatabaseErrorKind::CheckViolation
                    | DatabaseErrorKind::NotNullViolation => Error::ConstraintViolation(message),
                    // The server went away: a closed socket, or one the pool handed out
                    // before noticing (connections are not pinged on checkout).
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                        Error::ConnectionLost(message)
                    }
                    DatabaseErrorKind::Unknown if ends_the_connection(&message) => Error::ConnectionLost(message),
                    _ => Error::Query(DieselError::DatabaseError(kind, info)),
                }
            }
            DieselError::BrokenTransactionManager => {
                Error::Unavailable("the connection's transaction state is broken".into())
            }
            other => Error::Query(other),
        }
    }
}

impl From<bb8::RunError<diesel_async::pooled_connection::PoolError>> for Error {
    fn from(error: bb8::RunError<diesel_async::pooled_connection::PoolError>) -> Self {
        match error {
            bb8::RunError::TimedOut => Error::Unavailable("timed out waiting for a database connection".into()),
            bb8::RunError::User(error) => Error::Unavailable(error.to_string()),
        }
    }
}

impl Error {
    /// True when retrying later may succeed: the database was unreachable, the connection
    /// was lost, or a query timed out.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_) | Error::ConnectionLost(_) | Error::TimedOut(_)
        )
    }
}

/// Whether a PostgreSQL error (diesel reports it as `Unknown`, without its SQLSTATE) is the
/// server ending the connection: `57P01` admin shutdown (`pg_terminate_backend`, a fast
/// shutdown), `57P02` crash of another backend, `57P05` idle-session timeout ("terminating
/// connection …"), `57P03` cannot connect now ("the database system is starting up",
/// "… is shutting down", "… is in recovery mode", "… is not yet accepting connections").
/// diesel's error information carries the message but not the code, so the messages are
/// matched: PostgreSQL's own English wording (with translated `lc_messages` these stay
/// `Query` errors, as before). Class `08` errors are raised by the client library
/// when the socket fails and arrive as `UnableToSendCommand`.
fn ends_the_connection(message: &str) -> bool {
    message.starts_with("terminating connection ") || message.starts_with("the database system is ")
}
