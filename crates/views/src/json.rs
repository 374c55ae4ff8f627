//! Error handlers that make actix's own extractors (`web::Json`, `web::Query`, `web::Path`)
//! answer with [`ApiError`]'s JSON shape instead of plain text.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::web;

use crate::ApiError;
use crate::input::DEFAULT_BODY_LIMIT;

/// `web::JsonConfig`: 415 for a non-JSON content type, 413 over the limit, 400 otherwise.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(DEFAULT_BODY_LIMIT)
        .error_handler(|error, req| {
            let api = match &error {
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
                    req.headers()
                        .get(actix_web::http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned(),
                ),
                JsonPayloadError::Overflow { limit } | JsonPayloadError::OverflowKnownLength { limit, .. } => {
                    ApiError::PayloadTooLarge { limit: *limit }
                }
                other => ApiError::BadRequest(format!("JSON parse error - {other}")),
            };
            api.into()
        })
}

/// `web::QueryConfig`: a malformed query string is 400.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _| {
        ApiError::BadRequest(format!("Invalid query string: {error}")).into()
    })
}

/// `web::PathConfig`: a path segment of the wrong type (`/orders/abc/`) is 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_: PathError, _| ApiError::not_found().into())
}
