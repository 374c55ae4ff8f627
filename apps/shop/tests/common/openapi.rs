//! Every response an API test receives, checked against the OpenAPI document's schema of
//! its route, method and status (the document the shop serves at `/api/schema/`).

use std::sync::OnceLock;

use serde_json::{Value, json};

/// The shop's OpenAPI document, as `shop openapi` prints it.
pub(crate) fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        shop::app()
            .check()
            .expect("the shop passes its check")
            .openapi()
            .clone()
    })
}

/// The document's path template `path` (no query string) falls under: literal segments
/// before parameters, so `/orders/summary/` is the action's, not `/orders/{id}/`.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object().expect("paths");
    paths
        .keys()
        .filter(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .min_by_key(|template| template.matches('{').count())
        .map(String::as_str)
}

/// Follows a `$ref` within the document.
fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                document()
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {reference}")),
            )
        }
        None => value,
    }
}

/// Panics unless `body` is what the document says `method path` answers with `status`.
/// Paths and methods the document does not describe (pages, 405s) are not API routes: they
/// are left alone.
pub(crate) fn check(method: &str, path: &str, status: u16, body: &Value) {
    let Some(template) = template_of(path) else { return };
    let Some(operation) = document()["paths"][template].get(method.to_ascii_lowercase()) else {
        return;
    };
    let response = operation["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("{method} {template} answered {status}, which its schema does not list: {body}"));
    let response = resolve(response);
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        assert!(
            body.is_null(),
            "{method} {template} {status} has no JSON body in its schema, but sent {body}"
        );
        return;
    };
    let mut root = schema.clone();
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    root["components"] = document()["components"].clone();
    let validator = jsonschema::validator_for(&root).expect("a valid JSON schema");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its schema: {errors:?}\nbody: {body}"
    );
}
