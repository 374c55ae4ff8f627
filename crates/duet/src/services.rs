//! The services a running app needs — the database, sessions, the tab store and the
//! broadcaster — chosen by the framework from the settings, never by the app.

use std::sync::Arc;
use std::time::Duration;

use duet_auth::{
    AllowedHosts, Limiter, RedisSessionConfig, SessionBackend, SessionConfig, Signup, Throttles, TrustedProxies,
};
use duet_mail::{MailUrl, Mailer, Retry};
use duet_models::{DatabaseUrl, Db};
use duet_state::postgres::PgBroadcaster;
use duet_state::redis::{RedisBroadcaster, RedisConfig, RedisStateManager};
use duet_state::{Broadcaster, MemoryStateManager, Rate, SocketConfig, StateManager};

use crate::settings::{Env, Settings};
use crate::{CorsOrigins, Error};

/// How long an idle tab's state is kept.
const TAB_TTL: Duration = Duration::from_secs(60 * 60);
/// How long an idle tab of an anonymous visitor is kept.
const ANONYMOUS_TAB_TTL: Duration = Duration::from_secs(15 * 60);

/// What a running app needs from outside: the database, sessions and the tab store.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub db: Db,
    /// Where tabs' states live between events.
    pub state_manager: Arc<dyn StateManager>,
    /// Publishes to open tabs; handlers reach it as `web::Data<Broadcaster>`.
    pub broadcaster: Broadcaster,
    /// Session cookie settings.
    pub sessions: SessionConfig,
    /// Where sessions are kept.
    pub session_backend: SessionBackend,
    /// Other origins trusted for unsafe session requests.
    pub trusted_origins: Vec<String>,
    /// Origins whose pages may call the API from a browser (`DUET_CORS_ORIGINS`).
    pub cors_origins: CorsOrigins,
    /// The host names the app answers to.
    pub allowed_hosts: AllowedHosts,
    /// New tabs one client address may open (`None`: no limit).
    pub new_tabs_per_address: Option<Rate>,
    /// The proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// The API's and the logins' rates, counted in Redis or in this process.
    pub throttles: Throttles,
    /// How long a shutdown may take (`DUET_SHUTDOWN_TIMEOUT_SECS`).
    pub shutdown_timeout: Duration,
    /// Where `/metrics` is served (`DUET_METRICS_ADDR`), if anywhere.
    pub metrics_addr: Option<String>,
    /// Sends the framework's and the app's email (`DUET_EMAIL_URL`, `DUET_EMAIL_FROM`).
    pub mailer: Mailer,
    /// `DUET_SIGNUP`, when set: overrides the app's choice.
    pub signup: Option<Signup>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("db", &self.db)
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Services for one process without Redis: sessions in cookies, tabs and broadcasts in
    /// memory, email logged. For tests and embedding; call it inside a Tokio runtime (the
    /// mailer's worker starts on it). [`Services::start`] chooses from the settings.
    pub fn in_process(db: Db, session_key: &[u8]) -> Services {
        let mailer = Mailer::start(&MailUrl::Console, "webmaster@localhost", Retry::default())
            .expect("a constant sender and the console need no setup");
        Services {
            db,
            state_manager: Arc::new(MemoryStateManager::new(TAB_TTL).anonymous_ttl(ANONYMOUS_TAB_TTL)),
            broadcaster: Broadcaster::new(),
            sessions: SessionConfig::new(session_key),
            session_backend: SessionBackend::cookie(),
            trusted_origins: Vec::new(),
            cors_origins: CorsOrigins::Off,
            allowed_hosts: AllowedHosts::loopback(),
            new_tabs_per_address: SocketConfig::default().new_tabs_per_address,
            trusted_proxies: TrustedProxies::default(),
            throttles: Throttles::default(),
            shutdown_timeout: Duration::from_secs(10),
            metrics_addr: None,
            mailer,
            signup: None,
        }
    }

    /// Chooses and connects the services `settings` ask for, and logs the choice:
    ///
    /// | `REDIS_URL` | database | sessions | tabs | broadcasts | throttle counters |
    /// |---|---|---|---|---|---|
    /// | set | any | Redis | Redis | Redis pub/sub | Redis |
    /// | unset | PostgreSQL | cookie | this process | `LISTEN`/`NOTIFY` on `{app}:broadcast` | this process |
    /// | unset | SQLite | cookie | this process | this process | this process |
    ///
    /// `session_key` is [`Settings::session_key`], read before the database is touched.
    pub async fn start(settings: &Settings, session_key: &[u8], app_name: &str, db: Db) -> Result<Services, Error> {
        let sessions = SessionConfig::new(session_key).secure(settings.env == Env::Production);
        let mailer = Mailer::start(&settings.email_url, &settings.email_from, Retry::default())
            .map_err(|e| Error::setting("DUET_EMAIL_FROM", e.to_string()))?;
        let allowed_hosts = settings.allowed_hosts()?;
        let broadcaster = Broadcaster::new();
        let (session_backend, state_manager, limiter) = match &settings.redis_url {
            Some(url) => {
                let unreachable =
                    |e: &dyn std::fmt::Display| Error::setting("REDIS_URL", format!("cannot reach Redis: {e}"));
                let prefix = settings.redis_key_prefix.as_deref().unwrap_or(app_name);
                let config = RedisConfig::new(url)
                    .prefix(prefix)
                    .tab_ttl(TAB_TTL)
                    .anonymous_tab_ttl(ANONYMOUS_TAB_TTL)
                    .lock_ttl(settings.redis_lock_ttl_ms)
                    .lease_idle(settings.redis_lease_idle_ms)
                    .timeout(settings.redis_timeout_ms);
                let manager = RedisStateManager::connect(config.clone())
                    .await
                    .map_err(|e| unreachable(&e))?;
                RedisBroadcaster::start(&config, &broadcaster)
                    .await
                    .map_err(|e| unreachable(&e))?;
                let sessions = SessionBackend::redis(
                    RedisSessionConfig::new(url)
                        .prefix(prefix)
                        .timeout(settings.redis_timeout_ms),
                )
                .await
                .map_err(|e| unreachable(&e))?;
                let limiter = Limiter::redis(url, prefix, settings.redis_timeout_ms)
                    .await
                    .map_err(|e| unreachable(&e))?;
                tracing::info!(
                    sessions = "redis",
                    tabs = "redis",
                    broadcasts = "redis",
                    throttles = "redis",
                    prefix = config.prefix,
                    lock_ttl = ?config.lock_ttl,
                    lease_idle = ?config.lease_idle,
                    "services"
                );
                let manager: Arc<dyn StateManager> = Arc::new(manager);
                (sessions, manager, limiter)
            }
            None => {
                let memory: Arc<dyn StateManager> =
                    Arc::new(MemoryStateManager::new(TAB_TTL).anonymous_ttl(ANONYMOUS_TAB_TTL));
                if let DatabaseUrl::Postgres(url) = &db.config().url {
                    PgBroadcaster::start(url, app_name, &broadcaster)
                        .await
                        .map_err(|e| Error::setting("DATABASE_URL", format!("cannot listen for broadcasts: {e}")))?;
                    tracing::info!(
                        sessions = "cookie",
                        tabs = "memory",
                        broadcasts = "postgres",
                        channel = format!("{app_name}:broadcast"),
                        "services"
                    );
                } else {
                    tracing::info!(
                        sessions = "cookie",
                        tabs = "memory",
                        broadcasts = "in-process",
                        "services"
                    );
                }
                (SessionBackend::cookie(), memory, Limiter::memory())
            }
        };
        Ok(Services {
            db,
            state_manager,
            broadcaster,
            sessions,
            session_backend,
            trusted_origins: settings.trusted_origins.clone(),
            cors_origins: settings.cors_origins.clone().unwrap_or(CorsOrigins::Off),
            allowed_hosts,
            new_tabs_per_address: settings.new_tabs_per_address.0,
            trusted_proxies: settings.trusted_proxies.clone().unwrap_or_default(),
            throttles: Throttles {
                limiter,
                anon: settings.throttle_anon.0,
                user: settings.throttle_user.0,
                login: settings.throttle_login.0,
            },
            shutdown_timeout: settings.shutdown_timeout_secs,
            metrics_addr: settings.metrics_addr.clone(),
            mailer,
            signup: settings.signup,
        })
    }
}
