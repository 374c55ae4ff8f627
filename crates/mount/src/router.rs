//! `Mount`: the framework's side of the URL space, once the app is checked — the reserved
//! paths (`/_health`, `/_event`, `/_duet/…`), the app's routes, and the catch-all that
//! answers everything else (a backend's JSON 404, or the SPA's assets and shell).

use actix_session::Session;
use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use duet_auth::AuthError;
use duet_models::Db;
use duet_ui::{CompiledUi, RUNTIME_CSS, RUNTIME_JS};
use duet_views::{ApiError, RouteInfo, Routes};
use serde_json::json;

use crate::{Assets, EVENT_PATH, HEALTH_PATH, MountError, PrefixTable, SpaShell, Target};

/// Everything the reserved paths and the catch-all need, shared by every worker as
/// `web::Data<Mount>`.
///
/// ```
/// use duet_mount::{Assets, Mount, PrefixTable, SpaShell};
///
/// let table = PrefixTable::new(["/api"])?;
/// let mount = Mount::new(table, &[], SpaShell::new("Shop"), Assets::new(), None)?;
/// assert_eq!(mount.table().prefixes().collect::<Vec<_>>(), ["/accounts", "/api"]);
/// # Ok::<(), duet_mount::MountError>(())
/// ```
pub struct Mount {
    ui: Option<UiMount>,
    table: PrefixTable,
    patterns: Vec<ResourceDef>,
    shell: SpaShell,
    assets: Assets,
    secure: bool,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Mount {
    /// The mount of a checked app: its prefix table, its routes (for the trailing-slash
    /// redirect), the SPA shell and assets, and the compiled UI if it has one.
    ///
    /// # Errors
    /// [`MountError::MissingAsset`] when the shell names an asset that is not registered.
    pub fn new(
        table: PrefixTable,
        routes: &[RouteInfo],
        shell: SpaShell,
        assets: Assets,
        ui: Option<CompiledUi>,
    ) -> Result<Mount, MountError> {
        if let Some(name) = shell.asset_names().find(|name| assets.url(name).is_none()) {
            return Err(MountError::MissingAsset(name.to_owned()));
        }
        Ok(Mount {
            ui: ui.map(UiMount::new),
            table,
            patterns: routes.iter().map(|r| ResourceDef::new(r.path.as_str())).collect(),
            shell,
            assets,
            secure: false,
        })
    }

    /// Marks the CSRF cookie the shell sets `Secure` (production, behind HTTPS).
    pub fn secure_cookies(&mut self, secure: bool) {
        self.secure = secure;
    }

    /// The hash of the app spec (the 16 hex digits of its content-hashed URL), when the app
    /// has pages: the event-state layer sends it in `hydrate`.
    pub fn spec_hash(&self) -> Option<&str> {
        let url = self.ui.as_ref()?.files.url("app.json")?;
        url.strip_suffix(".json")?.rsplit('.').next()
    }

    /// The prefix table.
    pub fn table(&self) -> &PrefixTable {
        &self.table
    }

    /// Registers, on one worker, the reserved paths, the app's `routes`, and the catch-all,
    /// with `mount` as their shared data.
    pub fn configure(mount: &web::Data<Mount>, routes: Vec<Routes>, cfg: &mut web::ServiceConfig) {
        cfg.app_data(mount.clone());
        cfg.route(HEALTH_PATH, web::get().to(health))
            .route(HEALTH_PATH, web::head().to(health));
        cfg.route(EVENT_PATH, web::get().to(duet_state::event_socket));
        // A scope: a prefix check turns other paths away (a `{file:.*}` pattern is a regex).
        cfg.service(web::scope(crate::DUET_PATH).default_service(web::to(duet_files)));
        for routes in routes {
            routes.register(cfg);
        }
        cfg.default_service(web::to(catch_all));
    }
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
            .hashed("duet.css", RUNTIME_CSS)
            .hashed("app.json", compiled.spec().to_owned());
        let url =
            |name: &str| html_escape::encode_double_quoted_attribute(files.url(name).unwrap_or_default()).into_owned();
        let head = format!(
            "  <meta name=\"duet-spec\" content=\"{spec}\">\n  \
             <link rel=\"preload\" href=\"{spec}\" as=\"fetch\" crossorigin>\n  \
             <link rel=\"stylesheet\" href=\"{style}\">\n  \
             <script type=\"module\" src=\"{runtime}\"></script>\n",
            spec = url("app.json"),
            runtime = url("duet.js"),
            style = url("duet.css"),
        );
        UiMount { compiled, files, head }
    }
}

/// `/_duet/…`: the runtime and the app spec, or a JSON 404.
async fn duet_files(req: HttpRequest, state: web::Data<Mount>) -> HttpResponse {
    state
        .ui
        .as_ref()
        .and_then(|ui| ui.files.respond(&req))
        .unwrap_or_else(|| ApiError::not_found().error_response())
}

/// The shell of a UI page: 302 to the login page for anonymous visitors of a page that
/// needs a login, the page's title, or the 404 page for paths no page has.
async fn page_shell(req: &HttpRequest, state: &Mount, ui: &UiMount, token: &str) -> HttpResponse {
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
async fn catch_all(req: HttpRequest, session: Session, state: web::Data<Mount>) -> HttpResponse {
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
            let token = match duet_auth::csrf::token(&req, &session) {
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
