use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, Result};

/// Where the data lives, parsed from a `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite database file (`sqlite://var/shop.sqlite3`, `sqlite:///abs/path.db`).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (`sqlite://:memory:`).
    SqliteMemory,
    /// A PostgreSQL server (`postgres://user@host:5432/db` or `postgresql://…`).
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a `DATABASE_URL`, naming the problem when it is malformed.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("sqlite://") {
            return match rest {
                "" => Err(Error::Config(
                    "DATABASE_URL: sqlite:// needs a path, e.g. sqlite://var/shop.sqlite3".into(),
                )),
                ":memory:" => Ok(DatabaseUrl::SqliteMemory),
                path => Ok(DatabaseUrl::SqliteFile(PathBuf::from(path))),
            };
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let url = url::Url::parse(raw)
                .map_err(|e| Error::Config(format!("DATABASE_URL: malformed PostgreSQL URL: {e}")))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(Error::Config("DATABASE_URL: the PostgreSQL URL names no host".into()));
            }
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        Err(Error::Config(format!(
            "DATABASE_URL: unsupported scheme in {:?}; use sqlite://PATH, sqlite://:memory: or postgres://…",
            redact(raw)
        )))
    }

    /// The backend's name: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }
}

/// Hides a password in a URL before it is logged or shown.
pub(crate) fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// How to build a [`Db`](crate::Db) pool.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Where the data lives.
    pub url: DatabaseUrl,
    /// Largest number of pooled connections (SQLite in memory always uses one).
    pub max_connections: u32,
    /// How long a caller waits for a pooled connection, or for a new one to open.
    pub connect_timeout: Duration,
    /// How long SQLite waits on a locked database before giving up.
    pub sqlite_busy_timeout: Duration,
    /// How long a query may run before it fails with `Error::TimedOut` (503) and its
    /// connection is dropped. (SQLite runs inline and is bounded by its busy timeout.)
    pub query_timeout: Duration,
}

impl DbConfig {
    /// A configuration with default pool settings for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        DbConfig {
            url,
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            query_timeout: Duration::from_secs(10),
        }
    }

    /// Parses `raw` as a `DATABASE_URL` and uses default pool settings.
    pub fn from_url(raw: &str) -> Result<Self> {
        Ok(DbConfig::new(DatabaseUrl::parse(raw)?))
    }

    /// Sets the largest number of pooled connections.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets how long a caller waits for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long a query may run.
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// Sets SQLite's busy timeout.
    pub fn sqlite_busy_timeout(mut self, timeout: Duration) -> Self {
        self.sqlite_busy_timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: std::result::Result<DatabaseUrl, &str>) {
        match (DatabaseUrl::parse(raw), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{raw}"),
            (Err(err), Err(fragment)) => {
                let text = err.to_string();
                assert!(text.contains(fragment), "{raw}: {text:?} lacks {fragment:?}");
                assert!(
                    text.starts_with("DATABASE_URL"),
                    "{raw}: {text:?} must name the variable"
                );
            }
            (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn database_urls() {
        check(
            "sqlite://var/shop.sqlite3",
            Ok(DatabaseUrl::SqliteFile("var/shop.sqlite3".into())),
        );
        check("sqlite:///tmp/x.db", Ok(DatabaseUrl::SqliteFile("/tmp/x.db".into())));
        check("sqlite://:memory:", Ok(DatabaseUrl::SqliteMemory));
        check(
            "postgres://u@localhost:5432/db",
            Ok(DatabaseUrl::Postgres("postgres://u@localhost:5432/db".into())),
        );
        check(
            "postgresql://localhost/db",
            Ok(DatabaseUrl::Postgres("postgresql://localhost/db".into())),
        );
        check("sqlite://", Err("needs a path"));
        check("mysql://localhost/db", Err("unsupported scheme"));
        check("var/shop.sqlite3", Err("unsupported scheme"));
        check("postgres://", Err("names no host"));
        check("postgres://[::1/db", Err("malformed"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        let err = DatabaseUrl::parse("mysql://u:secret@h/db").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
