//! Any text a client can send on `/_event`: parsed into a frame or refused with a code,
//! never a panic; what parses is within the protocol's bounds, and its text form reads back
//! as itself (but for a payload's floats: serde_json's default float parsing is not exact,
//! so the payload is only required to read back).
#![no_main]

use duet_state::wire::{ClientMessage, MAX_PATH, MAX_SEQ, parse_client_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(message) = parse_client_message(text) else {
        return;
    };
    match &message {
        ClientMessage::Hello { route, acked, .. } => {
            assert!(route.path.len() <= MAX_PATH && route.path.starts_with('/'));
            assert!(acked.is_none_or(|a| a <= MAX_SEQ));
        }
        ClientMessage::Event { seq, acked, .. } => {
            assert!((1..=MAX_SEQ).contains(seq));
            assert!(acked.is_none_or(|a| a <= MAX_SEQ));
        }
        ClientMessage::Navigate { seq, route, .. } => {
            assert!((1..=MAX_SEQ).contains(seq));
            assert!(route.path.len() <= MAX_PATH);
        }
    }
    let again = serde_json::to_string(&message).expect("a frame serializes");
    let reread = parse_client_message(&again).expect("its own text parses");
    assert_eq!(without_payload(reread), without_payload(message));
});

fn without_payload(message: ClientMessage) -> ClientMessage {
    match message {
        ClientMessage::Event {
            seq,
            acked,
            state,
            handler,
            ..
        } => ClientMessage::Event {
            seq,
            acked,
            state,
            handler,
            payload: serde_json::Value::Null,
        },
        other => other,
    }
}
