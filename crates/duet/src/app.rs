//! `App`: the app builder. Prefixes own their routes, states and pages are registered, and
//! [`App::check`] validates it all once; the [`Checked`] result is what serves.

use std::path::Path;
use std::sync::Arc;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{HttpServer, web};
use duet_auth::LogoutListener;
use duet_auth::{Accounts, AuthConfig};
use duet_models::{Db, MigrationSet, Model, ModelChange, ModelSchema};
use duet_mount::{ACCOUNTS_PREFIX, Assets, Mount, PrefixTable, SpaShell};
use duet_state::{Engine, EventService, Registry, RegistryError, SocketConfig, State};
use duet_ui::{CompiledUi, Ui};
use duet_views::{OpenApi, RouteInfo, Routes};
use futures_util::future::LocalBoxFuture;

use crate::{Error, SecurityHeaders, Services};

type RoutesConfig = Arc<dyn Fn(&mut Routes) + Send + Sync>;
type StatesConfig = Arc<dyn Fn(&mut Registry) -> Result<(), RegistryError> + Send + Sync>;
type SeedHook = Arc<dyn Fn(Db) -> LocalBoxFuture<'static, Result<(), duet_models::Error>> + Send + Sync>;
type SettingsHook = Box<dyn FnOnce(App, &clap::ArgMatches) -> Result<App, Error>>;

/// The app's own settings: how to add their arguments to a command, and how to complete the
/// app once they are parsed.
struct OwnSettings {
    augment: fn(clap::Command) -> clap::Command,
    apply: SettingsHook,
}

/// What a backend prefix serves, which decides how its requests are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrefixKind {
    /// A JSON API: sessions, tokens and CSRF as everywhere.
    Api,
    /// Signed webhooks: CSRF-exempt (they carry no session).
    Webhooks,
    /// The framework's own account views (`/accounts`).
    Accounts,
    /// The staff admin (`/admin`): sessions and CSRF as everywhere.
    Admin,
}

struct Prefix {
    path: String,
    kind: PrefixKind,
    routes: Vec<RoutesConfig>,
}

