//! Minimal deltas between two snapshots of a state's variables.
//!
//! A state's variables ("vars") are JSON values kept in a
//! [`Map<String, Value>`](serde_json::Map) (var name → value). After an event handler ran,
//! the server diffs the snapshot taken before against the one after ([`diff_state`]) and
//! sends the browser only the vars that changed, each as one [`VarOp`]. Lists get
//! list operations ([`ListOp`]), so appending one row to a 10,000-row table sends one
//! row. [`apply_state`] / [`apply_var`] are the inverse: they are used by tests and by a
//! Rust client, and mirrored by the browser runtime.
//!
//! The engine is pure: no I/O, no state of its own.
//!
//! # Wire shape
//!
//! A [`Delta`] is a JSON object from var name to [`VarOp`]; vars that did not change are
//! absent. Both enums are internally tagged with `"op"` (each level is its own JSON object,
//! so the tags never clash):
//!
//! ```json
//! {
//!   "count":  {"op":"set","value":3},
//!   "orders": {"op":"list","ops":[
//!     {"op":"remove","index":4},
//!     {"op":"move","from":9,"to":0},
//!     {"op":"insert","index":2,"value":{"id":7,"status":"new"}},
//!     {"op":"replace","index":5,"value":{"id":3,"status":"paid"}},
//!     {"op":"append","values":[{"id":8,"status":"new"}]},
//!     {"op":"truncate","len":10}
//!   ]}
//! }
//! ```
//!
//! | op | JSON | effect on the list `a` (JS) |
//! |----|------|-----------------------------|
//! | [`VarOp::Set`] | `{"op":"set","value":V}` | the var becomes `V` |
//! | [`VarOp::List`] | `{"op":"list","ops":[…]}` | apply the list ops in order |
//! | [`ListOp::Append`] | `{"op":"append","values":[V,…]}` | `a.push(...values)` |
//! | [`ListOp::Insert`] | `{"op":"insert","index":i,"value":V}` | `a.splice(i, 0, V)`, `i <= a.length` |
//! | [`ListOp::Remove`] | `{"op":"remove","index":i}` | `a.splice(i, 1)`, `i < a.length` |
//! | [`ListOp::Replace`] | `{"op":"replace","index":i,"value":V}` | `a[i] = V`, `i < a.length` |
//! | [`ListOp::Move`] | `{"op":"move","from":f,"to":t}` | `a.splice(t, 0, a.splice(f, 1)[0])`, `f, t < a.length` |
//! | [`ListOp::Truncate`] | `{"op":"truncate","len":n}` | `a.length = n`, `n <= a.length` |
//! | [`VarOp::Stream`] | `{"op":"stream","ops":[…]}` | the var stays; the browser applies [`StreamOp`](crate::StreamOp)s to what it shows |
//!
//! Every index refers to the list as it is when that op is applied, after the ops before
//! it. An index out of range, or a list op on a value that is not a list, is an error
//! ([`DeltaError`]); appliers must not pad or clamp.
//!
//! # What is minimal
//!
//! * Equal values produce no op at all.
//! * Scalars, objects, and a change of JSON type produce [`VarOp::Set`] (objects are not
//!   diffed field by field).
//! * Two lists produce [`VarOp::List`] — unless its JSON is larger than that of
//!   `{"op":"set","value":new}`, in which case the [`VarOp::Set`] is sent instead.
//! * Lists whose items carry an identity key (e.g. `"id"`) are diffed by key: removed items
//!   become `remove`, new ones `insert`/`append`, changed ones `replace`, and reordered ones
//!   `move` — keeping the largest set of items already in the right relative order in place.
//!   Otherwise lists are diffed by position: the common prefix and suffix are kept, the
//!   middle becomes `replace` then `insert`/`append` or `remove`/`truncate`.
//!
//! See [`diff_var`] for the details and complexity.
//!
//! ```
//! use duet_state::delta::{apply_state, diff_state};
//! use serde_json::{Map, Value, json};
//!
//! let Value::Object(old) = json!({
//!     "count": 1,
//!     "orders": [{"id": 1, "item": "tea"}, {"id": 2, "item": "cake"}, {"id": 3, "item": "jam"}],
//! }) else { unreachable!() };
//! let mut new = old.clone();
//! new["count"] = json!(2);
//! new["orders"].as_array_mut().unwrap().push(json!({"id": 4, "item": "scone"}));
//!
//! // `orders` is a list whose items are identified by their `id`.
//! let delta = diff_state(&old, &new, &|var| (var == "orders").then_some("id"));
//! assert_eq!(
//!     serde_json::to_string(&delta).unwrap(),
//!     r#"{"count":{"op":"set","value":2},"orders":{"op":"list","ops":[{"op":"append","values":[{"id":4,"item":"scone"}]}]}}"#,
//! );
//!
//! let mut state: Map<String, Value> = old.clone();
//! apply_state(&mut state, &delta).unwrap();
//! assert_eq!(state, new);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod apply;
mod diff;
mod keyed;

