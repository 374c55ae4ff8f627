//! `ModelState`: a tab's live list of one model's rows, scoped to its user, with `refresh`,
//! `create`, `update` and `delete` handlers and validation errors in an `errors` var.

use std::marker::PhantomData;

use actix_web::http::Method;
use duet_auth::{Access, IsAuthenticated, Permission};
use duet_models::{ChangeKind, Input, ListQuery, Model, ModelChange, NewOwner, OrderBy, Scope, ValidationErrors};
use futures_util::future::LocalBoxFuture;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{EventCtx, EventError, EventResult, Events, HandlerDef, State, Stream};

/// A state bound to a [`Model`]: the rows `queryset` selects for the tab's user, in list
/// var [`ModelState::LIST_VAR`], kept live: every write to the model — through this state,
/// the API, a webhook, the admin — reaches the tabs that show the row. Register it as
/// `registry.register::<ModelList<MyState>>()`.
///
/// Its handlers, all permission-checked (DRF's methods: `refresh` is GET, `create` POST,
/// `update` PATCH, `delete` DELETE), validating input with the model's own rules:
///
/// | handler | payload | does |
/// |---|---|---|
/// | `refresh` | anything (ignored) | reloads the rows, subscribes to the rows' changes |
/// | `create` | `{field: value, …}` | validates and creates a row |
/// | `update` | `{"id": 7, field: value, …}` | validates and updates row 7 |
/// | `delete` | `7` or `{"id": 7}` | deletes row 7 |
///
/// Invalid input does not fail the event: the errors go to the `errors` var (DRF's shape,
/// `{"total": ["…"]}`) and are cleared by the next successful write. Rows outside the
/// queryset are "Not found.", as in the HTTP API.
///
/// # Streams: large querysets
///
/// With [`ModelState::STREAM_PAGE`] set, the list var is a [`Stream`]: the server keeps
/// none of the rows, only how many it has sent (`loaded`, backend-only). `refresh` resets
/// the browser's rows to the first page, `more` appends the next one (pagination or
/// infinite scroll: a "Load more" button, or a sentinel row's visibility), and the `more`
/// var says whether there is one. Writes send the one row they change; a change made
/// elsewhere reaches the tab as a `row_changed` reaction that reads that one row. A tab
/// showing 10,000 rows costs the server what one showing ten does.
///
/// | handler | payload | does |
/// |---|---|---|
/// | `more` | anything (ignored) | appends the next page |
/// | `row_changed` | a model change `{"id": 7, "change": "updated"}` | re-reads row 7 and shows (or removes) it |
pub trait ModelState: Sized + 'static {
    /// The model whose rows it lists.
    type Model: Model;
    /// The state's name on the wire.
    const NAME: &'static str;
    /// The list var's name.
    const LIST_VAR: &'static str = "rows";
    /// Whether only logged-in users may load it.
    const LOGIN_REQUIRED: bool = true;
    /// The order of the rows the default [`ModelState::queryset`] lists (Django's
    /// `Meta.ordering`): `&[Note::CREATED_AT.desc()]` for newest first. Empty: primary key
    /// order.
    const ORDERING: &'static [OrderBy] = &[];
    /// `Some(n)`: the rows are a [`Stream`] the server does not keep, loaded `n` at a time
    /// (see the trait docs). `None` (the default): a list kept in the tab's state and
    /// diffed by key.
    const STREAM_PAGE: Option<i64> = None;
    /// In a stream, where a row created elsewhere appears: first (`true`, for newest-first
    /// lists), or last once every page is loaded (`false`).
    const STREAM_NEW_FIRST: bool = false;

    /// The rows the tab's user sees: scope, filters and ordering. Rows outside it do not
    /// exist for this state's handlers. By default the user's own rows when the model has
    /// an owner field, every row otherwise, in [`ModelState::ORDERING`].
    fn queryset(ctx: &EventCtx) -> Result<ListQuery, EventError> {
        let scope = match <Self::Model as Model>::OWNER_FIELD {
            Some(_) => Scope::Owner(ctx.require_user()?.id),
            None => Scope::All,
        };
        let mut query = ListQuery::new(scope);
        query.ordering = Self::ORDERING.to_vec();
        Ok(query)
    }

    /// Who may do what (default: logged-in users).
    fn permission() -> impl Permission {
        IsAuthenticated
    }

    /// More handlers, beside the four built-in ones.
    fn extra_handlers() -> Vec<HandlerDef<ModelList<Self>>> {
        Vec::new()
    }
}

