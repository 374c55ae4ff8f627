//! Response compression: brotli or gzip, as the client accepts, for textual responses of
//! 1 KiB or more. Embedded assets arrive compressed already (once, at start-up:
//! [`duet_mount::compress`]) and are left alone, as are small bodies, other types and
//! WebSocket upgrades.

use actix_web::Error;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_TYPE, ContentEncoding, HeaderValue, VARY};
use actix_web::middleware::Next;
use duet_mount::compress::{MIN_COMPRESSED_LEN, compressible, negotiate};

/// Whether a dynamic response of `content_type` is compressed here: textual, except JSON
/// and event streams. JSON stays as it is because actix-http's encoder hands every body over
/// 1 KiB to the blocking pool, which cut `GET /api/orders/` to a third of its rate
/// (docs/benchmarks.md); an event stream because compression would hold its events back.
fn worth_compressing_here(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    compressible(essence) && !essence.ends_with("json") && essence != "text/event-stream"
}

/// Middleware: compresses the response as negotiated with the request's `Accept-Encoding`.
pub(crate) async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let accepted = negotiate(&req);
    let response = next.call(req).await?;
    Ok(response.map_body(move |head, body| {
        let textual = !head.headers().contains_key(CONTENT_ENCODING)
            && head.status != StatusCode::SWITCHING_PROTOCOLS
            && head
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(worth_compressing_here);
        let large = match body.size() {
            BodySize::Sized(len) => len >= MIN_COMPRESSED_LEN as u64,
            BodySize::Stream => true,
            BodySize::None => false,
        };
        let encoding = if textual && large {
            accepted
        } else {
            ContentEncoding::Identity
        };
        if textual && encoding == ContentEncoding::Identity {
            // Another client may get it compressed: caches must tell them apart.
            head.headers_mut()
                .append(VARY, HeaderValue::from_static("accept-encoding"));
        }
        actix_http::encoding::Encoder::response(encoding, head, body)
    }))
}
