//! Logs: the subscriber (`DUET_LOG_FORMAT`), and one line per HTTP request with its request
//! id, which every line logged while serving that request carries (the root span of
//! tracing-actix-web).

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use duet_auth::Identity;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// The header a request id is taken from (when well-formed) and returned in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The longest request id taken from a request.
const MAX_REQUEST_ID: usize = 64;
/// Longer error messages are cut to this many characters in the request's line.
const MAX_ERROR: usize = 160;

/// `DUET_LOG_FORMAT`: how log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines; coloured only when standard error is a terminal.
    Pretty,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`, the fields, and
    /// the request's `span` (`request_id`).
    Json,
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), `format` writes.
pub(crate) fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The request's id: its `X-Request-Id` when well-formed (1 to 64 letters, digits, `-`, `_`,
/// `.`, `:`), else generated (a UUID). Handlers may extract it from the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    fn of(req: &ServiceRequest) -> RequestId {
        let given = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|id| well_formed(id));
        match given {
            Some(id) => RequestId(id.to_owned()),
            None => RequestId(match req.extensions().get::<tracing_actix_web::RequestId>() {
                Some(generated) => generated.to_string(),
                None => uuid_like(),
            }),
        }
    }
}

fn well_formed(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A random id, when tracing-actix-web did not make one.
fn uuid_like() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

#[derive(Clone, Copy)]
struct Started(Instant);

/// The root span of every request (`request{request_id=…}`); [`respond`] writes its line.
pub(crate) struct RequestLog;

impl RootSpanBuilder for RequestLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = RequestId::of(request);
        let span = tracing::info_span!("request", request_id = %id.0);
        let mut extensions = request.extensions_mut();
        extensions.insert(id);
        extensions.insert(Started(Instant::now()));
        span
    }

    fn on_request_end<B: MessageBody>(_span: Span, _outcome: &Result<ServiceResponse<B>, Error>) {}
}

/// Middleware just inside the root span: writes the request's line (method, route pattern,
/// path, status, duration, user, client address) and returns the request id in `X-Request-Id`, also on an
/// error that became no response yet (a session store that failed).
pub(crate) async fn respond(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // Cheap copies (the URI is reference-counted): a clone of the request itself would
    // keep the router from recording its match.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let client = duet_auth::Client::of(req.request())
        .address
        .map_or_else(|| "unknown".to_owned(), |a| a.to_string());
    let (id, started) = {
        let extensions = req.extensions();
        (
            extensions.get::<RequestId>().cloned(),
            extensions.get::<Started>().copied(),
        )
    };
    let header = id.and_then(|id| HeaderValue::from_str(&id.0).ok());
    let elapsed = || started.map(|s| s.0.elapsed()).unwrap_or_default();
    match next.call(req).await {
        Ok(mut response) => {
            let req = response.request();
            let route = req.match_pattern();
            let user = user_of(req.extensions().get::<Identity>());
            let line = Line {
                method: method.as_str(),
                route: route.as_deref().unwrap_or("*"),
                path: uri.path(),
                status: response.status().as_u16(),
                duration: elapsed(),
                user: &user,
                client: &client,
            };
            line.write(response.response().error());
            if let Some(value) = header {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Ok(response)
        }
        Err(error) => {
            let mut response = error.error_response();
            let line = Line {
                method: method.as_str(),
                route: "*",
                path: uri.path(),
                status: response.status().as_u16(),
                duration: elapsed(),
                user: "unknown",
                client: &client,
            };
            line.write(Some(&error));
            if let Some(value) = header {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Err(InternalError::from_response(short(&error), response).into())
        }
    }
}

/// Who asked: the user's id, `anonymous`, or `unknown` (the session could not be read, or
/// the request was refused before anyone was identified).
fn user_of(identity: Option<&Identity>) -> String {
    match identity {
        Some(Identity::Session { user_id, .. }) => user_id.to_string(),
        Some(Identity::Token(user)) => user.id.to_string(),
        Some(Identity::Anonymous) => "anonymous".to_owned(),
        Some(Identity::Unavailable) | None => "unknown".to_owned(),
    }
}

/// One request's line.
struct Line<'a> {
    method: &'a str,
    route: &'a str,
    path: &'a str,
    status: u16,
    duration: std::time::Duration,
    user: &'a str,
    /// The client's address ([`duet_auth::Client`]: behind a trusted proxy, the one it
    /// forwarded).
    client: &'a str,
}

impl Line<'_> {
    /// INFO, with the error's message when the response is one; ERROR for a 5xx. Counted
    /// in the metrics too.
    fn write(&self, error: Option<&Error>) {
        let Line {
            method,
            route,
            path,
            status,
            duration,
            user,
            client,
        } = *self;
        crate::metrics::record_request(method, route, status, duration);
        let duration_ms = duration.as_secs_f64() * 1000.0;
        match error {
            Some(error) if status >= 500 => tracing::error!(
                target: "duet::http", method, route, path, status, duration_ms, user, client, error = %short(error), "request"
            ),
            Some(error) => tracing::info!(
                target: "duet::http", method, route, path, status, duration_ms, user, client, error = %short(error), "request"
            ),
            None => {
                tracing::info!(target: "duet::http", method, route, path, status, duration_ms, user, client, "request");
            }
        }
    }
}

/// An error's message on one line, at most [`MAX_ERROR`] characters.
fn short(error: &Error) -> String {
    let message = error.to_string().replace('\n', " ");
    match message.char_indices().nth(MAX_ERROR) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_taken_only_when_well_formed() {
        assert!(well_formed("abc-123_X.y:z"));
        assert!(well_formed(&"a".repeat(64)));
        assert!(!well_formed(&"a".repeat(65)));
        assert!(!well_formed(""));
        assert!(!well_formed("a b"));
        assert!(!well_formed("<script>"));
        assert_eq!(uuid_like().len(), 32);
    }
}