/// A duet app: its backend prefixes with their routes, its states, pages and assets, its
/// migrations. The framework CLI ([`crate::cli::run`]) checks and serves it.
///
/// ```
/// use duet::App;
/// use duet::actix_web::HttpResponse;
/// use duet::views::{route, utoipa};
///
/// /// Answers `"pong"`.
/// #[utoipa::path(get, path = "/ping/", responses((status = 200, body = String)))]
/// async fn ping() -> HttpResponse {
///     HttpResponse::Ok().json("pong")
/// }
///
/// let app = App::new("shop").api("/api", |routes| {
///     route!(routes, ping);
/// });
/// let checked = app.check().expect("a valid app");
/// assert!(checked.to_string().contains("/api/ping/"));
/// assert!(checked.openapi()["paths"]["/api/ping/"]["get"].is_object());
/// ```
pub struct App {
    name: String,
    version: String,
    prefixes: Vec<Prefix>,
    states: Vec<StatesConfig>,
    socket: SocketConfig,
    shell: SpaShell,
    assets: Assets,
    ui: Option<Ui>,
    models: Vec<ModelSchema>,
    migrations: Vec<MigrationSet>,
    seed: Option<SeedHook>,
    settings: Option<OwnSettings>,
    /// What the admin's registrations got wrong, for the check.
    admin_problems: Vec<String>,
    pub(crate) security_headers: SecurityHeaders,
    pub(crate) deploy_warnings: Vec<String>,
    accounts: Accounts,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("prefixes", &self.prefixes.iter().map(|p| &p.path).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl App {
    /// An app named `name`: the SPA's title until the app sets one, the default database
    /// file (`var/{name}.sqlite3`), Redis key prefix and broadcast channel.
    pub fn new(name: &str) -> App {
        App {
            name: name.to_owned(),
            version: "1".to_owned(),
            prefixes: vec![Prefix {
                path: ACCOUNTS_PREFIX.to_owned(),
                kind: PrefixKind::Accounts,
                routes: vec![Arc::new(account_routes)],
            }],
            states: Vec::new(),
            socket: SocketConfig::default(),
            shell: SpaShell::new(name),
            assets: Assets::new(),
            ui: None,
            models: Vec::new(),
            migrations: Vec::new(),
            seed: None,
            settings: None,
            admin_problems: Vec::new(),
            security_headers: SecurityHeaders::default(),
            deploy_warnings: Vec::new(),
            accounts: Accounts::default(),
        }
    }

    /// How the self-service account flows behave (docs/accounts.md): sign-up open or
    /// closed (`DUET_SIGNUP` overrides it), whether a new address must be confirmed first,
    /// the pages the mailed links open, the emails' words, the password rules.
    pub fn accounts(mut self, accounts: Accounts) -> App {
        self.accounts = accounts;
        self
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The API's version, as the OpenAPI document states it (default `"1"`), such as
    /// `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> App {
        self.version = version.to_owned();
        self
    }

    /// A JSON API under `prefix` (such as `/api`): `routes` receives [`Routes`] rooted at the
    /// prefix, so `route!(routes, my_orders)` with `#[utoipa::path(get, path = "/orders/")]`
    /// serves `/api/orders/`. Called once for the check and once per worker. The first API
    /// prefix also serves the OpenAPI document (`{prefix}/schema/`) and Swagger UI
    /// (`{prefix}/docs/`).
    pub fn api(self, prefix: &str, routes: impl Fn(&mut Routes) + Send + Sync + 'static) -> App {
        self.prefix(prefix, PrefixKind::Api, Arc::new(routes))
    }

    /// Signed webhooks under `prefix` (such as `/webhooks`): like [`App::api`], and exempt
    /// from CSRF checks because webhook senders carry no session.
    pub fn webhooks(self, prefix: &str, routes: impl Fn(&mut Routes) + Send + Sync + 'static) -> App {
        self.prefix(prefix, PrefixKind::Webhooks, Arc::new(routes))
    }

    /// The staff admin at `/admin` ([`duet_admin`], docs/admin.md): `configure` registers
    /// the models it shows. A backend prefix of this process, with the same session, user
    /// and CSRF rules; what a registration gets wrong fails [`App::check`].
    ///
    /// ```
    /// use duet::App;
    /// use duet::admin::ModelAdmin;
    /// use duet::models::{Model, User};
    ///
    /// let app = App::new("shop").admin(|admin| {
    ///     admin
    ///         .accounts()
    ///         .register_with(ModelAdmin::<User>::new().app("people").search([User::EMAIL]))
    /// });
    /// let problems = app.check().unwrap_err().to_string();
    /// assert!(problems.contains("admin people.user: registered twice"), "{problems}");
    /// ```
    pub fn admin(mut self, configure: impl FnOnce(duet_admin::Admin) -> duet_admin::Admin) -> App {
        let admin = configure(duet_admin::Admin::new(&self.name));
        self.admin_problems.extend_from_slice(admin.problems());
        self.prefix(duet_admin::PREFIX, PrefixKind::Admin, Arc::new(admin.into_routes()))
    }

    fn prefix(mut self, path: &str, kind: PrefixKind, routes: RoutesConfig) -> App {
        self.prefixes.push(Prefix {
            path: path.to_owned(),
            kind,
            routes: vec![routes],
        });
        self
    }

    /// Registers event-state states and `on_load` handlers, served at `/_event`.
    pub fn states(
        mut self,
        configure: impl Fn(&mut Registry) -> Result<(), RegistryError> + Send + Sync + 'static,
    ) -> App {
        self.states.push(Arc::new(configure));
        self
    }

    /// Registers one state (a shorthand for [`App::states`]).
    pub fn state<S: State>(self) -> App {
        self.states(|registry| registry.register::<S>())
    }

    /// Limits and timings of the event sockets (Origin allow-list, frame size, heartbeat).
    /// The per-address tab limit and the proxies whose forwarded addresses count are
    /// deployment settings (`DUET_NEW_TABS_PER_ADDRESS`, `DUET_TRUSTED_PROXIES`), not taken
    /// from here.
    pub fn event_sockets(mut self, config: SocketConfig) -> App {
        self.socket = config;
        self
    }

    /// The app's pages: served as the SPA (page paths get the shell, other paths a 404
    /// page), their `on_load` handlers registered with the states.
    pub fn ui(mut self, ui: Ui) -> App {
        self.ui = Some(ui);
        self
    }

    /// The SPA shell document.
    pub fn shell(mut self, shell: SpaShell) -> App {
        self.shell = shell;
        self
    }

    /// The security headers of the app's responses, instead of the framework's defaults
    /// ([`SecurityHeaders::default`]: a Content-Security-Policy without `unsafe-inline`,
    /// framing refused, HSTS in production).
    pub fn security_headers(mut self, headers: SecurityHeaders) -> App {
        self.security_headers = headers;
        self
    }

    /// A problem `check --deploy` should list: a setting of the app's own that is unsafe or
    /// missing in production (say, a webhook secret that is unset).
    pub fn deploy_warning(mut self, problem: impl Into<String>) -> App {
        self.deploy_warnings.push(problem.into());
        self
    }

    /// The SPA's static assets.
    pub fn assets(mut self, assets: Assets) -> App {
        self.assets = assets;
        self
    }

    /// The app's own migrations, applied after the framework's (`migrate`, and at `serve`).
    /// An app with models has exactly one set: `makemigrations` writes its models'
    /// migrations there.
    pub fn migrations(mut self, set: MigrationSet) -> App {
        self.migrations.push(set);
        self
    }

    /// Declares model `M`: `makemigrations` writes the migrations its table needs into the
    /// app's migration set, and `serve` refuses to start while the database's table does
    /// not match it (a missing table or column, another type or nullability).
    pub fn model<M: Model>(mut self) -> App {
        self.models.push(ModelSchema::of::<M>());
        self
    }

    /// The models declared with [`App::model`].
    pub fn models(&self) -> &[ModelSchema] {
        &self.models
    }

    /// Demo data for a fresh development database: `seed` runs at `serve` when `DUET_ENV`
    /// is `development`, after the migrations (it decides itself whether there is anything
    /// to do). Never in production.
    pub fn seed<F, Fut>(mut self, seed: F) -> App
    where
        F: Fn(Db) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), duet_models::Error>> + 'static,
    {
        self.seed = Some(Arc::new(move |db| Box::pin(seed(db))));
        self
    }

    /// Settings of the app's own, beside the framework's: `S`'s flags and environment
    /// variables are listed by `--help` and parsed with the others, then `configure`
    /// completes the app with them (for example, webhook routes that need their secrets).
    /// Outside the CLI, [`App::check`] reads them from the environment.
    ///
    /// ```
    /// use duet::{App, clap};
    ///
    /// #[derive(clap::Args)]
    /// struct Secrets {
    ///     /// The GitHub webhook secret; unset disables the endpoint.
    ///     #[arg(long, env = "GITHUB_WEBHOOK_SECRET")]
    ///     github: Option<String>,
    /// }
    ///
    /// let app = App::new("ci").with_settings(|app, secrets: &Secrets| {
    ///     Ok(match &secrets.github {
    ///         Some(_) => app.webhooks("/webhooks", |_routes| { /* the endpoint */ }),
    ///         None => app,
    ///     })
    /// });
    /// # let _ = app;
    /// ```
    pub fn with_settings<S: clap::Args + clap::FromArgMatches + 'static>(
        mut self,
        configure: impl FnOnce(App, &S) -> Result<App, Error> + 'static,
    ) -> App {
        let apply: SettingsHook = Box::new(move |app, matches| {
            let settings = S::from_arg_matches(matches).map_err(|e| Error::setting("settings", e))?;
            configure(app, &settings)
        });
        self.settings = Some(OwnSettings {
            augment: S::augment_args,
            apply,
        });
        self
    }

