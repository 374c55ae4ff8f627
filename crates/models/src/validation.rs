//! Validation shared by every side of a model: DRF-shaped errors, and typed field readers
//! over a JSON object that collect them (used by the `validate_new` and `validate_changes`
//! that `#[derive(Model)]` writes, which the API, the pages and webhooks call).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Field, FieldType};

/// A field's own check beyond its type and constraints (a model's `regex` or `validate`):
/// the message to show, when the value is refused.
pub type Validator<T> = dyn Fn(&T) -> Result<(), String>;

/// Validation errors in DRF's shape: `{"field": ["message", …], "non_field_errors": […]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors(BTreeMap<String, Vec<String>>);

/// The key for errors that belong to no single field.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = serde_json::to_string(&self.0).map_err(|_| std::fmt::Error)?;
        f.write_str(&shown)
    }
}

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> ValidationErrors {
        ValidationErrors::default()
    }

    /// Adds `message` to `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    /// Adds an error about the input as a whole.
    pub fn add_non_field(&mut self, message: impl Into<String>) {
        self.add(NON_FIELD_ERRORS, message);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages for `field`.
    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// A JSON object being validated: each reader returns the field's value when it is present
/// and valid, and records a DRF-style error otherwise. In a partial update (PATCH) an absent
/// field is simply skipped. Finish with [`Input::finish`].
#[derive(Debug)]
pub struct Input {
    data: Map<String, Value>,
    errors: ValidationErrors,
    partial: bool,
}

const REQUIRED: &str = "This field is required.";

impl Input {
    /// Wraps a parsed body; `partial` for PATCH.
    pub fn new(data: Map<String, Value>, partial: bool) -> Input {
        Input {
            data,
            errors: ValidationErrors::new(),
            partial,
        }
    }

    /// True for a partial update.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Drops `field` from the input, as if it had not been sent (a field this endpoint does
    /// not let clients write).
    pub fn ignore(&mut self, field: &str) {
        self.data.remove(field);
    }

    /// The raw value of `field`, if sent.
    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.data.get(field)
    }

    fn present(&mut self, field: &str, required: bool) -> Option<Value> {
        match self.data.get(field) {
            Some(Value::Null) if required => {
                self.errors.add(field, "This field may not be null.");
                None
            }
            Some(value) => Some(value.clone()),
            None if required && !self.partial => {
                self.errors.add(field, REQUIRED);
                None
            }
            None => None,
        }
    }

    /// Text of 1..=`max_len` characters, trimmed.
    pub fn text(&mut self, field: &str, max_len: usize) -> Option<String> {
        match self.present(field, true)? {
            Value::String(s) => {
                let s = s.trim().to_owned();
                if s.is_empty() {
                    self.errors.add(field, "This field may not be blank.");
                    None
                } else if s.chars().count() > max_len {
                    self.errors.add(
                        field,
                        format!("Ensure this field has no more than {max_len} characters."),
                    );
                    None
                } else {
                    Some(s)
                }
            }
            _ => {
                self.errors.add(field, "Not a valid string.");
                None
            }
        }
    }

    /// One of `choices`.
    pub fn choice(&mut self, field: &str, choices: &[&str]) -> Option<String> {
        match self.present(field, true)? {
            Value::String(s) if choices.contains(&s.as_str()) => Some(s),
            other => {
                let shown = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
                self.errors.add(field, format!("\"{shown}\" is not a valid choice."));
                None
            }
        }
    }

    /// A non-negative amount of money as a decimal string (`"12.50"`) or number, in cents.
    pub fn money(&mut self, field: &str) -> Option<i64> {
        let value = self.present(field, true)?;
        let text = match &value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match parse_cents(&text) {
            Some(cents) => Some(cents),
            None => {
                self.errors
                    .add(field, "A valid amount with at most 2 decimal places is required.");
                None
            }
        }
    }

    /// The value of `field` for a new row: read, checked against the field's constraints and
    /// `validators`, or its `default` (then the field's `None` when it is nullable) when the
    /// input leaves it out. `None` with an error recorded when it is missing or invalid.
    pub fn create_value<T: FieldType>(
        &mut self,
        field: &Field,
        default: Option<&dyn Fn() -> T>,
        validators: &[&Validator<T>],
    ) -> Option<T> {
        match self.data.get(field.name) {
            None => match default {
                Some(default) => Some(default()),
                None if T::NULLABLE => T::from_json(&Value::Null).ok(),
                None => {
                    self.errors.add(field.name, REQUIRED);
                    None
                }
            },
            Some(_) => self.sent_value(field, validators),
        }
    }

    /// The new value of `field` for an update: `None` when it is left out of a partial
    /// update (PATCH) — or of a full one (PUT) when it has a default or is nullable, else
    /// that is an error; otherwise read and checked as [`Input::create_value`] does.
    pub fn change_value<T: FieldType>(
        &mut self,
        field: &Field,
        has_default: bool,
        validators: &[&Validator<T>],
    ) -> Option<T> {
        match self.data.get(field.name) {
            None => {
                if !self.partial && !has_default && !T::NULLABLE {
                    self.errors.add(field.name, REQUIRED);
                }
                None
            }
            Some(_) => self.sent_value(field, validators),
        }
    }

    fn sent_value<T: FieldType>(&mut self, field: &Field, validators: &[&Validator<T>]) -> Option<T> {
        let raw = self.data.get(field.name)?;
        if raw.is_null() && !T::NULLABLE {
            self.errors.add(field.name, "This field may not be null.");
            return None;
        }
        let checked = T::from_json(raw).and_then(|value| {
            value.check(field)?;
            validators.iter().try_for_each(|validate| validate(&value))?;
            Ok(value)
        });
        match checked {
            Ok(value) => Some(value),
            Err(message) => {
                self.errors.add(field.name, message);
                None
            }
        }
    }

    /// Whether no error was recorded yet.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors recorded so far.
    pub fn into_errors(self) -> ValidationErrors {
        self.errors
    }

    /// Records an error about `field` found by the caller's own checks.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// `Ok` when every reader succeeded, else the collected errors (an API answers them
    /// with 400; a `ModelState` puts them in its `errors` var).
    pub fn finish(self) -> Result<(), ValidationErrors> {
        self.errors.into_result()
    }
}

