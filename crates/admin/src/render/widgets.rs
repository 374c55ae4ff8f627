//! A form widget per field kind, and the way back: a posted string as the JSON the model's
//! validation reads.

use duet_models::{Field, FieldKind};
use maud::{Markup, html};
use serde_json::Value;

use super::values;

/// One field on a form.
pub(crate) struct FieldView<'a> {
    pub(crate) field: &'static Field,
    /// Its value: the row's, or what was posted.
    pub(crate) value: &'a Value,
    /// Written by this form; otherwise shown as text.
    pub(crate) editable: bool,
    /// The model's messages for it.
    pub(crate) errors: &'a [String],
    /// For a foreign key: the related rows to choose from (id, name), or the one it points
    /// at when read-only.
    pub(crate) options: &'a [(i64, String)],
    /// For a text field with a fixed set of values (the registered models' names): those.
    pub(crate) names: &'a [String],
}

/// The field's row on the form: label, widget (or its value, read-only), help, errors.
pub(crate) fn field(view: &FieldView<'_>) -> Markup {
    let f = view.field;
    let id = format!("f-{}", f.name);
    let described = format!("{id}-help {id}-errors");
    let invalid = !view.errors.is_empty();
    html! {
        div.field data-invalid[invalid] {
            @if view.editable {
                label for=(id) { (super::super::registry::capitalize(f.verbose_name)) }
                (widget(view, &id, &described))
            } @else {
                span.label id=(id) { (super::super::registry::capitalize(f.verbose_name)) }
                div.readonly aria-labelledby=(id) data-field=(f.name) {
                    @match view.value.as_i64().and_then(|id| view.options.iter().find(|(pk, _)| *pk == id)) {
                        Some((_, name)) => (name),
                        None => (values::display(f, view.value)),
                    }
                }
            }
            @if !f.help_text.is_empty() { div.help id=(format!("{id}-help")) { (f.help_text) } }
            @if invalid {
                ul.errors id=(format!("{id}-errors")) role="alert" {
                    @for message in view.errors { li { (message) } }
                }
            }
        }
    }
}

fn widget(view: &FieldView<'_>, id: &str, described: &str) -> Markup {
    let f = view.field;
    let value = form_value(f, view.value);
    let invalid = (!view.errors.is_empty()).then_some("true");
    match f.kind {
        FieldKind::Bool => html! {
            input #(id) type="checkbox" name=(f.name) value="true" checked[view.value == &Value::Bool(true)]
                aria-describedby=(described) aria-invalid=[invalid];
        },
        FieldKind::Choice(choices) => html! {
            select #(id) name=(f.name) aria-describedby=(described) aria-invalid=[invalid] {
                @if f.nullable || value.is_empty() { option value="" { "—" } }
                @for choice in choices {
                    option value=(choice.value) selected[choice.value == value] { (choice.label) }
                }
            }
        },
        FieldKind::Text if f.max_length.is_none_or(|m| m > 300) => html! {
            textarea #(id) name=(f.name) aria-describedby=(described) aria-invalid=[invalid] { (value) }
        },
        FieldKind::Text if !view.names.is_empty() => html! {
            select #(id) name=(f.name) aria-describedby=(described) aria-invalid=[invalid] {
                @if !view.names.contains(&value) { option value=(value) selected { (if value.is_empty() { "—" } else { &value }) } }
                @for name in view.names { option value=(name) selected[*name == value] { (name) } }
            }
        },
        FieldKind::Json => html! {
            textarea #(id) name=(f.name) spellcheck="false" aria-describedby=(described) aria-invalid=[invalid] { (value) }
        },
        FieldKind::ForeignKey { .. } => {
            let list = format!("{id}-options");
            html! {
                input #(id) type="text" inputmode="numeric" autocomplete="off" name=(f.name) value=(value)
                    list=(list) aria-describedby=(described) aria-invalid=[invalid];
                datalist #(list) {
                    @for (pk, name) in view.options { option value=(pk) { (name) } }
                }
            }
        }
        FieldKind::Integer => html! {
            input #(id) type="number" step="1" name=(f.name) value=(value) min=[f.min] max=[f.max]
                aria-describedby=(described) aria-invalid=[invalid];
        },
        FieldKind::Money | FieldKind::Decimal { .. } => html! {
            input #(id) type="text" inputmode="decimal" name=(f.name) value=(value)
                aria-describedby=(described) aria-invalid=[invalid];
        },
        FieldKind::DateTime => html! {
            input #(id) type="datetime-local" step="1" name=(f.name) value=(value)
                aria-describedby=(described) aria-invalid=[invalid];
        },
        FieldKind::Date => html! {
            input #(id) type="date" name=(f.name) value=(value) aria-describedby=(described) aria-invalid=[invalid];
        },
        _ => html! {
            input #(id) type="text" name=(f.name) value=(value) maxlength=[f.max_length]
                aria-describedby=(described) aria-invalid=[invalid];
        },
    }
}