    /// Adds the app's own settings (if any) to the CLI's command.
    pub(crate) fn augment(&self, command: clap::Command) -> clap::Command {
        match &self.settings {
            Some(own) => (own.augment)(command),
            None => command,
        }
    }

    /// Completes the app with its own settings, parsed in `matches`.
    pub(crate) fn apply_settings(mut self, matches: &clap::ArgMatches) -> Result<App, Error> {
        match self.settings.take() {
            Some(own) => (own.apply)(self, matches),
            None => Ok(self),
        }
    }

    /// The migrations to apply: the framework's, then the app's — read at run time from
    /// `dir` (its `sqlite/` and `postgres/`) instead, when given (`DUET_MIGRATIONS_DIR`).
    pub(crate) fn migration_sets(&self, dir: Option<&Path>) -> Result<Vec<MigrationSet>, Error> {
        let own = match dir {
            Some(_) => vec![self.own_migrations(dir)?],
            None => self.migrations.clone(),
        };
        Ok(std::iter::once(duet_models::FRAMEWORK_MIGRATIONS).chain(own).collect())
    }

    /// The app's one migration set, where its models' migrations go: as built into the
    /// binary, or read from `dir` when given.
    pub(crate) fn own_migrations(&self, dir: Option<&Path>) -> Result<MigrationSet, Error> {
        let set = match self.migrations.as_slice() {
            [set] => set,
            [] => return Err(Error::NoMigrationSet),
            several => {
                return Err(Error::SeveralMigrationSets(
                    several.iter().map(MigrationSet::name).collect(),
                ));
            }
        };
        Ok(match dir {
            Some(dir) => MigrationSet::from_directories(set.name(), dir.join("sqlite"), dir.join("postgres")),
            None => set.clone(),
        })
    }

