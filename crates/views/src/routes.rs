//! The route registry: every HTTP route the app serves, with its methods, so that start-up
//! can check each lies under a declared prefix, `shop routes` can list them, and a wrong
//! method gets 405 with an accurate `Allow` header.

use std::collections::BTreeMap;

use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route, web};
use duet_auth::{Throttle, Throttles};
use serde_json::Value;

use crate::ApiError;
use crate::openapi::{self, Operation};

/// One path and the methods it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// An actix pattern, e.g. `/api/v1/orders/{id}/`.
    pub path: String,
    /// Methods, in registration order (`HEAD` follows every `GET`).
    pub methods: Vec<Method>,
}

struct Entry {
    path: String,
    routes: Vec<(Method, Route)>,
    /// The throttle scope of each method that declares one.
    throttles: Vec<(Method, Throttle)>,
    /// The OpenAPI operation of each documented method.
    operations: Vec<(Method, Operation)>,
}

/// Collects routes, then registers them with actix in one go.
///
/// Routes rooted at a prefix ([`Routes::under`]) take paths relative to it, so a route
/// outside its prefix cannot be written (as axum's `nest` and Django's `include()`).
///
/// ```
/// use duet_views::Routes;
/// let mut routes = Routes::under("/api");
/// routes.get("/ping/", || async { "pong" });
/// routes.post("/ping/", || async { "posted" });
/// let info = routes.describe();
/// assert_eq!(info[0].path, "/api/ping/");
/// assert_eq!(info[0].methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["GET", "HEAD", "POST"]);
/// ```
#[derive(Default)]
pub struct Routes {
    base: String,
    entries: Vec<Entry>,
    /// Component schemas the operations reference (`#/components/schemas/{name}`).
    schemas: BTreeMap<String, Value>,
    duplicates: Vec<(Method, String)>,
    relative: Vec<String>,
    /// The scope given to routes added now ([`Routes::throttled`]).
    scope: Option<Throttle>,
    /// Whether `DUET_THROTTLE_ANON`/`_USER` apply (an API prefix's routes).
    default_throttles: bool,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.describe()).finish()
    }
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),*) => {$(
        #[doc = concat!("Adds a `", stringify!($method), "` route.")]
        pub fn $name<F, Args>(&mut self, path: &str, handler: F) -> &mut Routes
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.add(path, Method::$method, web::method(Method::$method).to(handler))
        }
    )*};
}

impl Routes {
    /// No routes, rooted at `/`: paths are used as given.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// No routes, rooted at `prefix` (e.g. `/api`): every path given is relative to it, so
    /// `get("/orders/", …)` serves `/api/orders/`.
    pub fn under(prefix: &str) -> Routes {
        Routes {
            base: prefix.trim_end_matches('/').to_owned(),
            ..Routes::default()
        }
    }

