//! The raw list diffs, before the size check can replace them with a `set`: their ops must
//! turn the old list into the new one on their own.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{ListOp, VarOp, apply_var, diff, keyed};

/// Applies `ops` to `old` and checks the result is `new`.
fn check(old: &[Value], new: &[Value], ops: Vec<ListOp>) -> Result<usize, TestCaseError> {
    let count = ops.len();
    let mut value = Value::Array(old.to_vec());
    apply_var(&mut value, &VarOp::List { ops }).unwrap();
    prop_assert_eq!(value, Value::Array(new.to_vec()));
    Ok(count)
}

/// A permutation of a subset of `0..60`, each with a small payload.
fn keyed_list() -> impl Strategy<Value = Vec<Value>> {
    (prop::collection::vec(0u16..60, 0..50), any::<u64>()).prop_map(|(ids, salt)| {
        let mut seen = HashSet::new();
        ids.into_iter()
            .filter(|id| seen.insert(*id))
            .map(|id| json!({"id": id, "v": (u64::from(id) ^ salt) % 3}))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn keyed_ops_alone_turn_old_into_new(old in keyed_list(), new in keyed_list()) {
        let ops = keyed::diff(&old, &new, "id").expect("unique ids");
        let count = check(&old, &new, ops)?;
        // Each item costs at most a move (or insert / remove) and a replace.
        prop_assert!(count <= old.len() + 2 * new.len());
    }

    #[test]
    fn keyed_ops_of_a_permutation_are_moves_only(
        old in keyed_list(),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..50),
    ) {
        let mut new = old.clone();
        for (i, at) in order.iter().enumerate().take(new.len()) {
            let j = at.index(new.len());
            new.swap(i, j);
        }
        let ops = keyed::diff(&old, &new, "id").expect("unique ids");
        prop_assert!(ops.iter().all(|op| matches!(op, ListOp::Move { .. })), "{:?}", ops);
        check(&old, &new, ops)?;
    }

    #[test]
    fn positional_ops_alone_turn_old_into_new(
        old in prop::collection::vec(0u8..4, 0..40),
        new in prop::collection::vec(0u8..4, 0..40),
    ) {
        let old: Vec<Value> = old.into_iter().map(Value::from).collect();
        let new: Vec<Value> = new.into_iter().map(Value::from).collect();
        let ops = diff::positional(&old, &new);
        let count = check(&old, &new, ops)?;
        prop_assert!(count <= old.len().max(new.len()));
    }
}