    pub(crate) fn seed_hook(&self) -> Option<&SeedHook> {
        self.seed.as_ref()
    }

    fn registry(&self) -> Result<Registry, String> {
        let mut registry = Registry::new();
        for configure in &self.states {
            configure(&mut registry).map_err(|e| format!("event-state: {e}"))?;
        }
        if let Some(ui) = &self.ui {
            ui.register_on_load(&mut registry).map_err(|e| format!("ui: {e}"))?;
        }
        Ok(registry)
    }

    /// The start-up check: a valid prefix table, no route registered twice or without its
    /// leading `/`, states and pages that fit together, every asset the shell names, models
    /// that describe tables. Every problem found is listed in [`Error::Check`].
    ///
    /// The result holds what was validated — the registry, the compiled UI, the prefix
    /// table and routes — and [`Checked::serve`] uses it as is.
    pub fn check(self) -> Result<Checked, Error> {
        let app = match self.settings.is_some() {
            true => {
                let command = self.augment(clap::Command::new(self.name.clone()).no_binary_name(true));
                let matches = command
                    .try_get_matches_from(std::iter::empty::<String>())
                    .map_err(|e| Error::setting("settings", e.to_string().trim()))?;
                self.apply_settings(&matches)?
            }
            false => self,
        };
        let mut problems = Vec::new();
        let table = PrefixTable::new(
            app.prefixes
                .iter()
                .filter(|p| p.kind != PrefixKind::Accounts)
                .map(|p| p.path.as_str()),
        )
        .map_err(|e| problems.push(e.to_string()))
        .ok();
        let mut routes = Vec::new();
        let mut document = OpenApi::new(&app.name, &app.version).model::<duet_models::User>();
        for (declared, prefix) in routes_of(&app.prefixes, &Arc::from("")) {
            // The admin is staff-only HTML, not part of the API other clients are given.
            if prefix.kind != PrefixKind::Admin {
                for (method, path) in declared.undocumented() {
                    problems.push(format!(
                        "route {method} {path} is missing from the OpenAPI schema: describe its handler with \
                         #[utoipa::path] and register it with `route!` (docs/http-api.md)"
                    ));
                }
                document = document.routes(&declared);
            }
            for (method, path) in declared.duplicates() {
                problems.push(format!("route {method} {path} is registered more than once"));
            }
            for path in declared.not_absolute() {
                problems.push(format!(
                    "route {path:?} under {} does not start with `/`; write it as \"/{path}\"",
                    prefix.path
                ));
            }
            let base = declared.base().to_owned();
            routes.extend(declared.describe().into_iter().map(|route| (route, base.clone())));
        }
        let (registry, ui) = match app.registry() {
            Ok(registry) => {
                let ui = match &app.ui {
                    Some(ui) => ui.compile(&registry).map(Some).unwrap_or_else(|e| {
                        problems.push(format!("ui: {e}"));
                        None
                    }),
                    None => None,
                };
                (Some(registry), ui)
            }
            Err(problem) => {
                problems.push(problem);
                (None, None)
            }
        };
        problems.extend(app.admin_problems.iter().cloned());
        for model in &app.models {
            if let Err(problem) = model.table() {
                problems.push(problem.to_string());
            }
        }
        let infos: Vec<RouteInfo> = routes.iter().map(|(r, _)| r.clone()).collect();
        let pages = ui.as_ref().map(page_list).unwrap_or_default();
        let mount = table.and_then(|table| {
            Mount::new(table, &infos, app.shell.clone(), app.assets.clone(), ui)
                .map_err(|e| problems.push(e.to_string()))
                .ok()
        });
        match (problems.is_empty(), registry, mount) {
            (true, Some(registry), Some(mount)) => Ok(Checked {
                app,
                mount,
                registry,
                routes,
                pages,
                openapi: document.build(),
            }),
            _ => Err(Error::Check(problems)),
        }
    }
}

