//! A field's value as people read it: labels for choices, yes/no, dates without the `Z`.

use duet_models::{Field, FieldKind};
use maud::{Markup, html};
use serde_json::Value;

/// `value` of `field` as text for lists and read-only fields.
pub(crate) fn text(field: Option<&Field>, value: &Value) -> String {
    match (field.map(|f| f.kind), value) {
        (_, Value::Null) => "—".to_owned(),
        (Some(FieldKind::Choice(choices)), Value::String(v)) => choices
            .iter()
            .find(|c| c.value == v)
            .map_or_else(|| v.clone(), |c| c.label.to_owned()),
        (Some(FieldKind::DateTime), Value::String(v)) => v.trim_end_matches('Z').replacen('T', " ", 1),
        (_, Value::Bool(b)) => if *b { "Yes" } else { "No" }.to_owned(),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// `value` of `field` for a cell or a read-only field.
pub(crate) fn display(field: &Field, value: &Value) -> Markup {
    match value {
        Value::Bool(true) => html! { span.yes { "✓ " span.visually-hidden { "Yes" } } },
        Value::Bool(false) => html! { span.no { "✗ " span.visually-hidden { "No" } } },
        _ if matches!(field.kind, FieldKind::Choice(_)) => html! { span.pill { (text(Some(field), value)) } },
        _ => html! { (text(Some(field), value)) },
    }
}

/// A log entry's changes, `{field: [before, after]}`, as a list.
pub(crate) fn display_diff(fields: &[&'static Field], changes: &Value) -> Markup {
    let Value::Object(changes) = changes else {
        return html! {};
    };
    html! {
        ul.diff {
            @for (name, pair) in changes {
                @let field = fields.iter().copied().find(|f| f.name == name);
                @let label = field.map_or(name.as_str(), |f| f.verbose_name);
                @let (before, after) = (pair.get(0).unwrap_or(&Value::Null), pair.get(1).unwrap_or(&Value::Null));
                li {
                    strong { (label) } ": "
                    @if !before.is_null() { del { (text(field, before)) } }
                    @if !before.is_null() && !after.is_null() { " → " }
                    @if !after.is_null() { ins { (text(field, after)) } }
                }
            }
        }
    }
}