pub use apply::{apply_state, apply_var};
pub use diff::{diff_state, diff_var};

/// The changes to a state's vars: var name → the one op that turns its old value into its
/// new one. Vars that did not change are absent. Serialized as a JSON object.
pub type Delta = BTreeMap<String, VarOp>;

/// One change to one var.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum VarOp {
    /// Replace the whole value: `{"op":"set","value":V}`.
    Set {
        /// The new value.
        value: Value,
    },
    /// A list changed: apply these operations in order: `{"op":"list","ops":[…]}`.
    List {
        /// The list operations, applied one after the other.
        ops: Vec<ListOp>,
    },
    /// Operations on a [`Stream`](crate::Stream), whose items only the browser keeps:
    /// `{"op":"stream","ops":[…]}`. They leave the var itself (`[]`) unchanged.
    Stream {
        /// The stream operations, applied one after the other.
        ops: Vec<crate::StreamOp>,
    },
}

impl VarOp {
    /// Adds `later`, an op on the same var that comes after this one: stream ops are
    /// concatenated; otherwise the later op wins (it was diffed from a later snapshot).
    pub(crate) fn then(&mut self, later: VarOp) {
        match (self, later) {
            (VarOp::Stream { ops }, VarOp::Stream { ops: more }) => ops.extend(more),
            (this, later) => *this = later,
        }
    }
}

/// One operation on a list. Indices refer to the list as it is when the op is applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ListOp {
    /// Push one or more values at the end: `{"op":"append","values":[V,…]}`.
    Append {
        /// The values, in order.
        values: Vec<Value>,
    },
    /// Insert a value before `index` (`index == len` pushes it):
    /// `{"op":"insert","index":i,"value":V}`.
    Insert {
        /// Where the value ends up; `<= len`.
        index: usize,
        /// The value.
        value: Value,
    },
    /// Remove the element at `index`: `{"op":"remove","index":i}`.
    Remove {
        /// The element to remove; `< len`.
        index: usize,
    },
    /// Replace the element at `index`: `{"op":"replace","index":i,"value":V}`.
    Replace {
        /// The element to replace; `< len`.
        index: usize,
        /// Its new value.
        value: Value,
    },
    /// Take the element at `from` out and insert it back so that it ends up at index `to`
    /// (`to` counts in the list without it, which is the same as the final position):
    /// `{"op":"move","from":f,"to":t}`.
    Move {
        /// Where the element is; `< len`.
        from: usize,
        /// Where it ends up; `< len`.
        to: usize,
    },
    /// Drop the tail, keeping the first `len` elements: `{"op":"truncate","len":n}`.
    Truncate {
        /// The new length; `<= len`.
        len: usize,
    },
}

/// Why a [`VarOp`] could not be applied: the delta does not fit the value it is applied
/// to, so the receiver's copy of the state is out of sync and must be re-fetched whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// A list op was applied to a value that is not a list.
    #[error("list op applied to {found}, not a list")]
    NotAList {
        /// The JSON type found instead: `null`, `boolean`, `number`, `string` or `object`.
        found: &'static str,
    },
    /// A list op's index (or length, for `truncate`) is out of range for the list.
    #[error("list op `{op}` with index {index} out of range for a list of length {len}")]
    OutOfRange {
        /// The op's wire name (`insert`, `remove`, `replace`, `move`, `truncate`).
        op: &'static str,
        /// The offending index or length.
        index: usize,
        /// The list's length when the op was applied.
        len: usize,
    },
    /// Applying the op of one var of a [`Delta`] failed.
    #[error("var `{var}`: {source}")]
    Var {
        /// The var's name.
        var: String,
        /// What went wrong.
        source: Box<DeltaError>,
    },
}

#[cfg(test)]
mod tests;
