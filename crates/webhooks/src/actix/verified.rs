//! [`Verified`]: a request whose signature checked out, and its extractor.

use std::fmt;
use std::marker::PhantomData;

use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpRequest, dev};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use super::WebhookEndpoint;
use super::response::detail;
use crate::{Verification, WebhookVerifier};

/// A webhook request verified by a [`WebhookEndpoint<V>`]: its raw body, the event parsed
/// from it, and what identifies the delivery.
///
/// [`handler`](super::handler) hands one to your function. It is also an extractor, for an
/// ordinary actix handler that answers with a body of its own (Slack's `url_verification`
/// challenge, a slash command's reply) and needs no deduplication: it verifies with the
/// `web::Data<WebhookEndpoint<V>>` found in the app data, nearest first, so give each
/// resource its own endpoint to have two of one scheme. Without one it answers 500.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use duet_webhooks::SlackVerifier;
/// use duet_webhooks::actix::{Verified, WebhookEndpoint};
///
/// async fn command(slack: Verified<SlackVerifier>) -> HttpResponse {
///     let text = slack.event()["text"].as_str().unwrap_or_default();
///     HttpResponse::Ok().json(serde_json::json!({ "text": format!("you said {text}") }))
/// }
///
/// let endpoint = WebhookEndpoint::slack(["8f742231b10e8888abcd99yyyzzz85a5"])?;
/// let app = App::new().service(
///     web::resource("/slack/commands")
///         .app_data(web::Data::new(endpoint))
///         .route(web::post().to(command)),
/// );
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
pub struct Verified<V> {
    body: Bytes,
    event: Value,
    kind: Option<String>,
    delivery_id: Option<String>,
    provider: &'static str,
    verification: Verification,
    scheme: PhantomData<fn() -> V>,
}

impl<V> Verified<V> {
    pub(super) fn new(
        body: Bytes,
        event: Value,
        kind: Option<String>,
        delivery_id: Option<String>,
        provider: &'static str,
        verification: Verification,
    ) -> Self {
        Verified {
            body,
            event,
            kind,
            delivery_id,
            provider,
            verification,
            scheme: PhantomData,
        }
    }

    /// The raw body, exactly as received and verified.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The event: the JSON body, a form body as an object of strings, or `null` for other
    /// media types (see [`WebhookEndpoint::with_content_types`]).
    pub fn event(&self) -> &Value {
        &self.event
    }

    /// The event's kind (Stripe's `type`, GitHub's `X-GitHub-Event`), when the endpoint
    /// reads one and the request has it.
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// The object the event is about, `data.object` as Stripe nests it, when present.
    pub fn object(&self) -> Option<&Value> {
        self.event.pointer("/data/object")
    }

    /// The idempotency key; `None` when the endpoint does not deduplicate
    /// ([`DeliveryId::None`](super::DeliveryId::None)).
    pub fn delivery_id(&self) -> Option<&str> {
        self.delivery_id.as_deref()
    }

    /// The endpoint's [`provider`](WebhookEndpoint::provider) name.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// What the verifier returned, including the signed timestamp of schemes that sign one.
    pub fn verification(&self) -> &Verification {
        &self.verification
    }
}

impl<V> fmt::Debug for Verified<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("provider", &self.provider)
            .field("delivery_id", &self.delivery_id)
            .field("kind", &self.kind)
            .field("body_len", &self.body.len())
            .field("verification", &self.verification)
            .finish_non_exhaustive()
    }
}

impl<V: WebhookVerifier + 'static> FromRequest for Verified<V> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let endpoint = req.app_data::<Data<WebhookEndpoint<V>>>().cloned();
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let Some(endpoint) = endpoint else {
                tracing::error!(
                    path = req.path(),
                    verifier = std::any::type_name::<V>(),
                    "no web::Data<WebhookEndpoint<_>> for this verifier in the app data"
                );
                let response = detail(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error");
                return Err(actix_web::error::InternalError::from_response("", response).into());
            };
            Ok(endpoint.verify_request(&req, payload).await?)
        })
    }
}
