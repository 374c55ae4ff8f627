//! From a request to a [`Verified`]: content type, body limit, signature, then parsing.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpRequest, dev};
use futures_util::StreamExt as _;
use serde_json::Value;

use super::endpoint::{DeliveryId, EventKind, FORM};
use super::{Verified, WebhookEndpoint};
use crate::{WebhookError, WebhookVerifier, headers};

impl<V: WebhookVerifier> WebhookEndpoint<V> {
    /// Reads and verifies a request, in this order: its `Content-Type` (415), its length
    /// (413, on `Content-Length` and then on the bytes received), its signature over the raw
    /// body at the current time (400), and only then its body (400 when it is not what the
    /// endpoint reads, or lacks the delivery id). The method is not checked.
    ///
    /// Refusals are logged at `warn` with their precise reason; answer them with
    /// [`ResponseError`](actix_web::ResponseError), which tells the sender no more than
    /// "invalid signature".
    ///
    /// # Errors
    ///
    /// The [`WebhookError`] that refused the request.
    pub async fn verify_request(&self, req: &HttpRequest, payload: dev::Payload) -> Result<Verified<V>, WebhookError> {
        let result = self.read(req, payload).await;
        if let Err(error) = &result {
            tracing::warn!(
                provider = self.provider(),
                path = req.path(),
                %error,
                "webhook refused"
            );
        }
        result
    }

    async fn read(&self, req: &HttpRequest, payload: dev::Payload) -> Result<Verified<V>, WebhookError> {
        let media_type = self.check_content_type(req)?;
        let body = read_body(req, payload, self.body_limit()).await?;
        let verification = self.verifier().verify(&body, req.headers(), unix_now())?;
        let event = parse(media_type.as_deref(), &body)?;
        let delivery_id = match self.delivery_id() {
            DeliveryId::Header => Some(
                verification
                    .delivery_id
                    .clone()
                    .ok_or_else(|| WebhookError::InvalidPayload("the delivery id header is missing".into()))?,
            ),
            DeliveryId::JsonField(name) => Some(
                json_id(&event, name)
                    .ok_or_else(|| WebhookError::InvalidPayload(format!("no string or number `{name}` in the body")))?,
            ),
            DeliveryId::None => None,
        };
        let kind = match self.kind() {
            Some(EventKind::JsonField(name)) => event.get(name).and_then(Value::as_str).map(str::to_owned),
            // unsigned and informative only: a garbled header gives no kind, not a refusal
            Some(EventKind::Header(name)) => headers::optional(req.headers(), name).ok().flatten().map(str::to_owned),
            None => None,
        };
        Ok(Verified::new(
            body,
            event,
            kind,
            delivery_id,
            self.provider(),
            verification,
        ))
    }

    /// The request's media type (lowercase, without parameters) when it is accepted.
    fn check_content_type(&self, req: &HttpRequest) -> Result<Option<String>, WebhookError> {
        let media_type = req
            .mime_type()
            .ok()
            .flatten()
            .map(|mime| mime.essence_str().to_ascii_lowercase());
        let accepted = self.content_types();
        let matches = |media_type: &str| accepted.iter().any(|t| t.eq_ignore_ascii_case(media_type));
        if accepted.is_empty() || media_type.as_deref().is_some_and(matches) {
            return Ok(media_type);
        }
        let received = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        Err(WebhookError::UnsupportedMediaType {
            received: received.unwrap_or_default(),
            expected: accepted.join(" or "),
        })
    }
}

/// The body, refused as soon as it is known to exceed `limit`.
async fn read_body(req: &HttpRequest, mut payload: dev::Payload, limit: usize) -> Result<Bytes, WebhookError> {
    let too_large = WebhookError::PayloadTooLarge { limit };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large);
    }
    let capacity = declared.and_then(|length| usize::try_from(length).ok()).unwrap_or(0);
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|error| WebhookError::InvalidPayload(format!("the body could not be read: {error}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The event in `body`, read by its media type.
fn parse(media_type: Option<&str>, body: &[u8]) -> Result<Value, WebhookError> {
    match media_type {
        Some(json) if json == super::endpoint::JSON || json.ends_with("+json") => serde_json::from_slice(body)
            .map_err(|error| WebhookError::InvalidPayload(format!("the body is not JSON: {error}"))),
        Some(FORM) => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|error| WebhookError::InvalidPayload(format!("the body is not a form: {error}")))?;
            Ok(Value::Object(
                pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
            ))
        }
        _ => Ok(Value::Null),
    }
}

/// A top-level delivery id: a non-empty string, or a number.
fn json_id(event: &Value, name: &str) -> Option<String> {
    match event.get(name)? {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The current time in unix seconds: the glue's clock, which the pure verifiers are given.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_are_read_by_media_type() {
        assert_eq!(parse(Some("application/json"), br#"{"a":1}"#), Ok(json!({"a": 1})));
        assert_eq!(parse(Some("application/cloudevents+json"), b"[]"), Ok(json!([])));
        assert!(matches!(
            parse(Some("application/json"), b"a=1"),
            Err(WebhookError::InvalidPayload(_))
        ));
        assert_eq!(
            parse(Some(FORM), b"command=%2Fdeploy&text=a+b&text=c"),
            Ok(json!({"command": "/deploy", "text": "c"}))
        );
        assert_eq!(parse(Some("text/plain"), b"{}"), Ok(Value::Null));
        assert_eq!(parse(None, b"{}"), Ok(Value::Null));
    }

    #[test]
    fn delivery_ids_in_json() {
        let event = json!({"id": "evt_1", "n": 7, "empty": "", "object": {}});
        assert_eq!(json_id(&event, "id").as_deref(), Some("evt_1"));
        assert_eq!(json_id(&event, "n").as_deref(), Some("7"));
        assert_eq!(json_id(&event, "empty"), None);
        assert_eq!(json_id(&event, "object"), None);
        assert_eq!(json_id(&event, "missing"), None);
        assert_eq!(json_id(&Value::Null, "id"), None);
    }

    #[test]
    fn the_clock_is_unix_seconds() {
        assert!(unix_now() > 1_700_000_000);
    }
}
