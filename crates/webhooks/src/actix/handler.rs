//! [`handler`]: a verified, idempotent actix handler around your function.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{Handler, HttpRequest, HttpResponse, ResponseError, dev, web};
use duet_models::{Claim, Db, WebhookDelivery};
use futures_util::FutureExt as _;

use super::outcome::Outcome;
use super::response::detail;
use super::{HandlerError, Verified, WebhookEndpoint, WebhookResult};
use crate::WebhookVerifier;

/// Turns `f` into an actix handler serving `endpoint`, each delivery handled once.
///
/// Register it for every method (`web::to`, or `web::resource(…).to`): it answers other
/// methods itself. The flow, and its answers (all `{"detail": …}` JSON):
///
/// 1. not `POST`: **405** `method not allowed`, with `Allow: POST`;
/// 2. [`WebhookEndpoint::verify_request`]: **415**, **413**, **400** `invalid signature` or
///    **400** `invalid payload` (see [`ResponseError` for `WebhookError`](crate::WebhookError));
/// 3. an endpoint without a delivery id ([`DeliveryId::None`](super::DeliveryId::None))
///    runs `f` on every verified request; otherwise the delivery is claimed in the
///    `webhook_deliveries` table, through the `web::Data<duet_models::Db>` of the app data
///    (its absence is a 500):
///    - already handled: **200** `already processed`, without running `f`;
///    - being handled by another request right now: **409** `delivery in progress`, at
///      once, so that the sender retries later (by then it is done, or released);
///    - the database unavailable: **503** `temporarily unavailable`;
/// 4. `f` runs with the [`Verified`] request and the [`HttpRequest`] (for app data such as
///    the `Db`): `Ok` marks the delivery done, **200** `ok`; an `Err` or a panic releases
///    it, **500** `handler failed` (**503** for [`HandlerError::is_unavailable`]), and the
///    sender's retry runs `f` again. A panic is caught, so the worker keeps serving.
///
/// Stripe, Standard Webhooks senders and Slack retry non-2xx answers by themselves; GitHub
/// redelivers only when asked to (from the webhook's settings or its API).
///
/// A claim whose process died is taken over after
/// [`stale_after`](WebhookEndpoint::with_stale_after). If marking a delivery done fails
/// after `f` succeeded, the answer is still 200 (the work is done) and the error is logged;
/// that delivery is then 409 to repeats until the claim goes stale.
///
/// The endpoint is captured by the handler, so each route has its own: build the handler
/// once, outside `HttpServer::new`, and clone it (cheaply: actix handlers are `Clone`) into
/// each worker's `App`.
pub fn handler<V, F, Fut>(
    endpoint: WebhookEndpoint<V>,
    f: F,
) -> impl Handler<(HttpRequest, web::Payload), Output = HttpResponse>
where
    V: WebhookVerifier + 'static,
    F: Fn(Verified<V>, HttpRequest) -> Fut + Clone + 'static,
    Fut: Future<Output = WebhookResult> + 'static,
{
    let endpoint = Arc::new(endpoint);
    move |req: HttpRequest, payload: web::Payload| {
        let (endpoint, f) = (Arc::clone(&endpoint), f.clone());
        async move {
            let (outcome, response) = serve(&endpoint, f, req, payload.into_inner()).await;
            outcome.count(endpoint.provider());
            response
        }
    }
}

async fn serve<V, F, Fut>(
    endpoint: &WebhookEndpoint<V>,
    f: F,
    req: HttpRequest,
    payload: dev::Payload,
) -> (Outcome, HttpResponse)
where
    V: WebhookVerifier,
    F: Fn(Verified<V>, HttpRequest) -> Fut,
    Fut: Future<Output = WebhookResult>,
{
    if req.method() != Method::POST {
        let mut response = detail(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        return (Outcome::Refused, response);
    }
    let verified = match endpoint.verify_request(&req, payload).await {
        Ok(verified) => verified,
        Err(error) => return (Outcome::of_refusal(&error), error.error_response()),
    };
    let provider = verified.provider();
    let Some(delivery_id) = verified.delivery_id().map(str::to_owned) else {
        return match run(f, verified, req).await {
            Ok(()) => (Outcome::Accepted, detail(StatusCode::OK, "ok")),
            Err(error) => (Outcome::HandlerError, failed(provider, None, &error)),
        };
    };
    let Some(db) = req.app_data::<web::Data<Db>>().cloned() else {
        tracing::error!(
            provider,
            path = req.path(),
            "no web::Data<duet_models::Db> in the app data: webhook deliveries cannot be recorded"
        );
        return (
            Outcome::Error,
            detail(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        );
    };
    let id = delivery_id.as_str();
    match WebhookDelivery::claim(&db, provider, id, endpoint.stale_after()).await {
        Ok(Claim::Claimed) => {}
        Ok(Claim::AlreadyDone) => return (Outcome::Duplicate, detail(StatusCode::OK, "already processed")),
        Ok(Claim::InProgress) => {
            return (
                Outcome::InProgress,
                detail(StatusCode::CONFLICT, "delivery in progress"),
            );
        }
        Err(error) => return (Outcome::Error, database_failed(provider, id, &error)),
    }
    match run(f, verified, req).await {
        Ok(()) => {
            if let Err(error) = WebhookDelivery::complete(&db, provider, id).await {
                tracing::error!(provider, delivery_id = id, %error,
                    "webhook handled, but it could not be marked done");
            }
            (Outcome::Accepted, detail(StatusCode::OK, "ok"))
        }
        Err(failure) => {
            if let Err(error) = WebhookDelivery::release(&db, provider, id).await {
                tracing::error!(provider, delivery_id = id, %error,
                    "webhook delivery could not be released after its handler failed");
            }
            (Outcome::HandlerError, failed(provider, Some(id), &failure))
        }
    }
}

/// Runs the user's handler, turning a panic into a [`HandlerError`].
async fn run<V, F, Fut>(f: F, verified: Verified<V>, req: HttpRequest) -> WebhookResult
where
    F: Fn(Verified<V>, HttpRequest) -> Fut,
    Fut: Future<Output = WebhookResult>,
{
    // The call itself goes inside the future, so that a panic before its first await is
    // caught as well.
    let call = AssertUnwindSafe(async move { f(verified, req).await });
    match call.catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text payload".to_owned());
            Err(HandlerError::new(format!("the handler panicked: {message}")))
        }
    }
}

fn failed(provider: &str, delivery_id: Option<&str>, error: &HandlerError) -> HttpResponse {
    tracing::error!(provider, delivery_id, %error, "webhook handler failed");
    let status = if error.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    detail(status, "handler failed")
}

fn database_failed(provider: &str, delivery_id: &str, error: &duet_models::Error) -> HttpResponse {
    if error.is_unavailable() {
        tracing::warn!(provider, delivery_id, %error, "webhook not claimed: database unavailable");
        detail(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
    } else {
        tracing::error!(provider, delivery_id, %error, "webhook not claimed: database error");
        detail(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}
