//! The shop's HTTP API: a plain handler for mobile apps, and a DRF-style viewset.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use duet_auth::CurrentUser;
use duet_models::{Db, ListQuery, Model, Scope};
use duet_state::Broadcaster;
use duet_views::{Action, ApiError, ApiRequest, ApiResult, ApiSerializer, Change, Input, ValidationErrors, ViewSet};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;

use crate::orders::{NewOrder, Order, OrderChanges, STATUSES};

/// One order as `GET /api/orders/` shows it.
#[derive(Debug, Serialize)]
pub struct OrderSummary {
    /// The order's id.
    pub id: i64,
    /// Its status.
    pub status: String,
    /// Its total as a decimal string, e.g. `"12.50"`.
    pub total: String,
}

/// The body of `GET /api/orders/`.
#[derive(Debug, Serialize)]
pub struct OrdersOut {
    /// The user's orders, newest first.
    pub orders: Vec<OrderSummary>,
}

/// `GET /api/orders/`: the logged-in user's orders (session or token), newest first.
pub async fn my_orders(user: CurrentUser, db: web::Data<Db>) -> ApiResult<web::Json<OrdersOut>> {
    let query = ListQuery::new(Scope::Owner(user.id)).order_by("placed_at", true);
    let orders = Order::list(&db, &query).await?;
    Ok(web::Json(OrdersOut {
        orders: orders
            .into_iter()
            .map(|o| OrderSummary {
                id: o.id,
                total: duet_models::cents_to_decimal(o.total_cents),
                status: o.status,
            })
            .collect(),
    }))
}

/// `/api/v1/orders/`: full CRUD on the user's own orders.
#[derive(Debug, Clone, Default)]
pub struct OrderViewSet;

impl ViewSet for OrderViewSet {
    type Model = Order;
    type Serializer = OrderApiSerializer;

    fn scope(&self, req: &ApiRequest) -> ApiResult<Scope> {
        Ok(Scope::Owner(req.require_user()?.id))
    }

    fn filter_fields(&self) -> &'static [&'static str] {
        &["status", "currency"]
    }

    fn ordering_fields(&self) -> &'static [&'static str] {
        &["placed_at", "total", "id"]
    }

    fn default_ordering(&self) -> &'static [&'static str] {
        &["-placed_at"]
    }

    /// Tells the owner's open `/orders` tabs.
    fn changed(&self, req: &ApiRequest, change: Change<'_, Order>) {
        let (Change::Created(order) | Change::Updated(order) | Change::Deleted(order)) = change;
        publish_order_change(req.http(), order);
    }

    fn actions(&self) -> Vec<Action<Self>> {
        vec![Action {
            name: "cancel",
            detail: true,
            method: Method::POST,
            handler: cancel,
        }]
    }
}

/// `POST /api/v1/orders/{id}/cancel/`: cancels a pending or paid order; shipped ones stay.
fn cancel<'a>(
    _: &'a OrderViewSet,
    req: &'a ApiRequest,
    order: Option<Order>,
) -> LocalBoxFuture<'a, ApiResult<HttpResponse>> {
    Box::pin(async move {
        let order = order.ok_or(ApiError::Internal)?;
        if order.status == "shipped" {
            let mut errors = ValidationErrors::new();
            errors.add_non_field("A shipped order cannot be cancelled.");
            return Err(errors.into());
        }
        let changes = OrderChanges {
            status: Some("cancelled".into()),
            ..OrderChanges::default()
        };
        let order = Order::update(req.db(), order.id, &changes).await?;
        publish_order_change(req.http(), &order);
        Ok(HttpResponse::Ok().json(OrderApiSerializer::to_json(&order)))
    })
}

/// The HTTP side of `Order`: totals as decimal strings, status from its choices, currency
/// as a three-letter code. `id`, `customer`, `placed_at` and `client_reference` are read-only.
#[derive(Debug, Clone, Copy)]
pub struct OrderApiSerializer;

fn currency(input: &mut Input) -> Option<String> {
    let code = input.text("currency", 3)?;
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Some(code)
    } else {
        input.error("currency", "Use a three-letter ISO 4217 code such as \"EUR\".");
        None
    }
}

impl ApiSerializer for OrderApiSerializer {
    type Model = Order;

    async fn create(req: &ApiRequest, mut input: Input) -> ApiResult<Order> {
        let user = req.require_user()?;
        let total_cents = input.money("total");
        let currency = currency(&mut input);
        // New orders start pending unless the client says otherwise.
        let status = if input.raw("status").is_some() {
            input.choice("status", STATUSES)
        } else {
            Some("pending".into())
        };
        input.finish()?;
        let (Some(total_cents), Some(currency), Some(status)) = (total_cents, currency, status) else {
            return Err(duet_views::ApiError::Internal);
        };
        let order = NewOrder {
            customer_id: user.id,
            total_cents,
            currency,
            status,
            placed_at: duet_models::now(),
            client_reference: new_reference()?,
        };
        Ok(Order::create(req.db(), &order).await?)
    }

    async fn update(req: &ApiRequest, row: Order, mut input: Input) -> ApiResult<Order> {
        let changes = OrderChanges {
            total_cents: input.money("total"),
            currency: currency(&mut input),
            status: input.choice("status", STATUSES),
        };
        input.finish()?;
        Ok(Order::update(req.db(), row.id, &changes).await?)
    }
}

/// Publishes that `order` changed, so its owner's open tabs refresh.
pub fn publish_order_change(req: &actix_web::HttpRequest, order: &Order) {
    if let Some(bus) = req.app_data::<web::Data<Broadcaster>>() {
        bus.publish(
            &crate::states::orders_topic(order.customer_id),
            &serde_json::json!({"order": order.id}),
        );
    }
}

/// A fresh `client_reference` for payment providers, e.g. `ord_3f9a…`.
pub fn new_reference() -> ApiResult<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::Internal)?;
    Ok(format!("ord_{}", hex::encode(bytes)))
}
