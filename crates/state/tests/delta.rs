//! The "minimal deltas" guarantees of the delta engine, case by case, and its wire shape.

use duet_state::delta::{Delta, DeltaError, ListOp, VarOp, apply_state, apply_var, diff_state, diff_var};
use serde_json::{Map, Value, json};

/// A row of the shop's orders table.
fn row(id: usize) -> Value {
    json!({"id": id, "status": "paid", "total": "12.50"})
}

fn rows(ids: impl IntoIterator<Item = usize>) -> Vec<Value> {
    ids.into_iter().map(row).collect()
}

fn list_ops(op: &VarOp) -> &[ListOp] {
    match op {
        VarOp::List { ops } => ops,
        other => panic!("expected list ops, got {other:?}"),
    }
}

/// Diffs, checks that applying the delta (also after a JSON round trip) gives `new`, and
/// returns the op with its JSON.
fn roundtrip(old: &Value, new: &Value, key: Option<&str>) -> Option<(VarOp, String)> {
    let op = diff_var(old, new, key);
    let Some(op) = op else {
        assert_eq!(old, new, "no op, yet the values differ");
        return None;
    };
    let wire = serde_json::to_string(&op).unwrap();
    let decoded: VarOp = serde_json::from_str(&wire).unwrap();
    assert_eq!(decoded, op, "wire round trip");
    let mut value = old.clone();
    apply_var(&mut value, &decoded).unwrap();
    assert_eq!(&value, new, "apply(old, diff(old, new)) for {wire}");
    Some((op, wire))
}

/// A table row: name, old, new, key, expected op (`None`: no change).
type Case = (&'static str, Value, Value, Option<&'static str>, Option<Value>);

