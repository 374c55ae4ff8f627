//! Streams: list vars whose items the server does not keep (Phoenix LiveView's streams).
//!
//! A [`Stream<T>`] field is a var of its state like any other for the UI (a `foreach` over
//! it is checked at start-up), but its items live only in the browser's DOM. A handler
//! queues operations on it — [`append`](Stream::append), [`prepend`](Stream::prepend),
//! [`insert`](Stream::insert), [`update`](Stream::update), [`delete`](Stream::delete),
//! [`reset`](Stream::reset), [`limit`](Stream::limit) — and they go out once, in the
//! event's delta frame, as one [`VarOp::Stream`](crate::VarOp::Stream). The stored state
//! holds `[]` in its place: a tab showing 10,000 streamed rows costs the server (and Redis)
//! what one showing ten does.
//!
//! Items are identified by the state's list key (`id` unless `#[state(key = "…")]` says
//! otherwise): inserting an item whose key is shown replaces it in place, so resending one
//! never duplicates it.
//!
//! ```
//! use duet_state::{EventCtx, EventResult, State, Stream, events};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize)]
//! struct Message { id: i64, text: String }
//!
//! #[derive(State, Default, Serialize, Deserialize)]
//! struct ChatState {
//!     messages: Stream<Message>,
//!     sent: i64,
//! }
//!
//! #[events]
//! impl ChatState {
//!     async fn say(&mut self, ctx: &mut EventCtx, text: String) -> EventResult {
//!         self.sent += 1;
//!         self.messages.prepend(&Message { id: self.sent, text });
//!         self.messages.limit(100); // the browser keeps the newest 100
//!         Ok(())
//!     }
//! }
//! # let _ = ChatState::default();
//! ```

use std::cell::RefCell;
use std::marker::PhantomData;

use serde::de::IgnoredAny;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The key under which a stream serializes its queued ops, for [`take_streams`] to find.
/// Nothing else serializes to an object with this one key.
const MARKER: &str = "$duet_stream";

/// One operation on a stream, as sent: `{"op":"insert","at":-1,"item":{…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StreamOp {
    /// Insert `item` at index `at` (`-1`: the end; an index past the end is the end); an
    /// item whose key is already shown is replaced where it is.
    Insert {
        /// Where: `0` first, `-1` last.
        at: i64,
        /// The item.
        item: Value,
    },
    /// Replace the shown item with `item`'s key; nothing when it is not shown.
    Update {
        /// The item.
        item: Value,
    },
    /// Remove the item with key `key`, if shown.
    Delete {
        /// The item's key (a string or a number).
        key: Value,
    },
    /// Remove every item.
    Reset,
    /// Keep the first `keep` items (negative: the last `-keep`), dropping the others.
    Limit {
        /// How many to keep, from the start (`>= 0`) or the end (`< 0`).
        keep: i64,
    },
}

/// A key identifying a stream item: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKey(Value);

impl From<i64> for StreamKey {
    fn from(key: i64) -> StreamKey {
        StreamKey(key.into())
    }
}

impl From<&str> for StreamKey {
    fn from(key: &str) -> StreamKey {
        StreamKey(key.into())
    }
}

impl From<String> for StreamKey {
    fn from(key: String) -> StreamKey {
        StreamKey(key.into())
    }
}

/// A list var whose items only the browser keeps (see the [module docs](self)). Its
/// operations are queued by a handler and sent with the event's changes; the stored state
/// holds nothing of it, and it is empty again at the next event.
pub struct Stream<T> {
    ops: RefCell<Vec<StreamOp>>,
    item: PhantomData<fn(&T)>,
}

impl<T> Default for Stream<T> {
    fn default() -> Self {
        Stream {
            ops: RefCell::new(Vec::new()),
            item: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("queued", &self.ops.borrow().len())
            .finish()
    }
}

impl<T: Serialize> Stream<T> {
    /// Shows `item` last (or where it is, if its key is shown).
    pub fn append(&mut self, item: &T) {
        self.insert(-1, item);
    }

    /// Shows `item` first (or where it is, if its key is shown).
    pub fn prepend(&mut self, item: &T) {
        self.insert(0, item);
    }

    /// Shows `item` at index `at` (`-1`: last; past the end: last), or replaces it where it
    /// is if its key is shown.
    pub fn insert(&mut self, at: i64, item: &T) {
        if let Some(item) = to_json(item) {
            self.push(StreamOp::Insert { at, item });
        }
    }

    /// Appends every item of `items`, in order.
    pub fn extend<'a>(&mut self, items: impl IntoIterator<Item = &'a T>)
    where
        T: 'a,
    {
        for item in items {
            self.append(item);
        }
    }

    /// Replaces the shown item with `item`'s key; does nothing in a browser not showing it.
    pub fn update(&mut self, item: &T) {
        if let Some(item) = to_json(item) {
            self.push(StreamOp::Update { item });
        }
    }