/// A JSON value as an input's `value`.
pub(crate) fn form_value(field: &Field, value: &Value) -> String {
    match (field.kind, value) {
        (_, Value::Null) => String::new(),
        (FieldKind::DateTime, Value::String(s)) => s.trim_end_matches('Z').to_owned(),
        (FieldKind::Json, other) => serde_json::to_string_pretty(other).unwrap_or_default(),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// What a form posted for `field` (`None`: nothing, as an unchecked checkbox posts) as the
/// JSON the model reads; `Err` with the message to show for what is not even that.
pub(crate) fn input_value(field: &Field, posted: Option<&str>) -> Result<Option<Value>, String> {
    if field.kind == FieldKind::Bool {
        return Ok(Some(Value::Bool(posted.is_some_and(|v| v == "true" || v == "on"))));
    }
    let Some(text) = posted else {
        return Ok(None);
    };
    if text.trim().is_empty() && field.nullable {
        return Ok(Some(Value::Null));
    }
    Ok(Some(match field.kind {
        FieldKind::Integer | FieldKind::ForeignKey { .. } => match text.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(text.to_owned()),
        },
        FieldKind::DateTime => {
            let text = text.trim();
            // datetime-local sends local wall time without seconds or zone; the admin
            // shows and takes UTC.
            let with_seconds = if text.len() == 16 {
                format!("{text}:00")
            } else {
                text.to_owned()
            };
            let zoned = with_seconds.ends_with('Z') || with_seconds.get(19..).is_some_and(|z| z.contains(['+', '-']));
            Value::String(if zoned {
                with_seconds
            } else {
                format!("{with_seconds}Z")
            })
        }
        FieldKind::Json => serde_json::from_str(text).map_err(|_| "Enter valid JSON.".to_owned())?,
        _ => Value::String(text.to_owned()),
    }))
}

#[cfg(test)]
mod tests {
    use duet_models::{Field, FieldKind};
    use serde_json::{Value, json};

    use super::input_value;

    #[test]
    fn posted_text_becomes_the_json_the_model_reads() {
        let check = |kind, nullable, posted: Option<&str>, expected: Result<Option<Value>, String>| {
            let field = Field {
                nullable,
                ..Field::new("f", kind)
            };
            assert_eq!(input_value(&field, posted), expected, "{kind:?} {posted:?}");
        };
        check(FieldKind::Bool, false, None, Ok(Some(json!(false))));
        check(FieldKind::Bool, false, Some("true"), Ok(Some(json!(true))));
        check(FieldKind::Text, false, None, Ok(None));
        check(FieldKind::Text, true, Some(" "), Ok(Some(Value::Null)));
        check(FieldKind::Integer, false, Some("12"), Ok(Some(json!(12))));
        check(FieldKind::Integer, false, Some("x"), Ok(Some(json!("x"))));
        check(
            FieldKind::DateTime,
            false,
            Some("2026-11-29T22:10"),
            Ok(Some(json!("2026-11-29T22:10:00Z"))),
        );
        check(
            FieldKind::DateTime,
            false,
            Some("2026-11-29T22:10:05"),
            Ok(Some(json!("2026-11-29T22:10:05Z"))),
        );
        check(FieldKind::Json, false, Some("{\"a\": 1}"), Ok(Some(json!({"a": 1}))));
        check(FieldKind::Json, false, Some("{"), Err("Enter valid JSON.".into()));
    }
}
