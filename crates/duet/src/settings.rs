//! The framework's settings: every variable duet reads, parsed once by clap (each a flag and
//! an environment variable, listed with its default by `--help`).

use std::time::Duration;

use duet_auth::{AllowedHosts, Signup, ThrottleRate, TrustedProxies};
use duet_mail::MailUrl;
use duet_models::{DatabaseUrl, DbConfig};
use duet_state::Rate;

use crate::telemetry::LogFormat;
use crate::{CorsOrigins, Error};

/// actix-session's cookie key needs at least 64 bytes.
pub(crate) const MIN_SECRET_LEN: usize = 64;

/// `development` (the default) or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    /// Local work: the app's seed hook runs, a secret key is generated under `var/`,
    /// cookies go without `Secure`.
    Development,
    /// A deployment: no seeding, `DUET_SECRET_KEY` is required, cookies are `Secure`.
    Production,
}

/// The session key from `DUET_SECRET_KEY`; never shown by `Debug`.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Every framework setting. The framework CLI parses them before any command runs; an app's
/// own settings sit beside them ([`App::with_settings`](crate::App::with_settings)).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Settings (each also read from the environment variable shown)")]
pub struct Settings {
    /// Where the data lives: sqlite://PATH, sqlite://:memory: or postgres://user@host:5432/db.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", global = true, value_parser = database_url)]
    pub database_url: Option<DatabaseUrl>,
    /// The largest number of pooled database connections.
    #[arg(long, env = "DATABASE_POOL_SIZE", value_name = "N", global = true, default_value = "10", value_parser = pool_size)]
    pub database_pool_size: u32,
    /// How long a request waits for a pooled connection before it is answered 503, in seconds.
    #[arg(long, env = "DATABASE_TIMEOUT_SECS", value_name = "SECS", global = true, default_value = "5", value_parser = seconds)]
    pub database_timeout_secs: Duration,
    /// How long one query may run before it fails (the request is answered 503), in seconds.
    #[arg(long, env = "DATABASE_QUERY_TIMEOUT_SECS", value_name = "SECS", global = true, default_value = "10", value_parser = seconds)]
    pub database_query_timeout_secs: Duration,
    /// Redis for sessions, tab state and cross-instance broadcasts (redis:// or rediss://).
    /// Unset: sessions in cookies, tabs in this process, broadcasts over PostgreSQL's
    /// LISTEN/NOTIFY on PostgreSQL and in this process on SQLite.
    #[arg(long, env = "REDIS_URL", value_name = "URL", global = true, value_parser = redis_url)]
    pub redis_url: Option<String>,
    /// Prefix of tab keys and of the broadcast channel in Redis (default: the app's name).
    #[arg(long, env = "REDIS_KEY_PREFIX", value_name = "PREFIX", global = true, value_parser = key_prefix)]
    pub redis_key_prefix: Option<String>,
    /// A tab lock not released within this long expires (an instance died mid-event), in ms.
    #[arg(long, env = "REDIS_LOCK_TTL_MS", value_name = "MS", global = true, default_value = "10000", value_parser = lock_ttl)]
    pub redis_lock_ttl_ms: Duration,
    /// After an event, an instance keeps the tab's lock (a lease) for at most this long
    /// without another event, so that a busy tab's next event skips a Redis round trip, in
    /// ms; 0: no leases.
    #[arg(long, env = "REDIS_LEASE_IDLE_MS", value_name = "MS", global = true, default_value = "100", value_parser = lease_idle)]
    pub redis_lease_idle_ms: Duration,
    /// How long a request waits for Redis (sessions, tabs) before it is answered 503, or the
    /// tab `unavailable`, in ms.
    #[arg(long, env = "REDIS_TIMEOUT_MS", value_name = "MS", global = true, default_value = "2000", value_parser = redis_timeout)]
    pub redis_timeout_ms: Duration,
    /// The session key, at least 64 bytes; required in production. In development it is
    /// generated once and kept in var/secret.key. Prefer the environment to the flag.
    #[arg(long, env = "DUET_SECRET_KEY", value_name = "KEY", global = true, hide_env_values = true, value_parser = secret_key)]
    pub secret_key: Option<SecretKey>,
    /// development or production.
    #[arg(long = "env", env = "DUET_ENV", value_name = "ENV", global = true, default_value = "development", value_parser = env)]
    pub env: Env,
    /// The address to serve on.
    #[arg(
        long,
        env = "DUET_ADDR",
        value_name = "HOST:PORT",
        global = true,
        default_value = "127.0.0.1:8000"
    )]
    pub addr: String,
    /// Other origins that may send unsafe session requests (comma-separated, such as
    /// https://admin.example.com), as Django's CSRF_TRUSTED_ORIGINS.
    #[arg(long, env = "DUET_TRUSTED_ORIGINS", value_name = "ORIGINS", global = true, value_delimiter = ',', value_parser = origin)]
    pub trusted_origins: Vec<String>,
    /// Origins whose pages may call the API from a browser (CORS, comma-separated, such as
    /// https://app.example.com; * for any origin, without credentials), as
    /// django-cors-headers' CORS_ALLOWED_ORIGINS. Only the API prefixes and /accounts answer
    /// them. Unset: no CORS.
    #[arg(long, env = "DUET_CORS_ORIGINS", value_name = "ORIGINS", global = true, value_parser = cors_origins)]
    pub cors_origins: Option<CorsOrigins>,
    /// The host names the app answers to, as Django's ALLOWED_HOSTS (comma-separated:
    /// example.com, .example.com for it and its subdomains, * for any); other hosts get 400.
    /// Required in production; in development the loopback names.
    #[arg(long, env = "DUET_ALLOWED_HOSTS", value_name = "HOSTS", global = true, value_parser = AllowedHosts::parse)]
    pub allowed_hosts: Option<AllowedHosts>,
    /// New tabs one client address may open per minute (all at once, then evenly), or off.
    #[arg(long, env = "DUET_NEW_TABS_PER_ADDRESS", value_name = "N", global = true, default_value = "60", value_parser = tabs_per_minute)]
    pub new_tabs_per_address: TabRate,
    /// The reverse proxies in front (comma-separated addresses or CIDR blocks, such as
    /// 127.0.0.1,10.0.0.0/8): only requests from them may set Forwarded/X-Forwarded-For,
    /// -Proto and -Host, which then give the client's address, scheme and host. Unset: those
    /// headers are ignored.
    #[arg(long, env = "DUET_TRUSTED_PROXIES", value_name = "ADDRESSES", global = true, value_parser = TrustedProxies::parse)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// Anonymous API requests one client address may make (N/second, N/minute, N/hour or
    /// N/day), or off. Counted in Redis when REDIS_URL is set, else in this process.
    #[arg(long, env = "DUET_THROTTLE_ANON", value_name = "RATE", global = true, default_value = "off", value_parser = throttle_rate)]
    pub throttle_anon: ThrottleSetting,
    /// Authenticated API requests (session or token) one user may make, or off.
    #[arg(long, env = "DUET_THROTTLE_USER", value_name = "RATE", global = true, default_value = "off", value_parser = throttle_rate)]
    pub throttle_user: ThrottleSetting,
    /// Login attempts (POST /accounts/login/, the admin's login) per client address and,
    /// separately, per username, or off.
    #[arg(long, env = "DUET_THROTTLE_LOGIN", value_name = "RATE", global = true, default_value = "10/minute", value_parser = throttle_rate)]
    pub throttle_login: ThrottleSetting,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics, a second listener (keep it
    /// private: never the public port). Unset: no metrics are recorded.
    #[arg(long, env = "DUET_METRICS_ADDR", value_name = "HOST:PORT", global = true)]
    pub metrics_addr: Option<String>,
    /// On SIGTERM or SIGINT, how long in-flight requests and background work get before the
    /// process exits, in seconds (sockets are told to reconnect at once).
    #[arg(long, env = "DUET_SHUTDOWN_TIMEOUT_SECS", value_name = "SECS", global = true, default_value = "10", value_parser = seconds)]
    pub shutdown_timeout_secs: Duration,
    /// How log lines are written to standard error: pretty (coloured only on a terminal) or
    /// json (one object per line). `RUST_LOG` chooses what is logged (default info).
    #[arg(
        long,
        env = "DUET_LOG_FORMAT",
        value_name = "FORMAT",
        global = true,
        default_value = "pretty",
        value_parser = log_format
    )]
    pub log_format: LogFormat,
    /// Where email goes: smtp://user:pass@host:587 (STARTTLS when the server offers it),
    /// smtps://user:pass@host:465, console:// (each message logged) or file:///DIR (one
    /// .eml file per message).
    #[arg(long, env = "DUET_EMAIL_URL", value_name = "URL", global = true, default_value = "console://", hide_env_values = true, value_parser = email_url)]
    pub email_url: MailUrl,
    /// The sender of the framework's emails, such as "Shop <shop@example.com>".
    #[arg(
        long,
        env = "DUET_EMAIL_FROM",
        value_name = "ADDRESS",
        global = true,
        default_value = "webmaster@localhost"
    )]
    pub email_from: String,
    /// Whether anyone may make an account at POST /accounts/signup/: open or closed.
    /// Unset: the app's choice (closed unless it opens it).
    #[arg(long, env = "DUET_SIGNUP", value_name = "open|closed", global = true, value_parser = signup)]
    pub signup: Option<Signup>,
    /// Read the app's own migrations from DIR/sqlite and DIR/postgres when they run,
    /// instead of those built into the binary; makemigrations writes there too.
    /// Unset: the binary's, and makemigrations writes where they were built from.
    #[arg(long, env = "DUET_MIGRATIONS_DIR", value_name = "DIR", global = true)]
    pub migrations_dir: Option<std::path::PathBuf>,
}

