//! The shop's webhooks: Stripe marks orders paid; GitHub and Standard Webhooks deliveries
//! are verified and recorded, to show those schemes end to end.

use actix_web::{HttpRequest, web};
use duet_models::Db;
use duet_views::Routes;
use duet_webhooks::actix::{HandlerError, Verified, WebhookEndpoint, WebhookResult, handler};
use duet_webhooks::{GithubVerifier, StandardWebhooksVerifier, StripeVerifier};

use crate::error::ShopError;
use crate::orders::Order;
use crate::settings::WebhookSecrets;

/// The configured endpoints; `None` where the secret is missing (the route is then absent).
#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    stripe: Option<WebhookEndpoint<StripeVerifier>>,
    github: Option<WebhookEndpoint<GithubVerifier>>,
    standard: Option<WebhookEndpoint<StandardWebhooksVerifier>>,
}

impl Webhooks {
    /// Builds the endpoints whose secrets are set; warns about the others. A malformed
    /// secret is a configuration error naming its variable.
    pub fn new(secrets: &WebhookSecrets) -> Result<Webhooks, ShopError> {
        fn endpoint<V>(
            var: &str,
            secret: Option<&String>,
            build: impl FnOnce(&str) -> Result<WebhookEndpoint<V>, duet_webhooks::WebhookError>,
        ) -> Result<Option<WebhookEndpoint<V>>, ShopError> {
            match secret {
                None => {
                    tracing::warn!("{var} is unset: its webhook endpoint is disabled (404)");
                    Ok(None)
                }
                Some(secret) => build(secret).map(Some).map_err(|e| ShopError::config(var, e)),
            }
        }
        Ok(Webhooks {
            stripe: endpoint("STRIPE_WEBHOOK_SECRET", secrets.stripe.as_ref(), |s| {
                WebhookEndpoint::stripe([s])
            })?,
            github: endpoint("GITHUB_WEBHOOK_SECRET", secrets.github.as_ref(), |s| {
                WebhookEndpoint::github([s])
            })?,
            standard: endpoint("STANDARD_WEBHOOK_SECRET", secrets.standard.as_ref(), |s| {
                WebhookEndpoint::standard([s])
            })?,
        })
    }

    /// Registers the enabled endpoints under `/webhooks/`.
    pub fn configure(&self, routes: &mut Routes) {
        if let Some(endpoint) = &self.stripe {
            routes.post("/webhooks/stripe/", handler(endpoint.clone(), stripe));
        }
        if let Some(endpoint) = &self.github {
            routes.post("/webhooks/github/", handler(endpoint.clone(), record::<GithubVerifier>));
        }
        if let Some(endpoint) = &self.standard {
            routes.post(
                "/webhooks/standard/",
                handler(endpoint.clone(), record::<StandardWebhooksVerifier>),
            );
        }
    }
}

/// Stripe: `checkout.session.completed` marks the order named by `client_reference_id` paid.
async fn stripe(event: Verified<StripeVerifier>, req: HttpRequest) -> WebhookResult {
    let kind = event.kind().unwrap_or_default();
    if kind != "checkout.session.completed" {
        tracing::info!(kind, "stripe event ignored");
        return Ok(());
    }
    let Some(reference) = event.object().and_then(|o| o["client_reference_id"].as_str()) else {
        tracing::warn!(
            delivery = event.delivery_id(),
            "checkout.session.completed without client_reference_id: ignored"
        );
        return Ok(());
    };
    let db = req
        .app_data::<web::Data<Db>>()
        .ok_or_else(|| HandlerError::new("no database"))?;
    match Order::mark_paid(db, reference).await? {
        Some(order) => {
            tracing::info!(order = order.id, customer = order.customer_id, "order paid");
            crate::api::publish_order_change(&req, &order);
        }
        None => tracing::warn!(reference, "checkout completed for an unknown order: ignored"),
    }
    Ok(())
}

/// GitHub and Standard Webhooks: verified, recorded (by the glue), logged.
async fn record<V: duet_webhooks::WebhookVerifier>(event: Verified<V>, _: HttpRequest) -> WebhookResult {
    tracing::info!(
        provider = event.provider(),
        kind = event.kind(),
        delivery = event.delivery_id(),
        "webhook received"
    );
    Ok(())
}
