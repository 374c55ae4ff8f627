//! [`WebhookEndpoint`]: one verifier and how its requests are read.

use crate::{
    GithubVerifier, SlackVerifier, StandardWebhooksVerifier, StripeVerifier, WebhookError, WebhookVerifier, github,
};

/// `application/json`.
pub const JSON: &str = "application/json";
/// `application/x-www-form-urlencoded`, as Slack's slash commands and interactivity send.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The default [`WebhookEndpoint::with_body_limit`]: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default [`WebhookEndpoint::with_stale_after`], in seconds: five minutes.
pub const DEFAULT_STALE_AFTER_SECS: i64 = 300;

/// Where a delivery's idempotency key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryId {
    /// [`Verification::delivery_id`](crate::Verification::delivery_id): the header the
    /// scheme names (GitHub's `X-GitHub-Delivery`, Standard Webhooks' `webhook-id`, a
    /// generic verifier's `with_delivery_id_header`). A request without it is refused as an
    /// invalid payload.
    Header,
    /// A top-level field of the JSON body, a string or a number: Stripe's event `"id"`. A
    /// body without it is refused as an invalid payload.
    JsonField(&'static str),
    /// None: requests are not deduplicated, and the handler runs for every verified request.
    /// Replays are then bounded only by the scheme's timestamp tolerance, if it signs one.
    None,
}

/// Where [`Verified::kind`](super::Verified::kind), the event's type, comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A top-level string field of the body: Stripe's and Standard Webhooks' `"type"`.
    JsonField(&'static str),
    /// A header: GitHub's `X-GitHub-Event`.
    Header(&'static str),
}

/// One webhook endpoint: a verifier, where the delivery id and the event's kind come from,
/// the accepted content types, the body limit and how long a claim may stay in progress.
///
/// Build one per route with a preset ([`Self::stripe`], [`Self::github`],
/// [`Self::standard`], [`Self::slack`]) or [`Self::new`], then hand it to
/// [`handler`](super::handler) (or register it as `web::Data` for the
/// [`Verified`](super::Verified) extractor). Endpoints are independent values, so one app
/// serves any number of them, of any schemes and secrets.
///
/// ```
/// use duet_webhooks::actix::{DeliveryId, EventKind, WebhookEndpoint};
/// use duet_webhooks::GenericHmacVerifier;
///
/// let stripe = WebhookEndpoint::stripe(["whsec_live"])?
///     .map_verifier(|verifier| verifier.with_tolerance(600));
/// assert_eq!(stripe.provider(), "stripe");
///
/// let verifier = GenericHmacVerifier::new("acme", "X-Acme-Signature", ["s3cret"])?
///     .with_delivery_id_header("X-Acme-Delivery");
/// let acme = WebhookEndpoint::new(verifier, DeliveryId::Header)
///     .with_kind(EventKind::Header("X-Acme-Event"))
///     .with_body_limit(64 * 1024);
/// assert_eq!(acme.body_limit(), 64 * 1024);
/// # Ok::<(), duet_webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WebhookEndpoint<V> {
    verifier: V,
    provider: Option<&'static str>,
    delivery_id: DeliveryId,
    kind: Option<EventKind>,
    content_types: Vec<&'static str>,
    body_limit: usize,
    stale_after: chrono::Duration,
}

impl<V: WebhookVerifier> WebhookEndpoint<V> {
    /// An endpoint verifying with `verifier` and deduplicating on `delivery_id`. It accepts
    /// `application/json` bodies of at most [`DEFAULT_BODY_LIMIT`] bytes, reads no event
    /// kind, and lets a claim stay in progress for [`DEFAULT_STALE_AFTER_SECS`].
    pub fn new(verifier: V, delivery_id: DeliveryId) -> Self {
        WebhookEndpoint {
            verifier,
            provider: None,
            delivery_id,
            kind: None,
            content_types: vec![JSON],
            body_limit: DEFAULT_BODY_LIMIT,
            stale_after: chrono::Duration::seconds(DEFAULT_STALE_AFTER_SECS),
        }
    }

