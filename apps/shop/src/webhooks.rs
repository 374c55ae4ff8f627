//! The shop's webhooks: Stripe marks orders paid; GitHub and Standard Webhooks deliveries
//! are verified and recorded, to show those schemes end to end.

use duet::prelude::*;
use duet::webhooks::actix::{HandlerError, handler};
use duet::webhooks::{GithubVerifier, StandardWebhooksVerifier, StripeVerifier, WebhookVerifier};
use duet::{clap, tracing};

use crate::orders::Order;

/// The shop's own settings: its webhook signing secrets. A missing one disables its
/// endpoint (404).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookSecrets {
    /// Stripe's endpoint secret (`whsec_…`): enables /webhooks/stripe/.
    #[arg(
        long = "stripe-webhook-secret",
        env = "STRIPE_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub stripe: Option<String>,
    /// The GitHub webhook secret: enables /webhooks/github/.
    #[arg(
        long = "github-webhook-secret",
        env = "GITHUB_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub github: Option<String>,
    /// The Standard Webhooks secret (`whsec_` + base64): enables /webhooks/standard/.
    #[arg(
        long = "standard-webhook-secret",
        env = "STANDARD_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub standard: Option<String>,
}

impl WebhookSecrets {
    /// The variables of the secrets that are unset (their endpoints are disabled).
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("STRIPE_WEBHOOK_SECRET", &self.stripe),
            ("GITHUB_WEBHOOK_SECRET", &self.github),
            ("STANDARD_WEBHOOK_SECRET", &self.standard),
        ]
        .into_iter()
        .filter(|(_, secret)| secret.is_none())
        .map(|(var, _)| var)
        .collect()
    }
}

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
    pub fn new(secrets: &WebhookSecrets) -> Result<Webhooks, duet::Error> {
        fn endpoint<V>(
            var: &str,
            secret: Option<&String>,
            build: impl FnOnce(&str) -> Result<WebhookEndpoint<V>, duet::webhooks::WebhookError>,
        ) -> Result<Option<WebhookEndpoint<V>>, duet::Error> {
            match secret {
                None => {
                    tracing::warn!("{var} is unset: its webhook endpoint is disabled (404)");
                    Ok(None)
                }
                Some(secret) => build(secret).map(Some).map_err(|e| duet::Error::setting(var, e)),
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

    /// Registers the enabled endpoints in the webhooks prefix's `routes`.
    pub fn configure(&self, routes: &mut Routes) {
        if let Some(endpoint) = &self.stripe {
            routes.documented::<__path_stripe, _>(handler(endpoint.clone(), stripe));
        }
        if let Some(endpoint) = &self.github {
            routes.documented::<__path_github, _>(handler(endpoint.clone(), github));
        }
        if let Some(endpoint) = &self.standard {
            routes.documented::<__path_standard, _>(handler(endpoint.clone(), standard));
        }
    }
}

/// Stripe: `checkout.session.completed` marks the order named by `client_reference_id` paid.
#[utoipa::path(
    post,
    path = "/stripe/",
    tag = "webhooks",
    security(()),
    request_body(content = Object, description = "A Stripe event, signed (`Stripe-Signature`)."),
    responses(
        (status = 200, description = "Handled, or already handled.", body = ref("#/components/schemas/Detail")),
        (status = 400, description = "A missing or wrong signature, or a malformed event.", body = ref("#/components/schemas/Error")),
        (status = 409, description = "The same delivery is being handled.", body = ref("#/components/schemas/Error")),
    ),
)]
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
        Some(order) => tracing::info!(order = order.id, customer = order.customer.id(), "order paid"),
        None => tracing::warn!(reference, "checkout completed for an unknown order: ignored"),
    }
    Ok(())
}

/// GitHub: verified, recorded (by the glue), logged.
#[utoipa::path(
    post,
    path = "/github/",
    tag = "webhooks",
    security(()),
    request_body(content = Object, description = "A GitHub event, signed (`X-Hub-Signature-256`)."),
    responses(
        (status = 200, description = "Recorded, or already recorded.", body = ref("#/components/schemas/Detail")),
        (status = 400, description = "A missing or wrong signature.", body = ref("#/components/schemas/Error")),
        (status = 409, description = "The same delivery is being handled.", body = ref("#/components/schemas/Error")),
    ),
)]
async fn github(event: Verified<GithubVerifier>, req: HttpRequest) -> WebhookResult {
    record(event, req).await
}

/// Standard Webhooks: verified, recorded (by the glue), logged.
#[utoipa::path(
    post,
    path = "/standard/",
    tag = "webhooks",
    security(()),
    request_body(content = Object, description = "A Standard Webhooks message, signed (`webhook-signature`)."),
    responses(
        (status = 200, description = "Recorded, or already recorded.", body = ref("#/components/schemas/Detail")),
        (status = 400, description = "A missing or wrong signature.", body = ref("#/components/schemas/Error")),
        (status = 409, description = "The same delivery is being handled.", body = ref("#/components/schemas/Error")),
    ),
)]
async fn standard(event: Verified<StandardWebhooksVerifier>, req: HttpRequest) -> WebhookResult {
    record(event, req).await
}

/// What GitHub and Standard Webhooks deliveries do: logged.
async fn record<V: WebhookVerifier>(event: Verified<V>, _: HttpRequest) -> WebhookResult {
    tracing::info!(
        provider = event.provider(),
        kind = event.kind(),
        delivery = event.delivery_id(),
        "webhook received"
    );
    Ok(())
}