/// A `DUET_THROTTLE_*` rate: `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSetting(pub Option<ThrottleRate>);

/// `DUET_NEW_TABS_PER_ADDRESS`: `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabRate(pub Option<Rate>);

impl Settings {
    /// The pool settings, with `default_url` when `DATABASE_URL` is unset.
    pub fn database(&self, default_url: &DatabaseUrl) -> DbConfig {
        let url = self.database_url.clone().unwrap_or_else(|| default_url.clone());
        DbConfig::new(url)
            .max_connections(self.database_pool_size)
            .connect_timeout(self.database_timeout_secs)
            .query_timeout(self.database_query_timeout_secs)
    }

    /// `DUET_ALLOWED_HOSTS`, required in production; the loopback names in development.
    pub fn allowed_hosts(&self) -> Result<AllowedHosts, Error> {
        match (&self.allowed_hosts, self.env) {
            (Some(hosts), _) => Ok(hosts.clone()),
            (None, Env::Development) => Ok(AllowedHosts::loopback()),
            (None, Env::Production) => Err(Error::setting(
                "DUET_ALLOWED_HOSTS",
                "is required when DUET_ENV=production (e.g. shop.example.com)",
            )),
        }
    }

    /// The session key: `DUET_SECRET_KEY`, or in development the key kept in
    /// `var/secret.key` (generated on first use).
    pub fn session_key(&self) -> Result<Vec<u8>, Error> {
        match (&self.secret_key, self.env) {
            (Some(key), _) => Ok(key.0.clone()),
            (None, Env::Production) => Err(Error::setting(
                "DUET_SECRET_KEY",
                format!("is required when DUET_ENV=production (at least {MIN_SECRET_LEN} random bytes)"),
            )),
            (None, Env::Development) => crate::secret_key::development_key(std::path::Path::new("var/secret.key")),
        }
    }
}

