//! Applying deltas: the inverse of [`super::diff`].
//!
//! Application is all-or-nothing: ops are checked against the list's length first (which
//! only needs the lengths, so it is cheap), and nothing is changed when any of them is out
//! of range.

use serde_json::{Map, Value};

use super::{Delta, DeltaError, ListOp, VarOp};

/// Applies `op` to `value`, turning the old value of a var into its new one.
///
/// On error `value` is left unchanged.
///
/// # Errors
///
/// [`DeltaError::NotAList`] when `op` is [`VarOp::List`] and `value` is not an array;
/// [`DeltaError::OutOfRange`] when one of the list ops has an index out of range (see
/// [`ListOp`] for each op's bounds).
pub fn apply_var(value: &mut Value, op: &VarOp) -> Result<(), DeltaError> {
    check_var(value, op)?;
    apply_checked(value, op);
    Ok(())
}

/// Applies every op of `delta` to the var of that name in `state`. A var missing from
/// `state` counts as `null` (so a [`VarOp::Set`] creates it).
///
/// On error `state` is left unchanged.
///
/// # Errors
///
/// [`DeltaError::Var`] naming the var whose op did not fit, wrapping the error of
/// [`apply_var`].
pub fn apply_state(state: &mut Map<String, Value>, delta: &Delta) -> Result<(), DeltaError> {
    for (var, op) in delta {
        check_var(state.get(var).unwrap_or(&Value::Null), op).map_err(|source| DeltaError::Var {
            var: var.clone(),
            source: Box::new(source),
        })?;
    }
    for (var, op) in delta {
        if let VarOp::Set { value } = op {
            state.insert(var.clone(), value.clone());
        } else if let Some(current) = state.get_mut(var) {
            apply_checked(current, op);
        }
    }
    Ok(())
}

/// Checks that `op` can be applied to `value`, simulating only the list's length.
fn check_var(value: &Value, op: &VarOp) -> Result<(), DeltaError> {
    let ops = match op {
        VarOp::Set { .. } | VarOp::Stream { .. } => return Ok(()),
        VarOp::List { ops } => ops,
    };
    let Value::Array(list) = value else {
        return Err(DeltaError::NotAList {
            found: type_name(value),
        });
    };
    let mut len = list.len();
    for op in ops {
        let out_of_range = |index| DeltaError::OutOfRange {
            op: op_name(op),
            index,
            len,
        };
        match *op {
            ListOp::Append { ref values } => len += values.len(),
            ListOp::Insert { index, .. } if index <= len => len += 1,
            ListOp::Remove { index } if index < len => len -= 1,
            ListOp::Replace { index, .. } if index < len => {}
            ListOp::Move { from, to } if from < len && to < len => {}
            ListOp::Truncate { len: new_len } if new_len <= len => len = new_len,
            ListOp::Insert { index, .. }
            | ListOp::Remove { index }
            | ListOp::Replace { index, .. }
            | ListOp::Truncate { len: index } => return Err(out_of_range(index)),
            ListOp::Move { from, to } => {
                return Err(out_of_range(if from < len { to } else { from }));
            }
        }
    }
    Ok(())
}

/// Applies an op that [`check_var`] accepted for `value`; cannot fail.
fn apply_checked(value: &mut Value, op: &VarOp) {
    match op {
        VarOp::Set { value: new } => value.clone_from(new),
        // A stream's items are not part of the state.
        VarOp::Stream { .. } => {}
        VarOp::List { ops } => {
            let Value::Array(list) = value else {
                unreachable!("checked: list op on a list");
            };
            for op in ops {
                match *op {
                    ListOp::Append { ref values } => list.extend_from_slice(values),
                    ListOp::Insert { index, ref value } => list.insert(index, value.clone()),
                    ListOp::Remove { index } => {
                        list.remove(index);
                    }
                    ListOp::Replace { index, ref value } => list[index].clone_from(value),
                    ListOp::Move { from, to } if from < to => list[from..=to].rotate_left(1),
                    ListOp::Move { from, to } => list[to..=from].rotate_right(1),
                    ListOp::Truncate { len } => list.truncate(len),
                }
            }
        }
    }
}

/// The JSON type of a value, for errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The wire name of a list op, for errors.
fn op_name(op: &ListOp) -> &'static str {
    match op {
        ListOp::Append { .. } => "append",
        ListOp::Insert { .. } => "insert",
        ListOp::Remove { .. } => "remove",
        ListOp::Replace { .. } => "replace",
        ListOp::Move { .. } => "move",
        ListOp::Truncate { .. } => "truncate",
    }
}
