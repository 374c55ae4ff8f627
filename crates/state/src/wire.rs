//! The protocol's frames: one closed enum per direction (docs/protocol.md, version 1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::delta::VarOp;
use duet_models::ValidationErrors;

use crate::{ClientAction, EventError, Route};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest `seq` (and `acked`) a frame may carry: 2^53 − 1, the largest integer a
/// JavaScript number holds exactly. A frame above it is `bad_message`, so no single frame
/// can use up a tab's sequence (see also [`MAX_SEQ_STEP`]).
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// How far ahead of the last applied `seq` an event may jump: 2^20. Further is
/// `out_of_order` and applies nothing, so reaching [`MAX_SEQ`] takes billions of frames.
pub const MAX_SEQ_STEP: u64 = 1 << 20;

/// The longest `route.path` accepted, in bytes; longer is `bad_message`.
pub const MAX_PATH: usize = 2048;

/// Why a frame or an event failed: the `code` of an `error` frame (docs/protocol.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame is not JSON, not an object, or binary.
    BadFrame,
    /// `type` is not one of the client types.
    UnknownType,
    /// A known type with missing, mistyped or out-of-range fields.
    BadMessage,
    /// An `event`/`navigate` before `hello`, or for a tab that expired or belongs to someone
    /// else: send `hello` again.
    NotHydrated,
    /// No such state.
    UnknownState,
    /// No such handler on the state.
    UnknownHandler,
    /// The payload does not fit the handler's arguments.
    BadPayload,
    /// The state or handler needs a logged-in user.
    LoginRequired,
    /// A permission refused it.
    Forbidden,
    /// The input did not validate (`fields` says why).
    Invalid,
    /// The row (or other thing) the handler looked for does not exist or is not the user's.
    NotFound,
    /// The handler returned an error or panicked.
    HandlerFailed,
    /// A `seq` at or below one already applied whose reply is forgotten, or too far ahead.
    OutOfOrder,
    /// The tab's state would grow past its size limit; nothing was stored.
    TooLarge,
    /// Too many new tabs from this connection or address; `hello` again later.
    RateLimited,
    /// The state store or database cannot be reached, or the event outlived its tab's lock
    /// (nothing of it was stored): retry later.
    Unavailable,
}

impl ErrorCode {
    /// Every code, in docs/protocol.md's order.
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::BadFrame,
        ErrorCode::UnknownType,
        ErrorCode::BadMessage,
        ErrorCode::NotHydrated,
        ErrorCode::UnknownState,
        ErrorCode::UnknownHandler,
        ErrorCode::BadPayload,
        ErrorCode::LoginRequired,
        ErrorCode::Forbidden,
        ErrorCode::Invalid,
        ErrorCode::NotFound,
        ErrorCode::HandlerFailed,
        ErrorCode::OutOfOrder,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
    ];

    /// The code as sent: `"not_hydrated"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::NotHydrated => "not_hydrated",
            ErrorCode::UnknownState => "unknown_state",
            ErrorCode::UnknownHandler => "unknown_handler",
            ErrorCode::BadPayload => "bad_payload",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Invalid => "invalid",
            ErrorCode::NotFound => "not_found",
            ErrorCode::HandlerFailed => "handler_failed",
            ErrorCode::OutOfOrder => "out_of_order",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the client says it is: a path (the server resolves route parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRoute {
    /// The page's path, e.g. `/orders/7`.
    pub path: String,
}

/// A frame from the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Connect or reconnect a tab.
    Hello {
        /// The protocol version the client speaks.
        protocol: u32,
        /// The tab's token, or `None` for a new tab.
        #[serde(default)]
        tab: Option<String>,
        /// The page the tab shows.
        route: ClientRoute,
        /// The last `seq` whose reply the client has processed.
        #[serde(default)]
        acked: Option<u64>,
        /// The hash of the app spec the client renders with (from its URL).
        #[serde(default)]
        spec: Option<String>,
    },
    /// Run `state.handler(payload)`.
    Event {
        /// The client's sequence number for this tab.
        seq: u64,
        /// The last `seq` whose reply the client has processed (the server forgets older
        /// replies).
        #[serde(default)]
        acked: Option<u64>,
        /// The state's name.
        state: String,
        /// The handler's name.
        handler: String,
        /// The handler's arguments.
        #[serde(default)]
        payload: Value,
    },
    /// The tab moved to another page.
    Navigate {
        /// The client's sequence number for this tab.
        seq: u64,
        /// As in `Event`.
        #[serde(default)]
        acked: Option<u64>,
        /// The new page.
        route: ClientRoute,
    },
}

