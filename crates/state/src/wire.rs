//! The protocol's frames: one closed enum per direction (docs/protocol.md, version 1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::delta::VarOp;
use duet_models::ValidationErrors;

use crate::{ClientAction, EventError, Route};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

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
        code: String,
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
    pub fn error(seq: Option<u64>, code: &str, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            seq,
            code: code.to_owned(),
            message: message.into(),
            fields: ValidationErrors::new(),
        }
    }

    /// The error frame for a failed event.
    pub fn event_error(seq: Option<u64>, error: EventError) -> ServerMessage {
        ServerMessage::Error {
            seq,
            code: error.code.to_owned(),
            message: error.message,
            fields: error.fields,
        }
    }

    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        // Serializing these types cannot fail: maps have string keys and values are JSON.
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"type":"error","code":"internal","message":"encoding failed"}"#.into())
    }
}

/// Why a client frame could not be read, as an error code and message.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, (&'static str, String)> {
    let value: Value = serde_json::from_str(text).map_err(|e| ("bad_frame", format!("not JSON: {e}")))?;
    let Value::Object(object) = &value else {
        return Err(("bad_frame", "a frame is a JSON object".into()));
    };
    match object.get("type").and_then(Value::as_str) {
        Some("hello" | "event" | "navigate") => {}
        Some(other) => return Err(("unknown_type", format!("unknown message type {other:?}"))),
        None => return Err(("bad_message", "a frame needs a \"type\"".into())),
    }
    serde_json::from_value(value).map_err(|e| ("bad_message", e.to_string()))
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
                acked: None
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
        for (text, code) in [
            ("{oops", "bad_frame"),
            ("[1]", "bad_frame"),
            (r#"{"type":"dance"}"#, "unknown_type"),
            (r#"{"seq":1}"#, "bad_message"),
            (
                r#"{"type":"event","seq":"one","state":"s","handler":"h"}"#,
                "bad_message",
            ),
            (
                r#"{"type":"event","seq":1,"state":"s","handler":"h","extra":1}"#,
                "bad_message",
            ),
        ] {
            assert_eq!(parse_client_message(text).unwrap_err().0, code, "{text}");
        }
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
        let error = ServerMessage::error(Some(2), "bad_payload", "bad payload: expected i64");
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"type":"error","seq":2,"code":"bad_payload","message":"bad payload: expected i64"})
        );
    }
}
