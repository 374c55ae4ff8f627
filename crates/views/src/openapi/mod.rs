//! The OpenAPI 3.1 document of an app's HTTP API, generated from what the app declares:
//! each route's operation (a viewset's from its model and options, a plain handler's from
//! its `#[utoipa::path]`), the schemas they reference, the error shapes every route shares
//! and the ways to authenticate.
//!
//! ```
//! use duet_views::{OpenApi, Routes};
//!
//! let routes = Routes::under("/api");
//! let document = OpenApi::new("shop", "1.0.0").routes(&routes).build();
//! assert_eq!(document["openapi"], "3.1.0");
//! assert!(document["components"]["securitySchemes"]["token"].is_object());
//! ```

mod docs;
pub(crate) mod schema;
pub(crate) mod viewset;

use std::collections::BTreeMap;

use actix_web::http::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

pub use docs::{DOCS_PATH, SCHEMA_PATH, docs_routes};

/// An OpenAPI operation object, as JSON.
pub type Operation = Value;

/// `value` as JSON (utoipa's types serialize infallibly).
pub(crate) fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// utoipa's method as actix's.
pub(crate) fn http_method(method: &utoipa::openapi::path::HttpMethod) -> Method {
    let name = to_json(method).as_str().unwrap_or("get").to_ascii_uppercase();
    Method::from_bytes(name.as_bytes()).unwrap_or(Method::GET)
}

/// An actix pattern as an OpenAPI path template: `{file:.*}` → `{file}`.
pub(crate) fn template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let (mut depth, mut in_regex) = (0usize, false);
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                if !in_regex {
                    out.push(c);
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    in_regex = false;
                }
                if !in_regex {
                    out.push(c);
                }
            }
            ':' if depth == 1 => in_regex = true,
            c if !in_regex => out.push(c),
            _ => {}
        }
    }
    out
}

/// The security requirement of a route that needs a user: the session (with the CSRF
/// header on unsafe methods), or an API token either way. `anonymous` adds the empty
/// requirement (no credentials at all).
pub fn security(method: &Method, anonymous: bool) -> Value {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let session = match safe {
        true => json!({"session": []}),
        false => json!({"session": [], "csrf": []}),
    };
    let mut requirements = vec![session, json!({"token": []}), json!({"bearer": []})];
    if anonymous {
        requirements.push(json!({}));
    }
    Value::Array(requirements)
}

/// Gives `operation` the default [`security`] unless it states its own.
pub(crate) fn default_security(operation: &mut Operation, method: &Method) {
    if let Value::Object(op) = operation
        && !op.contains_key("security")
    {
        op.insert("security".into(), security(method, false));
    }
}

/// A reference to a shared response.
pub fn response_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{name}")})
}

/// A reference to a component schema.
pub fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema_ref("Error")}},
    })
}

/// The responses every route may share, by name.
fn shared_responses() -> Map<String, Value> {
    let mut responses = Map::new();
    for (name, description) in [
        (
            "Unauthorized",
            "No valid credentials: log in, or send a valid API token.",
        ),
        (
            "Forbidden",
            "Authenticated, but not allowed (or the CSRF check failed).",
        ),
        ("NotFound", "No such resource, or not yours."),
        ("PayloadTooLarge", "The body is over the view's limit."),
        ("UnsupportedMediaType", "The body is not JSON."),
        ("Unavailable", "A service the request needs is down: retry later."),
        (
            "Throttled",
            "Over a rate (docs/http-api.md, Throttling): retry after `Retry-After` seconds.",
        ),
    ] {
        responses.insert(name.into(), error_response(description));
    }
    responses.insert(
        "ValidationFailed".into(),
        json!({
            "description": "The input is invalid: the errors of each field, or `{\"detail\": …}` for a malformed body.",
            "content": {"application/json": {"schema": schema_ref("Invalid")}},
        }),
    );
    responses
}

