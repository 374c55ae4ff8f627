//! Property tests of the delta engine: applying a diff always gives the new value, the delta
//! is never larger than sending the new value whole, and a single change to a list costs a
//! bounded number of bytes whatever the list's length.

use std::collections::HashSet;

use duet_state::delta::{ListOp, VarOp, apply_state, apply_var, diff_state, diff_var};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Diffs `old` → `new`, checks the invariants every delta has, and returns its JSON
/// (empty when there is no op).
fn check(old: &Value, new: &Value, key: Option<&str>) -> Result<String, TestCaseError> {
    let Some(op) = diff_var(old, new, key) else {
        prop_assert_eq!(old, new);
        return Ok(String::new());
    };
    let wire = serde_json::to_string(&op).unwrap();
    // What the browser gets is what it applies.
    let decoded: VarOp = serde_json::from_str(&wire).unwrap();
    prop_assert_eq!(&decoded, &op);
    let mut value = old.clone();
    apply_var(&mut value, &decoded).unwrap();
    prop_assert_eq!(&value, new, "delta {}", wire);
    // Never larger than sending the new value whole.
    let set = serde_json::to_string(&VarOp::Set { value: new.clone() }).unwrap();
    prop_assert!(wire.len() <= set.len(), "{} > {}", wire, set);
    Ok(wire)
}

/// The number of list ops of a delta's JSON (0 for a `set`).
fn op_count(wire: &str) -> usize {
    match serde_json::from_str::<VarOp>(wire) {
        Ok(VarOp::List { ops }) => ops.len(),
        _ => 0,
    }
}

/// An item identity: a number or a string (`5` and `"5"` are different ids).
fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0u64..60).prop_map(Value::from),
        1 => (0u64..60).prop_map(|n| Value::from(n.to_string())),
    ]
}

/// A list of small objects with unique ids, drawn from a small id space so that two
/// independent lists share many ids (moves, removals, insertions and updates all happen).
fn keyed_list() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec((id(), 0u8..3), 0..40).prop_map(|items| {
        let mut seen = HashSet::new();
        items
            .into_iter()
            .filter(|(id, _)| seen.insert(id.to_string()))
            .map(|(id, v)| json!({"id": id, "v": v}))
            .collect()
    })
}

/// One edit of a list.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Remove(usize),
    Update(usize, u8),
    Move(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 0u8..3).prop_map(|(i, v)| Edit::Insert(i, v)),
        any::<usize>().prop_map(Edit::Remove),
        (any::<usize>(), 0u8..3).prop_map(|(i, v)| Edit::Update(i, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::Move(i, j)),
    ];
    prop::collection::vec(edit, 0..6)
}

/// Applies `edits` to a keyed list; inserted items get fresh ids from `next_id`.
fn edited(list: &[Value], edits: &[Edit], next_id: &mut u64) -> Vec<Value> {
    let mut list = list.to_vec();
    for edit in edits {
        let len = list.len();
        match *edit {
            Edit::Insert(i, v) => {
                *next_id += 1;
                list.insert(i % (len + 1), json!({"id": *next_id, "v": v}));
            }
            Edit::Remove(i) if len > 0 => {
                list.remove(i % len);
            }
            Edit::Update(i, v) if len > 0 => list[i % len]["v"] = json!(v),
            Edit::Move(i, j) if len > 0 => {
                let item = list.remove(i % len);
                list.insert(j % len, item);
            }
            Edit::Remove(_) | Edit::Update(..) | Edit::Move(..) => {}
        }
    }
    list
}

/// Any JSON value, nested a few levels, including keyed-looking objects.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
        id().prop_map(|id| json!({"id": id})),
    ];
    leaf.prop_recursive(3, 40, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]|id", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A row of the shop's orders table.
fn row(id: usize) -> Value {
    json!({"id": id, "status": "paid", "total": "12.50"})
}

/// One change to a list of `len` rows.
#[derive(Debug, Clone, Copy)]
enum Single {
    Append,
    Insert(usize),
    Remove(usize),
    Replace(usize),
    Move(usize, usize),
}

fn single() -> impl Strategy<Value = Single> {
    prop_oneof![
        Just(Single::Append),
        any::<usize>().prop_map(Single::Insert),
        any::<usize>().prop_map(Single::Remove),
        any::<usize>().prop_map(Single::Replace),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Single::Move(i, j)),
    ]
}