/// Every prefix's routes, rooted at it; the first API prefix also serves the OpenAPI
/// document `openapi` (`{prefix}/schema/`) and its interactive docs (`{prefix}/docs/`).
fn routes_of<'a>(prefixes: &'a [Prefix], openapi: &Arc<str>) -> Vec<(Routes, &'a Prefix)> {
    let docs_at = prefixes.iter().position(|p| p.kind == PrefixKind::Api);
    prefixes
        .iter()
        .enumerate()
        .map(|(index, prefix)| {
            let mut routes = Routes::under(&prefix.path);
            if prefix.kind == PrefixKind::Api {
                routes.throttle_by_default();
            }
            for configure in &prefix.routes {
                configure(&mut routes);
            }
            if docs_at == Some(index) {
                duet_views::openapi::docs_routes(&mut routes, Arc::clone(openapi));
            }
            (routes, prefix)
        })
        .collect()
}

fn account_routes(routes: &mut Routes) {
    duet_views::route!(routes, duet_auth::accounts::login_form);
    duet_views::route!(routes, duet_auth::accounts::login);
    duet_views::route!(routes, duet_auth::accounts::logout);
    duet_views::route!(routes, duet_auth::accounts::me);
    duet_views::route!(routes, duet_auth::tokens::list);
    duet_views::route!(routes, duet_auth::tokens::issue);
    duet_views::route!(routes, duet_auth::tokens::revoke);
    duet_views::route!(routes, duet_auth::flows::signup);
    duet_views::route!(routes, duet_auth::flows::verify);
    duet_views::route!(routes, duet_auth::flows::reset_password);
    duet_views::route!(routes, duet_auth::flows::reset_password_confirm);
    duet_views::route!(routes, duet_auth::flows::change_password);
    duet_views::route!(routes, duet_auth::flows::change_email);
    duet_views::route!(routes, duet_auth::flows::logout_everywhere);
}

fn page_list(ui: &CompiledUi) -> Vec<(String, String, bool)> {
    ui.pages()
        .iter()
        .map(|p| (p.pattern().to_owned(), p.page_title().to_owned(), p.requires_login()))
        .collect()
}

