//! What `#[derive(Model)]` and `#[derive(Choices)]` generate calls to; not a public API.

use serde_json::Value;

use crate::{Error, FieldType, Model, ValidationErrors};

pub use crate::row_timestamp::RowTimestamp;
pub use crate::shaped_sql::{QueryShape, ShapedSql};
pub use {chrono, diesel, diesel_async, diesel_migrations, regex, serde_json};

diesel::define_sql_function! {
    /// SQL's `lower(text)`: search compares lowercased text on both backends.
    fn lower(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    let mut errors = ValidationErrors::new();
    errors.add(field, message);
    Error::Invalid(errors)
}

/// A filter's value read as the field's type.
pub fn filter_value<T: FieldType>(field: &str, value: &Value) -> Result<T, Error> {
    T::from_json(value).map_err(|message| invalid(field, message))
}

/// The range of stored values `value` (JSON, as the row showed it) stands for, for a
/// conditional update's comparison.
pub fn shown_range<T: FieldType>(field: &str, value: &Value) -> Result<(T, T), Error> {
    filter_value::<T>(field, value).map(|v| v.shown_range())
}

/// The values of an `__in` filter: a JSON array, or a comma-separated string.
pub fn filter_values<T: FieldType>(field: &str, value: &Value) -> Result<Vec<T>, Error> {
    match value {
        Value::Array(items) => items.iter().map(|item| filter_value(field, item)).collect(),
        Value::String(text) => text
            .split(',')
            .map(|item| filter_value(field, &Value::String(item.trim().to_owned())))
            .collect(),
        other => Err(invalid(field, format!("Expected a list of items but got \"{other}\"."))),
    }
}

/// The value of an `__isnull` filter.
pub fn null_flag(field: &str, value: &Value) -> Result<bool, Error> {
    bool::from_json(value).map_err(|message| invalid(field, message))
}

/// The ids a search matches in the key field `field` (none when it lists none for it).
pub fn search_ids(search: &crate::Search, field: &str) -> Vec<i64> {
    search
        .ids
        .iter()
        .filter(|(name, _)| *name == field)
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect()
}

/// A filter, ordering or search on a field the model cannot use that way.
pub fn unusable(field: &str, what: &str) -> Error {
    invalid(field, format!("Cannot {what} on this field."))
}

/// The write's error, with a taken unique value shown on its field as DRF does
/// ("order with this client reference already exists.").
pub fn write_error<M: Model>(error: Error) -> Error {
    let Error::UniqueViolation(message) = &error else {
        return error;
    };
    let field = M::fields().iter().filter(|f| f.unique).find(|f| {
        message.contains(&format!("{}.{}", M::TABLE, f.column))
            || message.contains(&format!("({})", f.column))
            || message.contains(&format!("_{}_", f.column))
    });
    match field {
        Some(field) => invalid(
            field.name,
            format!("{} with this {} already exists.", M::VERBOSE_NAME, field.verbose_name),
        ),
        None => error,
    }
}

/// A text validator from a field's `regex`: Django's `RegexValidator` message.
pub fn check_pattern(text: &str, pattern: &regex::Regex) -> Result<(), String> {
    if pattern.is_match(text) {
        Ok(())
    } else {
        Err("Enter a valid value.".into())
    }
}

/// Text types a field's `max_length`, `blank` and `regex` apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not text: `max_length`, `blank` and `regex` apply to String fields"
)]
pub trait TextField {}
impl TextField for String {}
impl TextField for Option<String> {}

/// Number types a field's `min` and `max` apply to (in their stored unit).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number: `min` and `max` apply to i64, Money and Decimal fields"
)]
pub trait NumberField {}
impl NumberField for i64 {}
impl NumberField for crate::Money {}
impl<const P: u8> NumberField for crate::Decimal<P> {}
impl<T: NumberField> NumberField for Option<T> {}

/// Types a timestamp's `auto_now` and `auto_now_add` apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a timestamp: `auto_now` and `auto_now_add` apply to NaiveDateTime fields"
)]
pub trait TimestampField {
    /// The field's value at `now`.
    fn at(now: chrono::NaiveDateTime) -> Self;
}
impl TimestampField for chrono::NaiveDateTime {
    fn at(now: chrono::NaiveDateTime) -> Self {
        now
    }
}
impl TimestampField for Option<chrono::NaiveDateTime> {
    fn at(now: chrono::NaiveDateTime) -> Self {
        Some(now)
    }
}