/// The topic on which the changes to the rows of `scope` are announced (the model's
/// `ModelChange` topics).
fn topic<M: Model>(scope: Scope) -> String {
    match scope {
        Scope::All => ModelChange::model_topic(M::NAME),
        Scope::Owner(owner) => ModelChange::owner_topic(M::NAME, owner),
    }
}

/// The vars of a [`ModelState`]: its rows (under [`ModelState::LIST_VAR`]) and `errors`;
/// with [`ModelState::STREAM_PAGE`], its rows are `stream` instead, with `more` and
/// `loaded`.
pub struct ModelList<M> {
    /// The rows, as the model's JSON (kept lists only).
    pub rows: Vec<Value>,
    /// The rows as a stream (with [`ModelState::STREAM_PAGE`]).
    pub stream: Stream<Value>,
    /// Stream only: whether rows after the loaded pages exist.
    pub more: bool,
    /// Stream only: how many rows the browser was sent (backend-only; where `more` starts).
    pub loaded: i64,
    /// The last write's validation errors; empty after a successful one.
    pub errors: ValidationErrors,
    state: PhantomData<fn() -> M>,
}

/// The vars besides the list.
const ERRORS: &str = "errors";
const MORE: &str = "more";
const LOADED: &str = "loaded";

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
            stream: Stream::default(),
            more: false,
            loaded: 0,
            errors: ValidationErrors::new(),
            state: PhantomData,
        }
    }
}

impl<M: ModelState> Serialize for ModelList<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if M::STREAM_PAGE.is_some() {
            let mut map = serializer.serialize_map(Some(4))?;
            map.serialize_entry(M::LIST_VAR, &self.stream)?;
            map.serialize_entry(MORE, &self.more)?;
            map.serialize_entry(LOADED, &self.loaded)?;
            map.serialize_entry(ERRORS, &self.errors)?;
            return map.end();
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(M::LIST_VAR, &self.rows)?;
        map.serialize_entry(ERRORS, &self.errors)?;
        map.end()
    }
}

impl<'de, M: ModelState> Deserialize<'de> for ModelList<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Var `var` of `map`, or its default when absent.
        fn read<T: serde::de::DeserializeOwned + Default, E: serde::de::Error>(
            map: &mut Map<String, Value>,
            var: &str,
        ) -> Result<T, E> {
            match map.remove(var) {
                Some(value) => serde_json::from_value(value).map_err(E::custom),
                None => Ok(T::default()),
            }
        }
        let mut map = Map::deserialize(deserializer)?;
        let rows = match M::STREAM_PAGE {
            Some(_) => Vec::new(),
            None => read(&mut map, M::LIST_VAR)?,
        };
        Ok(ModelList {
            rows,
            stream: Stream::default(),
            more: read(&mut map, MORE)?,
            loaded: read(&mut map, LOADED)?,
            errors: read(&mut map, ERRORS)?,
            state: PhantomData,
        })
    }
}

impl<M: ModelState> State for ModelList<M> {
    const NAME: &'static str = M::NAME;
    const LOGIN_REQUIRED: bool = M::LOGIN_REQUIRED;
    const BACKEND_VARS: &'static [&'static str] = if M::STREAM_PAGE.is_some() { &[LOADED] } else { &[] };

    fn list_key(var: &str) -> Option<&'static str> {
        (var == M::LIST_VAR).then_some("id")
    }

    fn check() -> Result<(), String> {
        if [ERRORS, MORE, LOADED].contains(&M::LIST_VAR) {
            return Err(format!("its list var cannot be named {:?}", M::LIST_VAR));
        }
        if M::STREAM_PAGE.is_some_and(|page| page < 1) {
            return Err("STREAM_PAGE must be at least 1".into());
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
        if M::STREAM_PAGE.is_some() {
            fn more<'a, M: ModelState>(
                s: &'a mut ModelList<M>,
                ctx: &'a mut EventCtx,
                _: Value,
            ) -> LocalBoxFuture<'a, EventResult> {
                Box::pin(s.more(ctx))
            }
            fn row_changed<'a, M: ModelState>(
                s: &'a mut ModelList<M>,
                ctx: &'a mut EventCtx,
                payload: Value,
            ) -> LocalBoxFuture<'a, EventResult> {
                Box::pin(s.row_changed(ctx, payload))
            }
            handlers.push(HandlerDef {
                name: "more",
                call: more::<M>,
            });
            handlers.push(HandlerDef {
                name: "row_changed",
                call: row_changed::<M>,
            });
        }
        handlers.extend(M::extra_handlers());
        handlers
    }
}

