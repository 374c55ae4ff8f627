//! `Duet`: the app builder. It owns the prefix table, runs the start-up route check, and
//! assembles one actix app: sessions → identity/CSRF → routes, reserved paths, catch-all.

use std::sync::Arc;

use actix_session::Session;
use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use duet_auth::LogoutListener;
use duet_auth::accounts::{LOGIN_PATH, LOGOUT_PATH, ME_PATH};
use duet_auth::{AllowedHosts, AuthConfig, AuthError, SessionBackend, SessionConfig};
use duet_models::Db;
use duet_state::{Broadcaster, Engine, EventService, Registry, RegistryError, SocketConfig, StateManager};
use duet_ui::{CompiledUi, RUNTIME_JS, Ui};
use duet_views::{ApiError, RouteInfo, Routes};
use serde_json::json;

use crate::{Assets, MountError, PrefixTable, SpaShell, Target};

type HttpConfig = Arc<dyn Fn(&mut Routes) + Send + Sync>;
type StatesConfig = Arc<dyn Fn(&mut Registry) -> Result<(), RegistryError> + Send + Sync>;
type ServiceHook = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// A duet app: its backend prefixes, HTTP routes, reserved framework services and SPA.
///
/// ```no_run
/// use duet_mount::Duet;
/// use actix_web::HttpResponse;
///
/// let app = Duet::new("shop")
///     .backend_prefixes(["/api", "/webhooks"])
///     .http(|routes| {
///         routes.get("/api/ping/", || async { HttpResponse::Ok().json("pong") });
///     });
/// let mounted = app.check().expect("every route lies under a declared prefix");
/// println!("{mounted}");
/// ```
#[derive(Clone)]
pub struct Duet {
    name: String,
    prefixes: Vec<String>,
    http: Vec<HttpConfig>,
    states: Vec<StatesConfig>,
    socket: SocketConfig,
    services: Vec<ServiceHook>,
    csrf_exempt: Vec<String>,
    trusted_origins: Vec<String>,
    shell: SpaShell,
    assets: Assets,
    ui: Option<Ui>,
}

impl std::fmt::Debug for Duet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Duet")
            .field("name", &self.name)
            .field("prefixes", &self.prefixes)
            .finish_non_exhaustive()
    }
}

/// The result of a successful start-up check: the prefix table and every route.
#[derive(Debug, Clone)]
pub struct Mounted {
    /// Backend prefixes and reserved paths.
    pub table: PrefixTable,
    /// Every HTTP route, with the prefix it lies under.
    pub routes: Vec<(RouteInfo, String)>,
    /// Every page of the UI: pattern, title, whether it needs a login.
    pub pages: Vec<(String, String, bool)>,
}

impl std::fmt::Display for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.table)?;
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
    /// The host names the app answers to.
    pub allowed_hosts: AllowedHosts,
}

impl Duet {
    /// An app named `name` (shown as the SPA's title until the app sets one).
    pub fn new(name: &str) -> Duet {
        Duet {
            name: name.to_owned(),
            prefixes: Vec::new(),
            http: Vec::new(),
            states: Vec::new(),
            socket: SocketConfig::default(),
            services: Vec::new(),
            csrf_exempt: Vec::new(),
            trusted_origins: Vec::new(),
            shell: SpaShell::new(name),
            assets: Assets::new(),
            ui: None,
        }
    }

