//! A viewset's operations, from its model and options: DRF-spectacular's view of a
//! `ModelViewSet`, with nothing written twice.

use actix_web::http::Method;
use duet_auth::{Access, Permission};
use duet_models::{FieldKind, Lookup, Model};
use serde_json::{Value, json};

use super::schema::{model_shapes, output_schema};
use super::{response_ref, schema_ref, security};
use crate::listing::Pagination;
use crate::{ListOptions, Routes, ViewSet};

/// Documents the routes [`register_viewset`](crate::router) added for `vs` at `base`
/// (`/v1/orders`, relative to `routes`' base).
pub(crate) fn describe<V: ViewSet>(routes: &mut Routes, base: &str, vs: &V) {
    let fields = vs.fields();
    let shapes = model_shapes::<V::Model>(fields.as_deref(), &vs.read_only_fields());
    let row = shapes.name.clone();
    let tag = base.rsplit('/').next().unwrap_or(base).to_owned();
    let id_prefix: String = base
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let page = format!("Paginated{row}List");
    let (input, patch) = (format!("{row}Input"), format!("Patched{row}Input"));
    let options = vs.list_options();
    routes.schema(&page, paginated(&row, options.pagination));
    routes.schema(&row, shapes.row);
    routes.schema(&input, shapes.input);
    routes.schema(&patch, shapes.patch);

    let permission = vs.permission();
    let op = |method: &Method, action: &str, summary: String, mut op: Value| {
        op["operationId"] = format!("{id_prefix}_{action}").into();
        op["summary"] = summary.into();
        op["tags"] = json!([tag]);
        op["security"] = security(method, allows_anonymous(&permission, method));
        let responses = op["responses"].as_object_mut().expect("every operation has responses");
        responses.insert("401".into(), response_ref("Unauthorized"));
        responses.insert("403".into(), response_ref("Forbidden"));
        responses.insert("503".into(), response_ref("Unavailable"));
        if !matches!(*method, Method::GET | Method::HEAD) {
            responses
                .entry("400")
                .or_insert_with(|| response_ref("ValidationFailed"));
            responses.insert("413".into(), response_ref("PayloadTooLarge"));
            responses.insert("415".into(), response_ref("UnsupportedMediaType"));
        }
        op
    };
    let (one, many) = (V::Model::VERBOSE_NAME, V::Model::VERBOSE_NAME_PLURAL);
    let list = format!("{base}/");
    let detail = format!("{base}/{{id}}/");
    let id = json!({
        "name": "id", "in": "path", "required": true,
        "schema": {"type": "integer", "format": "int64"},
        "description": format!("The {one}'s id."),
    });
    let body = |name: &str| json!({"required": true, "content": {"application/json": {"schema": schema_ref(name)}}});
    let ok = |schema: Value, description: &str| json!({"description": description, "content": {"application/json": {"schema": schema}}});

    for action in vs.actions() {
        let method = action.method().clone();
        let (path, mut parameters) = match action.is_detail() {
            true => (format!("{base}/{{id}}/{}/", action.name()), vec![id.clone()]),
            false => (format!("{base}/{}/", action.name()), Vec::new()),
        };
        let response = action.response().cloned().unwrap_or_else(|| schema_ref(&row));
        let mut responses = json!({"200": ok(response, "Done.")});
        if action.is_detail() {
            responses["404"] = response_ref("NotFound");
        }
        let summary = action
            .summary_text()
            .map_or_else(|| format!("The `{}` action.", action.name()), str::to_owned);
        let operation = op(
            &method,
            action.name(),
            summary,
            json!({"parameters": std::mem::take(&mut parameters), "responses": responses}),
        );
        routes.operation(&path, method, operation);
    }
    let list_op = op(
        &Method::GET,
        "list",
        format!("List {many}."),
        json!({
            "parameters": list_parameters::<V::Model>(&options),
            "responses": {
                "200": ok(schema_ref(&page), "One page of results."),
                "400": response_ref("ValidationFailed"),
                "404": response_ref("NotFound"),
            },
        }),
    );
    routes.operation(&list, Method::GET, list_op);
    let create = op(
        &Method::POST,
        "create",
        format!("Create a {one}."),
        json!({
            "requestBody": body(&input),
            "responses": {"201": {
                "description": "Created.",
                "headers": {"Location": {"description": "The new row's URL.", "schema": {"type": "string"}}},
                "content": {"application/json": {"schema": schema_ref(&row)}},
            }},
        }),
    );
    routes.operation(&list, Method::POST, create);
    let detail_ops = [
        (Method::GET, "retrieve", format!("Retrieve a {one}."), None, "200"),
        (Method::PUT, "update", format!("Replace a {one}."), Some(&input), "200"),
        (
            Method::PATCH,
            "partial_update",
            format!("Change some fields of a {one}."),
            Some(&patch),
            "200",
        ),
        (Method::DELETE, "destroy", format!("Delete a {one}."), None, "204"),
    ];
    for (method, action, summary, request, status) in detail_ops {
        let mut responses = json!({"404": response_ref("NotFound")});
        responses[status] = match status {
            "204" => json!({"description": "Deleted."}),
            _ => ok(schema_ref(&row), "The row."),
        };
        let mut operation = json!({"parameters": [id.clone()], "responses": responses});
        if let Some(request) = request {
            operation["requestBody"] = body(request);
        }
        let operation = op(&method, action, summary, operation);
        routes.operation(&detail, method, operation);
    }
}

