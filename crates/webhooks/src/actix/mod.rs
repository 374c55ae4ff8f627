//! actix-web glue (feature `actix`): verified, idempotent webhook endpoints.
//!
//! - [`WebhookEndpoint`]: a verifier plus how its requests are read: where the delivery id
//!   comes from ([`DeliveryId`]), the event's kind ([`EventKind`]), the accepted content
//!   types, the body limit (1 MiB) and how long a claim may stay in progress (5 min).
//!   Presets: [`WebhookEndpoint::stripe`], [`github`](WebhookEndpoint::github),
//!   [`standard`](WebhookEndpoint::standard), [`slack`](WebhookEndpoint::slack).
//! - [`handler`]: your `async fn(Verified<V>, HttpRequest) -> WebhookResult` as an actix
//!   handler that verifies the request, records the delivery in the framework's
//!   `webhook_deliveries` table (through the app's `web::Data<duet_models::Db>`) and runs
//!   your function once per delivery, however often the sender repeats it.
//! - [`Verified`]: the verified request (raw body, parsed event, kind, delivery id), also
//!   an extractor for handlers that answer with a body of their own.
//! - [`HeaderSource`](crate::HeaderSource) for actix's
//!   [`HeaderMap`](actix_web::http::header::HeaderMap), and
//!   [`ResponseError`](actix_web::ResponseError) for [`WebhookError`](crate::WebhookError).
//!
//! Every request to a [`handler`] is counted in `duet_webhook_deliveries_total`, by
//! provider and outcome (`accepted`, `duplicate`, `in_progress`, `bad_signature`,
//! `refused`, `handler_error`, `error`), through the `metrics` facade.
//!
//! The signature is checked on the raw bytes, read up to the limit, before anything parses
//! them, at the current time of the system clock. Every refusal of the signature answers
//! 400 `{"detail":"invalid signature"}` and logs the precise reason at `warn`.
//!
//! Each endpoint is captured by its own handler, so one app serves any number of them:
//! several schemes, and several endpoints of one scheme with different secrets (give those
//! different [`provider`](WebhookEndpoint::with_provider) names when they can receive the
//! same event).
//!
//! ```no_run
//! use actix_web::{App, HttpRequest, HttpServer, web};
//! use duet_models::Db;
//! use duet_webhooks::actix::{HandlerError, Verified, WebhookEndpoint, WebhookResult, handler};
//! use duet_webhooks::{GithubVerifier, StripeVerifier};
//!
//! async fn on_stripe(event: Verified<StripeVerifier>, req: HttpRequest) -> WebhookResult {
//!     let db = req.app_data::<web::Data<Db>>().ok_or_else(|| HandlerError::new("no Db"))?;
//!     if event.kind() == Some("checkout.session.completed") {
//!         let order = event.object().and_then(|o| o["client_reference_id"].as_str());
//!         // mark `order` paid in `db`; an Err here makes Stripe retry
//!         # let _ = (db, order);
//!     }
//!     Ok(())
//! }
//!
//! async fn on_github(event: Verified<GithubVerifier>, _req: HttpRequest) -> WebhookResult {
//!     tracing::info!(kind = ?event.kind(), delivery = ?event.delivery_id(), "GitHub event");
//!     Ok(())
//! }
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let db = Db::connect_url("sqlite://var/app.sqlite3").await?;
//! let stripe = handler(WebhookEndpoint::stripe(["whsec_…"])?, on_stripe);
//! let github = handler(WebhookEndpoint::github(["gh secret"])?, on_github);
//! HttpServer::new(move || {
//!     App::new()
//!         .app_data(web::Data::new(db.clone()))
//!         .route("/webhooks/stripe", web::to(stripe.clone()))
//!         .route("/webhooks/github", web::to(github.clone()))
//! })
//! .bind(("127.0.0.1", 8000))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! **CSRF and sessions.** Webhook senders have neither a session nor a CSRF token, and
//! nothing here reads the session: declare the routes in a webhook prefix,
//! `duet::App::webhooks("/webhooks", …)`, which is CSRF-exempt. The signature is the
//! authentication.

mod endpoint;
mod handler;
mod handler_error;
mod headers;
mod outcome;
mod read;
mod response;
#[cfg(test)]
mod tests;
mod verified;

pub use endpoint::{DEFAULT_BODY_LIMIT, DEFAULT_STALE_AFTER_SECS, DeliveryId, EventKind, FORM, JSON, WebhookEndpoint};
pub use handler::handler;
pub use handler_error::{HandlerError, WebhookResult};
pub use verified::Verified;