/// Every var change of one frame: state name → var name → operation.
pub type Changes = BTreeMap<String, BTreeMap<String, VarOp>>;

/// A frame to the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The tab's full state, after `hello`.
    Hydrate {
        /// The protocol version.
        protocol: u32,
        /// The tab's token (keep it for reconnects).
        tab: String,
        /// Every state's client-visible vars.
        states: BTreeMap<String, Map<String, Value>>,
        /// The page and its parameters.
        router: Route,
        /// The last `seq` applied for this tab.
        seq: u64,
        /// The hash of the app spec this server renders with; a client whose own differs
        /// (the app was deployed since it loaded) reloads the page, keeping its tab.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spec: Option<String>,
        /// Every stream the tab's states have: state → var → `{"op":"stream","ops":[…]}`,
        /// starting with a `reset` (the browser renders the page afresh, so nothing is shown
        /// twice), then what the page's `on_load` handlers streamed.
        #[serde(default, skip_serializing_if = "Changes::is_empty")]
        streams: Changes,
    },
    /// What changed: the answer to event `seq`, or a push when `seq` is absent.
    Delta {
        /// The acknowledged event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// The changes.
        changes: Changes,
        /// The page, only when it changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        router: Option<Route>,
        /// Things for the browser to do after applying the changes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<ClientAction>,
    },
    /// An event (or frame) failed; nothing changed.
    Error {
        /// The event it answers, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        /// A stable code.
        code: ErrorCode,
        /// A message safe to show.
        message: String,
        /// Per-field validation errors (code `invalid`): `{"total": ["…"], "non_field_errors": […]}`.
        #[serde(default, skip_serializing_if = "ValidationErrors::is_empty")]
        fields: ValidationErrors,
    },
    /// The server is about to close the socket.
    Bye {
        /// The close code.
        code: u16,
        /// Why.
        message: String,
    },
}

impl ServerMessage {
    /// An error frame.
    pub fn error(seq: Option<u64>, code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            seq,
            code,
            message: message.into(),
            fields: ValidationErrors::new(),
        }
    }

    /// The error frame for a failed event.
    pub fn event_error(seq: Option<u64>, error: EventError) -> ServerMessage {
        ServerMessage::Error {
            seq,
            code: error.code,
            message: error.message,
            fields: error.fields,
        }
    }

    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        // Serializing these types cannot fail: maps have string keys and values are JSON.
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"type":"error","code":"handler_failed","message":"encoding failed"}"#.into())
    }
}

/// Reads a client frame, or says why it cannot be read: the error code and a message.
/// Besides the shape, it checks the bounds: `seq` from 1 to [`MAX_SEQ`], `acked` at most
/// [`MAX_SEQ`], `route.path` at most [`MAX_PATH`] bytes and starting with `/`.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, (ErrorCode, String)> {
    let value: Value = serde_json::from_str(text).map_err(|e| (ErrorCode::BadFrame, format!("not JSON: {e}")))?;
    let Value::Object(object) = &value else {
        return Err((ErrorCode::BadFrame, "a frame is a JSON object".into()));
    };
    match object.get("type").and_then(Value::as_str) {
        Some("hello" | "event" | "navigate") => {}
        Some(other) => return Err((ErrorCode::UnknownType, format!("unknown message type {other:?}"))),
        None => return Err((ErrorCode::BadMessage, "a frame needs a \"type\"".into())),
    }
    let message: ClientMessage = serde_json::from_value(value).map_err(|e| (ErrorCode::BadMessage, e.to_string()))?;
    check_bounds(&message).map_err(|problem| (ErrorCode::BadMessage, problem))?;
    Ok(message)
}