    /// The prefix these routes are rooted at (`""` for `/`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Adds a `GET` route; it answers `HEAD` too.
    pub fn get<F, Args>(&mut self, path: &str, handler: F) -> &mut Routes
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let before = self.duplicates.len();
        self.add(path, Method::HEAD, web::method(Method::HEAD).to(handler.clone()));
        let head_duplicated = self.duplicates.len() > before;
        self.add(path, Method::GET, web::method(Method::GET).to(handler));
        if head_duplicated && self.duplicates.len() > before + 1 {
            // A second GET brings a second HEAD: report the GET alone.
            self.duplicates.remove(before);
        }
        self
    }

    method_fns!(post => POST, put => PUT, patch => PATCH, delete => DELETE);

    /// Adds `route` for `method` at `path` (an actix pattern, relative to the base). Registering
    /// the same method and path twice is reported by [`Routes::duplicates`]; a path that does
    /// not start with `/` by [`Routes::not_absolute`].
    pub fn add(&mut self, path: &str, method: Method, route: Route) -> &mut Routes {
        if !path.starts_with('/') {
            self.relative.push(path.to_owned());
            return self;
        }
        let path = format!("{}{path}", self.base);
        let path = path.as_str();
        let index = match self.entries.iter().position(|e| e.path == path) {
            Some(index) => index,
            None => {
                self.entries.push(Entry {
                    path: path.to_owned(),
                    routes: Vec::new(),
                    throttles: Vec::new(),
                    operations: Vec::new(),
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[index];
        if entry.routes.iter().any(|(m, _)| *m == method) {
            self.duplicates.push((method, path.to_owned()));
        } else {
            if let Some(scope) = self.scope {
                entry.throttles.push((method.clone(), scope));
            }
            entry.routes.push((method, route));
        }
        self
    }

    /// Routes added by `configure` are counted against `throttle` too, per user (or per
    /// client address when anonymous), as a DRF view's `throttle_scope`: declare the scope
    /// once, as a constant next to its routes. Past its rate: 429 with `Retry-After`.
    ///
    /// ```
    /// use duet_auth::{Throttle, ThrottleRate};
    /// use duet_views::Routes;
    ///
    /// const UPLOADS: Throttle = Throttle::new("uploads", ThrottleRate::per_minute(10));
    ///
    /// let mut routes = Routes::under("/api");
    /// routes.throttled(UPLOADS, |routes| {
    ///     routes.post("/uploads/", || async { "stored" });
    /// });
    /// assert_eq!(routes.throttles(), [("POST".parse().unwrap(), "/api/uploads/".to_owned(), UPLOADS)]);
    /// ```
    pub fn throttled(&mut self, throttle: Throttle, configure: impl FnOnce(&mut Routes)) -> &mut Routes {
        let outer = self.scope.replace(throttle);
        configure(self);
        self.scope = outer;
        self
    }

    /// Every route's throttle scope: method, path and scope.
    pub fn throttles(&self) -> Vec<(Method, String, Throttle)> {
        self.entries
            .iter()
            .flat_map(|e| e.throttles.iter().map(|(m, t)| (m.clone(), e.path.clone(), *t)))
            .collect()
    }

    /// Counts every request to these routes against the app's anonymous and user rates
    /// (`DUET_THROTTLE_ANON`, `DUET_THROTTLE_USER`): the framework sets it for API
    /// prefixes.
    pub fn throttle_by_default(&mut self) -> &mut Routes {
        self.default_throttles = true;
        self
    }

    /// Adds the route a `#[utoipa::path]` describes — its path (relative to the base) and
    /// methods come from the attribute, so they are written once, next to the handler — with
    /// the attribute's operation and the schemas it references in the OpenAPI document.
    /// [`route!`](crate::route) names `P` for a plain fn; this form takes any handler, such
    /// as one built by a function.
    ///
    /// ```
    /// use duet_views::{Routes, utoipa};
    ///
    /// /// Answers `pong`.
    /// #[utoipa::path(get, path = "/ping/", responses((status = 200, body = String)))]
    /// async fn ping() -> &'static str {
    ///     "pong"
    /// }
    ///
    /// let mut routes = Routes::under("/api");
    /// routes.documented::<__path_ping, _>(ping);
    /// assert_eq!(routes.describe()[0].path, "/api/ping/");
    /// assert!(routes.undocumented().is_empty());
    /// ```
    // Taken by value as `get`/`post` take it: actix wants a clone per method.
    #[allow(clippy::needless_pass_by_value)]
    pub fn documented<P, Args>(&mut self, handler: impl Handler<Args, Output: Responder + 'static>) -> &mut Routes
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
        Args: FromRequest + 'static,
    {
        let path = P::path();
        let mut operation = openapi::to_json(&P::operation());
        let tags = P::tags();
        if !tags.is_empty() {
            operation["tags"] = tags.into();
        }
        let mut schemas = Vec::new();
        P::schemas(&mut schemas);
        for (name, schema) in schemas {
            self.schemas.insert(name, openapi::to_json(&schema));
        }
        for method in P::methods() {
            let method = openapi::http_method(&method);
            openapi::default_security(&mut operation, &method);
            if method == Method::GET {
                self.add(&path, Method::HEAD, web::method(Method::HEAD).to(handler.clone()));
            }
            self.add(&path, method.clone(), web::method(method.clone()).to(handler.clone()));
            self.operation(&path, method, operation.clone());
        }
        self
    }

    /// Sets the OpenAPI operation of `method` at `path` (relative to the base), which must be
    /// registered.
    pub(crate) fn operation(&mut self, path: &str, method: Method, operation: Operation) {
        let path = format!("{}{path}", self.base);
        if let Some(entry) = self.entries.iter_mut().find(|e| e.path == path) {
            entry.operations.retain(|(m, _)| *m != method);
            entry.operations.push((method, operation));
        }
    }

    /// Adds a component schema the operations reference as `#/components/schemas/{name}`.
    pub(crate) fn schema(&mut self, name: &str, schema: Value) {
        self.schemas.insert(name.to_owned(), schema);
    }

    /// The component schemas the operations reference.
    pub fn schemas(&self) -> &BTreeMap<String, Value> {
        &self.schemas
    }

    /// Every documented operation: its OpenAPI path (`/api/v1/orders/{id}/`), method,
    /// operation object, and whether a throttle counts it. `HEAD` is implied by `GET` and
    /// not listed.
    pub fn operations(&self) -> Vec<(String, Method, &Operation, bool)> {
        self.entries
            .iter()
            .flat_map(|e| {
                let path = openapi::template(&e.path);
                e.operations.iter().map(move |(m, op)| {
                    let throttled = self.default_throttles || e.throttles.iter().any(|(t, _)| t == m);
                    (path.clone(), m.clone(), op, throttled)
                })
            })
            .collect()
    }

    /// `(method, path)` of every route the OpenAPI document does not describe (`HEAD` is
    /// described by its `GET`).
    pub fn undocumented(&self) -> Vec<(Method, String)> {
        self.entries
            .iter()
            .flat_map(|e| {
                e.routes
                    .iter()
                    .filter(|(m, _)| *m != Method::HEAD && !e.operations.iter().any(|(o, _)| o == m))
                    .map(|(m, _)| (m.clone(), e.path.clone()))
            })
            .collect()
    }

    /// Every path with its methods, in registration order.
    pub fn describe(&self) -> Vec<RouteInfo> {
        self.entries
            .iter()
            .map(|e| {
                let mut methods: Vec<Method> = e.routes.iter().map(|(m, _)| m.clone()).collect();
                // Show HEAD right after GET, however they were added.
                methods.sort_by_key(method_rank);
                RouteInfo {
                    path: e.path.clone(),
                    methods,
                }
            })
            .collect()
    }

    /// `(method, path)` pairs registered more than once.
    pub fn duplicates(&self) -> &[(Method, String)] {
        &self.duplicates
    }

    /// Paths given without their leading `/` (not registered).
    pub fn not_absolute(&self) -> &[String] {
        &self.relative
    }

    /// Registers every route with actix; each path answers other methods with 405 and `Allow`.
    ///
    /// Routes under a prefix go in one `web::scope` of it: a request elsewhere is turned
    /// away by one prefix check instead of a match against each of them (a pattern with a
    /// parameter is a regex). A path under the prefix that no route answers falls through
    /// to the app's default service, as without the scope.
    pub fn register(self, cfg: &mut web::ServiceConfig) {
        if self.base.is_empty() {
            self.register_entries(cfg);
        } else {
            let base = self.base.clone();
            cfg.service(web::scope(&base).configure(|scope| self.register_entries(scope)));
        }
    }

    /// Registers the entries, their paths relative to the base.
    fn register_entries(self, cfg: &mut web::ServiceConfig) {
        let base = self.base.len();
        for entry in self.entries {
            let info_methods: Vec<String> = {
                let mut m: Vec<Method> = entry.routes.iter().map(|(m, _)| m.clone()).collect();
                m.sort_by_key(method_rank);
                m.iter().map(|m| m.as_str().to_owned()).collect()
            };
            let mut resource = web::resource(&entry.path[base..]);
            for (_, route) in entry.routes {
                resource = resource.route(route);
            }
            let allow = info_methods;
            resource = resource.default_service(web::to(move |req: actix_web::HttpRequest| {
                let error = ApiError::MethodNotAllowed {
                    method: req.method().to_string(),
                    allow: allow.clone(),
                };
                async move { Err::<HttpResponse, _>(error) }
            }));
            if self.default_throttles || !entry.throttles.is_empty() {
                let scopes: Arc<[(Method, Throttle)]> = entry.throttles.into();
                let defaults = self.default_throttles;
                cfg.service(resource.wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                    throttle(req, next, defaults, Arc::clone(&scopes))
                })));
            } else {
                cfg.service(resource);
            }
        }
    }
}

/// Counts the request against the throttles that apply before the handler runs (after
/// authentication, as DRF's `initial`); 429 with `Retry-After` past one.
async fn throttle(
    req: ServiceRequest,
    next: Next<BoxBody>,
    defaults: bool,
    scopes: Arc<[(Method, Throttle)]>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let scoped = scopes.iter().find(|(m, _)| m == req.method()).map(|(_, t)| *t);
    let throttles = Throttles::of(req.request());
    if let Err(refused) = throttles.check_request(req.request(), defaults, scoped.as_ref()).await {
        return Ok(req.error_response(ApiError::from(refused)));
    }
    next.call(req).await
}

fn method_rank(method: &Method) -> usize {
    const ORDER: [Method; 7] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    ORDER.iter().position(|m| m == method).unwrap_or(ORDER.len())
}
