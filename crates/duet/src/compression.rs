//! Response compression: brotli or gzip, as the client accepts, for textual responses of
//! 1 KiB or more. Embedded assets arrive compressed already (once, at start-up:
//! [`duet_mount::compress`]) and are left alone, as are small bodies, other types, streams
//! (an event stream would have its events held back) and WebSocket upgrades.
//!
//! A body in memory (JSON, HTML) is compressed in place, on the worker, at a fast setting:
//! actix-http's own encoder hands every chunk over 1 KiB to the blocking thread pool, which
//! cut `GET /api/orders/` to a third of its rate (docs/benchmarks.md).

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ResponseHead, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, VARY};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use duet_mount::compress::{Effort, MIN_COMPRESSED_LEN, compressible, encode, negotiate};

/// Middleware: compresses the response as negotiated with the request's `Accept-Encoding`.
pub(crate) async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let accepted = negotiate(&req);
    let response = next.call(req).await?;
    Ok(response.map_body(move |head, body| {
        if !compressible_response(head) {
            return EitherBody::left(body);
        }
        let bytes = match body.try_into_bytes() {
            Ok(bytes) => bytes,
            Err(stream) => return EitherBody::left(stream),
        };
        // Another client may get it compressed (or not): caches must tell them apart.
        let varies = head
            .headers()
            .get_all(VARY)
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"accept-encoding"));
        if !varies {
            head.headers_mut()
                .append(VARY, HeaderValue::from_static("accept-encoding"));
        }
        let encoded = (bytes.len() >= MIN_COMPRESSED_LEN)
            .then(|| encode(&bytes, accepted, Effort::Fast))
            .flatten()
            .filter(|encoded| encoded.len() < bytes.len());
        let Some(encoded) = encoded else {
            return EitherBody::right(bytes);
        };
        let headers = head.headers_mut();
        headers.insert(CONTENT_ENCODING, accepted.to_header_value());
        // The length is the compressed body's, set as the response is written.
        headers.remove(CONTENT_LENGTH);
        EitherBody::right(Bytes::from(encoded))
    }))
}

/// Whether `head` is of a response this middleware compresses: textual, not encoded already,
/// not an upgrade, not an event stream.
fn compressible_response(head: &ResponseHead) -> bool {
    !head.headers().contains_key(CONTENT_ENCODING)
        && head.status != StatusCode::SWITCHING_PROTOCOLS
        && head
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|content_type| {
                let essence = content_type.split(';').next().unwrap_or_default().trim();
                compressible(essence) && essence != "text/event-stream"
            })
}
