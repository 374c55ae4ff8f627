//! The answers: `{"detail": …}` bodies, and [`WebhookError`]'s status codes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::WebhookError;

/// A `{"detail": detail}` answer with `status`.
pub(super) fn detail(status: StatusCode, detail: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "detail": detail }))
}

/// Each refusal's status and `{"detail": …}`. Every problem with the signature, its headers
/// or its timestamp is a 400 `invalid signature`, and a signed body the endpoint cannot read
/// is a 400 `invalid payload`: the precise reason is logged, never sent, so that the answers
/// teach a forger nothing.
///
/// | variant | status | `detail` |
/// |---------|--------|----------|
/// | `MissingHeader`, `InvalidHeader`, `TimestampTooOld`, `FutureTimestamp`, `InvalidSignature` | 400 | `invalid signature` |
/// | `InvalidPayload` | 400 | `invalid payload` |
/// | `PayloadTooLarge` | 413 | the message, with the limit |
/// | `UnsupportedMediaType` | 415 | the message, with the accepted types |
/// | `InvalidSecret` (a configuration mistake) | 500 | `internal error` |
impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebhookError::MissingHeader(_)
            | WebhookError::InvalidHeader { .. }
            | WebhookError::TimestampTooOld { .. }
            | WebhookError::FutureTimestamp { .. }
            | WebhookError::InvalidSignature
            | WebhookError::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            WebhookError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebhookError::InvalidSecret(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let text = match self {
            WebhookError::MissingHeader(_)
            | WebhookError::InvalidHeader { .. }
            | WebhookError::TimestampTooOld { .. }
            | WebhookError::FutureTimestamp { .. }
            | WebhookError::InvalidSignature => "invalid signature".to_owned(),
            WebhookError::InvalidPayload(_) => "invalid payload".to_owned(),
            WebhookError::PayloadTooLarge { .. } | WebhookError::UnsupportedMediaType { .. } => self.to_string(),
            WebhookError::InvalidSecret(_) => "internal error".to_owned(),
        };
        detail(self.status_code(), &text)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;
    use crate::HeaderIssue;

    async fn answer(error: &WebhookError) -> (u16, serde_json::Value) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn refusals_say_little() {
        let signature = json!({"detail": "invalid signature"});
        let cases = [
            (
                WebhookError::MissingHeader("Stripe-Signature".into()),
                400,
                signature.clone(),
            ),
            (
                WebhookError::invalid_header("webhook-id", HeaderIssue::Empty),
                400,
                signature.clone(),
            ),
            (
                WebhookError::TimestampTooOld {
                    timestamp: 0,
                    now: 1000,
                    tolerance: 300,
                },
                400,
                signature.clone(),
            ),
            (
                WebhookError::FutureTimestamp {
                    timestamp: 1000,
                    now: 0,
                    tolerance: 300,
                },
                400,
                signature.clone(),
            ),
            (WebhookError::InvalidSignature, 400, signature),
            (
                WebhookError::InvalidPayload("no `id`".into()),
                400,
                json!({"detail": "invalid payload"}),
            ),
            (
                WebhookError::PayloadTooLarge { limit: 10 },
                413,
                json!({"detail": "the body is larger than the limit of 10 bytes"}),
            ),
            (
                WebhookError::UnsupportedMediaType {
                    received: "text/plain".into(),
                    expected: "application/json".into(),
                },
                415,
                json!({"detail": "unsupported media type `text/plain`: send application/json"}),
            ),
            (
                WebhookError::InvalidSecret("hunter2".into()),
                500,
                json!({"detail": "internal error"}),
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(answer(&error).await, (status, body), "{error:?}");
        }
    }
}
