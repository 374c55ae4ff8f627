//! Serving the document: `GET {prefix}/schema/` (JSON) and `GET {prefix}/docs/` (Swagger
//! UI, its files embedded in the binary by utoipa-swagger-ui's `vendored` feature).

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::response_ref;
use crate::{ApiError, Routes};

/// Where the JSON document is served, relative to the API prefix.
pub const SCHEMA_PATH: &str = "/schema/";
/// Where the interactive docs are served, relative to the API prefix.
pub const DOCS_PATH: &str = "/docs/";

/// Adds `GET {base}/schema/` (the document `json`) and `GET {base}/docs/` (Swagger UI,
/// reading it) to `routes`, documented like every other route.
pub fn docs_routes(routes: &mut Routes, json: Arc<str>) {
    let schema_url = format!("{}{SCHEMA_PATH}", routes.base());
    routes.get(SCHEMA_PATH, move || {
        let json = Arc::clone(&json);
        async move {
            HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, "application/vnd.oai.openapi+json"))
                .body(json.to_string())
        }
    });
    routes.operation(
        SCHEMA_PATH,
        Method::GET,
        json!({
            "operationId": "openapi_schema",
            "summary": "This document: the API's OpenAPI 3.1 schema.",
            "tags": ["schema"],
            "security": [{}],
            "responses": {"200": {
                "description": "The OpenAPI document.",
                "content": {"application/vnd.oai.openapi+json": {"schema": {"type": "object"}}},
            }},
        }),
    );
    let config = Arc::new(utoipa_swagger_ui::Config::new([schema_url]).with_credentials(true));
    let docs = format!("{DOCS_PATH}{{file:.*}}");
    routes.get(&docs, move |req: HttpRequest| {
        let config = Arc::clone(&config);
        async move { swagger_file(&req, config) }
    });
    routes.operation(
        &docs,
        Method::GET,
        json!({
            "operationId": "openapi_docs",
            "summary": "Interactive docs (Swagger UI) of this document; `file` is empty for its page.",
            "tags": ["schema"],
            "security": [{}],
            "parameters": [{
                "name": "file", "in": "path", "required": true,
                "schema": {"type": "string"},
                "description": "A Swagger UI file (`swagger-ui.css`, …); empty for the page.",
            }],
            "responses": {
                "200": {"description": "The page, or one of its files.", "content": {"text/html": {}}},
                "404": response_ref("NotFound"),
            },
        }),
    );
}

fn swagger_file(req: &HttpRequest, config: Arc<utoipa_swagger_ui::Config<'static>>) -> Result<HttpResponse, ApiError> {
    let file = req.match_info().get("file").unwrap_or_default();
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(file)) => {
            let mut response = HttpResponse::Ok();
            response
                .insert_header((CONTENT_TYPE, file.content_type))
                .insert_header((CACHE_CONTROL, "no-cache"));
            if file.gzpipped {
                response.insert_header((CONTENT_ENCODING, "gzip"));
            }
            Ok(response.body(file.bytes.into_owned()))
        }
        Ok(None) => Err(ApiError::not_found()),
        Err(error) => {
            tracing::error!(%error, file, "swagger ui file");
            Err(ApiError::Internal)
        }
    }
}