    /// Removes the item with `key`, if shown.
    pub fn delete(&mut self, key: impl Into<StreamKey>) {
        self.push(StreamOp::Delete { key: key.into().0 });
    }

    /// Removes every item (then refill it: `reset()` and `extend(page)`).
    pub fn reset(&mut self) {
        self.push(StreamOp::Reset);
    }

    /// Trims what the browser shows to the first `keep` items (negative: the last `-keep`),
    /// after the operations queued before it.
    pub fn limit(&mut self, keep: i64) {
        self.push(StreamOp::Limit { keep });
    }

    /// The operations queued so far in this event.
    pub fn queued(&self) -> Vec<StreamOp> {
        self.ops.borrow().clone()
    }

    fn push(&mut self, op: StreamOp) {
        self.ops.get_mut().push(op);
    }
}

fn to_json<T: Serialize>(item: &T) -> Option<Value> {
    serde_json::to_value(item)
        .inspect_err(|error| tracing::error!(%error, "a stream item failed to serialize; not sent"))
        .ok()
}

/// Serializes as the marker object holding the queued ops, and hands them over: each op
/// goes out once, however often the state is serialized (a flush, then the event's end).
impl<T> Serialize for Stream<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ops = std::mem::take(&mut *self.ops.borrow_mut());
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(MARKER, &ops)?;
        map.end()
    }
}

/// Whatever was stored, a stream starts each event empty.
impl<'de, T> Deserialize<'de> for Stream<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Stream::default())
    }
}

/// The streams of a serialized state: each stream var's queued ops, by var.
pub type StreamOps = std::collections::BTreeMap<String, Vec<StreamOp>>;

/// Takes the streams out of `vars` (a state just serialized), leaving `[]` in their place
/// (what is stored, and what the client's state holds); items without a string or
/// number at the list key `key(var)` are dropped (logged): the browser could not place them.
pub(crate) fn take_streams(
    state: &str,
    vars: &mut Map<String, Value>,
    key: &dyn Fn(&str) -> Option<&'static str>,
) -> StreamOps {
    let mut streams = StreamOps::new();
    for (var, value) in vars.iter_mut() {
        let Value::Object(object) = value else { continue };
        if object.len() != 1 {
            continue;
        }
        let Some(ops) = object.remove(MARKER) else { continue };
        *value = Value::Array(Vec::new());
        let mut ops: Vec<StreamOp> = serde_json::from_value(ops).unwrap_or_default();
        let key = key(var).unwrap_or("id");
        ops.retain(|op| match op {
            StreamOp::Insert { item, .. } | StreamOp::Update { item } => {
                let keyed = matches!(item.get(key), Some(Value::String(_) | Value::Number(_)));
                if !keyed {
                    tracing::error!(
                        state,
                        var,
                        key,
                        "a stream item without a string or number key; not sent"
                    );
                }
                keyed
            }
            StreamOp::Delete { .. } | StreamOp::Reset | StreamOp::Limit { .. } => true,
        });
        streams.insert(var.clone(), ops);
    }
    streams
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ops_go_out_once_and_nothing_is_stored() {
        let mut stream = Stream::<Value>::default();
        stream.append(&json!({"id": 1}));
        stream.prepend(&json!({"id": 2}));
        stream.delete(1);
        stream.limit(-5);
        let Value::Object(mut vars) = json!({"rows": stream, "n": 3}) else {
            unreachable!()
        };
        let streams = take_streams("s", &mut vars, &|_| Some("id"));
        assert_eq!(vars, json!({"rows": [], "n": 3}).as_object().unwrap().clone());
        assert_eq!(
            serde_json::to_value(&streams["rows"]).unwrap(),
            json!([
                {"op": "insert", "at": -1, "item": {"id": 1}},
                {"op": "insert", "at": 0, "item": {"id": 2}},
                {"op": "delete", "key": 1},
                {"op": "limit", "keep": -5},
            ])
        );
        let Value::Object(mut again) = json!({"rows": stream}) else {
            unreachable!()
        };
        assert_eq!(take_streams("s", &mut again, &|_| Some("id"))["rows"], []);
        let loaded: Stream<Value> = serde_json::from_value(json!([{"id": 1}])).unwrap();
        assert!(loaded.queued().is_empty(), "a stream keeps nothing between events");
    }

    #[test]
    fn items_without_a_key_are_not_sent() {
        let mut stream = Stream::<Value>::default();
        stream.append(&json!({"name": "no id"}));
        stream.update(&json!({"id": [1]}));
        stream.append(&json!({"id": "a"}));
        let Value::Object(mut vars) = json!({"rows": stream}) else {
            unreachable!()
        };
        let streams = take_streams("s", &mut vars, &|_| Some("id"));
        assert_eq!(
            streams["rows"],
            [StreamOp::Insert {
                at: -1,
                item: json!({"id": "a"})
            }]
        );
    }
}
