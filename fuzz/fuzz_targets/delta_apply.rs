//! Delta application on any input: `[old, new]` — the diff of two states applied to the old
//! one gives the new one (a var gone from `new` reads `null`: a state's vars are fixed, and
//! applying never deletes one); `[state, delta]` — a delta from anywhere (a client's copy
//! is patched the same way) applies or is refused, never panics.
#![no_main]

use duet_state::{Delta, apply_state, diff_state};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fn key(var: &str) -> Option<&'static str> {
    var.starts_with('k').then_some("id")
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let [Value::Object(first), second] = items.as_slice() else {
        return;
    };
    if let Value::Object(new) = second {
        let delta = diff_state(first, new, &key);
        let mut state: Map<String, Value> = first.clone();
        apply_state(&mut state, &delta).expect("a diff applies to what it was made from");
        let mut expected = new.clone();
        for var in first.keys().filter(|var| !new.contains_key(*var)) {
            expected.insert(var.clone(), Value::Null);
        }
        assert_eq!(state, expected);
    }
    if let Ok(delta) = serde_json::from_value::<Delta>(second.clone()) {
        let mut state = first.clone();
        let _ = apply_state(&mut state, &delta);
    }
});