    /// Sets where [`Verified::kind`](super::Verified::kind) comes from.
    #[must_use]
    pub fn with_kind(mut self, kind: EventKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Accepts these media types (compared without parameters such as `charset`); anything
    /// else is refused with 415. An empty list accepts any, or no, `Content-Type`.
    ///
    /// The body is parsed by its own `Content-Type`: `application/json` and `*/*+json` as
    /// JSON (a body that does not parse is an invalid payload),
    /// `application/x-www-form-urlencoded` into a JSON object of strings (the last of
    /// repeated names wins), anything else not at all ([`Verified::event`] is `null`).
    ///
    /// [`Verified::event`]: super::Verified::event
    #[must_use]
    pub fn with_content_types(mut self, types: impl IntoIterator<Item = &'static str>) -> Self {
        self.content_types = types.into_iter().collect();
        self
    }

    /// Refuses bodies longer than `bytes` with 413, before reading further.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long a delivery may stay claimed (its handler running) before a repeat may take it
    /// over: a handler that crashed its process leaves such a claim. Keep it longer than the
    /// slowest handler, or a repeat arriving meanwhile runs the handler a second time.
    #[must_use]
    pub fn with_stale_after(mut self, duration: chrono::Duration) -> Self {
        self.stale_after = duration;
        self
    }

    /// Names the endpoint in the `webhook_deliveries` table (the verifier's
    /// [`provider`](WebhookVerifier::provider) unless set). Give different names to two
    /// endpoints that can receive the same delivery id, such as two Stripe endpoints of one
    /// account, each of which gets every event: under one name, the second would answer
    /// "already processed" without running its handler.
    #[must_use]
    pub fn with_provider(mut self, provider: &'static str) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Changes the verifier, for the settings a preset does not take (a tolerance).
    #[must_use]
    pub fn map_verifier(mut self, f: impl FnOnce(V) -> V) -> Self {
        self.verifier = f(self.verifier);
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &V {
        &self.verifier
    }

    /// The name deliveries are recorded under, and [`Verified::provider`](super::Verified::provider).
    pub fn provider(&self) -> &'static str {
        self.provider.unwrap_or_else(|| self.verifier.provider())
    }

    /// Where the idempotency key comes from.
    pub fn delivery_id(&self) -> DeliveryId {
        self.delivery_id
    }

    /// Where the event's kind comes from, if anywhere.
    pub fn kind(&self) -> Option<EventKind> {
        self.kind
    }

    /// The accepted media types; empty when any is.
    pub fn content_types(&self) -> &[&'static str] {
        &self.content_types
    }

    /// The longest body accepted, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// How long a claim may stay in progress before a repeat takes it over.
    pub fn stale_after(&self) -> chrono::Duration {
        self.stale_after
    }
}

impl WebhookEndpoint<StripeVerifier> {
    /// Stripe: JSON events deduplicated on their `id`, whose kind is their `type` and whose
    /// [`object`](super::Verified::object) is `data.object`. Several secrets during a
    /// rotation.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`], as [`StripeVerifier::new`].
    pub fn stripe<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(Self::new(StripeVerifier::new(secrets)?, DeliveryId::JsonField("id"))
            .with_kind(EventKind::JsonField("type")))
    }
}

impl WebhookEndpoint<GithubVerifier> {
    /// GitHub: JSON deliveries (set the webhook's content type to `application/json`)
    /// deduplicated on `X-GitHub-Delivery`, whose kind is the `X-GitHub-Event` header.
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`], as [`GithubVerifier::new`].
    pub fn github<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(Self::new(GithubVerifier::new(secrets)?, DeliveryId::Header)
            .with_kind(EventKind::Header(github::EVENT_HEADER)))
    }
}

impl WebhookEndpoint<StandardWebhooksVerifier> {
    /// Standard Webhooks (and Svix): JSON messages deduplicated on `webhook-id`, whose kind
    /// is their `type`. Name the sender with
    /// `map_verifier(|v| v.with_provider("clerk"))` or [`Self::with_provider`].
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`], as [`StandardWebhooksVerifier::new`].
    pub fn standard<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(Self::new(StandardWebhooksVerifier::new(secrets)?, DeliveryId::Header)
            .with_kind(EventKind::JsonField("type")))
    }
}

impl WebhookEndpoint<SlackVerifier> {
    /// Slack: JSON (Events API) or form-encoded (slash commands, interactivity) requests,
    /// whose kind is their `type` when they have one.
    ///
    /// **Not deduplicated** ([`DeliveryId::None`]): Slack sends no delivery id in its headers,
    /// and only Events API bodies carry an `event_id`. The signed timestamp bounds replays to
    /// the tolerance (five minutes). An endpoint that receives only Events API callbacks can
    /// deduplicate with `WebhookEndpoint::new(verifier, DeliveryId::JsonField("event_id"))`,
    /// once it has answered Slack's `url_verification` (which has no `event_id`).
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`], as [`SlackVerifier::new`].
    pub fn slack<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Result<Self, WebhookError> {
        Ok(Self::new(SlackVerifier::new(secrets)?, DeliveryId::None)
            .with_kind(EventKind::JsonField("type"))
            .with_content_types([JSON, FORM]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        let stripe = WebhookEndpoint::stripe(["whsec_x"]).unwrap();
        assert_eq!(stripe.delivery_id(), DeliveryId::JsonField("id"));
        assert_eq!(stripe.kind(), Some(EventKind::JsonField("type")));
        assert_eq!(stripe.content_types(), [JSON]);
        assert_eq!(stripe.body_limit(), 1 << 20);
        assert_eq!(stripe.stale_after(), chrono::Duration::minutes(5));
        let github = WebhookEndpoint::github(["s"]).unwrap();
        assert_eq!(github.delivery_id(), DeliveryId::Header);
        assert_eq!(github.kind(), Some(EventKind::Header("X-GitHub-Event")));
        let standard = WebhookEndpoint::standard(["whsec_c2VjcmV0"]).unwrap();
        assert_eq!(standard.provider(), "standard-webhooks");
        assert_eq!(standard.with_provider("clerk").provider(), "clerk");
        let slack = WebhookEndpoint::slack(["s"]).unwrap();
        assert_eq!(slack.delivery_id(), DeliveryId::None);
        assert_eq!(slack.content_types(), [JSON, FORM]);
        assert!(matches!(
            WebhookEndpoint::github([""]),
            Err(WebhookError::InvalidSecret(_))
        ));
    }
}
