//! `GET /admin/{app}/{model}/live/`: a Server-Sent Events stream of the model's changes, from
//! the broadcaster (so writes from the API, webhooks, pages, other staff and other instances
//! all count). The change list's script refetches its rows when one arrives.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use duet_models::PermissionAction;
use duet_state::Broadcaster;
use tokio::sync::broadcast::error::RecvError;

use crate::AdminError;
use crate::context::Cx;

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) async fn stream(cx: Cx) -> Result<HttpResponse, AdminError> {
    let staff = cx.staff().await?;
    let entry = cx.entry(&staff, PermissionAction::View)?;
    let broadcaster = cx
        .req
        .app_data::<web::Data<Broadcaster>>()
        .ok_or_else(|| AdminError::NotFound("Live updates are not served here.".into()))?;
    let topic = format!("model:{}", entry.name);
    let receiver = broadcaster.listen();
    let events = futures_util::stream::unfold((receiver, topic, true), |(mut receiver, topic, first)| async move {
        if first {
            return Some((
                Ok::<_, actix_web::Error>(Bytes::from_static(b": live\n\n")),
                (receiver, topic, false),
            ));
        }
        loop {
            let frame = match tokio::time::timeout(KEEP_ALIVE, receiver.recv()).await {
                Err(_) => Bytes::from_static(b": keep-alive\n\n"),
                Ok(Ok(delivered)) if delivered.topic == topic => {
                    Bytes::from(format!("event: change\ndata: {}\n\n", delivered.payload))
                }
                Ok(Ok(_)) => continue,
                // Missed some: a change all the same, so the list refetches.
                Ok(Err(RecvError::Lagged(_))) => Bytes::from_static(b"event: change\ndata: {}\n\n"),
                Ok(Err(RecvError::Closed)) => return None,
            };
            return Some((Ok(frame), (receiver, topic, false)));
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events))
}