/// Whether `permission` lets a request without credentials use `method`.
fn allows_anonymous(permission: &impl Permission, method: &Method) -> bool {
    permission.has_permission(Access { user: None, method })
}

fn paginated(row: &str, pagination: Pagination) -> Value {
    let link = |which: &str| {
        json!({
            "type": ["string", "null"],
            "format": "uri",
            "description": format!("The {which} page's URL, or null."),
        })
    };
    let description = match pagination {
        Pagination::PageNumber { .. } => "A page of results (`?page=`, `?page_size=`).",
        Pagination::LimitOffset { .. } => "A window of results (`?limit=`, `?offset=`).",
    };
    json!({
        "type": "object",
        "description": description,
        "properties": {
            "count": {"type": "integer", "description": "How many rows match, over all pages."},
            "next": link("next"),
            "previous": link("previous"),
            "results": {"type": "array", "items": schema_ref(row)},
        },
        "required": ["count", "next", "previous", "results"],
    })
}

fn query(name: &str, schema: Value, description: String) -> Value {
    let mut parameter = json!({"name": name, "in": "query", "required": false});
    parameter["schema"] = schema;
    parameter["description"] = Value::String(description);
    parameter
}

/// The list's query parameters: each filter with its lookups, search, ordering and paging.
fn list_parameters<M: Model>(options: &ListOptions) -> Vec<Value> {
    let mut parameters = Vec::new();
    for name in &options.filter_fields {
        let Some(field) = M::field(name) else { continue };
        let mut schema = output_schema(field);
        schema.remove("title");
        schema.remove("description");
        schema.remove("pattern");
        let ordered = matches!(
            field.kind,
            FieldKind::Integer | FieldKind::Decimal { .. } | FieldKind::Money | FieldKind::Date | FieldKind::DateTime
        );
        for (lookup, suffix) in Lookup::SUFFIXES {
            let (schema, description) = match lookup {
                Lookup::Exact => (
                    json!(schema),
                    format!("Only rows whose {} is this.", field.verbose_name),
                ),
                Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte if ordered => (
                    json!(schema),
                    format!("A bound on {} (`{suffix}`).", field.verbose_name),
                ),
                Lookup::In => (
                    json!({"type": "string"}),
                    format!(
                        "Only rows whose {} is one of these, comma-separated.",
                        field.verbose_name
                    ),
                ),
                Lookup::IsNull if field.nullable => (
                    json!({"type": "boolean"}),
                    format!(
                        "Only rows whose {} is (`true`) or is not (`false`) empty.",
                        field.verbose_name
                    ),
                ),
                _ => continue,
            };
            parameters.push(query(&format!("{name}{suffix}"), schema, description));
        }
    }
    if !options.search_fields.is_empty() {
        parameters.push(query(
            "search",
            json!({"type": "string"}),
            format!(
                "Case-insensitive text to look for in: {}.",
                options.search_fields.join(", ")
            ),
        ));
    }
    if !options.ordering_fields.is_empty() {
        let one = format!("-?({})", options.ordering_fields.join("|"));
        parameters.push(query(
            "ordering",
            json!({"type": "string", "pattern": format!("^{one}(,{one})*$")}),
            format!(
                "Sort by these fields, comma-separated; `-` sorts largest first. Fields: {}.",
                options.ordering_fields.join(", ")
            ),
        ));
    }
    let whole = |min: i64| json!({"type": "integer", "minimum": min});
    match options.pagination {
        Pagination::PageNumber {
            page_size,
            max_page_size,
        } => {
            parameters.push(query("page", whole(1), "The page, from 1.".into()));
            parameters.push(query(
                "page_size",
                whole(1),
                format!("Rows per page (default {page_size}, at most {max_page_size})."),
            ));
        }
        Pagination::LimitOffset {
            default_limit,
            max_limit,
        } => {
            parameters.push(query(
                "limit",
                whole(1),
                format!("How many rows (default {default_limit}, at most {max_limit})."),
            ));
            parameters.push(query("offset", whole(0), "How many rows to skip.".into()));
        }
    }
    parameters
}