/// An app that passed [`App::check`]: its prefix table, routes, registry and compiled UI,
/// ready to serve. Its `Display` is the `routes` command's listing.
pub struct Checked {
    app: App,
    mount: Mount,
    registry: Registry,
    /// Every HTTP route, with the prefix it lies under.
    routes: Vec<(RouteInfo, String)>,
    /// Every page: pattern, title, whether it needs a login.
    pages: Vec<(String, String, bool)>,
    /// The OpenAPI document of every backend route.
    openapi: serde_json::Value,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("app", &self.app)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.mount.table())?;
        writeln!(f, "Routes:")?;
        for (route, prefix) in &self.routes {
            let methods: Vec<&str> = route.methods.iter().map(Method::as_str).collect();
            writeln!(f, "  {:<34} {:<28} (under {prefix})", route.path, methods.join(", "))?;
        }
        writeln!(f, "  {:<34} {:<28} (reserved)", "/_health", "GET, HEAD")?;
        writeln!(f, "  {:<34} {:<28} (reserved: event-state WebSocket)", "/_event", "GET")?;
        writeln!(
            f,
            "  {:<34} {:<28} (reserved: runtime and app spec)",
            "/_duet/*", "GET, HEAD"
        )?;
        for (pattern, title, login) in &self.pages {
            let login = if *login { ", login required" } else { "" };
            writeln!(f, "  {pattern:<34} {:<28} (page {title:?}{login})", "GET, HEAD")?;
        }
        write!(
            f,
            "  {:<34} {:<28} (catch-all: SPA shell and assets)",
            "/*", "GET, HEAD"
        )
    }
}

impl Checked {
    /// The app as it was checked.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Every HTTP route with the prefix it lies under.
    pub fn routes(&self) -> &[(RouteInfo, String)] {
        &self.routes
    }

    /// The OpenAPI 3.1 document of every backend route (`GET /api/schema/`, the `openapi`
    /// command).
    pub fn openapi(&self) -> &serde_json::Value {
        &self.openapi
    }

