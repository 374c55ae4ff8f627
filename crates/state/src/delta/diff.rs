//! Computing deltas: [`diff_var`], [`diff_state`], the positional list diff and the size
//! check that prefers [`VarOp::Set`] when it is smaller.

use std::io;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Delta, ListOp, VarOp, keyed};

/// The smallest op that turns `old` into `new`, or `None` when they are equal.
///
/// * When both are arrays the result is [`VarOp::List`], unless its JSON would be larger
///   than that of `{"op":"set","value":new}`: then it is [`VarOp::Set`].
/// * Anything else that differs (scalars, objects, a change of JSON type) is
///   [`VarOp::Set`]; objects are not diffed field by field.
///
/// # Keyed lists
///
/// `key` names an object field that identifies a list's items (e.g. `"id"`). It is used
/// when every item of both lists is an object whose value at `key` is a string or a number,
/// unique within each list; otherwise (or when `key` is `None`) the lists are diffed by
/// position. By key, the ops come in this order:
///
/// 1. `remove` for every item whose key is gone;
/// 2. in the new order, `move` for every kept item that is out of place and `insert` (or
///    `append`, when at the end) for every new key — the kept items that stay put are a
///    longest subsequence already in the new order, so a single moved item costs one
///    `move`;
/// 3. `replace` (at its final index) for every kept item whose value changed.
///
/// Cost: O((n + m) log(n + m)) for lists of lengths n and m, plus hashing the keys and
/// comparing items — linear in the common cases (append, remove one, update one).
///
/// # Positional lists
///
/// The common prefix and suffix are kept. In the middle, the pairs that differ become
/// `replace`, then the extra new items become `append` (nothing after them) or one
/// `insert` each, or the extra old items become `truncate` (nothing after them) or one
/// `remove` each. Cost: O(n + m).
///
/// # Size check
///
/// The [`VarOp::List`] is serialized to measure it (it is small in the common cases);
/// `new` is serialized only up to that size, so a small list op on a large list costs
/// little to check.
pub fn diff_var(old: &Value, new: &Value, key: Option<&str>) -> Option<VarOp> {
    if old == new {
        return None;
    }
    let (Value::Array(old_list), Value::Array(new_list)) = (old, new) else {
        return Some(VarOp::Set { value: new.clone() });
    };
    let ops = key
        .and_then(|key| keyed::diff(old_list, new_list, key))
        .unwrap_or_else(|| positional(old_list, new_list));
    Some(smaller(ops, new))
}

/// The ops for every var that changed between two snapshots of a state.
///
/// `keys` tells, for a var name, which object field identifies the items of that var's
/// list (see [`diff_var`]); return `None` for vars that are not keyed lists.
///
/// Vars are not expected to appear or disappear (a state has a fixed set of vars), but
/// both are handled: a var only in `new` is sent as `{"op":"set","value":…}` (even when
/// `null`, so the receiver gets the var); a var only in `old` is diffed as if its new
/// value were `null` — `{"op":"set","value":null}`, or nothing when it was `null` already
/// (the receiver keeps it as `null`; [`apply_state`](super::apply_state) never deletes a
/// var).
pub fn diff_state<'k>(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    keys: &dyn Fn(&str) -> Option<&'k str>,
) -> Delta {
    let changed = new.iter().filter_map(|(var, value)| {
        let op = match old.get(var) {
            Some(old) => diff_var(old, value, keys(var))?,
            None => VarOp::Set { value: value.clone() },
        };
        Some((var.clone(), op))
    });
    let gone = old
        .iter()
        .filter(|(var, _)| !new.contains_key(*var))
        .filter_map(|(var, value)| Some((var.clone(), diff_var(value, &Value::Null, None)?)));
    changed.chain(gone).collect()
}

/// The positional list diff: keep the common prefix and suffix, replace the differing
/// pairs in the middle, then insert or remove the rest.
pub(super) fn positional(old: &[Value], new: &[Value]) -> Vec<ListOp> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(old.len().min(new.len()) - prefix)
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = &old[prefix..old.len() - suffix];
    let new_mid = &new[prefix..new.len() - suffix];
    let paired = old_mid.len().min(new_mid.len());

    let mut ops: Vec<ListOp> = (prefix..)
        .zip(old_mid.iter().zip(new_mid))
        .filter(|(_, (a, b))| a != b)
        .map(|(index, (_, value))| ListOp::Replace {
            index,
            value: value.clone(),
        })
        .collect();
    let at = prefix + paired;
    let extra_new = &new_mid[paired..];
    let extra_old = old_mid.len() - paired;
    if !extra_new.is_empty() {
        if suffix == 0 {
            ops.push(ListOp::Append {
                values: extra_new.to_vec(),
            });
        } else {
            ops.extend((at..).zip(extra_new).map(|(index, value)| ListOp::Insert {
                index,
                value: value.clone(),
            }));
        }
    } else if extra_old > 0 {
        if suffix == 0 {
            ops.push(ListOp::Truncate { len: at });
        } else {
            ops.extend(std::iter::repeat_n(ListOp::Remove { index: at }, extra_old));
        }
    }
    ops
}

/// `VarOp::List { ops }`, or `VarOp::Set { value: new }` when that serializes strictly
/// smaller.
fn smaller(ops: Vec<ListOp>, new: &Value) -> VarOp {
    let list = VarOp::List { ops };
    let list_len = json_len(&list, usize::MAX).unwrap_or(usize::MAX);
    // `{"op":"set","value":V}` is V plus a fixed envelope.
    let envelope = json_len(&VarOp::Set { value: Value::Null }, usize::MAX).unwrap_or(0) - 4;
    let set_is_smaller = list_len
        .checked_sub(envelope + 1)
        .is_some_and(|limit| json_len(new, limit).is_some());
    if set_is_smaller {
        VarOp::Set { value: new.clone() }
    } else {
        list
    }
}

/// The length of `value`'s JSON, or `None` when it is longer than `limit` (serialization
/// stops as soon as it is).
fn json_len(value: &impl Serialize, limit: usize) -> Option<usize> {
    let mut counter = Counter { len: 0, limit };
    serde_json::to_writer(&mut counter, value).ok()?;
    Some(counter.len)
}

/// A writer that only counts bytes, failing once there are more than `limit`.
struct Counter {
    len: usize,
    limit: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len = self.len.saturating_add(buf.len());
        if self.len > self.limit {
            return Err(io::Error::other("JSON longer than the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
