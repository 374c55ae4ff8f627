//! `ViewSet`: list, create, retrieve, update, partial_update and destroy for one model,
//! scoped to the request's user, in DRF's shape — and `ModelViewSet`, which takes every
//! default from the model's description.

use std::future::Future;
use std::rc::Rc;

use actix_web::http::Method;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use duet_auth::{IsAuthenticated, Permission, Throttle, check, check_object};
use duet_models::{Model, NewOwner, Scope};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use crate::Input;
use crate::input::{DEFAULT_BODY_LIMIT, read_json_object};
use crate::listing::{ListOptions, parse_list_request};
use crate::{ApiError, ApiRequest, ApiResult};

/// The handler of an [`Action`]: the request, and the (scoped, permission-checked) row for
/// detail actions.
pub type ActionHandler<M> = Rc<dyn Fn(ApiRequest, Option<M>) -> LocalBoxFuture<'static, ApiResult<HttpResponse>>>;

/// An extra route of a viewset (DRF's `@action`): `{prefix}/{name}/{action}/` on the
/// collection, or `{prefix}/{name}/{id}/{action}/` on one row. Handlers are plain async fns.
///
/// ```
/// use duet_views::{Action, ApiRequest, ApiResult};
/// use duet_models::User;
/// use actix_web::{HttpResponse, http::Method};
///
/// async fn deactivate(req: ApiRequest, user: User) -> ApiResult<HttpResponse> {
///     User::set_active(req.db(), user.id, false).await?;
///     Ok(HttpResponse::NoContent().finish())
/// }
///
/// async fn count(req: ApiRequest) -> ApiResult<HttpResponse> {
///     Ok(HttpResponse::Ok().json(serde_json::json!({"user": req.require_user()?.id})))
/// }
///
/// let actions = [Action::detail("deactivate", Method::POST, deactivate), Action::list("count", Method::GET, count)];
/// assert_eq!(actions[0].name(), "deactivate");
/// ```
pub struct Action<M> {
    name: &'static str,
    detail: bool,
    method: Method,
    handler: ActionHandler<M>,
    summary: Option<&'static str>,
    response: Option<Value>,
    throttle: Option<Throttle>,
}

