//! Any JSON object as a model's input: the typed readers take it or collect errors in
//! DRF's shape, never panic; money parses to cents only from decimal strings.
#![no_main]

use duet_models::{Input, parse_cents};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(cents) = parse_cents(text)
    {
        assert!(text.contains(|c: char| c.is_ascii_digit()), "{text:?} → {cents}");
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for partial in [false, true] {
        let mut input = Input::new(map.clone(), partial);
        let text = input.text("status", 20);
        assert!(text.as_ref().is_none_or(|t| t.chars().count() <= 20));
        let choice = input.choice("currency", &["EUR", "USD"]);
        assert!(choice.as_deref().is_none_or(|c| c == "EUR" || c == "USD"));
        input.money("total");
        if let Err(errors) = input.finish() {
            let json = serde_json::to_value(&errors).expect("errors serialize");
            assert!(json.is_object(), "{json}");
        }
    }
});
