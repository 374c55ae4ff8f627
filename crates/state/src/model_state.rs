//! `ModelState`: a tab's live list of one model's rows, scoped to its user, with `refresh`,
//! `create`, `update` and `delete` handlers and validation errors in an `errors` var.

use std::future::Future;
use std::marker::PhantomData;

use actix_web::http::Method;
use duet_auth::{Access, IsAuthenticated, Permission};
use duet_models::{Input, ListQuery, Model, ValidationErrors};
use futures_util::future::LocalBoxFuture;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{EventCtx, EventError, EventResult, Events, HandlerDef, State};

/// The state-side serializer of a model: how a row looks in a tab's list, and validated
/// writes from the browser's forms. Distinct from duet-views' `ApiSerializer`: same model,
/// another audience (a page shows fewer fields than an API returns).
pub trait StateSerializer: 'static {
    /// The model it serializes.
    type Model: Model;
    /// The fields a row shows besides its primary key (checked against the model's
    /// fields when the state is registered).
    const FIELDS: &'static [&'static str];

    /// A row as the list shows it: `id` plus [`StateSerializer::FIELDS`] of the model's JSON.
    fn to_row(row: &Self::Model) -> Value {
        let mut json = row.to_json();
        let mut out = Map::new();
        out.insert("id".into(), Value::from(row.pk()));
        for field in Self::FIELDS {
            if let Some(value) = json.remove(*field) {
                out.insert((*field).to_owned(), value);
            }
        }
        Value::Object(out)
    }

    /// Validates `input` (a form's fields) and creates a row for the tab's user. Validation
    /// failures are [`EventError::invalid`] (`input.finish()?` does that).
    fn create(ctx: &EventCtx, input: Input) -> impl Future<Output = Result<Self::Model, EventError>>;

    /// Validates `input` (partial: only the fields sent) and updates `row`.
    fn update(ctx: &EventCtx, row: Self::Model, input: Input) -> impl Future<Output = Result<Self::Model, EventError>>;
}

/// A state bound to a [`Model`]: the rows `queryset` selects for the tab's user, in list
/// var [`ModelState::LIST_VAR`], kept live through a broadcaster topic. Register it as
/// `registry.register::<ModelList<MyState>>()`.
///
/// Its handlers, all permission-checked (DRF's methods: `refresh` is GET, `create` POST,
/// `update` PATCH, `delete` DELETE):
///
/// | handler | payload | does |
/// |---|---|---|
/// | `refresh` | anything (ignored) | reloads the rows, subscribes to [`ModelState::topic`] |
/// | `create` | `{field: value, …}` | validates and creates a row |
/// | `update` | `{"id": 7, field: value, …}` | validates and updates row 7 |
/// | `delete` | `7` or `{"id": 7}` | deletes row 7 |
///
/// Invalid input does not fail the event: the errors go to the `errors` var (DRF's shape,
/// `{"total": ["…"]}`) and are cleared by the next successful write. Rows outside the
/// queryset are "Not found.", as in the HTTP API.
pub trait ModelState: Sized + 'static {
    /// The serializer, which also names the model.
    type Serializer: StateSerializer;
    /// The state's name on the wire.
    const NAME: &'static str;
    /// The list var's name.
    const LIST_VAR: &'static str = "rows";
    /// Whether only logged-in users may load it.
    const LOGIN_REQUIRED: bool = true;

    /// The rows the tab's user sees: scope (usually `Scope::Owner(user.id)`), filters and
    /// ordering. Rows outside it do not exist for this state's handlers.
    fn queryset(ctx: &EventCtx) -> Result<ListQuery, EventError>;

    /// Who may do what (default: logged-in users).
    fn permission() -> impl Permission {
        IsAuthenticated
    }

    /// The topic on which changes to these rows are published; `refresh` subscribes the tab.
    fn topic(ctx: &EventCtx) -> Option<String> {
        let _ = ctx;
        None
    }

    /// Called after `create`, `update` or `delete` changed `row`: by default publishes
    /// `{"id": pk}` on [`ModelState::topic`], so the user's other tabs refresh.
    fn changed(ctx: &EventCtx, row: &ModelOf<Self>) {
        if let Some(topic) = Self::topic(ctx) {
            ctx.broadcaster().publish(&topic, &serde_json::json!({"id": row.pk()}));
        }
    }

    /// More handlers, beside the four built-in ones.
    fn extra_handlers() -> Vec<HandlerDef<ModelList<Self>>> {
        Vec::new()
    }
}