impl<M: Model> Action<M> {
    /// An action on one row: `handler(req, row)` gets the row the `{id}` names, within the
    /// viewset's scope, after the object permission check.
    pub fn detail<F, Fut>(name: &'static str, method: Method, handler: F) -> Action<M>
    where
        F: Fn(ApiRequest, M) -> Fut + 'static,
        Fut: Future<Output = ApiResult<HttpResponse>> + 'static,
    {
        Action {
            name,
            detail: true,
            method,
            handler: Rc::new(move |req, row| match row {
                Some(row) => Box::pin(handler(req, row)),
                None => Box::pin(std::future::ready(Err(ApiError::Internal))),
            }),
            summary: None,
            response: None,
            throttle: None,
        }
    }

    /// An action on the collection: `handler(req)`, after the viewset's permission check.
    pub fn list<F, Fut>(name: &'static str, method: Method, handler: F) -> Action<M>
    where
        F: Fn(ApiRequest) -> Fut + 'static,
        Fut: Future<Output = ApiResult<HttpResponse>> + 'static,
    {
        Action {
            name,
            detail: false,
            method,
            handler: Rc::new(move |req, _| Box::pin(handler(req))),
            summary: None,
            response: None,
            throttle: None,
        }
    }

    /// What the action does, one line for the OpenAPI document.
    pub fn summary(mut self, summary: &'static str) -> Action<M> {
        self.summary = Some(summary);
        self
    }

    /// The JSON Schema of what the action answers with 200, for the OpenAPI document
    /// (default: the row, as drf-spectacular assumes for an `@action`).
    ///
    /// ```
    /// use duet_views::{Action, ApiRequest, ApiResult};
    /// use duet_models::User;
    /// use actix_web::{HttpResponse, http::Method};
    ///
    /// async fn count(_: ApiRequest) -> ApiResult<HttpResponse> {
    ///     Ok(HttpResponse::Ok().json(serde_json::json!({"count": 1})))
    /// }
    /// let action = Action::<User>::list("count", Method::GET, count)
    ///     .summary("How many users there are.")
    ///     .returns(serde_json::json!({"type": "object", "properties": {"count": {"type": "integer"}}}));
    /// assert_eq!(action.response().unwrap()["type"], "object");
    /// ```
    pub fn returns(mut self, schema: Value) -> Action<M> {
        self.response = Some(schema);
        self
    }

    /// The JSON Schema [`Action::returns`] set.
    pub fn response(&self) -> Option<&Value> {
        self.response.as_ref()
    }

    /// Counts the action's requests against `throttle` too (per user, or per address when
    /// anonymous), as a DRF `@action(throttle_scope=…)`: see
    /// [`Routes::throttled`](crate::Routes::throttled).
    pub fn throttle(mut self, throttle: Throttle) -> Action<M> {
        self.throttle = Some(throttle);
        self
    }

    /// The scope [`Action::throttle`] set, if any.
    pub fn throttle_scope(&self) -> Option<Throttle> {
        self.throttle
    }

    /// The summary [`Action::summary`] set, if any.
    pub fn summary_text(&self) -> Option<&'static str> {
        self.summary
    }

    /// The URL segment.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// On one row (`true`) or on the collection.
    pub fn is_detail(&self) -> bool {
        self.detail
    }

    /// The method it answers.
    pub fn method(&self) -> &Method {
        &self.method
    }

    pub(crate) fn handler(&self) -> ActionHandler<M> {
        Rc::clone(&self.handler)
    }
}

/// The scope of a model's rows for `req`: the user's own rows when the model has an owner
/// field (anonymous requests are 401), every row otherwise.
pub fn owner_scope<M: Model>(req: &ApiRequest) -> ApiResult<Scope> {
    match M::OWNER_FIELD {
        Some(_) => Ok(Scope::Owner(req.require_user()?.id)),
        None => Ok(Scope::All),
    }
}

/// A model's API: which rows a request sees, who may do what, how lists filter, search, sort
/// and page, how rows look and how input becomes rows. Every method has a default taken from
/// the model; [`ModelViewSet`] sets them without writing a trait impl.
pub trait ViewSet: Sized + 'static {
    /// The model served.
    type Model: Model;

    /// Which rows `req` may see; rows outside are 404 (default: [`owner_scope`]).
    fn scope(&self, req: &ApiRequest) -> ApiResult<Scope> {
        owner_scope::<Self::Model>(req)
    }

    /// Who may use the endpoints (default: logged-in users).
    fn permission(&self) -> impl Permission {
        IsAuthenticated
    }

    /// Filters, ordering, search and paging of lists (default: [`ListOptions::of`]).
    fn list_options(&self) -> ListOptions {
        ListOptions::of::<Self::Model>()
    }

    /// Largest request body, in bytes.
    fn body_limit(&self) -> usize {
        DEFAULT_BODY_LIMIT
    }

    /// Extra routes.
    fn actions(&self) -> Vec<Action<Self::Model>> {
        Vec::new()
    }

    /// The fields [`ViewSet::to_json`] shows, when not every field but secret ones: what the
    /// OpenAPI document says a row holds.
    fn fields(&self) -> Option<Vec<&'static str>> {
        None
    }

    /// Fields clients may not write, beside the model's read-only ones (for the OpenAPI
    /// document; the viewset's `create`/`update` ignore them).
    fn read_only_fields(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// A row as the API shows it (default: every field but secret ones).
    fn to_json(&self, row: &Self::Model) -> Value {
        Value::Object(row.to_json())
    }

    /// Validates `input` and creates a row — owned by the request's user when the model has
    /// an owner field. Validation is the model's own.
    fn create(&self, req: &ApiRequest, input: Input) -> impl Future<Output = ApiResult<Self::Model>> {
        async move {
            let owner = match Self::Model::OWNER_FIELD {
                Some(_) => NewOwner::User(req.require_user()?.id),
                None => NewOwner::FromInput,
            };
            let new = Self::Model::validate_new(input, owner)?;
            Ok(Self::Model::create(req.db(), new).await?)
        }
    }

    /// Validates `input` (partial for PATCH: see [`Input::is_partial`]) and updates `row`.
    fn update(&self, req: &ApiRequest, row: Self::Model, input: Input) -> impl Future<Output = ApiResult<Self::Model>> {
        async move {
            let changes = Self::Model::validate_changes(input)?;
            Ok(Self::Model::update(req.db(), Scope::All, row.pk(), changes).await?)
        }
    }
}

