//! The shop's HTTP API: a plain handler for mobile apps, and a DRF-style viewset.

use duet::actix_web::http::Method;
use duet::prelude::*;
use duet::views::LocalBoxFuture;
use serde::Serialize;

use crate::orders::{NewOrder, Order, OrderChanges};

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

impl From<Order> for OrderSummary {
    fn from(order: Order) -> OrderSummary {
        OrderSummary {
            id: order.id,
            total: duet::models::cents_to_decimal(order.total_cents),
            status: order.status,
        }
    }
}

/// The body of `GET /api/orders/`.
#[derive(Debug, Serialize)]
pub struct OrdersOut {
    /// The user's orders, newest first.
    pub orders: Vec<OrderSummary>,
}

/// The `/api` prefix: `GET /api/orders/` and the viewset at `/api/v1/orders/`.
pub fn routes(api: &mut Routes) {
    api.get("/orders/", my_orders);
    ApiRouter::new("/v1").register("orders", OrderViewSet).configure(api);
}

/// `GET /api/orders/`: the logged-in user's orders (session or token), newest first.
pub async fn my_orders(user: CurrentUser, db: web::Data<Db>) -> ApiResult<web::Json<OrdersOut>> {
    let query = ListQuery::new(Scope::Owner(user.id)).order_by("placed_at", true);
    let orders = Order::list(&db, &query).await?;
    Ok(web::Json(OrdersOut {
        orders: orders.into_iter().map(OrderSummary::from).collect(),
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

/// The HTTP side of `Order`: every field, totals as decimal strings. `id`, `customer`,
/// `placed_at` and `client_reference` are read-only; validation is `Order`'s own (shared
/// with the pages' serializer).
#[derive(Debug, Clone, Copy)]
pub struct OrderApiSerializer;

impl ApiSerializer for OrderApiSerializer {
    type Model = Order;

    async fn create(req: &ApiRequest, input: Input) -> ApiResult<Order> {
        let order = NewOrder::from_input(req.require_user()?.id, input)?;
        Ok(Order::create(req.db(), &order).await?)
    }

    async fn update(req: &ApiRequest, row: Order, input: Input) -> ApiResult<Order> {
        let changes = OrderChanges::from_input(input)?;
        Ok(Order::update(req.db(), row.id, &changes).await?)
    }
}

/// Publishes that `order` changed, so its owner's open tabs refresh.
pub fn publish_order_change(req: &HttpRequest, order: &Order) {
    if let Some(bus) = req.app_data::<web::Data<Broadcaster>>() {
        bus.publish(
            &crate::states::orders_topic(order.customer_id),
            &duet::serde_json::json!({"order": order.id}),
        );
    }
}