#[test]
fn table() {
    let big = Value::Array(rows(0..10_000));
    let mut removed_middle = rows(0..10_000);
    removed_middle.remove(5_000);
    let mut updated = rows(0..10_000);
    updated[1234]["status"] = json!("refunded");
    let mut front = rows(0..10_000);
    front.insert(0, row(10_000));
    let mut moved = rows(0..10_000);
    let row_7 = moved.remove(7);
    moved.insert(9_000, row_7);

    let cases: Vec<Case> = vec![
        ("equal scalars", json!(1), json!(1), None, None),
        ("equal lists", big.clone(), big.clone(), Some("id"), None),
        (
            "equal objects",
            json!({"a": [1, {"b": 2}]}),
            json!({"a": [1, {"b": 2}]}),
            None,
            None,
        ),
        (
            "scalar change",
            json!(1),
            json!(2),
            None,
            Some(json!({"op": "set", "value": 2})),
        ),
        (
            "string change",
            json!("a"),
            json!("b"),
            Some("id"),
            Some(json!({"op": "set", "value": "b"})),
        ),
        (
            "type change",
            json!(1),
            json!("1"),
            None,
            Some(json!({"op": "set", "value": "1"})),
        ),
        (
            "nested object change",
            json!({"a": {"b": 1, "c": [1, 2]}}),
            json!({"a": {"b": 2, "c": [1, 2]}}),
            None,
            Some(json!({"op": "set", "value": {"a": {"b": 2, "c": [1, 2]}}})),
        ),
        (
            "list to null",
            json!([1, 2, 3]),
            json!(null),
            None,
            Some(json!({"op": "set", "value": null})),
        ),
        (
            "null to list",
            json!(null),
            json!([1]),
            None,
            Some(json!({"op": "set", "value": [1]})),
        ),
        (
            "list to object",
            json!([1]),
            json!({"0": 1}),
            None,
            Some(json!({"op": "set", "value": {"0": 1}})),
        ),
        (
            "append one to 10,000 rows (keyed)",
            big.clone(),
            Value::Array(rows(0..10_001)),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "append", "values": [row(10_000)]}]})),
        ),
        (
            "append one to 10,000 rows (positional)",
            big.clone(),
            Value::Array(rows(0..10_001)),
            None,
            Some(json!({"op": "list", "ops": [{"op": "append", "values": [row(10_000)]}]})),
        ),
        (
            "remove one from the middle (keyed)",
            big.clone(),
            Value::Array(removed_middle.clone()),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "remove", "index": 5_000}]})),
        ),
        (
            "remove one from the middle (positional)",
            big.clone(),
            Value::Array(removed_middle),
            None,
            Some(json!({"op": "list", "ops": [{"op": "remove", "index": 5_000}]})),
        ),
        (
            "update one row (keyed)",
            big.clone(),
            Value::Array(updated.clone()),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "replace", "index": 1234, "value": updated[1234]}]})),
        ),
        (
            "update one row (positional)",
            big.clone(),
            Value::Array(updated.clone()),
            None,
            Some(json!({"op": "list", "ops": [{"op": "replace", "index": 1234, "value": updated[1234]}]})),
        ),
        (
            "insert at the front (keyed)",
            big.clone(),
            Value::Array(front.clone()),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "insert", "index": 0, "value": row(10_000)}]})),
        ),
        (
            "insert at the front (positional)",
            big.clone(),
            Value::Array(front),
            None,
            Some(json!({"op": "list", "ops": [{"op": "insert", "index": 0, "value": row(10_000)}]})),
        ),
        (
            "move one row down (keyed)",
            big,
            Value::Array(moved),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "move", "from": 7, "to": 9_000}]})),
        ),
        (
            "move the last to the front (keyed)",
            json!([{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}]),
            json!([{"id": "d"}, {"id": "a"}, {"id": "b"}, {"id": "c"}]),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "move", "from": 3, "to": 0}]})),
        ),
        (
            "move and change (keyed)",
            Value::Array(rows(1..10)),
            json!([row(2), row(3), {"id": 1, "status": "refunded"}, row(4), row(5), row(6), row(7), row(8), row(9)]),
            Some("id"),
            Some(json!({"op": "list", "ops": [
                {"op": "move", "from": 0, "to": 2},
                {"op": "replace", "index": 2, "value": {"id": 1, "status": "refunded"}},
            ]})),
        ),
        (
            "remove, insert and update together (keyed)",
            Value::Array(rows(1..10)),
            json!([row(1), {"id": 2, "status": "new"}, row(99), row(4), row(5), row(6), row(7), row(8), row(9)]),
            Some("id"),
            Some(json!({"op": "list", "ops": [
                {"op": "remove", "index": 2},
                {"op": "insert", "index": 2, "value": row(99)},
                {"op": "replace", "index": 1, "value": {"id": 2, "status": "new"}},
            ]})),
        ),
        (
            "append several (keyed) merge into one append",
            Value::Array(rows(0..20)),
            Value::Array(rows(0..23)),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "append", "values": rows(20..23)}]})),
        ),
        (
            "string and number keys are distinct",
            json!([{"id": 1}, {"id": "1"}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}]),
            json!([{"id": "1"}, {"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}]),
            Some("id"),
            // Two neighbours swap: moving either one is a longest-kept-order solution.
            Some(json!({"op": "list", "ops": [{"op": "move", "from": 0, "to": 1}]})),
        ),
        (
            // Duplicate ids: the key is unusable, so the lists are diffed by position
            // (by key, dropping `{"id":2,"v":"b"}` would be a `remove`, not replaces).
            "duplicate keys fall back to positional",
            json!([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 2, "v": "c"}, {"id": 3, "v": "d"}, {"id": 4, "v": "e"}, {"id": 5, "v": "f"}]),
            json!([{"id": 1, "v": "a"}, {"id": 2, "v": "c"}, {"id": 3, "v": "d"}, {"id": 4, "v": "e"}, {"id": 5, "v": "f"}]),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "remove", "index": 1}]})),
        ),
        (
            "items without the key fall back to positional",
            json!([{"id": 1}, {"name": "x"}, {"id": 3}, {"id": 4}, {"id": 5}, {"id": 6}]),
            json!([{"id": 1}, {"name": "y"}, {"id": 3}, {"id": 4}, {"id": 5}, {"id": 6}]),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "replace", "index": 1, "value": {"name": "y"}}]})),
        ),
        (
            "non-scalar keys fall back to positional",
            json!([{"id": [1]}, {"id": true}, {"id": null}, {"id": 4}, {"id": 5}, {"id": 6}]),
            json!([{"id": [1]}, {"id": true}, {"id": 4}, {"id": 5}, {"id": 6}]),
            Some("id"),
            Some(json!({"op": "list", "ops": [{"op": "remove", "index": 2}]})),
        ),
        (
            "scalars: insert in the middle",
            Value::Array((0..40).map(Value::from).collect()),
            Value::Array((0..3).chain([9]).chain(3..40).map(Value::from).collect()),
            None,
            Some(json!({"op": "list", "ops": [{"op": "insert", "index": 3, "value": 9}]})),
        ),
        (
            "scalars: replace pairs then remove the rest",
            Value::Array([0; 100].into_iter().chain([1, 2, 3, 9]).map(Value::from).collect()),
            Value::Array([0; 100].into_iter().chain([4, 9]).map(Value::from).collect()),
            None,
            Some(json!({"op": "list", "ops": [
                {"op": "replace", "index": 100, "value": 4},
                {"op": "remove", "index": 101},
                {"op": "remove", "index": 101},
            ]})),
        ),
        (
            "scalars: truncate",
            Value::Array((0..40).map(Value::from).collect()),
            Value::Array((0..30).map(Value::from).collect()),
            None,
            Some(json!({"op": "list", "ops": [{"op": "truncate", "len": 30}]})),
        ),
        // The size check: list ops larger than the new value become `set`.
        (
            "small list rewritten",
            json!([1, 2, 3]),
            json!([4, 5, 6]),
            None,
            Some(json!({"op": "set", "value": [4, 5, 6]})),
        ),
        (
            "emptied",
            Value::Array(rows(0..50)),
            json!([]),
            Some("id"),
            Some(json!({"op": "set", "value": []})),
        ),
        (
            "filled",
            json!([]),
            Value::Array(rows(0..3)),
            Some("id"),
            Some(json!({"op": "set", "value": rows(0..3)})),
        ),
        (
            "reversed small rows",
            Value::Array(rows(0..20).iter().map(|r| json!({"id": r["id"]})).collect()),
            Value::Array(rows((0..20).rev()).iter().map(|r| json!({"id": r["id"]})).collect()),
            Some("id"),
            Some(json!({"op": "set", "value": (0..20).rev().map(|id| json!({"id": id})).collect::<Vec<_>>()})),
        ),
        (
            // One item stays put, each other one moves; still smaller than the rows.
            "reversed rows",
            Value::Array(rows(0..100)),
            Value::Array(rows((0..100).rev())),
            Some("id"),
            Some(
                json!({"op": "list", "ops": (0..99).rev().map(|from| json!({"op": "move", "from": from, "to": 99})).collect::<Vec<_>>()}),
            ),
        ),
    ];

    let mut failures = Vec::new();
    for (name, old, new, key, expected) in cases {
        let got = roundtrip(&old, &new, key).map(|(op, _)| serde_json::to_value(op).unwrap());
        if got != expected {
            let show = |v: Option<Value>| v.map(|v| v.to_string().chars().take(300).collect::<String>());
            failures.push(format!(
                "{name}:\n  got      {:?}\n  expected {:?}",
                show(got),
                show(expected)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn single_changes_to_10_000_rows_are_small() {
    let old = Value::Array(rows(0..10_000));
    let mut cases: Vec<(&str, Vec<Value>)> = vec![("append", rows(0..10_001))];
    let mut list = rows(0..10_000);
    list.remove(4_321);
    cases.push(("remove", list));
    let mut list = rows(0..10_000);
    list[9_999]["total"] = json!("99.00");
    cases.push(("update", list));
    let mut list = rows(0..10_000);
    list.insert(0, row(20_000));
    cases.push(("insert at front", list));
    let mut list = rows(0..10_000);
    list.insert(6_000, row(20_000));
    cases.push(("insert in the middle", list));
    let mut list = rows(0..10_000);
    let moved = list.remove(9_999);
    list.insert(0, moved);
    cases.push(("move last to front (keyed only)", list));
    for key in [Some("id"), None] {
        for (name, new) in &cases {
            if key.is_none() && name.contains("keyed only") {
                continue;
            }
            let new = Value::Array(new.clone());
            let Some((op, wire)) = roundtrip(&old, &new, key) else {
                panic!("{name}: no op");
            };
            let start: String = wire.chars().take(300).collect();
            assert!(wire.len() < 200, "{name} ({key:?}): {} bytes: {start}", wire.len());
            if key.is_some() {
                assert_eq!(list_ops(&op).len(), 1, "{name}: {wire}");
            }
        }
    }
}

#[test]
fn keyed_diff_of_large_lists_is_not_quadratic() {
    // Many scattered changes on big lists: quadratic work would take minutes in debug.
    let old = Value::Array(rows(0..10_000));
    let mut new = rows((0..10_000).filter(|n| n % 7 != 0));
    new.extend(rows(10_000..10_500));
    new.rotate_left(3_333);
    for item in new.iter_mut().step_by(11) {
        item["status"] = json!("shipped");
    }
    let new = Value::Array(new);
    roundtrip(&old, &new, Some("id")).unwrap();
    let reversed = Value::Array(rows((0..10_000).rev()));
    roundtrip(&old, &reversed, Some("id")).unwrap();
}

#[test]
fn set_is_chosen_only_when_strictly_smaller() {
    // For every pair, the chosen op is never larger than the alternative.
    let pairs = [
        (json!([1, 2, 3]), json!([1, 2, 4])),
        (json!([1, 2, 3]), json!([1, 2])),
        (json!([1]), json!([1, 2])),
        (json!([]), json!([1])),
        (json!(["a long string here", 2]), json!(["a long string here", 3])),
    ];
    for (old, new) in pairs {
        let (op, wire) = roundtrip(&old, &new, None).unwrap();
        let set = serde_json::to_string(&VarOp::Set { value: new.clone() }).unwrap();
        if let VarOp::List { .. } = op {
            assert!(wire.len() <= set.len(), "{wire} vs {set}");
        }
    }
    // `[1,2,3]` → `[1,2,4]`: the list op is larger than `{"op":"set","value":[1,2,4]}`.
    assert_eq!(
        diff_var(&json!([1, 2, 3]), &json!([1, 2, 4]), None),
        Some(VarOp::Set {
            value: json!([1, 2, 4])
        })
    );
}

#[test]
fn wire_shape() {
    let cases = [
        (VarOp::Set { value: json!({"a": 1}) }, r#"{"op":"set","value":{"a":1}}"#),
        (
            VarOp::List {
                ops: vec![
                    ListOp::Append {
                        values: vec![json!(1), json!(2)],
                    },
                    ListOp::Insert {
                        index: 0,
                        value: json!("x"),
                    },
                    ListOp::Remove { index: 3 },
                    ListOp::Replace {
                        index: 1,
                        value: json!(null),
                    },
                    ListOp::Move { from: 2, to: 0 },
                    ListOp::Truncate { len: 2 },
                ],
            },
            concat!(
                r#"{"op":"list","ops":["#,
                r#"{"op":"append","values":[1,2]},"#,
                r#"{"op":"insert","index":0,"value":"x"},"#,
                r#"{"op":"remove","index":3},"#,
                r#"{"op":"replace","index":1,"value":null},"#,
                r#"{"op":"move","from":2,"to":0},"#,
                r#"{"op":"truncate","len":2}"#,
                r#"]}"#,
            ),
        ),
    ];
    for (op, json) in &cases {
        assert_eq!(serde_json::to_string(op).unwrap(), *json);
        assert_eq!(serde_json::from_str::<VarOp>(json).unwrap(), *op);
    }
    // [10,11,12] → append → [10,11,12,1,2] → insert → ["x",10,11,12,1,2] → remove 3 →
    // ["x",10,11,1,2] → replace 1 → ["x",null,11,1,2] → move 2 to 0 → [11,"x",null,1,2]
    // → truncate 2.
    let mut value = json!([10, 11, 12]);
    apply_var(&mut value, &cases[1].0).unwrap();
    assert_eq!(value, json!([11, "x"]));

    // Unknown ops and missing fields are rejected.
    assert!(serde_json::from_str::<VarOp>(r#"{"op":"patch","value":1}"#).is_err());
    assert!(serde_json::from_str::<VarOp>(r#"{"op":"list","ops":[{"op":"remove"}]}"#).is_err());
    assert!(serde_json::from_str::<VarOp>(r#"{"op":"list","ops":[{"op":"remove","index":-1}]}"#).is_err());
}

#[test]
fn apply_errors_leave_the_value_unchanged() {
    let list = |ops| VarOp::List { ops };
    let cases = [
        (json!(null), list(vec![]), DeltaError::NotAList { found: "null" }),
        (json!({"a": 1}), list(vec![]), DeltaError::NotAList { found: "object" }),
        (
            json!("abc"),
            list(vec![ListOp::Remove { index: 0 }]),
            DeltaError::NotAList { found: "string" },
        ),
        (
            json!([1, 2]),
            list(vec![ListOp::Remove { index: 0 }, ListOp::Remove { index: 1 }]),
            DeltaError::OutOfRange {
                op: "remove",
                index: 1,
                len: 1,
            },
        ),
        (
            json!([1, 2]),
            list(vec![ListOp::Insert {
                index: 3,
                value: json!(0),
            }]),
            DeltaError::OutOfRange {
                op: "insert",
                index: 3,
                len: 2,
            },
        ),
        (
            json!([1, 2]),
            list(vec![
                ListOp::Append { values: vec![json!(3)] },
                ListOp::Replace {
                    index: 3,
                    value: json!(0),
                },
            ]),
            DeltaError::OutOfRange {
                op: "replace",
                index: 3,
                len: 3,
            },
        ),
        (
            json!([1, 2]),
            list(vec![ListOp::Move { from: 0, to: 2 }]),
            DeltaError::OutOfRange {
                op: "move",
                index: 2,
                len: 2,
            },
        ),
        (
            json!([1, 2]),
            list(vec![ListOp::Move { from: 5, to: 0 }]),
            DeltaError::OutOfRange {
                op: "move",
                index: 5,
                len: 2,
            },
        ),
        (
            json!([1, 2]),
            list(vec![ListOp::Truncate { len: 3 }]),
            DeltaError::OutOfRange {
                op: "truncate",
                index: 3,
                len: 2,
            },
        ),
        (
            json!([]),
            list(vec![
                ListOp::Insert {
                    index: 0,
                    value: json!(1),
                },
                ListOp::Truncate { len: 0 },
                ListOp::Remove { index: 0 },
            ]),
            DeltaError::OutOfRange {
                op: "remove",
                index: 0,
                len: 0,
            },
        ),
    ];
    for (value, op, error) in cases {
        let mut applied = value.clone();
        assert_eq!(apply_var(&mut applied, &op), Err(error.clone()), "{op:?}");
        assert_eq!(applied, value, "unchanged after {error}");
    }
    assert_eq!(
        DeltaError::OutOfRange {
            op: "remove",
            index: 4,
            len: 2
        }
        .to_string(),
        "list op `remove` with index 4 out of range for a list of length 2"
    );
}

#[test]
fn applies_each_list_op() {
    let cases = [
        (
            json!([]),
            ListOp::Insert {
                index: 0,
                value: json!(1),
            },
            json!([1]),
        ),
        (
            json!([1, 2]),
            ListOp::Insert {
                index: 2,
                value: json!(3),
            },
            json!([1, 2, 3]),
        ),
        (
            json!([1, 2]),
            ListOp::Insert {
                index: 1,
                value: json!(9),
            },
            json!([1, 9, 2]),
        ),
        (json!([1, 2, 3]), ListOp::Remove { index: 0 }, json!([2, 3])),
        (
            json!([1, 2, 3]),
            ListOp::Replace {
                index: 2,
                value: json!([]),
            },
            json!([1, 2, []]),
        ),
        (
            json!([0, 1, 2, 3, 4]),
            ListOp::Move { from: 1, to: 3 },
            json!([0, 2, 3, 1, 4]),
        ),
        (
            json!([0, 1, 2, 3, 4]),
            ListOp::Move { from: 4, to: 0 },
            json!([4, 0, 1, 2, 3]),
        ),
        (json!([0, 1, 2]), ListOp::Move { from: 1, to: 1 }, json!([0, 1, 2])),
        (json!([0, 1, 2]), ListOp::Truncate { len: 0 }, json!([])),
        (json!([0, 1, 2]), ListOp::Truncate { len: 3 }, json!([0, 1, 2])),
        (json!([0]), ListOp::Append { values: vec![] }, json!([0])),
    ];
    for (mut value, op, expected) in cases {
        apply_var(&mut value, &VarOp::List { ops: vec![op.clone()] }).unwrap();
        assert_eq!(value, expected, "{op:?}");
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn state_diffs_only_changed_vars() {
    let old = object(json!({
        "count": 1,
        "name": "ada",
        "orders": rows(0..1_000),
        "tags": ["a", "b"],
        "gone": 5,
        "gone_null": null,
    }));
    let new = object(json!({
        "count": 2,
        "name": "ada",
        "orders": rows(0..1_001),
        "tags": ["a", "b"],
        "fresh": [1],
    }));
    let keys = |var: &str| (var == "orders").then_some("id");
    let delta = diff_state(&old, &new, &keys);
    assert_eq!(
        serde_json::to_value(&delta).unwrap(),
        json!({
            "count": {"op": "set", "value": 2},
            "orders": {"op": "list", "ops": [{"op": "append", "values": [row(1_000)]}]},
            "fresh": {"op": "set", "value": [1]},
            "gone": {"op": "set", "value": null},
        })
    );
    let decoded: Delta = serde_json::from_str(&serde_json::to_string(&delta).unwrap()).unwrap();
    let mut state = old.clone();
    apply_state(&mut state, &decoded).unwrap();
    let mut expected = new.clone();
    expected.insert("gone".into(), Value::Null);
    expected.insert("gone_null".into(), Value::Null);
    assert_eq!(state, expected);

    assert!(diff_state(&new, &new, &keys).is_empty());

    // Keys may borrow from the caller's configuration.
    let config: std::collections::HashMap<String, String> = [("orders".to_owned(), "id".to_owned())].into();
    let keys = |var: &str| config.get(var).map(String::as_str);
    assert_eq!(diff_state(&old, &new, &keys).len(), 4);
}

#[test]
fn state_apply_is_all_or_nothing() {
    let state = object(json!({"a": [1, 2], "b": 1, "c": "x"}));
    let mut delta = Delta::new();
    delta.insert(
        "a".into(),
        VarOp::List {
            ops: vec![ListOp::Remove { index: 0 }],
        },
    );
    delta.insert("b".into(), VarOp::Set { value: json!(2) });
    delta.insert("c".into(), VarOp::List { ops: vec![] });
    let mut applied = state.clone();
    let error = apply_state(&mut applied, &delta).unwrap_err();
    assert_eq!(
        error,
        DeltaError::Var {
            var: "c".into(),
            source: Box::new(DeltaError::NotAList { found: "string" }),
        }
    );
    assert_eq!(error.to_string(), "var `c`: list op applied to string, not a list");
    assert_eq!(applied, state);

    // A list op on a var the state does not have.
    let mut delta = Delta::new();
    delta.insert("zzz".into(), VarOp::List { ops: vec![] });
    assert!(matches!(apply_state(&mut applied, &delta), Err(DeltaError::Var { .. })));
    assert_eq!(applied, state);
}