    /// Serves the app on `addr` with `services` until SIGTERM or SIGINT, then shuts down
    /// within `services.shutdown_timeout` (sockets are told to reconnect elsewhere at once,
    /// in-flight requests and background work finish).
    pub async fn serve(self, services: Services, addr: &str) -> Result<(), Error> {
        let Checked {
            app,
            mut mount,
            registry,
            openapi,
            ..
        } = self;
        let openapi: Arc<str> = Arc::from(openapi.to_string());
        let secure = services.sessions.is_secure();
        mount.secure_cookies(secure);
        let header_set = web::Data::new(app.security_headers.compile(secure)?);
        let mount = web::Data::new(mount);
        let auth = web::Data::new(AuthConfig {
            csrf_exempt_prefixes: app
                .prefixes
                .iter()
                .filter(|p| p.kind == PrefixKind::Webhooks)
                .map(|p| p.path.trim_end_matches('/').to_owned())
                .collect(),
            trusted_origins: services.trusted_origins.clone(),
            secure_cookies: secure,
            allowed_hosts: services.allowed_hosts.clone(),
            trusted_proxies: services.trusted_proxies.clone(),
            throttles: services.throttles.clone(),
            ..AuthConfig::default()
        });
        // Every write through a model reaches the tabs showing its rows, on every instance.
        let bus = services.broadcaster.clone();
        services.db.on_change(Arc::new(move |change: &ModelChange| {
            let payload = serde_json::to_value(change).unwrap_or_default();
            for topic in change.topics() {
                bus.publish(&topic, &payload);
            }
        }));
        let db = web::Data::new(services.db.clone());
        let engine = Engine::new(
            registry,
            services.state_manager.clone(),
            services.db.clone(),
            services.broadcaster.clone(),
        )
        .with_spec(mount.spec_hash());
        let broadcaster = web::Data::new(services.broadcaster.clone());
        let socket = SocketConfig {
            new_tabs_per_address: services.new_tabs_per_address,
            ..app.socket.clone()
        };
        let events = web::Data::new(EventService::new(engine, socket));
        let drain = events.clone();
        let shutdown_timeout = services.shutdown_timeout;
        let metrics_addr = services.metrics_addr.clone();
        let metrics_db = services.db.clone();
        // Through the broadcaster: it closes this instance's sockets of the login and tells
        // the other instances (when it has a transport) to close theirs.
        let logout: Arc<dyn LogoutListener> = Arc::new(services.broadcaster.clone());
        let logout = web::Data::from(logout);
        let cors = crate::cors::ApiCors::new(
            app.prefixes
                .iter()
                .filter(|p| p.kind == PrefixKind::Api)
                .map(|p| p.path.as_str()),
            services.cors_origins.clone(),
        )?;
        let mut accounts = app.accounts.clone();
        if let Some(signup) = services.signup {
            accounts.signup = signup;
        }
        let accounts = web::Data::new(accounts);
        let mailer = web::Data::new(services.mailer.clone());
        let prefixes = Arc::new(app.prefixes);
        let serve_error = |e: std::io::Error| Error::Serve {
            addr: addr.to_owned(),
            reason: e.to_string(),
        };
        // Bound before the public port: once that one accepts connections, so does this one.
        let metrics = match &metrics_addr {
            Some(metrics_addr) => Some(crate::metrics::listen(metrics_addr, drain.clone(), metrics_db)?),
            None => None,
        };
        let server = HttpServer::new(move || {
            let prefixes = Arc::clone(&prefixes);
            let openapi = Arc::clone(&openapi);
            let mount = mount.clone();
            actix_web::App::new()
                .app_data(db.clone())
                .app_data(auth.clone())
                .app_data(events.clone())
                .app_data(broadcaster.clone())
                .app_data(logout.clone())
                .app_data(accounts.clone())
                .app_data(mailer.clone())
                .app_data(header_set.clone())
                .app_data(duet_views::json_config())
                .app_data(duet_views::query_config())
                .app_data(duet_views::path_config())
                .configure(move |cfg| {
                    let routes = routes_of(&prefixes, &openapi)
                        .into_iter()
                        .map(|(routes, _)| routes)
                        .collect();
                    Mount::configure(&mount, routes, cfg);
                })
                .wrap(from_fn(duet_auth::authenticate))
                // Outside authentication and CSRF: preflights are answered before them.
                .wrap(cors.clone())
                .wrap(services.sessions.middleware(services.session_backend.clone()))
                .wrap(from_fn(duet_auth::session_faults))
                // Operations (each in its own module): the request id and errors as responses,
                // then compression and security headers on every response, inside the
                // request's log span.
                .wrap(from_fn(crate::telemetry::respond))
                .wrap(from_fn(crate::compression::compress))
                .wrap(from_fn(crate::headers::secure))
                .wrap(tracing_actix_web::TracingLogger::<crate::telemetry::RequestLog>::new())
        })
        .disable_signals()
        .shutdown_timeout(shutdown_timeout.as_secs().max(1))
        .bind(addr)
        .map_err(serve_error)?;
        for bound in server.addrs() {
            tracing::info!("listening on http://{bound}");
        }
        let server = server.run();
        actix_web::rt::spawn(crate::shutdown::on_signal(
            server.handle(),
            metrics.as_ref().map(actix_web::dev::Server::handle),
            drain,
            services.mailer.clone(),
            shutdown_timeout,
        ));
        if let Some(metrics) = metrics {
            actix_web::rt::spawn(metrics);
        }
        server.await.map_err(serve_error)
    }
}

#[cfg(test)]
mod tests {
    use duet_models::{Field, FieldKind, ModelSchema};

    use super::App;
    use crate::Error;

    #[test]
    fn a_model_that_cannot_be_a_table_fails_the_check() {
        const KEYLESS: &[Field] = &[Field::new("name", FieldKind::Text)];
        let mut app = App::new("t");
        app.models.push(ModelSchema {
            name: "note",
            table: "notes",
            fields: KEYLESS,
            indexes: &[],
        });
        match app.check() {
            Err(Error::Check(problems)) => {
                assert_eq!(problems, ["model note: no field is its primary key (`primary_key`)"]);
            }
            other => panic!("the check must fail: {other:?}"),
        }
    }
}