    /// Declares the path prefixes served by HTTP handlers; everything else that is not a
    /// reserved framework path goes to the SPA.
    pub fn backend_prefixes<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, prefixes: I) -> Duet {
        self.prefixes
            .extend(prefixes.into_iter().map(|p| p.as_ref().to_owned()));
        self
    }

    /// Adds HTTP routes. Called once at start-up for the check and once per worker.
    pub fn http(mut self, configure: impl Fn(&mut Routes) + Send + Sync + 'static) -> Duet {
        self.http.push(Arc::new(configure));
        self
    }

    /// Registers event-state states and `on_load` handlers, served at `/_event`.
    pub fn states(
        mut self,
        configure: impl Fn(&mut Registry) -> Result<(), RegistryError> + Send + Sync + 'static,
    ) -> Duet {
        self.states.push(Arc::new(configure));
        self
    }

    /// Limits and timings of the event sockets (Origin allow-list, frame size, heartbeat).
    pub fn event_sockets(mut self, config: SocketConfig) -> Duet {
        self.socket = config;
        self
    }

    /// The app's pages: served as the SPA (page paths get the shell, other paths a 404
    /// page), their `on_load` handlers registered with the states.
    pub fn ui(mut self, ui: Ui) -> Duet {
        self.ui = Some(ui);
        self
    }

    fn registry(&self) -> Result<Registry, MountError> {
        let mut registry = Registry::new();
        for configure in &self.states {
            configure(&mut registry).map_err(|e| MountError::States(e.to_string()))?;
        }
        if let Some(ui) = &self.ui {
            ui.register_on_load(&mut registry)
                .map_err(|e| MountError::Ui(e.to_string()))?;
        }
        Ok(registry)
    }

    fn compile_ui(&self, registry: &Registry) -> Result<Option<CompiledUi>, MountError> {
        self.ui
            .as_ref()
            .map(|ui| ui.compile(registry).map_err(|e| MountError::Ui(e.to_string())))
            .transpose()
    }

    /// Adds a framework service (such as `/_event`) on a reserved path.
    pub fn service(mut self, configure: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static) -> Duet {
        self.services.push(Arc::new(configure));
        self
    }

    /// Exempts a backend prefix from CSRF checks (for signed webhooks, which carry no session).
    pub fn csrf_exempt(mut self, prefix: &str) -> Duet {
        self.csrf_exempt.push(prefix.trim_end_matches('/').to_owned());
        self
    }

    /// Lets unsafe session requests come from `origin` too (e.g. `https://admin.example.com`).
    pub fn trusted_origin(mut self, origin: &str) -> Duet {
        self.trusted_origins.push(origin.to_owned());
        self
    }

    /// The SPA shell document.
    pub fn shell(mut self, shell: SpaShell) -> Duet {
        self.shell = shell;
        self
    }

    /// The SPA's static assets.
    pub fn assets(mut self, assets: Assets) -> Duet {
        self.assets = assets;
        self
    }

    fn routes(&self) -> Routes {
        let mut routes = Routes::new();
        routes.get(LOGIN_PATH, duet_auth::accounts::login_form);
        routes.post(LOGIN_PATH, duet_auth::accounts::login);
        routes.post(LOGOUT_PATH, duet_auth::accounts::logout);
        routes.get(ME_PATH, duet_auth::accounts::me);
        for configure in &self.http {
            configure(&mut routes);
        }
        routes
    }

    /// The start-up check: a valid prefix table, every route under a declared prefix, no
    /// route registered twice, every asset the shell names present.
    pub fn check(&self) -> Result<Mounted, MountError> {
        let table = PrefixTable::new(&self.prefixes)?;
        let registry = self.registry()?;
        let pages = match self.compile_ui(&registry)? {
            Some(ui) => ui
                .pages()
                .iter()
                .map(|p| (p.pattern().to_owned(), p.page_title().to_owned(), p.requires_login()))
                .collect(),
            None => Vec::new(),
        };
        for exempt in &self.csrf_exempt {
            if !table.prefixes().any(|p| p == exempt) {
                return Err(MountError::UnknownExemptPrefix(exempt.clone()));
            }
        }
        let routes = self.routes();
        if let Some((method, path)) = routes.duplicates().first() {
            return Err(MountError::DuplicateRoute {
                method: method.to_string(),
                path: path.clone(),
            });
        }
        let mut checked = Vec::new();
        for route in routes.describe() {
            match table.contains_route(&route.path) {
                Some(prefix) => {
                    let prefix = prefix.to_owned();
                    checked.push((route, prefix));
                }
                None => {
                    return Err(MountError::RouteOutsidePrefixes {
                        methods: route
                            .methods
                            .iter()
                            .map(Method::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        route: route.path,
                        declared: table.prefixes().map(str::to_owned).collect::<Vec<_>>().join(", "),
                    });
                }
            }
        }
        for name in self.shell.asset_names() {
            if self.assets.url(name).is_none() {
                return Err(MountError::MissingAsset(name.to_owned()));
            }
        }
        Ok(Mounted {
            table,
            routes: checked,
            pages,
        })
    }

    /// Checks the app, then serves it on `addr` until interrupted. Refuses to start (before
    /// binding) when the check fails.
    pub async fn serve(self, services: Services, addr: &str) -> Result<(), MountError> {
        let mounted = self.check()?;
        let ui = self.compile_ui(&self.registry()?)?.map(UiMount::new);
        let state = web::Data::new(MountState {
            ui,
            patterns: mounted
                .routes
                .iter()
                .map(|(route, _)| ResourceDef::new(route.path.as_str()))
                .collect(),
            table: mounted.table,
            shell: self.shell.clone(),
            assets: self.assets.clone(),
            secure: services.sessions.is_secure(),
        });
        let auth = web::Data::new(AuthConfig {
            csrf_exempt_prefixes: self.csrf_exempt.clone(),
            trusted_origins: self.trusted_origins.clone(),
            secure_cookies: services.sessions.is_secure(),
            allowed_hosts: services.allowed_hosts.clone(),
            ..AuthConfig::default()
        });
        let db = web::Data::new(services.db.clone());
        let engine = Engine::new(
            self.registry()?,
            services.state_manager.clone(),
            services.db.clone(),
            services.broadcaster.clone(),
        );
        let broadcaster = web::Data::new(services.broadcaster.clone());
        let events = web::Data::new(EventService::new(engine, self.socket.clone()));
        // Through the broadcaster: it closes this instance's sockets of the login and tells
        // the other instances (when it has a transport) to close theirs.
        let logout: Arc<dyn LogoutListener> = Arc::new(services.broadcaster.clone());
        let logout = web::Data::from(logout);
        let app = Arc::new(self);
        let server = HttpServer::new(move || {
            let app = Arc::clone(&app);
            App::new()
                .app_data(db.clone())
                .app_data(auth.clone())
                .app_data(state.clone())
                .app_data(events.clone())
                .app_data(broadcaster.clone())
                .app_data(logout.clone())
                .app_data(duet_views::json_config())
                .app_data(duet_views::query_config())
                .app_data(duet_views::path_config())
                .configure(move |cfg| app.configure(cfg))
                .wrap(from_fn(duet_auth::authenticate))
                .wrap(services.sessions.middleware(services.session_backend.clone()))
                .wrap(from_fn(duet_auth::session_faults))
                .wrap(tracing_actix_web::TracingLogger::default())
        })
        .bind(addr)
        .map_err(|e| MountError::Bind {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })?;
        for bound in server.addrs() {
            tracing::info!("listening on http://{bound}");
        }
        server.run().await.map_err(|e| MountError::Bind {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Registers every route, the reserved services and the catch-all on `cfg`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.route("/_health", web::get().to(health))
            .route("/_health", web::head().to(health));
        cfg.route("/_event", web::get().to(duet_state::event_socket));
        cfg.service(web::resource("/_duet/{file:.*}").to(duet_files));
        for service in &self.services {
            service(cfg);
        }
        self.routes().register(cfg);
        cfg.default_service(web::to(catch_all));
    }
}

struct MountState {
    ui: Option<UiMount>,
    table: PrefixTable,
    patterns: Vec<ResourceDef>,
    shell: SpaShell,
    assets: Assets,
    secure: bool,
}

/// The compiled UI and the files under `/_duet/`: the runtime and the app spec, each under
/// a content-hashed name.
struct UiMount {
    compiled: CompiledUi,
    files: Assets,
    head: String,
}

impl UiMount {
    fn new(compiled: CompiledUi) -> UiMount {
        let files = Assets::with_base(crate::DUET_PATH)
            .hashed("duet.js", RUNTIME_JS)
            .hashed("app.json", compiled.spec().to_owned());
        let url =
            |name: &str| html_escape::encode_double_quoted_attribute(files.url(name).unwrap_or_default()).into_owned();
        let head = format!(
            "  <meta name=\"duet-spec\" content=\"{spec}\">\n  \
             <link rel=\"preload\" href=\"{spec}\" as=\"fetch\" crossorigin>\n  \
             <script type=\"module\" src=\"{runtime}\"></script>\n",
            spec = url("app.json"),
            runtime = url("duet.js"),
        );
        UiMount { compiled, files, head }
    }
}

/// `/_duet/…`: the runtime and the app spec, or a JSON 404.
async fn duet_files(req: HttpRequest, state: web::Data<MountState>) -> HttpResponse {
    state
        .ui
        .as_ref()
        .and_then(|ui| ui.files.respond(&req))
        .unwrap_or_else(|| ApiError::not_found().error_response())
}

/// The shell of a UI page: 302 to the login page for anonymous visitors of a page that
/// needs a login, the page's title, or the 404 page for paths no page has.
async fn page_shell(req: &HttpRequest, state: &MountState, ui: &UiMount, token: &str) -> HttpResponse {
    let page = ui.compiled.page_for(req.path());
    let user = match duet_auth::current_user(req).await {
        Ok(user) => user,
        // The session store is away: the shell is safe to serve as to an anonymous visitor.
        Err(AuthError::Unavailable) => None,
        Err(error) => return error.error_response(),
    };
    if page.is_some_and(|p| p.requires_login()) && user.is_none() {
        let mut next = req.path().to_owned();
        if !req.query_string().is_empty() {
            next = format!("{next}?{}", req.query_string());
        }
        let next = percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC);
        return HttpResponse::Found()
            .insert_header((LOCATION, format!("{}?next={next}", ui.compiled.login_page())))
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish();
    }
    let boot = json!({ "user": user.map(|u| duet_models::Model::to_json(&*u)) })
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let head = format!(
        "{}  <script id=\"duet-boot\" type=\"application/json\">{boot}</script>\n",
        ui.head
    );
    let title = match page {
        Some(page) => page.page_title().to_owned(),
        None => ui.compiled.not_found_title(),
    };
    let mut response = if page.is_some() {
        HttpResponse::Ok()
    } else {
        HttpResponse::NotFound()
    };
    response
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .cookie(duet_auth::csrf::cookie(token, state.secure))
        .body(state.shell.render_page(&state.assets, token, Some(&title), &head))
}

/// `GET /_health`: 200 when the database answers, 503 with the reason when it does not.
async fn health(db: web::Data<Db>) -> HttpResponse {
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "db": "ok"})),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "db": error.to_string()}))
        }
    }
}