fn email_url(raw: &str) -> Result<MailUrl, String> {
    raw.parse().map_err(|e: duet_mail::MailError| e.to_string())
}

fn signup(raw: &str) -> Result<Signup, String> {
    raw.parse()
}

fn database_url(raw: &str) -> Result<DatabaseUrl, String> {
    DatabaseUrl::parse(raw).map_err(|e| {
        let message = e.to_string();
        message.strip_prefix("DATABASE_URL: ").unwrap_or(&message).to_owned()
    })
}

fn pool_size(raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("must be a positive whole number, not {raw:?}"))
}

fn seconds(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("must be a positive number of seconds, not {raw:?}"))
}

fn redis_url(raw: &str) -> Result<String, String> {
    if raw.starts_with("redis://") || raw.starts_with("rediss://") {
        Ok(raw.to_owned())
    } else {
        Err("must start with redis:// or rediss://".into())
    }
}

fn key_prefix(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.contains(char::is_whitespace) {
        Err("must be a word without spaces".into())
    } else {
        Ok(raw.to_owned())
    }
}

fn lock_ttl(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms >= 100)
        .map(Duration::from_millis)
        .ok_or_else(|| "must be a whole number of milliseconds, at least 100".into())
}

fn lease_idle(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= 60_000)
        .map(Duration::from_millis)
        .ok_or_else(|| "must be a whole number of milliseconds, at most 60000 (0: no leases)".into())
}

fn redis_timeout(raw: &str) -> Result<Duration, String> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms >= 10)
        .map(Duration::from_millis)
        .ok_or_else(|| "must be a whole number of milliseconds, at least 10".into())
}

fn throttle_rate(raw: &str) -> Result<ThrottleSetting, String> {
    ThrottleRate::parse(raw).map(ThrottleSetting)
}

