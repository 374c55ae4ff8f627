//! The inbox webhook: any script or service that knows the secret posts a note for a user,
//! signed with HMAC-SHA256, and that user's open `/notes` tabs show it at once.

use duet::clap;
use duet::prelude::*;
use duet::webhooks::GenericHmacVerifier;
use duet::webhooks::actix::{DeliveryId, handler};

use crate::notes::Note;

/// The app's own setting, listed by `notes --help` beside the framework's.
#[derive(Debug, clap::Args)]
pub struct InboxSecret {
    /// The secret inbox deliveries are signed with; unset disables /webhooks/inbox/.
    #[arg(long = "inbox-secret", env = "NOTES_INBOX_SECRET", hide_env_values = true)]
    secret: Option<String>,
}

/// The `/webhooks` prefix, serving `POST /webhooks/inbox/` when the secret is set. Each
/// delivery carries `X-Inbox-Signature: sha256=<hex HMAC of the body>` and an
/// `X-Inbox-Delivery` id (a delivery sent twice is handled once).
pub fn enable(app: App, settings: &InboxSecret) -> Result<App, duet::Error> {
    let inbox = match &settings.secret {
        Some(secret) => {
            let verifier = GenericHmacVerifier::new("inbox", "X-Inbox-Signature", [secret])
                .map_err(|e| duet::Error::setting("NOTES_INBOX_SECRET", e))?
                .with_prefix("sha256=")
                .with_delivery_id_header("X-Inbox-Delivery");
            Some(handler(WebhookEndpoint::new(verifier, DeliveryId::Header), deliver))
        }
        None => {
            duet::tracing::warn!("NOTES_INBOX_SECRET is unset: /webhooks/inbox/ is disabled");
            None
        }
    };
    Ok(app.webhooks("/webhooks", move |routes| {
        if let Some(inbox) = &inbox {
            routes.documented::<__path_deliver, _>(inbox.clone());
        }
    }))
}

/// `{"username": "ada", "title": "…", "body": "…"}` becomes one of ada's notes. A delivery
/// for an unknown user, or with an invalid note, is acknowledged and ignored (a retry would
/// not fix it).
#[utoipa::path(
    post,
    path = "/inbox/",
    security(()),
    request_body(content = Object, description = "A note for a user, signed (`X-Inbox-Signature`)."),
    responses(
        (status = 200, description = "Handled, or already handled.", body = ref("#/components/schemas/Detail")),
        (status = 400, description = "A missing or wrong signature.", body = ref("#/components/schemas/Error")),
    ),
)]
async fn deliver(delivery: Verified<GenericHmacVerifier>, req: HttpRequest) -> WebhookResult {
    let db = req.app_data::<web::Data<Db>>().expect("the app serves its database");
    let fields = delivery.event().as_object().cloned().unwrap_or_default();
    let username = fields
        .get("username")
        .and_then(|name| name.as_str())
        .unwrap_or_default();
    let user = match User::by_username(db, username).await {
        Ok(user) => user,
        Err(duet::models::Error::NotFound) => {
            duet::tracing::warn!(username, "inbox delivery for an unknown user: ignored");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    match Note::validate_new(Input::new(fields, false), NewOwner::User(user.id)) {
        Ok(new) => {
            Note::create(db, new).await?;
        }
        Err(errors) => duet::tracing::warn!(?errors, "inbox delivery with an invalid note: ignored"),
    }
    Ok(())
}
