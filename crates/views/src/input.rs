//! Reading a JSON body safely (the field readers, [`Input`](duet_models::Input), live in duet-models).

use actix_web::HttpRequest;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::Payload;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use duet_models::ValidationErrors;

use crate::{ApiError, ApiResult};

/// Default largest JSON body an API view reads.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Reads a JSON object body: 415 unless `application/json`, 413 over `limit` bytes, 400 for
/// malformed JSON or a non-object.
pub async fn read_json_object(req: &HttpRequest, mut payload: Payload, limit: usize) -> ApiResult<Map<String, Value>> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType(content_type.to_owned()));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("Could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            let mut errors = ValidationErrors::new();
            errors.add_non_field(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                kind(&other)
            ));
            Err(errors.into())
        }
        Err(e) => Err(ApiError::BadRequest(format!("JSON parse error - {e}"))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