fn tabs_per_minute(raw: &str) -> Result<TabRate, String> {
    if raw.trim() == "off" {
        return Ok(TabRate(None));
    }
    let n = raw
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "must be a positive whole number per minute, or off".to_owned())?;
    Ok(TabRate(Some(Rate::new(n, Duration::from_secs(60) / n))))
}

fn secret_key(raw: &str) -> Result<SecretKey, String> {
    if raw.len() < MIN_SECRET_LEN {
        return Err(format!(
            "is {} bytes long; it must be at least {MIN_SECRET_LEN}",
            raw.len()
        ));
    }
    Ok(SecretKey(raw.as_bytes().to_vec()))
}

fn log_format(raw: &str) -> Result<LogFormat, String> {
    match raw.trim() {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("must be pretty or json, not {other:?}")),
    }
}

fn env(raw: &str) -> Result<Env, String> {
    match raw.trim() {
        "development" => Ok(Env::Development),
        "production" => Ok(Env::Production),
        other => Err(format!("must be development or production, not {other:?}")),
    }
}

fn origin(raw: &str) -> Result<String, String> {
    let problem = || format!("{raw:?} is not an origin such as https://admin.example.com");
    let url = url::Url::parse(raw.trim()).map_err(|_| problem())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare || raw.trim().ends_with('/') {
        return Err(problem());
    }
    Ok(url.origin().ascii_serialization())
}

/// `DUET_CORS_ORIGINS`: origins, or `*` alone (any origin).
fn cors_origins(raw: &str) -> Result<CorsOrigins, String> {
    let values: Vec<&str> = raw.split(',').map(str::trim).filter(|v| !v.is_empty()).collect();
    match values.as_slice() {
        [] => Ok(CorsOrigins::Off),
        ["*"] => Ok(CorsOrigins::Any),
        listed if listed.contains(&"*") => Err("* means any origin: give it alone, or list the origins".to_owned()),
        listed => listed
            .iter()
            .map(|o| origin(o))
            .collect::<Result<_, _>>()
            .map(CorsOrigins::Listed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_with_a_reason() {
        assert_eq!(pool_size("12"), Ok(12));
        assert!(pool_size("0").unwrap_err().contains("positive"));
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(seconds("soon").unwrap_err().contains("positive"));
        assert!(seconds("inf").is_err());
        assert!(redis_url("localhost:6379").unwrap_err().contains("redis://"));
        assert!(key_prefix("a b").is_err());
        assert!(lock_ttl("99").is_err());
        assert_eq!(lock_ttl("100"), Ok(Duration::from_millis(100)));
        assert_eq!(lease_idle("0"), Ok(Duration::ZERO));
        assert_eq!(lease_idle("50"), Ok(Duration::from_millis(50)));
        assert!(lease_idle("-1").is_err() && lease_idle("60001").is_err());
        assert!(redis_timeout("9").is_err());
        assert_eq!(cors_origins(""), Ok(CorsOrigins::Off));
        assert_eq!(cors_origins(" * "), Ok(CorsOrigins::Any));
        assert_eq!(
            cors_origins("https://a.example, http://b.example:8080"),
            Ok(CorsOrigins::Listed(vec![
                "https://a.example".into(),
                "http://b.example:8080".into()
            ]))
        );
        assert!(cors_origins("*,https://a.example").unwrap_err().contains("alone"));
        assert!(
            cors_origins("https://a.example/path")
                .unwrap_err()
                .contains("not an origin")
        );
        assert_eq!(redis_timeout("10"), Ok(Duration::from_millis(10)));
        assert_eq!(tabs_per_minute("off"), Ok(TabRate(None)));
        assert_eq!(
            tabs_per_minute("60"),
            Ok(TabRate(Some(Rate::new(60, Duration::from_secs(1)))))
        );
        assert!(tabs_per_minute("0").unwrap_err().contains("or off"));
        assert!(secret_key("short").unwrap_err().contains("at least 64"));
        assert_eq!(env("production"), Ok(Env::Production));
        assert_eq!(log_format("json"), Ok(LogFormat::Json));
        assert!(log_format("logfmt").unwrap_err().contains("pretty or json"));
        assert!(env("staging").unwrap_err().contains("development or production"));
        assert_eq!(
            origin("https://admin.example.com"),
            Ok("https://admin.example.com".into())
        );
        assert_eq!(origin("http://127.0.0.1:9000"), Ok("http://127.0.0.1:9000".into()));
        for bad in [
            "admin.example.com",
            "https://x.com/path",
            "ftp://x.com",
            "https://x.com/",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
        assert!(
            database_url("mysql://x/y")
                .unwrap_err()
                .starts_with("unsupported scheme")
        );
    }
}