/// Applies one change to a list (never empty): new items are `fresh`; a replaced object
/// keeps its id and gets `fresh`'s status, a replaced scalar becomes `fresh`.
fn changed(list: &[Value], change: Single, fresh: Value) -> Vec<Value> {
    let mut list = list.to_vec();
    let len = list.len();
    match change {
        Single::Append => list.push(fresh),
        Single::Insert(i) => list.insert(i % (len + 1), fresh),
        Single::Remove(i) => {
            list.remove(i % len);
        }
        Single::Replace(i) => match &mut list[i % len] {
            Value::Object(item) => {
                item.insert("status".into(), fresh["status"].clone());
            }
            scalar => *scalar = fresh,
        },
        Single::Move(i, j) => {
            let item = list.remove(i % len);
            list.insert(j % len, item);
        }
    }
    list
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn keyed_lists_roundtrip(old in keyed_list(), new in keyed_list()) {
        check(&Value::Array(old.clone()), &Value::Array(new.clone()), Some("id"))?;
        // The same lists by position, and with a key the items do not have.
        check(&Value::Array(old.clone()), &Value::Array(new.clone()), None)?;
        check(&Value::Array(old), &Value::Array(new), Some("v"))?;
    }

    #[test]
    fn keyed_lists_with_few_edits_roundtrip(old in keyed_list(), edits in edits()) {
        let new = edited(&old, &edits, &mut 1_000);
        let wire = check(&Value::Array(old), &Value::Array(new), Some("id"))?;
        // At most one list op per edit.
        prop_assert!(op_count(&wire) <= edits.len(), "{:?}: {}", edits, wire);
    }

    #[test]
    fn keyed_lists_with_duplicate_ids_roundtrip(
        old in prop::collection::vec((0u8..6, 0u8..3), 0..20),
        new in prop::collection::vec((0u8..6, 0u8..3), 0..20),
    ) {
        let list = |items: Vec<(u8, u8)>| {
            Value::Array(items.into_iter().map(|(id, v)| json!({"id": id, "v": v})).collect())
        };
        check(&list(old), &list(new), Some("id"))?;
    }

    #[test]
    fn scalar_lists_roundtrip(
        old in prop::collection::vec(0u8..5, 0..40),
        new in prop::collection::vec(0u8..5, 0..40),
    ) {
        let list = |items: Vec<u8>| Value::Array(items.into_iter().map(Value::from).collect());
        check(&list(old.clone()), &list(new.clone()), None)?;
        check(&list(old), &list(new), Some("id"))?;
    }

    #[test]
    fn any_values_roundtrip(old in any_value(), new in any_value()) {
        check(&old, &new, None)?;
        check(&old, &new, Some("id"))?;
        prop_assert_eq!(diff_var(&new, &new, Some("id")), None);
    }

    #[test]
    fn states_roundtrip(
        old in prop::collection::btree_map("[a-e]", any_value(), 0..5),
        new in prop::collection::btree_map("[a-e]", any_value(), 0..5),
    ) {
        let old: Map<String, Value> = old.into_iter().collect();
        let new: Map<String, Value> = new.into_iter().collect();
        let delta = diff_state(&old, &new, &|_| Some("id"));
        let mut state = old.clone();
        apply_state(&mut state, &delta).unwrap();
        // Vars that disappeared read as null.
        let mut expected = new.clone();
        for var in old.keys().filter(|var| !new.contains_key(*var)) {
            expected.insert(var.clone(), Value::Null);
        }
        prop_assert_eq!(state, expected);
        // Only vars that are new or changed are sent.
        for var in delta.keys() {
            if let Some(before) = old.get(var) {
                prop_assert_ne!(before, new.get(var).unwrap_or(&Value::Null));
            }
        }
    }

    #[test]
    fn a_single_change_to_a_long_list_is_bounded(
        len in 1usize..1_000,
        change in single(),
        keyed in any::<bool>(),
    ) {
        let old: Vec<Value> = (0..len).map(row).collect();
        let fresh = json!({"id": 5_000, "status": "refunded", "total": "99.99"});
        let new = changed(&old, change, fresh);
        let key = keyed.then_some("id");
        let wire = check(&Value::Array(old), &Value::Array(new), key)?;
        if keyed || !matches!(change, Single::Move(..)) {
            // One op carrying at most one row — or, for a tiny list, a cheaper `set`.
            prop_assert!(wire.len() < 200, "{:?}: {} bytes: {}", change, wire.len(), wire);
            prop_assert!(op_count(&wire) <= 1, "{:?}: {}", change, wire);
        }
    }

    #[test]
    fn a_single_change_to_a_long_scalar_list_is_bounded(
        old in prop::collection::vec(0u8..4, 1..1_000),
        change in single().prop_filter("positional lists have no moves", |c| !matches!(c, Single::Move(..))),
        fresh in 0u8..4,
    ) {
        let list = |items: &[Value]| Value::Array(items.to_vec());
        let old: Vec<Value> = old.into_iter().map(Value::from).collect();
        let new = changed(&old, change, Value::from(fresh));
        let wire = check(&list(&old), &list(&new), None)?;
        prop_assert!(wire.len() < 100, "{:?}: {}", change, wire);
        prop_assert!(op_count(&wire) <= 1, "{:?}: {}", change, wire);
    }
}

#[test]
fn list_ops_of_a_moved_and_updated_row() {
    // A row both moved and updated costs two ops (two edits).
    let old: Vec<Value> = (0..10).map(row).collect();
    let mut new = old.clone();
    let mut moved = new.remove(2);
    moved["status"] = json!("refunded");
    new.insert(7, moved.clone());
    let op = diff_var(&Value::Array(old), &Value::Array(new), Some("id")).unwrap();
    assert_eq!(
        op,
        VarOp::List {
            ops: vec![
                ListOp::Move { from: 2, to: 7 },
                ListOp::Replace { index: 7, value: moved },
            ]
        }
    );
}
