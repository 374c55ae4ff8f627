//! Configuration from the environment, checked once at start-up.

use std::path::Path;
use std::time::Duration;

use duet_auth::AllowedHosts;
use duet_models::{DatabaseUrl, DbConfig};
use duet_state::Rate;

use crate::error::ShopError;

/// The default database: an SQLite file under `var/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://var/shop.sqlite3";
/// Where a development secret key is kept.
const DEV_SECRET_FILE: &str = "var/secret.key";
/// actix-session's cookie key needs at least 64 bytes.
const MIN_SECRET_LEN: usize = 64;

/// `development` (the default) or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    /// Local work: seeds demo data, generates a secret key, cookies without `Secure`.
    Development,
    /// A deployment: no seeding, the secret key is required, cookies are `Secure`.
    Production,
}

/// Everything the shop reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DUET_ENV`.
    pub env: Env,
    /// `DATABASE_URL`, `DATABASE_POOL_SIZE`, `DATABASE_TIMEOUT_SECS`,
    /// `DATABASE_QUERY_TIMEOUT_SECS`.
    pub database: DbConfig,
    /// `REDIS_URL`, if set: sessions, tabs and broadcasts in Redis.
    pub redis_url: Option<String>,
    /// `REDIS_KEY_PREFIX`, `REDIS_LOCK_TTL_MS`, `REDIS_TIMEOUT_MS`.
    pub redis: RedisSettings,
    /// `DUET_SECRET_KEY` (or the development key kept in `var/`).
    pub secret_key: Vec<u8>,
    /// `DUET_ALLOWED_HOSTS`: required in production; loopback names in development.
    pub allowed_hosts: AllowedHosts,
    /// `DUET_NEW_TABS_PER_ADDRESS`, `DUET_TRUST_FORWARDED_FOR`.
    pub sockets: SocketSettings,
    /// The webhook signing secrets; a missing one disables its endpoint.
    pub webhooks: WebhookSecrets,
}

/// Limits of the event sockets.
#[derive(Debug, Clone)]
pub struct SocketSettings {
    /// `DUET_NEW_TABS_PER_ADDRESS` (default 60): new tabs one client address may open per
    /// minute (all at once, then evenly); `off` for no limit.
    pub new_tabs_per_address: Option<Rate>,
    /// `DUET_TRUST_FORWARDED_FOR` (default false): take the client's address from
    /// `Forwarded`/`X-Forwarded-For`, set by the load balancer in front.
    pub trust_forwarded_for: bool,
}

impl SocketSettings {
    fn from_env() -> Result<SocketSettings, ShopError> {
        let new_tabs_per_address = match var("DUET_NEW_TABS_PER_ADDRESS").as_deref() {
            None => Some(Rate::new(60, Duration::from_secs(1))),
            Some("off") => None,
            Some(n) => {
                let n = n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ShopError::config(
                        "DUET_NEW_TABS_PER_ADDRESS",
                        "must be a positive whole number per minute, or off",
                    )
                })?;
                Some(Rate::new(n, Duration::from_secs(60) / n))
            }
        };
        let trust_forwarded_for = match var("DUET_TRUST_FORWARDED_FOR").as_deref() {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => return Err(ShopError::config("DUET_TRUST_FORWARDED_FOR", "must be true or false")),
        };
        Ok(SocketSettings {
            new_tabs_per_address,
            trust_forwarded_for,
        })
    }
}