/// The model of a [`ModelState`].
pub type ModelOf<M> = <<M as ModelState>::Serializer as StateSerializer>::Model;

/// The vars of a [`ModelState`]: its rows (under [`ModelState::LIST_VAR`]) and `errors`.
pub struct ModelList<M> {
    /// The rows, as [`StateSerializer::to_row`] shows them.
    pub rows: Vec<Value>,
    /// The last write's validation errors; empty after a successful one.
    pub errors: ValidationErrors,
    state: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for ModelList<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelList")
            .field("rows", &self.rows.len())
            .field("errors", &self.errors)
            .finish()
    }
}

impl<M> Default for ModelList<M> {
    fn default() -> Self {
        ModelList {
            rows: Vec::new(),
            errors: ValidationErrors::new(),
            state: PhantomData,
        }
    }
}

impl<M: ModelState> Serialize for ModelList<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(M::LIST_VAR, &self.rows)?;
        map.serialize_entry("errors", &self.errors)?;
        map.end()
    }
}

impl<'de, M: ModelState> Deserialize<'de> for ModelList<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::deserialize(deserializer)?;
        let rows = match map.remove(M::LIST_VAR) {
            Some(rows) => serde_json::from_value(rows).map_err(D::Error::custom)?,
            None => Vec::new(),
        };
        let errors = match map.remove("errors") {
            Some(errors) => serde_json::from_value(errors).map_err(D::Error::custom)?,
            None => ValidationErrors::new(),
        };
        Ok(ModelList {
            rows,
            errors,
            state: PhantomData,
        })
    }
}

impl<M: ModelState> State for ModelList<M> {
    const NAME: &'static str = M::NAME;
    const LOGIN_REQUIRED: bool = M::LOGIN_REQUIRED;

    fn list_key(var: &str) -> Option<&'static str> {
        (var == M::LIST_VAR).then_some("id")
    }

    fn check() -> Result<(), String> {
        let model = <ModelOf<M> as Model>::NAME;
        for field in M::Serializer::FIELDS {
            if <ModelOf<M> as Model>::field(field).is_none() {
                return Err(format!(
                    "its serializer shows field {field:?}, which model {model:?} does not have"
                ));
            }
        }
        if M::LIST_VAR == "errors" {
            return Err("its list var cannot be named \"errors\"".into());
        }
        Ok(())
    }
}

impl<M: ModelState> Events for ModelList<M> {
    fn handlers() -> Vec<HandlerDef<Self>> {
        fn refresh<'a, M: ModelState>(
            s: &'a mut ModelList<M>,
            ctx: &'a mut EventCtx,
            _: Value,
        ) -> LocalBoxFuture<'a, EventResult> {
            s.refresh(ctx)
        }
        fn create<'a, M: ModelState>(
            s: &'a mut ModelList<M>,
            ctx: &'a mut EventCtx,
            payload: Value,
        ) -> LocalBoxFuture<'a, EventResult> {
            Box::pin(s.create(ctx, payload))
        }
        fn update<'a, M: ModelState>(
            s: &'a mut ModelList<M>,
            ctx: &'a mut EventCtx,
            payload: Value,
        ) -> LocalBoxFuture<'a, EventResult> {
            Box::pin(s.update(ctx, payload))
        }
        fn delete<'a, M: ModelState>(
            s: &'a mut ModelList<M>,
            ctx: &'a mut EventCtx,
            payload: Value,
        ) -> LocalBoxFuture<'a, EventResult> {
            Box::pin(s.delete(ctx, payload))
        }
        let mut handlers = vec![
            HandlerDef {
                name: "refresh",
                call: refresh::<M>,
            },
            HandlerDef {
                name: "create",
                call: create::<M>,
            },
            HandlerDef {
                name: "update",
                call: update::<M>,
            },
            HandlerDef {
                name: "delete",
                call: delete::<M>,
            },
        ];
        handlers.extend(M::extra_handlers());
        handlers
    }
}

