//! `ViewSet`: list, create, retrieve, update, partial_update and destroy for one model,
//! scoped to the request's user, in DRF's shape.

use std::future::Future;

use actix_web::http::Method;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use duet_auth::{IsAuthenticated, Permission, check, check_object};
use duet_models::{Model, Scope};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use crate::Input;
use crate::input::{DEFAULT_BODY_LIMIT, read_json_object};
use crate::listing::{ListOptions, Pagination, parse_list_request};
use crate::{ApiError, ApiRequest, ApiResult};

/// The HTTP-side serializer of a model: its JSON output, and validated writes. Distinct from
/// the event-state side's serializer: same model, two audiences.
pub trait ApiSerializer: 'static {
    /// The model it serializes.
    type Model: Model;

    /// A row as the API shows it (default: every field of [`Model::to_json`]).
    fn to_json(row: &Self::Model) -> Value {
        Value::Object(row.to_json())
    }

    /// Validates `input` and creates a row for `req`'s user.
    fn create(req: &ApiRequest, input: Input) -> impl Future<Output = ApiResult<Self::Model>>;

    /// Validates `input` (partial for PATCH: see [`Input::is_partial`]) and updates `row`.
    fn update(req: &ApiRequest, row: Self::Model, input: Input) -> impl Future<Output = ApiResult<Self::Model>>;
}

/// What a write did, for [`ViewSet::changed`] (e.g. to tell open SPAs).
#[derive(Debug, Clone, Copy)]
pub enum Change<'a, M> {
    /// A row was created.
    Created(&'a M),
    /// A row was updated.
    Updated(&'a M),
    /// A row was deleted (its last state).
    Deleted(&'a M),
}

/// The handler of an [`Action`]: the viewset, the request, and the row for detail actions.
pub type ActionHandler<V> =
    for<'a> fn(&'a V, &'a ApiRequest, Option<<V as ViewSet>::Model>) -> LocalBoxFuture<'a, ApiResult<HttpResponse>>;

/// An extra route of a viewset: `{prefix}/{name}/{action}/`, or with `detail`
/// `{prefix}/{name}/{id}/{action}/`, which receives the (permission-checked) row.
pub struct Action<V: ViewSet> {
    /// The URL segment.
    pub name: &'static str,
    /// On one row (`true`) or on the collection.
    pub detail: bool,
    /// The method it answers.
    pub method: Method,
    /// The handler.
    pub handler: ActionHandler<V>,
}

/// A model's API: which rows a request sees, who may do what, how lists filter, sort and page.
pub trait ViewSet: Sized + 'static {
    /// The model served.
    type Model: Model;
    /// Its HTTP serializer.
    type Serializer: ApiSerializer<Model = Self::Model>;

    /// Which rows `req` may see; rows outside are 404. Usually `Scope::Owner(user.id)`.
    fn scope(&self, req: &ApiRequest) -> ApiResult<Scope>;

    /// Who may use the endpoints (default: logged-in users).
    fn permission(&self) -> impl Permission {
        IsAuthenticated
    }

    /// Fields clients may filter on: `?status=paid`.
    fn filter_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Fields clients may sort by: `?ordering=-placed_at`.
    fn ordering_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Sort order when the client names none.
    fn default_ordering(&self) -> &'static [&'static str] {
        &[]
    }

    /// How lists are paged.
    fn pagination(&self) -> Pagination {
        Pagination::default()
    }

    /// Largest request body, in bytes.
    fn body_limit(&self) -> usize {
        DEFAULT_BODY_LIMIT
    }

    /// Extra routes.
    fn actions(&self) -> Vec<Action<Self>> {
        Vec::new()
    }

    /// Called after each successful write.
    fn changed(&self, req: &ApiRequest, change: Change<'_, Self::Model>) {
        let _ = (req, change);
    }
}

pub(crate) async fn list<V: ViewSet>(vs: &V, req: ApiRequest) -> ApiResult<HttpResponse> {
    check(&vs.permission(), req.access())?;
    let options = ListOptions {
        filter_fields: vs.filter_fields(),
        ordering_fields: vs.ordering_fields(),
        default_ordering: vs.default_ordering(),
        pagination: vs.pagination(),
    };
    let list = parse_list_request::<V::Model>(req.http(), vs.scope(&req)?, options)?;
    let rows = V::Model::list(req.db(), &list.query).await?;
    let count = V::Model::count(req.db(), &list.query).await?;
    let results: Vec<Value> = rows.iter().map(V::Serializer::to_json).collect();
    Ok(HttpResponse::Ok().json(list.page(req.http(), count, &results)?))
}

pub(crate) async fn create<V: ViewSet>(vs: &V, req: ApiRequest, body: web::Payload) -> ApiResult<HttpResponse> {
    check(&vs.permission(), req.access())?;
    let data = read_json_object(req.http(), body, vs.body_limit()).await?;
    let row = V::Serializer::create(&req, Input::new(data, false)).await?;
    vs.changed(&req, Change::Created(&row));
    let location = format!("{}{}/", req.http().path(), row.pk());
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(V::Serializer::to_json(&row)))
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
    Ok(HttpResponse::Ok().json(V::Serializer::to_json(&row)))
}

pub(crate) async fn update<V: ViewSet>(
    vs: &V,
    req: ApiRequest,
    body: web::Payload,
    partial: bool,
) -> ApiResult<HttpResponse> {
    let row = object(vs, &req).await?;
    let data = read_json_object(req.http(), body, vs.body_limit()).await?;
    let row = V::Serializer::update(&req, row, Input::new(data, partial)).await?;
    vs.changed(&req, Change::Updated(&row));
    Ok(HttpResponse::Ok().json(V::Serializer::to_json(&row)))
}

pub(crate) async fn destroy<V: ViewSet>(vs: &V, req: ApiRequest) -> ApiResult<HttpResponse> {
    let row = object(vs, &req).await?;
    V::Model::delete(req.db(), vs.scope(&req)?, row.pk()).await?;
    vs.changed(&req, Change::Deleted(&row));
    Ok(HttpResponse::NoContent().finish())
}