/// How tabs are kept in Redis (used when `REDIS_URL` is set).
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_KEY_PREFIX` (default `shop`): prefix of every tab key and of the broadcast
    /// channel, so several apps can share one Redis.
    pub prefix: String,
    /// `REDIS_LOCK_TTL_MS` (default 10,000): a tab lock not released within this long
    /// expires (an instance died mid-event); a running event renews it.
    pub lock_ttl: Duration,
    /// `REDIS_TIMEOUT_MS` (default 2,000): how long a request waits for Redis (sessions, tabs)
    /// before it is answered 503, or `unavailable`.
    pub timeout: Duration,
}

impl RedisSettings {
    fn from_env() -> Result<RedisSettings, ShopError> {
        let prefix = var("REDIS_KEY_PREFIX").unwrap_or_else(|| "shop".to_owned());
        if prefix.contains(char::is_whitespace) {
            return Err(ShopError::config("REDIS_KEY_PREFIX", "must not contain spaces"));
        }
        let lock_ttl = match var("REDIS_LOCK_TTL_MS") {
            None => Duration::from_secs(10),
            Some(ms) => ms
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms >= 100)
                .map(Duration::from_millis)
                .ok_or_else(|| {
                    ShopError::config(
                        "REDIS_LOCK_TTL_MS",
                        "must be a whole number of milliseconds, at least 100",
                    )
                })?,
        };
        let timeout = match var("REDIS_TIMEOUT_MS") {
            None => Duration::from_secs(2),
            Some(ms) => ms
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms >= 10)
                .map(Duration::from_millis)
                .ok_or_else(|| {
                    ShopError::config(
                        "REDIS_TIMEOUT_MS",
                        "must be a whole number of milliseconds, at least 10",
                    )
                })?,
        };
        Ok(RedisSettings {
            prefix,
            lock_ttl,
            timeout,
        })
    }
}

/// `STRIPE_WEBHOOK_SECRET`, `GITHUB_WEBHOOK_SECRET`, `STANDARD_WEBHOOK_SECRET`.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    /// Stripe's endpoint secret (`whsec_…`).
    pub stripe: Option<String>,
    /// The GitHub webhook secret.
    pub github: Option<String>,
    /// The Standard Webhooks secret (`whsec_` + base64).
    pub standard: Option<String>,
}

impl WebhookSecrets {
    /// Reads the three variables.
    pub fn from_env() -> WebhookSecrets {
        WebhookSecrets {
            stripe: var("STRIPE_WEBHOOK_SECRET"),
            github: var("GITHUB_WEBHOOK_SECRET"),
            standard: var("STANDARD_WEBHOOK_SECRET"),
        }
    }
}

impl Settings {
    /// Reads and checks the environment. Each problem names its variable.
    pub fn from_env() -> Result<Settings, ShopError> {
        let env = match var("DUET_ENV").as_deref() {
            None | Some("development") => Env::Development,
            Some("production") => Env::Production,
            Some(other) => {
                return Err(ShopError::config(
                    "DUET_ENV",
                    format!("must be development or production, not {other:?}"),
                ));
            }
        };
        let database = database_config()?;
        let redis_url = var("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ShopError::config("REDIS_URL", "must start with redis:// or rediss://"));
        }
        let redis = RedisSettings::from_env()?;
        let secret_key = secret_key(env)?;
        let allowed_hosts = match (var("DUET_ALLOWED_HOSTS"), env) {
            (Some(list), _) => {
                AllowedHosts::parse(&list).map_err(|problem| ShopError::config("DUET_ALLOWED_HOSTS", problem))?
            }
            (None, Env::Development) => AllowedHosts::loopback(),
            (None, Env::Production) => {
                return Err(ShopError::config(
                    "DUET_ALLOWED_HOSTS",
                    "is required when DUET_ENV=production (e.g. shop.example.com)",
                ));
            }
        };
        Ok(Settings {
            env,
            database,
            redis_url,
            redis,
            secret_key,
            allowed_hosts,
            sockets: SocketSettings::from_env()?,
            webhooks: WebhookSecrets::from_env(),
        })
    }

    /// Settings for the commands that only touch the database (no secret key needed).
    pub fn database_from_env() -> Result<DbConfig, ShopError> {
        database_config()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn database_config() -> Result<DbConfig, ShopError> {
    let raw = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    let url = DatabaseUrl::parse(&raw).map_err(|e| ShopError::Config(e.to_string()))?;
    let mut config = DbConfig::new(url);
    if let Some(size) = var("DATABASE_POOL_SIZE") {
        let size: u32 = size
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ShopError::config("DATABASE_POOL_SIZE", "must be a positive whole number"))?;
        config = config.max_connections(size);
    }
    if let Some(secs) = var("DATABASE_TIMEOUT_SECS") {
        let secs: f64 = secs
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)
            .ok_or_else(|| ShopError::config("DATABASE_TIMEOUT_SECS", "must be a positive number of seconds"))?;
        config = config.connect_timeout(Duration::from_secs_f64(secs));
    }
    if let Some(secs) = var("DATABASE_QUERY_TIMEOUT_SECS") {
        let secs: f64 = secs
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0)
            .ok_or_else(|| ShopError::config("DATABASE_QUERY_TIMEOUT_SECS", "must be a positive number of seconds"))?;
        config = config.query_timeout(Duration::from_secs_f64(secs));
    }
    Ok(config)
}

fn secret_key(env: Env) -> Result<Vec<u8>, ShopError> {
    if let Some(key) = var("DUET_SECRET_KEY") {
        if key.len() < MIN_SECRET_LEN {
            return Err(ShopError::config(
                "DUET_SECRET_KEY",
                format!("is {} bytes long; it must be at least {MIN_SECRET_LEN}", key.len()),
            ));
        }
        return Ok(key.into_bytes());
    }
    match env {
        Env::Production => Err(ShopError::config(
            "DUET_SECRET_KEY",
            format!("is required when DUET_ENV=production (at least {MIN_SECRET_LEN} random bytes)"),
        )),
        Env::Development => development_key(Path::new(DEV_SECRET_FILE)),
    }
}

/// Reads the development key from `path`, generating it on first use.
fn development_key(path: &Path) -> Result<Vec<u8>, ShopError> {
    let problem =
        |e: std::io::Error| ShopError::config("DUET_SECRET_KEY", format!("unset, and {}: {e}", path.display()));
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= MIN_SECRET_LEN {
            tracing::warn!(file = %path.display(), "DUET_SECRET_KEY is unset: using the development key");
            return Ok(existing.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| ShopError::config("DUET_SECRET_KEY", format!("no randomness: {e}")))?;
    let key = hex::encode(bytes);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(problem)?;
    }
    write_private(path, &key).map_err(problem)?;
    tracing::warn!(file = %path.display(), "DUET_SECRET_KEY is unset: generated a development key");
    Ok(key.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
