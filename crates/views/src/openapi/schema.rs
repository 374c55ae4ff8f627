//! A model's description as JSON Schema (OpenAPI 3.1 is JSON Schema 2020-12): the row a
//! viewset shows, the input it takes to create or replace one, and the input of a PATCH.

use duet_models::{AutoNow, Field, FieldKind, Model};
use serde_json::{Map, Value, json};

/// The three shapes of one model in the API, as the viewset configures it.
pub(crate) struct ModelShapes {
    /// The component name of the row (`"Order"`); the inputs are `"{name}Input"` and
    /// `"Patched{name}Input"`.
    pub(crate) name: String,
    /// What the API shows.
    pub(crate) row: Value,
    /// What POST and PUT take.
    pub(crate) input: Value,
    /// What PATCH takes: the same fields, none required.
    pub(crate) patch: Value,
}

/// `"order_line"` → `"OrderLine"`.
pub(crate) fn pascal_case(name: &str) -> String {
    name.split(['_', ' ', '-'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// The shapes of `M` as a viewset shows (`fields`, or every field but secret ones) and
/// writes it (every field but read-only ones and `read_only`).
pub(crate) fn model_shapes<M: Model>(fields: Option<&[&'static str]>, read_only: &[&'static str]) -> ModelShapes {
    let shown: Vec<&Field> = M::fields()
        .iter()
        .filter(|f| !f.secret && fields.is_none_or(|names| names.contains(&f.name)))
        .collect();
    let mut row = Map::new();
    for field in &shown {
        let mut schema = output_schema(field);
        if is_read_only(field, read_only) {
            schema.insert("readOnly".into(), Value::Bool(true));
        }
        row.insert(field.name.into(), Value::Object(schema));
    }
    let writable: Vec<&Field> = M::fields()
        .iter()
        .filter(|f| !f.secret && !is_read_only(f, read_only))
        .collect();
    let mut input = Map::new();
    for field in &writable {
        input.insert(field.name.into(), Value::Object(input_schema(field)));
    }
    let required: Vec<&str> = writable.iter().filter(|f| is_required(f)).map(|f| f.name).collect();
    let description = format!("A {}.", M::VERBOSE_NAME);
    ModelShapes {
        name: pascal_case(M::NAME),
        row: json!({
            "type": "object",
            "description": description,
            "properties": row,
            "required": shown.iter().map(|f| f.name).collect::<Vec<_>>(),
        }),
        input: json!({
            "type": "object",
            "description": format!("A new {} (POST), or all of one (PUT). Read-only fields are ignored.", M::VERBOSE_NAME),
            "properties": input,
            "required": required,
        }),
        patch: json!({
            "type": "object",
            "description": format!("Some fields of a {} (PATCH).", M::VERBOSE_NAME),
            "properties": input,
        }),
    }
}

fn is_read_only(field: &Field, read_only: &[&'static str]) -> bool {
    field.read_only || field.primary_key || field.auto_now != AutoNow::No || read_only.contains(&field.name)
}

/// Whether a create or full update must send the field: it has no default and may not be
/// null.
fn is_required(field: &Field) -> bool {
    !field.nullable && field.db_default.is_none()
}

/// `places` digits after the point at most, as a regular expression.
fn decimal_pattern(places: u8) -> String {
    match places {
        0 => "^-?[0-9]+$".to_owned(),
        places => format!("^-?[0-9]+(\\.[0-9]{{1,{places}}})?$"),
    }
}

/// A field's value as the API sends it.
pub(crate) fn output_schema(field: &Field) -> Map<String, Value> {
    let mut schema = base_schema(field);
    if let FieldKind::Decimal { places } = field.kind {
        schema.insert("pattern".into(), Value::String(exact_places(places)));
    } else if field.kind == FieldKind::Money {
        schema.insert("pattern".into(), Value::String(exact_places(2)));
    }
    nullable(field, schema)
}

/// Decimals are sent with exactly their places (`"12.50"`).
fn exact_places(places: u8) -> String {
    match places {
        0 => "^-?[0-9]+$".to_owned(),
        places => format!("^-?[0-9]+\\.[0-9]{{{places}}}$"),
    }
}

/// A field's value as the API reads it: also numbers for decimals, and the field's limits.
pub(crate) fn input_schema(field: &Field) -> Map<String, Value> {
    let mut schema = base_schema(field);
    match field.kind {
        FieldKind::Decimal { places } => {
            schema.insert("type".into(), json!(["string", "number"]));
            schema.insert("pattern".into(), Value::String(decimal_pattern(places)));
        }
        FieldKind::Money => {
            schema.insert("type".into(), json!(["string", "number"]));
            schema.insert("pattern".into(), Value::String(decimal_pattern(2)));
        }
        FieldKind::Text => {
            if let Some(max) = field.max_length {
                schema.insert("maxLength".into(), max.into());
            }
            if !field.blank {
                schema.insert("minLength".into(), 1.into());
            }
            if let Some(pattern) = field.pattern {
                schema.insert("pattern".into(), pattern.into());
            }
        }
        FieldKind::Integer => {
            if let Some(min) = field.min {
                schema.insert("minimum".into(), min.into());
            }
            if let Some(max) = field.max {
                schema.insert("maximum".into(), max.into());
            }
        }
        _ => {}
    }
    nullable(field, schema)
}

fn base_schema(field: &Field) -> Map<String, Value> {
    let schema = match field.kind {
        FieldKind::Integer => json!({"type": "integer", "format": "int64"}),
        FieldKind::Text => json!({"type": "string"}),
        FieldKind::Bool => json!({"type": "boolean"}),
        FieldKind::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldKind::Date => json!({"type": "string", "format": "date"}),
        FieldKind::Json => json!({}),
        FieldKind::Decimal { .. } => json!({"type": "string", "format": "decimal"}),
        FieldKind::Money => json!({"type": "string", "format": "decimal"}),
        FieldKind::Choice(choices) => json!({
            "type": "string",
            "enum": choices.iter().map(|c| c.value).collect::<Vec<_>>(),
        }),
        FieldKind::ForeignKey { model, .. } => json!({
            "type": "integer",
            "format": "int64",
            "description": format!("The id of a {model}."),
        }),
        // `FieldKind` is non-exhaustive: a kind this version does not know is any value.
        _ => json!({}),
    };
    let Value::Object(mut schema) = schema else {
        unreachable!("every schema above is an object")
    };
    let mut description: Vec<String> = Vec::new();
    if !field.help_text.is_empty() {
        description.push(field.help_text.to_owned());
    }
    if let FieldKind::Choice(choices) = field.kind {
        let labels: Vec<String> = choices.iter().map(|c| format!("`{}`: {}", c.value, c.label)).collect();
        description.push(labels.join(", "));
    }
    if let Some(Value::String(own)) = schema.remove("description") {
        description.push(own);
    }
    schema.insert("title".into(), field.verbose_name.into());
    if !description.is_empty() {
        schema.insert("description".into(), description.join(" ").into());
    }
    schema
}

/// JSON Schema 2020-12 has no `nullable`: a nullable field's type lists `"null"`.
fn nullable(field: &Field, mut schema: Map<String, Value>) -> Map<String, Value> {
    if !field.nullable {
        return schema;
    }
    match schema.get_mut("type") {
        Some(Value::String(one)) => {
            let one = std::mem::take(one);
            schema.insert("type".into(), json!([one, "null"]));
        }
        Some(Value::Array(several)) => several.push("null".into()),
        _ => {}
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
    schema
}

#[cfg(test)]
mod tests {
    use duet_models::User;
    use serde_json::json;

    use super::*;

    #[test]
    fn names_are_pascal_case() {
        assert_eq!(pascal_case("order_line"), "OrderLine");
        assert_eq!(pascal_case("user"), "User");
    }

    #[test]
    fn the_user_model_as_schemas() {
        let shapes = model_shapes::<User>(None, &[]);
        assert_eq!(shapes.name, "User");
        let props = &shapes.row["properties"];
        assert!(props.get("password_hash").is_none(), "secret fields are never shown");
        assert_eq!(props["id"]["readOnly"], json!(true));
        assert_eq!(props["username"]["type"], json!("string"));
        assert!(
            shapes.input["properties"].get("id").is_none(),
            "read-only fields are not input"
        );
        assert!(shapes.patch.get("required").is_none());
    }

    #[test]
    fn kinds_become_json_schema() {
        let mut money = Field::new("total", FieldKind::Money);
        assert_eq!(output_schema(&money)["pattern"], json!("^-?[0-9]+\\.[0-9]{2}$"));
        assert_eq!(input_schema(&money)["type"], json!(["string", "number"]));
        money.nullable = true;
        assert_eq!(output_schema(&money)["type"], json!(["string", "null"]));
        const CHOICES: &[duet_models::Choice] = &[duet_models::Choice {
            value: "paid",
            label: "Paid",
        }];
        let mut status = Field::new("status", FieldKind::Choice(CHOICES));
        status.nullable = true;
        let schema = output_schema(&status);
        assert_eq!(schema["enum"], json!(["paid", null]));
        assert_eq!(schema["description"], json!("`paid`: Paid"));
        let mut code = Field::new("code", FieldKind::Text);
        code.max_length = Some(3);
        assert_eq!(
            (
                input_schema(&code)["maxLength"].clone(),
                input_schema(&code)["minLength"].clone()
            ),
            (json!(3), json!(1))
        );
    }
}
