//! `FieldType`: what a Rust type must say to be a model field — its column's SQL type, its
//! [`FieldKind`], and how it reads and writes JSON. `#[derive(Model)]` asks each field's type.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::sql_types::{BigInt, Bool, Date, Nullable, SingleValue, SqlType, Text, Timestamp};
use serde_json::Value;

use crate::{FieldKind, Literal};

/// A Rust type that can be a model field.
///
/// Implemented for `i64`, `String`, `bool`, `NaiveDateTime` (UTC), `NaiveDate`,
/// [`Money`](crate::Money), [`Decimal`](crate::Decimal), [`Json`](crate::Json),
/// [`ForeignKey`](crate::ForeignKey), every `#[derive(Choices)]` enum, and `Option` of
/// any of them (a nullable column).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model field",
    label = "not a model field type",
    note = "model fields are i64, String, bool, NaiveDateTime, NaiveDate, Money, Decimal<P>, Json<T>, \
            ForeignKey<M>, a #[derive(Choices)] enum, or an Option of one of them"
)]
pub trait FieldType: Sized + Clone + Send + Sync + 'static {
    /// The diesel SQL type of its column.
    type Sql: SqlType + SingleValue;
    /// How it is stored and shown.
    const KIND: FieldKind;
    /// Whether the column may be `NULL` (only `Option<T>`).
    const NULLABLE: bool = false;

    /// The value as JSON (`null` for `None`).
    fn to_json(&self) -> Value;

    /// Reads a JSON value sent by a client; the error is the message shown next to the field
    /// (DRF's wording).
    fn from_json(value: &Value) -> Result<Self, String>;

    /// Reads a value written as text (a query string's `?status=paid`).
    fn from_text(text: &str) -> Result<Self, String> {
        Self::from_json(&Value::String(text.to_owned()))
    }

    /// The value as an SQL literal, for a column default.
    fn literal(&self) -> Option<Literal> {
        None
    }

    /// The stored values [`FieldType::to_json`] shows as this one, as an inclusive range: the
    /// value itself, or for a date-time (shown to the second) the whole second. What a
    /// conditional update compares a column with ([`Model::update_unchanged`](crate::Model::update_unchanged)).
    fn shown_range(&self) -> (Self, Self) {
        (self.clone(), self.clone())
    }

    /// A problem with the value under `field`'s constraints (length, range, blank), if any.
    fn check(&self, field: &crate::Field) -> Result<(), String> {
        let _ = field;
        Ok(())
    }
}

/// Checks `value` against a field's `min` and `max`, shown with `show`.
pub(crate) fn check_range(value: i64, field: &crate::Field, show: impl Fn(i64) -> String) -> Result<(), String> {
    if let Some(min) = field.min
        && value < min
    {
        return Err(format!("Ensure this value is greater than or equal to {}.", show(min)));
    }
    if let Some(max) = field.max
        && value > max
    {
        return Err(format!("Ensure this value is less than or equal to {}.", show(max)));
    }
    Ok(())
}

impl FieldType for i64 {
    type Sql = BigInt;
    const KIND: FieldKind = FieldKind::Integer;

    fn to_json(&self) -> Value {
        Value::from(*self)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        let invalid = || "A valid integer is required.".to_owned();
        match value {
            Value::Number(n) => n.as_i64().ok_or_else(invalid),
            Value::String(s) => s.trim().parse().map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }

    fn literal(&self) -> Option<Literal> {
        Some(Literal::Integer(*self))
    }

    fn check(&self, field: &crate::Field) -> Result<(), String> {
        check_range(*self, field, |n| n.to_string())
    }
}

impl FieldType for String {
    type Sql = Text;
    const KIND: FieldKind = FieldKind::Text;

    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }

    /// Text, trimmed of surrounding whitespace (as DRF's `CharField`).
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s.trim().to_owned()),
            _ => Err("Not a valid string.".into()),
        }
    }

    fn check(&self, field: &crate::Field) -> Result<(), String> {
        if self.is_empty() && !field.blank {
            return Err("This field may not be blank.".into());
        }
        match field.max_length {
            Some(max) if self.chars().count() > max as usize => {
                Err(format!("Ensure this field has no more than {max} characters."))
            }
            _ => Ok(()),
        }
    }
}