/// Parses `"12.5"`, `"12.50"`, `"12"` into cents; refuses negatives, more than two decimal
/// places, exponents and amounts past `i64`.
pub fn parse_cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (text.contains('.') && fraction.is_empty()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cents_parse() {
        for (text, want) in [
            ("12.50", Some(1250)),
            ("12.5", Some(1250)),
            ("12", Some(1200)),
            ("0.05", Some(5)),
            ("12.", None),
            (".5", None),
            ("-1", None),
            ("1.234", None),
            ("1e3", None),
            ("abc", None),
            ("", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_cents(text), want, "{text:?}");
        }
    }

    fn input(value: Value, partial: bool) -> Input {
        let Value::Object(map) = value else { panic!("an object") };
        Input::new(map, partial)
    }

    #[test]
    fn readers_collect_errors() {
        let mut i = input(json!({"total": "1.999", "status": "lost", "currency": " "}), false);
        assert_eq!(i.money("total"), None);
        assert_eq!(i.choice("status", &["paid"]), None);
        assert_eq!(i.text("currency", 3), None);
        assert_eq!(i.text("missing", 3), None);
        let errors = i.finish().unwrap_err();
        let body = serde_json::to_value(&errors).unwrap();
        assert_eq!(body["status"], json!(["\"lost\" is not a valid choice."]));
        assert_eq!(body["missing"], json!(["This field is required."]));
        assert_eq!(body["currency"], json!(["This field may not be blank."]));
        assert!(body["total"].is_array());
    }

    #[test]
    fn partial_input_skips_absent_fields() {
        let mut i = input(json!({"status": "paid"}), true);
        assert_eq!(i.choice("status", &["paid"]).as_deref(), Some("paid"));
        assert_eq!(i.money("total"), None);
        assert!(i.finish().is_ok());
        let mut nulls = input(json!({"total": null}), true);
        assert_eq!(nulls.money("total"), None);
        assert!(nulls.finish().is_err(), "null is not a value");
    }
}
