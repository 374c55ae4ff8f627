//! `ApiRouter`: DRF's `DefaultRouter` — routes for each registered viewset, plus an API root.

use std::rc::Rc;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use crate::viewset::{self, ActionHandler, ViewSet};
use crate::{ApiRequest, ApiResult, Routes};

type Registration = Box<dyn FnOnce(&mut Routes, &str)>;

/// Routes viewsets under a prefix:
///
/// | path | GET | POST | PUT | PATCH | DELETE |
/// |---|---|---|---|---|---|
/// | `{prefix}/` | API root | | | | |
/// | `{prefix}/{name}/` | list | create | | | |
/// | `{prefix}/{name}/{id}/` | retrieve | | update | partial_update | destroy |
///
/// plus each viewset's extra [`Action`](crate::Action)s.
pub struct ApiRouter {
    prefix: String,
    names: Vec<String>,
    registrations: Vec<Registration>,
}

impl std::fmt::Debug for ApiRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRouter")
            .field("prefix", &self.prefix)
            .field("names", &self.names)
            .finish()
    }
}

impl ApiRouter {
    /// A router under `prefix`, relative to the routes it is configured into (e.g. `/v1` in
    /// the `/api` prefix's routes serves `/api/v1/`).
    pub fn new(prefix: &str) -> ApiRouter {
        ApiRouter {
            prefix: prefix.trim_end_matches('/').to_owned(),
            names: Vec::new(),
            registrations: Vec::new(),
        }
    }

    /// Serves `viewset` at `{prefix}/{name}/`.
    pub fn register<V: ViewSet>(mut self, name: &str, viewset: V) -> ApiRouter {
        self.names.push(name.to_owned());
        let viewset = Rc::new(viewset);
        self.registrations
            .push(Box::new(move |routes: &mut Routes, base: &str| {
                register_viewset(routes, base, &viewset);
            }));
        self
    }

    /// Adds the routes to `routes`.
    pub fn configure(self, routes: &mut Routes) {
        let names = self.names.clone();
        let prefix = self.prefix.clone();
        routes.get(&format!("{prefix}/"), move |req: HttpRequest| {
            let names = names.clone();
            async move { api_root(&req, &names) }
        });
        let links: serde_json::Map<String, Value> = self
            .names
            .iter()
            .map(|n| (n.clone(), serde_json::json!({"type": "string", "format": "uri"})))
            .collect();
        routes.operation(
            &format!("{prefix}/"),
            Method::GET,
            serde_json::json!({
                "operationId": format!("{}_root", prefix.trim_matches('/').replace('/', "_")),
                "summary": "The API root: each collection's URL.",
                "tags": ["root"],
                "security": [{}],
                "responses": {"200": {
                    "description": "Each collection's URL, by name.",
                    "content": {"application/json": {"schema": {
                        "type": "object", "properties": links, "required": self.names,
                    }}},
                }},
            }),
        );
        for (name, registration) in self.names.iter().zip(self.registrations) {
            registration(routes, &format!("{}/{name}", self.prefix));
        }
    }
}

fn api_root(req: &HttpRequest, names: &[String]) -> HttpResponse {
    let origin = duet_auth::Client::of(req).origin();
    let links: Map<String, Value> = names
        .iter()
        .map(|n| (n.clone(), Value::String(format!("{origin}{}{n}/", req.path()))))
        .collect();
    HttpResponse::Ok().json(links)
}

macro_rules! route {
    ($vs:ident, |$req:ident $(, $extra:ident : $ty:ty)*| $body:expr) => {{
        let shared = Rc::clone($vs);
        move |$req: ApiRequest $(, $extra: $ty)*| {
            let shared = Rc::clone(&shared);
            async move {
                let $vs = &*shared;
                $body.await
            }
        }
    }};
}

fn register_viewset<V: ViewSet>(routes: &mut Routes, base: &str, vs: &Rc<V>) {
    let list = format!("{base}/");
    let detail = format!("{base}/{{id}}/");
    // Actions first: `{base}/{action}/` would otherwise be taken for the detail route
    // `{base}/{id}/` (actix tries resources in the order they are registered).
    for action in vs.actions() {
        let path = if action.is_detail() {
            format!("{base}/{{id}}/{}/", action.name())
        } else {
            format!("{base}/{}/", action.name())
        };
        let (handler, detail, method) = (action.handler(), action.is_detail(), action.method().clone());
        let add = |routes: &mut Routes, method: Method| {
            let (shared, handler) = (Rc::clone(vs), Rc::clone(&handler));
            let route = web::method(method.clone()).to(move |req: ApiRequest| {
                let (vs, handler) = (Rc::clone(&shared), Rc::clone(&handler));
                async move { run_action(&*vs, req, handler, detail).await }
            });
            routes.add(&path, method, route);
        };
        let add_all = |routes: &mut Routes| {
            if method == Method::GET {
                add(routes, Method::HEAD);
            }
            add(routes, method.clone());
        };
        match action.throttle_scope() {
            Some(throttle) => {
                routes.throttled(throttle, add_all);
            }
            None => add_all(routes),
        }
    }
    routes.get(&list, route!(vs, |req| viewset::list(vs, req)));
    routes.post(
        &list,
        route!(vs, |req, body: web::Payload| viewset::create(vs, req, body)),
    );
    routes.get(&detail, route!(vs, |req| viewset::retrieve(vs, req)));
    routes.put(
        &detail,
        route!(vs, |req, body: web::Payload| viewset::update(vs, req, body, false)),
    );
    routes.patch(
        &detail,
        route!(vs, |req, body: web::Payload| viewset::update(vs, req, body, true)),
    );
    routes.delete(&detail, route!(vs, |req| viewset::destroy(vs, req)));
    crate::openapi::viewset::describe(routes, base, &**vs);
}

async fn run_action<V: ViewSet>(
    vs: &V,
    req: ApiRequest,
    handler: ActionHandler<V::Model>,
    detail: bool,
) -> ApiResult<HttpResponse> {
    let row = if detail {
        Some(viewset::object(vs, &req).await?)
    } else {
        duet_auth::check(&vs.permission(), req.access())?;
        None
    };
    handler(req, row).await
}
