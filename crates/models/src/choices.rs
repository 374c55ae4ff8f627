//! `Choices`: an enum whose variants are a field's allowed values, stored as text.
//! `#[derive(Choices)]` writes it, with the column conversions and [`FieldType`](crate::FieldType).

use serde_json::Value;

use crate::Choice;

/// An enum stored as text, one value per variant.
///
/// ```
/// use duet_models::Choices;
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
/// pub enum Status {
///     Pending,
///     #[choice(label = "Paid in full")]
///     Paid,
///     #[choice(value = "gone")]
///     Shipped,
/// }
///
/// assert_eq!(Status::Paid.value(), "paid");
/// assert_eq!(Status::Paid.label(), "Paid in full");
/// assert_eq!(Status::from_value("gone"), Some(Status::Shipped));
/// assert_eq!(Status::CHOICES.len(), 3);
/// assert_eq!(Status::CHOICES[0].label, "Pending");
/// ```
pub trait Choices: Sized + Copy + Send + Sync + 'static {
    /// Every value with its label, in declaration order.
    const CHOICES: &'static [Choice];

    /// The stored value of this variant (`"paid"`).
    fn value(self) -> &'static str;

    /// The variant stored as `value`, if any.
    fn from_value(value: &str) -> Option<Self>;

    /// What people read (`"Paid in full"`).
    fn label(self) -> &'static str {
        let value = self.value();
        Self::CHOICES
            .iter()
            .find(|c| c.value == value)
            .map_or(value, |c| c.label)
    }
}

/// Reads a choice from client JSON, with DRF's message for anything else.
pub fn choice_from_json<C: Choices>(value: &Value) -> Result<C, String> {
    match value {
        Value::String(s) => C::from_value(s.trim()).ok_or_else(|| format!("\"{s}\" is not a valid choice.")),
        other => Err(format!("\"{other}\" is not a valid choice.")),
    }
}