/// A [`ViewSet`] configured, not implemented: defaults from the model, options named by the
/// model's field constants (so a misspelt field does not compile).
///
/// ```ignore
/// ApiRouter::new("/v1").register(
///     "orders",
///     ModelViewSet::<Order>::new()
///         .filters([Order::STATUS, Order::CURRENCY])
///         .ordering([Order::PLACED_AT, Order::TOTAL])
///         .default_ordering([Order::PLACED_AT.desc()])
///         .action(Action::detail("cancel", Method::POST, cancel)),
/// )
/// ```
pub struct ModelViewSet<M, P = IsAuthenticated> {
    options: ListOptions,
    permission: P,
    actions: Vec<Action<M>>,
    read_only: Vec<&'static str>,
    fields: Option<Vec<&'static str>>,
    body_limit: usize,
}

impl<M: Model> ModelViewSet<M> {
    /// The model's API with every default: logged-in users, their own rows (when the model
    /// has an owner), every field, filters and ordering on every field, search on text.
    pub fn new() -> ModelViewSet<M> {
        ModelViewSet {
            options: ListOptions::of::<M>(),
            permission: IsAuthenticated,
            actions: Vec::new(),
            read_only: Vec::new(),
            fields: None,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl<M: Model> Default for ModelViewSet<M> {
    fn default() -> Self {
        ModelViewSet::new()
    }
}

fn names<M>(fields: impl IntoIterator<Item = duet_models::FieldRef<M>>) -> Vec<&'static str> {
    fields.into_iter().map(duet_models::FieldRef::name).collect()
}

impl<M: Model, P: Permission + Clone + 'static> ModelViewSet<M, P> {
    /// Who may use the endpoints.
    pub fn permission<Q: Permission + Clone + 'static>(self, permission: Q) -> ModelViewSet<M, Q> {
        ModelViewSet {
            options: self.options,
            permission,
            actions: self.actions,
            read_only: self.read_only,
            fields: self.fields,
            body_limit: self.body_limit,
        }
    }

    /// The fields clients may filter on (`?status=paid`, `?total__gte=10`).
    pub fn filters(mut self, fields: impl IntoIterator<Item = duet_models::FieldRef<M>>) -> Self {
        self.options.filter_fields = names(fields);
        self
    }

    /// The fields clients may sort by (`?ordering=-placed_at`).
    pub fn ordering(mut self, fields: impl IntoIterator<Item = duet_models::FieldRef<M>>) -> Self {
        self.options.ordering_fields = names(fields);
        self
    }

    /// The sort order when the client names none.
    pub fn default_ordering(mut self, keys: impl IntoIterator<Item = duet_models::OrderBy>) -> Self {
        self.options.default_ordering = keys.into_iter().collect();
        self
    }

    /// The text fields `?search=` looks in.
    pub fn search(mut self, fields: impl IntoIterator<Item = duet_models::FieldRef<M>>) -> Self {
        self.options.search_fields = names(fields);
        self
    }

    /// How lists are paged.
    pub fn pagination(mut self, pagination: crate::Pagination) -> Self {
        self.options.pagination = pagination;
        self
    }

    /// Fields clients may not write here, beside the model's read-only ones (their input is
    /// ignored, as DRF's `read_only_fields`).
    pub fn read_only(mut self, fields: impl IntoIterator<Item = duet_models::FieldRef<M>>) -> Self {
        self.read_only = names(fields);
        self
    }

    /// The fields the API shows (default: every field but secret ones).
    pub fn fields(mut self, fields: impl IntoIterator<Item = duet_models::FieldRef<M>>) -> Self {
        self.fields = Some(names(fields));
        self
    }

    /// Largest request body, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// An extra route.
    pub fn action(mut self, action: Action<M>) -> Self {
        self.actions.push(action);
        self
    }

    fn writable(&self, mut input: Input) -> Input {
        for field in &self.read_only {
            input.ignore(field);
        }
        input
    }
}