impl FieldType for bool {
    type Sql = Bool;
    const KIND: FieldKind = FieldKind::Bool;

    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
            Value::String(s) => match s.trim() {
                "true" | "True" | "1" | "on" | "yes" => Ok(true),
                "false" | "False" | "0" | "off" | "no" => Ok(false),
                _ => Err("Must be a valid boolean.".into()),
            },
            _ => Err("Must be a valid boolean.".into()),
        }
    }

    fn literal(&self) -> Option<Literal> {
        Some(Literal::Bool(*self))
    }
}

impl FieldType for NaiveDateTime {
    type Sql = Timestamp;
    const KIND: FieldKind = FieldKind::DateTime;

    fn to_json(&self) -> Value {
        crate::datetime_to_json(self)
    }

    /// RFC 3339 (`2026-11-29T18:00:00Z`, or with an offset, converted to UTC).
    fn from_json(value: &Value) -> Result<Self, String> {
        let invalid = || {
            "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].".to_owned()
        };
        let Value::String(s) = value else {
            return Err(invalid());
        };
        let s = s.trim();
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(at.naive_utc());
        }
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
            .ok_or_else(invalid)
    }

    fn shown_range(&self) -> (Self, Self) {
        (*self, *self + chrono::TimeDelta::microseconds(999_999))
    }
}

impl FieldType for NaiveDate {
    type Sql = Date;
    const KIND: FieldKind = FieldKind::Date;

    fn to_json(&self) -> Value {
        Value::String(self.format("%Y-%m-%d").to_string())
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        let invalid = || "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.".to_owned();
        match value {
            Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| invalid()),
            _ => Err(invalid()),
        }
    }
}

impl<T: FieldType> FieldType for Option<T>
where
    T::Sql: SqlType<IsNull = diesel::sql_types::is_nullable::NotNull>,
{
    type Sql = Nullable<T::Sql>;
    const KIND: FieldKind = T::KIND;
    const NULLABLE: bool = true;

    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        T::from_text(text).map(Some)
    }

    fn literal(&self) -> Option<Literal> {
        self.as_ref().and_then(T::literal)
    }

    fn shown_range(&self) -> (Self, Self) {
        match self {
            Some(value) => {
                let (low, high) = value.shown_range();
                (Some(low), Some(high))
            }
            None => (None, None),
        }
    }

    fn check(&self, field: &crate::Field) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), |value| value.check(field))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Field;

    #[test]
    fn values_read_from_json_as_drf_does() {
        assert_eq!(i64::from_json(&json!(7)), Ok(7));
        assert_eq!(i64::from_json(&json!(" 7 ")), Ok(7));
        assert_eq!(i64::from_json(&json!(7.5)), Err("A valid integer is required.".into()));
        assert_eq!(String::from_json(&json!("  hi ")), Ok("hi".into()));
        assert_eq!(String::from_json(&json!(1)), Err("Not a valid string.".into()));
        assert_eq!(bool::from_json(&json!("false")), Ok(false));
        assert!(bool::from_json(&json!("maybe")).is_err());
        let at = NaiveDateTime::from_json(&json!("2026-11-29T19:00:00+01:00")).unwrap();
        assert_eq!(at.to_string(), "2026-11-29 18:00:00");
        assert!(NaiveDateTime::from_json(&json!("yesterday")).is_err());
        assert_eq!(
            NaiveDate::from_json(&json!("2026-02-28")).unwrap().to_json(),
            json!("2026-02-28")
        );
        assert_eq!(Option::<i64>::from_json(&json!(null)), Ok(None));
        assert_eq!(Option::<i64>::from_text("3"), Ok(Some(3)));
    }

    #[test]
    fn constraints_are_checked_with_drfs_messages() {
        let mut field = Field::new("code", FieldKind::Text);
        field.max_length = Some(3);
        assert_eq!(
            "EURO".to_owned().check(&field),
            Err("Ensure this field has no more than 3 characters.".into())
        );
        assert_eq!(String::new().check(&field), Err("This field may not be blank.".into()));
        field.blank = true;
        assert_eq!(String::new().check(&field), Ok(()));
        let mut count = Field::new("count", FieldKind::Integer);
        count.min = Some(0);
        count.max = Some(10);
        assert_eq!(
            (-1i64).check(&count),
            Err("Ensure this value is greater than or equal to 0.".into())
        );
        assert_eq!(
            11i64.check(&count),
            Err("Ensure this value is less than or equal to 10.".into())
        );
        assert_eq!(Some(5i64).check(&count), Ok(()));
    }
}
