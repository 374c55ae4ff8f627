//! The shop's app: its prefixes, routes and SPA, assembled by `duet-mount`.

use std::sync::Arc;
use std::time::Duration;

use duet_auth::{RedisSessionConfig, SessionBackend, SessionConfig};
use duet_models::{DatabaseUrl, Db};
use duet_mount::{Assets, Duet, MountError, Services, SpaShell};
use duet_state::postgres::PgBroadcaster;
use duet_state::redis::{RedisBroadcaster, RedisConfig, RedisStateManager};
use duet_state::{Broadcaster, MemoryStateManager, SocketConfig, StateManager};
use duet_views::ApiRouter;

use crate::api::{OrderViewSet, my_orders};
use crate::error::ShopError;
use crate::settings::{Env, Settings};
use crate::webhooks::Webhooks;

/// What the shell shows before the runtime renders the page (and without JavaScript).
const SHELL_BODY: &str = r#"<div id="app"><main><noscript>This shop needs JavaScript. The JSON API is at
<a href="/api/v1/">/api/v1/</a>.</noscript></main></div>"#;

/// How long an idle tab's state is kept.
const TAB_TTL: Duration = Duration::from_secs(60 * 60);
/// How long an idle tab of an anonymous visitor is kept.
const ANONYMOUS_TAB_TTL: Duration = Duration::from_secs(15 * 60);

/// Prefix of the PostgreSQL notification channel (`shop:broadcast`). Channels belong to a
/// database, so other apps with databases of their own never hear it.
const PG_CHANNEL_PREFIX: &str = "shop";

/// The shop as a duet app: `/api` and `/webhooks` are HTTP, everything else is the SPA.
pub fn app(webhooks: Webhooks) -> Duet {
    Duet::new("shop")
        .backend_prefixes(["/api", "/webhooks"])
        .csrf_exempt("/webhooks")
        .http(move |routes| {
            routes.get("/api/orders/", my_orders);
            ApiRouter::new("/api/v1")
                .register("orders", OrderViewSet)
                .configure(routes);
            webhooks.configure(routes);
        })
        .states(crate::states::register)
        .ui(crate::pages::ui())
        .assets(Assets::new().hashed("shop.css", include_bytes!("../static/shop.css").as_slice()))
        .shell(SpaShell::new("Shop").stylesheet("shop.css").body(SHELL_BODY))
}

/// Where tabs live and how publishes travel: with `REDIS_URL`, both in Redis, shared by
/// every instance of the shop. Without it, tabs stay in this process; publishes and logouts
/// reach the other instances through PostgreSQL's LISTEN/NOTIFY when that is the database
/// (a socket then stays on its instance: reconnecting to another one starts its tab
/// afresh), and stay in this process on SQLite.
async fn state_services(settings: &Settings) -> Result<(Arc<dyn StateManager>, Broadcaster), ShopError> {
    let broadcaster = Broadcaster::new();
    let Some(url) = &settings.redis_url else {
        let memory = Arc::new(MemoryStateManager::new(TAB_TTL).anonymous_ttl(ANONYMOUS_TAB_TTL));
        let DatabaseUrl::Postgres(database_url) = &settings.database.url else {
            tracing::info!(store = "memory", broadcasts = "in-process", "tabs and broadcasts");
            return Ok((memory, broadcaster));
        };
        PgBroadcaster::start(database_url, PG_CHANNEL_PREFIX, &broadcaster)
            .await
            .map_err(|e| ShopError::config("DATABASE_URL", format!("cannot listen for broadcasts: {e}")))?;
        tracing::info!(
            store = "memory",
            broadcasts = "postgres",
            channel = format!("{PG_CHANNEL_PREFIX}:broadcast"),
            "tabs and broadcasts"
        );
        return Ok((memory, broadcaster));
    };
    let config = RedisConfig::new(url)
        .prefix(&settings.redis.prefix)
        .tab_ttl(TAB_TTL)
        .anonymous_tab_ttl(ANONYMOUS_TAB_TTL)
        .lock_ttl(settings.redis.lock_ttl)
        .timeout(settings.redis.timeout);
    let unreachable =
        |e: duet_state::redis::RedisError| ShopError::config("REDIS_URL", format!("cannot reach Redis: {e}"));
    let manager = RedisStateManager::connect(config.clone()).await.map_err(unreachable)?;
    RedisBroadcaster::start(&config, &broadcaster)
        .await
        .map_err(unreachable)?;
    tracing::info!(store = "redis", prefix = config.prefix, lock_ttl = ?config.lock_ttl, "tabs and broadcasts");
    Ok((Arc::new(manager), broadcaster))
}

/// Serves the shop on `addr` with `db` and the sessions `settings` ask for.
pub async fn serve(settings: &Settings, db: Db, addr: &str) -> Result<(), ShopError> {
    let session_backend = match &settings.redis_url {
        Some(url) => SessionBackend::redis(
            RedisSessionConfig::new(url)
                .prefix(&settings.redis.prefix)
                .timeout(settings.redis.timeout),
        )
        .await
        .map_err(|reason| ShopError::config("REDIS_URL", format!("cannot reach Redis: {reason}")))?,
        None => SessionBackend::cookie(),
    };
    tracing::info!(store = session_backend.name(), "sessions");
    let sessions = SessionConfig::new(&settings.secret_key).secure(settings.env == Env::Production);
    let webhooks = Webhooks::new(&settings.webhooks)?;
    let (state_manager, broadcaster) = state_services(settings).await?;
    let sockets = SocketConfig {
        new_tabs_per_address: settings.sockets.new_tabs_per_address,
        trust_forwarded_for: settings.sockets.trust_forwarded_for,
        ..SocketConfig::default()
    };
    app(webhooks)
        .event_sockets(sockets)
        .serve(
            Services {
                db,
                sessions,
                session_backend,
                allowed_hosts: settings.allowed_hosts.clone(),
                state_manager,
                broadcaster,
            },
            addr,
        )
        .await
        .map_err(|e| match e {
            MountError::Bind { .. } => ShopError::Config(format!("serve --addr {addr}: {e}")),
            other => ShopError::Config(other.to_string()),
        })
}