impl<M: ModelState> ModelList<M> {
    /// Reloads the rows (a stream: resets it to the first page) and subscribes the tab to
    /// their changes.
    pub fn refresh<'a>(&'a mut self, ctx: &'a mut EventCtx) -> LocalBoxFuture<'a, EventResult> {
        Box::pin(async move {
            allow::<M>(ctx, &Method::GET, None)?;
            let query = M::queryset(ctx)?;
            let reaction = match M::STREAM_PAGE {
                Some(_) => {
                    self.stream.reset();
                    self.loaded = 0;
                    self.page(ctx, query.clone()).await?;
                    "row_changed"
                }
                None => {
                    self.load(ctx, &query).await?;
                    "refresh"
                }
            };
            ctx.subscribe(topic::<M::Model>(query.scope), reaction);
            Ok(())
        })
    }

    /// A stream's next page, appended.
    async fn more(&mut self, ctx: &mut EventCtx) -> EventResult {
        allow::<M>(ctx, &Method::GET, None)?;
        let query = M::queryset(ctx)?;
        self.page(ctx, query).await
    }

    /// Streams the page after the `loaded` rows, and says whether another follows.
    async fn page(&mut self, ctx: &EventCtx, query: ListQuery) -> EventResult {
        let size = M::STREAM_PAGE.unwrap_or(1);
        let rows = M::Model::list(ctx.db(), &query.window(size + 1, self.loaded)).await?;
        self.more = rows.len() as i64 > size;
        for row in rows.iter().take(size as usize) {
            self.stream.append(&Value::Object(row.to_json()));
            self.loaded += 1;
        }
        Ok(())
    }

    /// A reaction to a write anywhere (the payload is the model's change): shows row `id`
    /// as it is now, or removes it when it is gone or no longer in the queryset.
    async fn row_changed(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        #[derive(serde::Deserialize)]
        struct RowChange {
            id: i64,
            change: ChangeKind,
        }
        let RowChange { id, change } = serde_json::from_value(payload)
            .map_err(|e| EventError::bad_payload(format_args!("expected a model change: {e}")))?;
        allow::<M>(ctx, &Method::GET, None)?;
        match self.current(ctx, id).await? {
            None => {
                self.stream.delete(id);
                if change == ChangeKind::Deleted {
                    self.loaded = (self.loaded - 1).max(0);
                }
            }
            Some(row) if change == ChangeKind::Created => {
                if M::STREAM_NEW_FIRST {
                    self.stream.prepend(&row);
                    self.loaded += 1;
                } else if !self.more {
                    self.stream.append(&row);
                    self.loaded += 1;
                }
            }
            Some(row) => self.stream.update(&row),
        }
        Ok(())
    }

    /// Row `id` as the queryset shows it now, if it holds it.
    async fn current(&self, ctx: &EventCtx, id: i64) -> Result<Option<Value>, EventError> {
        let query = M::queryset(ctx)?.filter("id", id).window(1, 0);
        let rows = M::Model::list(ctx.db(), &query).await?;
        Ok(rows.first().map(|row| Value::Object(row.to_json())))
    }

    async fn reload(&mut self, ctx: &EventCtx) -> EventResult {
        let query = M::queryset(ctx)?;
        self.load(ctx, &query).await
    }

    async fn load(&mut self, ctx: &EventCtx, query: &ListQuery) -> EventResult {
        let rows = M::Model::list(ctx.db(), query).await?;
        self.rows = rows.iter().map(|row| Value::Object(row.to_json())).collect();
        Ok(())
    }

    async fn create(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        allow::<M>(ctx, &Method::POST, None)?;
        let input = Input::new(object(payload)?, false);
        let owner = match M::Model::OWNER_FIELD {
            Some(_) => NewOwner::User(ctx.require_user()?.id),
            None => NewOwner::FromInput,
        };
        let written = match M::Model::validate_new(input, owner) {
            Ok(new) => M::Model::create(ctx.db(), new).await.map_err(EventError::from),
            Err(errors) => Err(EventError::invalid(errors)),
        };
        self.written(ctx, written, ChangeKind::Created).await
    }