fn check_bounds(message: &ClientMessage) -> Result<(), String> {
    let (seq, acked, route) = match message {
        ClientMessage::Hello { acked, route, .. } => (None, *acked, Some(route)),
        ClientMessage::Event { seq, acked, .. } => (Some(*seq), *acked, None),
        ClientMessage::Navigate { seq, acked, route } => (Some(*seq), *acked, Some(route)),
    };
    if let Some(seq) = seq
        && !(1..=MAX_SEQ).contains(&seq)
    {
        return Err(format!("seq must be from 1 to {MAX_SEQ}, got {seq}"));
    }
    if let Some(acked) = acked
        && acked > MAX_SEQ
    {
        return Err(format!("acked must be at most {MAX_SEQ}, got {acked}"));
    }
    if let Some(route) = route {
        if route.path.len() > MAX_PATH {
            return Err(format!(
                "route.path is {} bytes long; at most {MAX_PATH} are accepted",
                route.path.len()
            ));
        }
        if !route.path.starts_with('/') {
            return Err("route.path must start with /".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_parse_or_say_why() {
        let hello = parse_client_message(r#"{"type":"hello","protocol":1,"tab":null,"route":{"path":"/"}}"#).unwrap();
        assert_eq!(
            hello,
            ClientMessage::Hello {
                protocol: 1,
                tab: None,
                route: ClientRoute { path: "/".into() },
                acked: None,
                spec: None,
            }
        );
        let event =
            parse_client_message(r#"{"type":"event","seq":3,"state":"counter","handler":"increment"}"#).unwrap();
        assert!(matches!(
            event,
            ClientMessage::Event {
                seq: 3,
                payload: Value::Null,
                ..
            }
        ));
        let too_long = format!(
            r#"{{"type":"hello","protocol":1,"route":{{"path":"/{}"}}}}"#,
            "a".repeat(MAX_PATH)
        );
        for (text, code) in [
            ("{oops", ErrorCode::BadFrame),
            ("[1]", ErrorCode::BadFrame),
            (r#"{"type":"dance"}"#, ErrorCode::UnknownType),
            (r#"{"seq":1}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"event","seq":"one","state":"s","handler":"h"}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"event","seq":1,"state":"s","handler":"h","extra":1}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"event","seq":0,"state":"s","handler":"h"}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"event","seq":9007199254740992,"state":"s","handler":"h"}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"event","seq":18446744073709551615,"state":"s","handler":"h"}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"navigate","seq":2,"acked":9007199254740992,"route":{"path":"/"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"hello","protocol":1,"route":{"path":"x"}}"#,
                ErrorCode::BadMessage,
            ),
            (&too_long, ErrorCode::BadMessage),
        ] {
            assert_eq!(parse_client_message(text).unwrap_err().0, code, "{text}");
        }
        let highest = format!(r#"{{"type":"event","seq":{MAX_SEQ},"state":"s","handler":"h"}}"#);
        assert!(parse_client_message(&highest).is_ok(), "the ceiling itself is accepted");
    }

    #[test]
    fn server_frames_have_the_documented_shape() {
        let delta = ServerMessage::Delta {
            seq: Some(7),
            changes: [(
                "counter".to_owned(),
                [("count".to_owned(), VarOp::Set { value: json!(3) })].into(),
            )]
            .into(),
            router: None,
            actions: vec![],
        };
        assert_eq!(
            serde_json::to_value(&delta).unwrap(),
            json!({"type":"delta","seq":7,"changes":{"counter":{"count":{"op":"set","value":3}}}})
        );
        let error = ServerMessage::error(Some(2), ErrorCode::BadPayload, "bad payload: expected i64");
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"type":"error","seq":2,"code":"bad_payload","message":"bad payload: expected i64"})
        );
    }
}

#[cfg(test)]
mod codes {
    use super::ErrorCode;

    #[test]
    fn codes_are_sent_as_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(serde_json::from_value::<ErrorCode>(code.as_str().into()).unwrap(), code);
        }
    }

    /// The table of error codes in docs/protocol.md lists exactly these, in this order.
    #[test]
    fn the_protocol_documents_every_code() {
        let doc = include_str!("../../../docs/protocol.md");
        let table = doc
            .split("Error codes:")
            .nth(1)
            .expect("docs/protocol.md has an error code table");
        let documented: Vec<&str> = table
            .lines()
            .skip_while(|line| !line.starts_with("| `"))
            .take_while(|line| line.starts_with('|'))
            .flat_map(|line| {
                let first = line.split('|').nth(1).unwrap_or_default();
                first.split('`').skip(1).step_by(2).collect::<Vec<_>>()
            })
            .collect();
        let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(documented, ours);
    }
}