impl<M: Model, P: Permission + Clone + 'static> ViewSet for ModelViewSet<M, P> {
    type Model = M;

    fn permission(&self) -> impl Permission {
        self.permission.clone()
    }

    fn list_options(&self) -> ListOptions {
        self.options.clone()
    }

    fn body_limit(&self) -> usize {
        self.body_limit
    }

    fn actions(&self) -> Vec<Action<M>> {
        self.actions
            .iter()
            .map(|a| Action {
                name: a.name,
                detail: a.detail,
                method: a.method.clone(),
                handler: a.handler(),
                summary: a.summary,
                response: a.response.clone(),
                throttle: a.throttle,
            })
            .collect()
    }

    fn fields(&self) -> Option<Vec<&'static str>> {
        self.fields.clone()
    }

    fn read_only_fields(&self) -> Vec<&'static str> {
        self.read_only.clone()
    }

    fn to_json(&self, row: &M) -> Value {
        let mut json = row.to_json();
        if let Some(fields) = &self.fields {
            json.retain(|name, _| fields.contains(&name.as_str()));
        }
        Value::Object(json)
    }

    async fn create(&self, req: &ApiRequest, input: Input) -> ApiResult<M> {
        let owner = match M::OWNER_FIELD {
            Some(_) => NewOwner::User(req.require_user()?.id),
            None => NewOwner::FromInput,
        };
        let new = M::validate_new(self.writable(input), owner)?;
        Ok(M::create(req.db(), new).await?)
    }

    async fn update(&self, req: &ApiRequest, row: M, input: Input) -> ApiResult<M> {
        let changes = M::validate_changes(self.writable(input))?;
        Ok(M::update(req.db(), Scope::All, row.pk(), changes).await?)
    }
}

pub(crate) async fn list<V: ViewSet>(vs: &V, req: ApiRequest) -> ApiResult<HttpResponse> {
    check(&vs.permission(), req.access())?;
    let list = parse_list_request(req.http(), vs.scope(&req)?, &vs.list_options())?;
    let rows = V::Model::list(req.db(), &list.query).await?;
    let count = V::Model::count(req.db(), &list.query).await?;
    let results: Vec<Value> = rows.iter().map(|row| vs.to_json(row)).collect();
    Ok(HttpResponse::Ok().json(list.page(req.http(), count, &results)?))
}

pub(crate) async fn create<V: ViewSet>(vs: &V, req: ApiRequest, body: web::Payload) -> ApiResult<HttpResponse> {
    check(&vs.permission(), req.access())?;
    let data = read_json_object(req.http(), body, vs.body_limit()).await?;
    let row = vs.create(&req, Input::new(data, false)).await?;
    let location = format!("{}{}/", req.http().path(), row.pk());
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(vs.to_json(&row)))
}

/// The row named by the `{id}` segment, scoped and object-permission checked.
pub(crate) async fn object<V: ViewSet>(vs: &V, req: &ApiRequest) -> ApiResult<V::Model> {
    check(&vs.permission(), req.access())?;
    let id = req
        .http()
        .match_info()
        .get("id")
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or_else(ApiError::not_found)?;
    let row = V::Model::get(req.db(), vs.scope(req)?, id).await?;
    check_object(&vs.permission(), req.access(), row.owner_id())?;
    Ok(row)
}

pub(crate) async fn retrieve<V: ViewSet>(vs: &V, req: ApiRequest) -> ApiResult<HttpResponse> {
    let row = object(vs, &req).await?;
    Ok(HttpResponse::Ok().json(vs.to_json(&row)))
}

pub(crate) async fn update<V: ViewSet>(
    vs: &V,
    req: ApiRequest,
    body: web::Payload,
    partial: bool,
) -> ApiResult<HttpResponse> {
    let row = object(vs, &req).await?;
    let data = read_json_object(req.http(), body, vs.body_limit()).await?;
    let row = vs.update(&req, row, Input::new(data, partial)).await?;
    Ok(HttpResponse::Ok().json(vs.to_json(&row)))
}

pub(crate) async fn destroy<V: ViewSet>(vs: &V, req: ApiRequest) -> ApiResult<HttpResponse> {
    let row = object(vs, &req).await?;
    V::Model::delete(req.db(), vs.scope(&req)?, row.pk()).await?;
    Ok(HttpResponse::NoContent().finish())
}