fn shared_schemas() -> BTreeMap<String, Value> {
    BTreeMap::from([
        (
            "Invalid".to_owned(),
            json!({"anyOf": [schema_ref("ValidationError"), schema_ref("Error")]}),
        ),
        (
            "Detail".to_owned(),
            json!({
                "type": "object",
                "description": "A message.",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }),
        ),
        (
            "Error".to_owned(),
            json!({
                "type": "object",
                "description": "Every error but invalid input.",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }),
        ),
        (
            "ValidationError".to_owned(),
            json!({
                "type": "object",
                "description": "Invalid input: each field's messages; `non_field_errors` for the input as a whole.",
                "properties": {"non_field_errors": {"type": "array", "items": {"type": "string"}}},
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "minProperties": 1,
            }),
        ),
    ])
}

fn security_schemes() -> Value {
    json!({
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The session cookie `POST /accounts/login/` sets. Unsafe methods also need the CSRF header.",
        },
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": "The session's CSRF token (`GET /accounts/login/` returns it, and the `csrftoken` cookie shows it), required with the session on unsafe methods, with an `Origin` of this site or a trusted one.",
        },
        "token": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API token (`POST /accounts/tokens/` or the `token` command issues one): `Authorization: Token <key>`. No CSRF header needed. An expired or revoked token is a 401; a token of scope `read` may only GET, HEAD and OPTIONS (403 otherwise).",
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The same API token as `Authorization: Bearer <key>`.",
        },
    })
}

/// Builds the OpenAPI 3.1 document from [`Routes`](crate::Routes).
#[derive(Debug)]
pub struct OpenApi {
    title: String,
    version: String,
    description: Option<String>,
    paths: BTreeMap<String, Map<String, Value>>,
    schemas: BTreeMap<String, Value>,
}

impl OpenApi {
    /// A document titled `title` (the app's name), for the API's `version`.
    pub fn new(title: &str, version: &str) -> OpenApi {
        OpenApi {
            title: title.to_owned(),
            version: version.to_owned(),
            description: None,
            paths: BTreeMap::new(),
            schemas: shared_schemas(),
        }
    }

    /// What the API is for, in Markdown.
    pub fn description(mut self, description: &str) -> OpenApi {
        self.description = Some(description.to_owned());
        self
    }

    /// Adds the schema of `M`'s rows as `#/components/schemas/{Name}`, for operations that
    /// reference it by name (the account views reference `User`).
    pub fn model<M: duet_models::Model>(mut self) -> OpenApi {
        let shapes = schema::model_shapes::<M>(None, &[]);
        self.schemas.insert(shapes.name, shapes.row);
        self
    }

    /// Adds every documented operation of `routes` and the schemas they reference.
    pub fn routes(mut self, routes: &crate::Routes) -> OpenApi {
        for (path, method, operation, throttled) in routes.operations() {
            let mut operation = operation.clone();
            if throttled && let Some(responses) = operation["responses"].as_object_mut() {
                responses.entry("429").or_insert_with(|| response_ref("Throttled"));
            }
            self.paths
                .entry(path)
                .or_default()
                .insert(method.as_str().to_ascii_lowercase(), operation);
        }
        self.schemas
            .extend(routes.schemas().iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// The document, as JSON.
    pub fn build(self) -> Value {
        let mut info = json!({"title": self.title, "version": self.version});
        if let Some(description) = self.description {
            info["description"] = description.into();
        }
        json!({
            "openapi": "3.1.0",
            "info": info,
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "paths": self.paths,
            "components": {
                "schemas": self.schemas,
                "responses": shared_responses(),
                "securitySchemes": security_schemes(),
            },
            "security": security(&Method::GET, false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_patterns_become_templates() {
        assert_eq!(template("/api/v1/orders/{id}/"), "/api/v1/orders/{id}/");
        assert_eq!(template("/api/docs/{file:.*}"), "/api/docs/{file}");
    }

    #[test]
    fn unsafe_methods_need_the_csrf_header_with_a_session() {
        assert_eq!(security(&Method::GET, false)[0], json!({"session": []}));
        assert_eq!(security(&Method::POST, true)[0], json!({"session": [], "csrf": []}));
        assert_eq!(security(&Method::POST, true)[3], json!({}));
    }
}
