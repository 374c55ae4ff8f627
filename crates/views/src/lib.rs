//! duet-views is the HTTP API layer: DRF's ideas, checked by the compiler.
//!
//! - [`ApiError`]: one JSON error shape everywhere — `{"detail": "…"}`, or validation
//!   errors `{"field": ["…"], "non_field_errors": ["…"]}` — and 400/401/403/404/405/409/
//!   413/415/503 mapped once. [`json_config`] makes actix's own JSON extractor answer the same way.
//! - [`Routes`]: the registry of every HTTP route with its methods, rooted at its prefix
//!   ([`Routes::under`]) so that no route can lie outside it; registration gives each path
//!   a 405 with an accurate `Allow` header.
//! - [`ViewSet`] + [`ApiRouter`]: list/create/retrieve/update/partial_update/destroy for a
//!   [`Model`](duet_models::Model), scoped to the request's user (other rows are 404),
//!   with permissions, [`Pagination`], filtering and ordering on declared fields, and extra
//!   [`Action`]s.
//! - [`ModelViewSet`]: a viewset configured, not implemented — every default (fields,
//!   validation, filters, ordering, search, owner scoping) from the model's description.
//! - [`Input`]: client input, validated by the model into DRF-style errors.
//!
//! ```
//! use duet_views::{ApiRouter, Routes};
//! use actix_web::HttpResponse;
//!
//! let mut routes = Routes::under("/api");
//! routes.get("/health/", || async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) });
//! ApiRouter::new("/v1").configure(&mut routes); // viewsets would be registered here
//! let paths: Vec<_> = routes.describe().into_iter().map(|r| r.path).collect();
//! assert_eq!(paths, ["/api/health/", "/api/v1/"]);
//! ```

mod error;
mod input;
mod json;
mod listing;
pub mod openapi;
mod request;
mod router;
mod routes;
mod viewset;

// The lower layers' types that this crate's public signatures use, so that implementing a
// `ViewSet` needs no other duet crate.
pub use duet_auth::{
    AllowAny, And, CurrentUser, IsAuthenticated, IsAuthenticatedOrReadOnly, IsOwner, IsStaff, Not, Or, Permission,
    StaffUser,
};
pub use duet_models::{
    Db, Field, FieldKind, FieldRef, Input, ListQuery, Model, NON_FIELD_ERRORS, OrderBy, Scope, ValidationErrors,
    parse_cents,
};
pub use error::{ApiError, ApiResult};
pub use futures_util::future::LocalBoxFuture;
pub use input::{DEFAULT_BODY_LIMIT, read_json_object};
pub use json::{json_config, path_config, query_config};
pub use listing::{ListOptions, ListRequest, Pagination, parse_list_request};
pub use openapi::OpenApi;
#[doc(hidden)]
pub use paste as __paste;
pub use request::ApiRequest;
pub use router::ApiRouter;
pub use routes::{RouteInfo, Routes};
/// utoipa, for `#[utoipa::path]` on plain handlers and `#[derive(utoipa::ToSchema)]` on
/// their bodies: `use duet::views::utoipa;` brings it into scope for its macros.
pub use utoipa;

/// Registers a plain handler described by `#[utoipa::path]`: its path and methods are read
/// from the attribute (written once, next to the handler), and its operation goes into the
/// OpenAPI document. `route!(routes, handler)` is `routes.documented::<__path_handler, _>(handler)`.
///
/// ```
/// use duet_views::{Routes, route, utoipa};
///
/// /// Answers `pong`.
/// #[utoipa::path(get, path = "/ping/", responses((status = 200, body = String)))]
/// async fn ping() -> &'static str {
///     "pong"
/// }
///
/// let mut routes = Routes::under("/api");
/// route!(routes, ping);
/// assert_eq!(routes.operations()[0].0, "/api/ping/");
/// ```
#[macro_export]
macro_rules! route {
    ($routes:expr, $handler:ident) => {
        $crate::__paste::paste! { $routes.documented::<[<__path_ $handler>], _>($handler) }
    };
    ($routes:expr, $($path:ident)::+) => {
        $crate::route!(@split $routes, [] $($path)::+)
    };
    (@split $routes:expr, [$($module:ident)*] $handler:ident) => {
        $crate::__paste::paste! {
            $routes.documented::<$($module::)* [<__path_ $handler>], _>($($module::)* $handler)
        }
    };
    (@split $routes:expr, [$($module:ident)*] $next:ident :: $($rest:ident)::+) => {
        $crate::route!(@split $routes, [$($module)* $next] $($rest)::+)
    };
}
pub use viewset::{Action, ActionHandler, ModelViewSet, ViewSet, owner_scope};