    async fn update(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        let mut fields = object(payload)?;
        let id = fields
            .remove("id")
            .and_then(|id| id.as_i64())
            .ok_or_else(|| EventError::bad_payload("`id` (an integer) is required"))?;
        let row = self.row(ctx, &Method::PATCH, id).await?;
        let written = match M::Model::validate_changes(Input::new(fields, true)) {
            Ok(changes) => M::Model::update(ctx.db(), Scope::All, row.pk(), changes)
                .await
                .map_err(EventError::from),
            Err(errors) => Err(EventError::invalid(errors)),
        };
        self.written(ctx, written, ChangeKind::Updated).await
    }

    async fn delete(&mut self, ctx: &mut EventCtx, payload: Value) -> EventResult {
        let id = match &payload {
            Value::Object(map) => map.get("id").and_then(Value::as_i64),
            other => other.as_i64(),
        }
        .ok_or_else(|| EventError::bad_payload("send the row's id: 7 or {\"id\": 7}"))?;
        self.row(ctx, &Method::DELETE, id).await?;
        let scope = M::queryset(ctx)?.scope;
        M::Model::delete(ctx.db(), scope, id).await?;
        self.errors = ValidationErrors::new();
        if M::STREAM_PAGE.is_some() {
            // `loaded` follows in the `row_changed` reaction every write brings.
            self.stream.delete(id);
            return Ok(());
        }
        self.reload(ctx).await
    }

    /// Row `id` if the queryset holds it and the permission allows `method` on it.
    async fn row(&self, ctx: &EventCtx, method: &Method, id: i64) -> Result<M::Model, EventError> {
        allow::<M>(ctx, method, None)?;
        let scope = M::queryset(ctx)?.scope;
        let row = M::Model::get(ctx.db(), scope, id).await?;
        allow::<M>(ctx, method, Some(row.owner_id()))?;
        Ok(row)
    }

    /// After a write: validation errors go to `errors`; success clears them and reloads the
    /// rows (the model announced the write to the other tabs). A stream is sent the one row
    /// at once, in the reply (the `row_changed` reaction that follows finds it shown).
    async fn written(
        &mut self,
        ctx: &EventCtx,
        written: Result<M::Model, EventError>,
        change: ChangeKind,
    ) -> EventResult {
        match written {
            Ok(row) if M::STREAM_PAGE.is_some() => {
                self.errors = ValidationErrors::new();
                let row = Value::Object(row.to_json());
                match change {
                    ChangeKind::Created if M::STREAM_NEW_FIRST => self.stream.prepend(&row),
                    ChangeKind::Created if !self.more => self.stream.append(&row),
                    _ => self.stream.update(&row),
                }
                Ok(())
            }
            Ok(_) => {
                self.errors = ValidationErrors::new();
                self.reload(ctx).await
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

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use duet_models::{Db, FRAMEWORK_MIGRATIONS, NewUser, OrderBy, User};

    use super::{ModelList, ModelState};
    use crate::{EventCtx, Route};

    /// Users, by name from Z to A.
    struct ByName;

    impl ModelState for ByName {
        type Model = User;
        const NAME: &'static str = "users";
        const ORDERING: &'static [OrderBy] = &[User::USERNAME.desc()];
    }

    /// Users, in primary key order.
    struct ByKey;

    impl ModelState for ByKey {
        type Model = User;
        const NAME: &'static str = "users";
    }

    fn usernames<M: ModelState>(list: &ModelList<M>) -> Vec<&str> {
        list.rows.iter().map(|row| row["username"].as_str().unwrap()).collect()
    }

    #[tokio::test]
    async fn the_default_queryset_lists_rows_in_the_states_ordering() {
        let db = Db::connect_url("sqlite://:memory:").await.unwrap();
        db.migrate(&[FRAMEWORK_MIGRATIONS]).await.unwrap();
        let mut users = Vec::new();
        for username in ["bob", "ada", "cy"] {
            let new = NewUser {
                username: username.into(),
                password: "pw".into(),
                ..NewUser::default()
            };
            users.push(User::create(&db, new).await.unwrap());
        }
        let mut ctx = EventCtx::new(Some(Rc::new(users[0].clone())), db, Route::default());

        let mut by_name = ModelList::<ByName>::default();
        by_name.refresh(&mut ctx).await.unwrap();
        assert_eq!(usernames(&by_name), ["cy", "bob", "ada"]);
        let mut by_key = ModelList::<ByKey>::default();
        by_key.refresh(&mut ctx).await.unwrap();
        assert_eq!(usernames(&by_key), ["bob", "ada", "cy"]);
    }
}