impl<M: ModelState> ModelList<M> {
    /// Reloads the rows and subscribes the tab to the state's topic.
    pub fn refresh<'a>(&'a mut self, ctx: &'a mut EventCtx) -> LocalBoxFuture<'a, EventResult> {
        Box::pin(async move {
            allow::<M>(ctx, &Method::GET, None)?;
            self.reload(ctx).await?;
            if let Some(topic) = M::topic(ctx) {
                ctx.subscribe(topic, "refresh");
            }
            Ok(())
        })
    }

    async fn reload(&mut self, ctx: &EventCtx) -> EventResult {
        let query = M::queryset(ctx)?;
        let rows = <ModelOf<M> as Model>::list(ctx.db(), &query).await?;
        self.rows = rows.iter().map(M::Serializer::to_row).collect();
        Ok(())
    }

    async fn create(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        allow::<M>(ctx, &Method::POST, None)?;
        let fields = object(payload)?;
        let written = M::Serializer::create(ctx, Input::new(fields, false)).await;
        self.written(ctx, written).await
    }

    async fn update(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        let mut fields = object(payload)?;
        let id = fields
            .remove("id")
            .and_then(|id| id.as_i64())
            .ok_or_else(|| EventError::bad_payload("`id` (an integer) is required"))?;
        let row = self.row(ctx, &Method::PATCH, id).await?;
        let written = M::Serializer::update(ctx, row, Input::new(fields, true)).await;
        self.written(ctx, written).await
    }

    async fn delete(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        let id = match &payload {
            Value::Object(map) => map.get("id").and_then(Value::as_i64),
            other => other.as_i64(),
        }
        .ok_or_else(|| EventError::bad_payload("send the row's id: 7 or {\"id\": 7}"))?;
        let row = self.row(ctx, &Method::DELETE, id).await?;
        let scope = M::queryset(ctx)?.scope;
        <ModelOf<M> as Model>::delete(ctx.db(), scope, id).await?;
        self.errors = ValidationErrors::new();
        self.reload(ctx).await?;
        M::changed(ctx, &row);
        Ok(())
    }

    /// Row `id` if the queryset holds it and the permission allows `method` on it.
    async fn row(&self, ctx: &EventCtx, method: &Method, id: i64) -> Result<ModelOf<M>, EventError> {
        allow::<M>(ctx, method, None)?;
        let scope = M::queryset(ctx)?.scope;
        let row = <ModelOf<M> as Model>::get(ctx.db(), scope, id).await?;
        allow::<M>(ctx, method, Some(row.owner_id()))?;
        Ok(row)
    }

    /// After a write: validation errors go to `errors`; success clears them, reloads the
    /// rows and tells the other tabs.
    async fn written(&mut self, ctx: &EventCtx, written: Result<ModelOf<M>, EventError>) -> EventResult {
        match written {
            Ok(row) => {
                self.errors = ValidationErrors::new();
                self.reload(ctx).await?;
                M::changed(ctx, &row);
                Ok(())
            }
            Err(error) if error.code == crate::wire::ErrorCode::Invalid => {
                self.errors = error.fields;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

/// The permission check, with `owner` for the object-level one.
fn allow<M: ModelState>(ctx: &EventCtx, method: &Method, owner: Option<Option<i64>>) -> EventResult {
    let permission = M::permission();
    let access = Access {
        user: ctx.user(),
        method,
    };
    match owner {
        None => duet_auth::check(&permission, access)?,
        Some(owner) => duet_auth::check_object(&permission, access, owner)?,
    }
    Ok(())
}

fn object(payload: Value) -> Result<Map<String, Value>, EventError> {
    match payload {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(EventError::bad_payload("send the fields as an object")),
    }
}