/// Everything no route answered: a backend prefix's JSON 404 (or a redirect to the
/// trailing-slash form a route answers), or the SPA's assets and shell.
async fn catch_all(req: HttpRequest, session: Session, state: web::Data<MountState>) -> HttpResponse {
    let path = req.path();
    match state.table.classify(path) {
        Target::Backend(_) => {
            if !path.ends_with('/') {
                let slashed = format!("{path}/");
                if state.patterns.iter().any(|p| p.is_match(&slashed)) {
                    let query = req.query_string();
                    let location = if query.is_empty() {
                        slashed
                    } else {
                        format!("{slashed}?{query}")
                    };
                    // 308 keeps the method and body, unlike 301.
                    return HttpResponse::PermanentRedirect()
                        .insert_header((LOCATION, location))
                        .finish();
                }
            }
            ApiError::not_found().error_response()
        }
        Target::Reserved(_) | Target::Invalid(_) => ApiError::not_found().error_response(),
        Target::CatchAll => {
            if let Some(response) = state.assets.respond(&req) {
                return response;
            }
            // A missing file under the asset directory is a 404, not a page.
            if path
                .strip_prefix(state.assets.base())
                .is_some_and(|rest| rest.starts_with('/'))
            {
                return ApiError::not_found().error_response();
            }
            if !matches!(*req.method(), Method::GET | Method::HEAD) {
                return ApiError::MethodNotAllowed {
                    method: req.method().to_string(),
                    allow: vec!["GET".into(), "HEAD".into()],
                }
                .error_response();
            }
            let token = match duet_auth::csrf::token(&session) {
                Ok(token) => token,
                Err(error) => return error.error_response(),
            };
            if let Some(ui) = &state.ui {
                return page_shell(&req, &state, ui, &token).await;
            }
            HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((CACHE_CONTROL, "no-cache"))
                .cookie(duet_auth::csrf::cookie(&token, state.secure))
                .body(state.shell.render(&state.assets, &token))
        }
    }
}
