//! The test app's routes: one deduplicating endpoint per scheme (two for Stripe), a small
//! one without deduplication, and routes using the `Verified` extractor directly.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use duet_webhooks::actix::{DeliveryId, EventKind, Verified, WebhookEndpoint, WebhookResult, handler};
use duet_webhooks::{GenericHmacVerifier, GithubVerifier, SlackVerifier, WebhookVerifier};
use serde_json::json;

use super::Probe;
use super::schemes::{ACME_SECRET, GITHUB_SECRET, SLACK_SECRET, STANDARD_SECRET, STRIPE_CONNECT_SECRET, STRIPE_SECRET};

/// The largest body `/webhooks/small` accepts.
pub(crate) const SMALL_LIMIT: usize = 64;

/// The recording handler for verifier `V`.
fn record<V: WebhookVerifier + 'static>(
    probe: &Arc<Probe>,
) -> impl Fn(Verified<V>, HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = WebhookResult>>> + Clone + Send + 'static
{
    let probe = Arc::clone(probe);
    move |event, req| Box::pin(Arc::clone(&probe).handle(event, req))
}

/// Every route, built once and cloned into each worker's app.
pub(crate) fn routes(probe: &Arc<Probe>) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    let stripe = handler(WebhookEndpoint::stripe([STRIPE_SECRET]).unwrap(), record(probe));
    let connect = WebhookEndpoint::stripe([STRIPE_CONNECT_SECRET])
        .unwrap()
        .with_provider("stripe-connect");
    let connect = handler(connect, record(probe));
    let github = handler(WebhookEndpoint::github([GITHUB_SECRET]).unwrap(), record(probe));
    let standard = handler(WebhookEndpoint::standard([STANDARD_SECRET]).unwrap(), record(probe));
    let slack = handler(WebhookEndpoint::slack([SLACK_SECRET]).unwrap(), record(probe));
    let acme = GenericHmacVerifier::new("acme", "X-Acme-Signature", [ACME_SECRET])
        .unwrap()
        .with_prefix("sha256=")
        .with_delivery_id_header("X-Acme-Delivery");
    let acme = WebhookEndpoint::new(acme, DeliveryId::Header).with_kind(EventKind::Header("X-Acme-Event"));
    let acme = handler(acme, record(probe));
    let small = GenericHmacVerifier::new("small", "X-Acme-Signature", [ACME_SECRET])
        .unwrap()
        .with_prefix("sha256=");
    let small = WebhookEndpoint::new(small, DeliveryId::None)
        .with_content_types([])
        .with_body_limit(SMALL_LIMIT);
    let small = handler(small, record(probe));
    let slack_commands = web::Data::new(WebhookEndpoint::slack([SLACK_SECRET]).unwrap());
    move |config: &mut web::ServiceConfig| {
        config
            .route("/webhooks/stripe", web::to(stripe.clone()))
            .route("/webhooks/stripe-connect", web::to(connect.clone()))
            .route("/webhooks/github", web::to(github.clone()))
            .route("/webhooks/standard", web::to(standard.clone()))
            .route("/webhooks/slack", web::to(slack.clone()))
            .route("/webhooks/acme", web::to(acme.clone()))
            .route("/webhooks/small", web::to(small.clone()))
            .service(
                web::resource("/slack/commands")
                    .app_data(slack_commands.clone())
                    .route(web::post().to(slack_command)),
            )
            .route("/unconfigured", web::post().to(unconfigured));
    }
}

/// Answers Slack itself: the `url_verification` challenge, or a slash command's reply.
async fn slack_command(slack: Verified<SlackVerifier>) -> HttpResponse {
    if slack.kind() == Some("url_verification") {
        return HttpResponse::Ok().json(json!({ "challenge": slack.event()["challenge"] }));
    }
    let text = slack.event()["text"].as_str().unwrap_or_default();
    HttpResponse::Ok().json(json!({
        "text": format!("you said {text}"),
        "command": slack.event()["command"],
        "provider": slack.provider(),
        "timestamp": slack.verification().timestamp,
    }))
}

/// Uses the extractor without registering its endpoint.
async fn unconfigured(_github: Verified<GithubVerifier>) -> HttpResponse {
    HttpResponse::Ok().finish()
}
