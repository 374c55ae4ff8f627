//! The shop's HTTP API: a plain handler for mobile apps, and the orders' model viewset.

use duet::actix_web::http::Method;
use duet::models::Choices;
use duet::prelude::*;
use duet::serde_json::json;
use serde::Serialize;

use crate::orders::{Order, OrderStatus};

/// The `/api` prefix: `GET /api/orders/` and the viewset at `/api/v1/orders/`.
pub fn routes(api: &mut Routes) {
    route!(api, my_orders);
    ApiRouter::new("/v1").register("orders", orders()).configure(api);
}

/// One order as `GET /api/orders/` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderSummary {
    /// The order's id.
    pub id: i64,
    /// Its status: `pending`, `paid`, `shipped` or `cancelled`.
    pub status: &'static str,
    /// Its total as a decimal string, e.g. `"12.50"`.
    pub total: String,
}

impl From<Order> for OrderSummary {
    fn from(order: Order) -> OrderSummary {
        OrderSummary {
            id: order.id,
            status: order.status.value(),
            total: order.total.to_string(),
        }
    }
}

/// The body of `GET /api/orders/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrdersOut {
    /// The user's orders, newest first.
    pub orders: Vec<OrderSummary>,
}

/// The logged-in user's orders (session or token), newest first.
#[utoipa::path(
    get,
    path = "/orders/",
    tag = "orders",
    responses(
        (status = 200, description = "The user's orders.", body = OrdersOut),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn my_orders(user: CurrentUser, db: web::Data<Db>) -> ApiResult<web::Json<OrdersOut>> {
    let query = ListQuery::new(Scope::Owner(user.id)).order_by(Order::PLACED_AT, true);
    let orders = Order::list(&db, &query).await?;
    Ok(web::Json(OrdersOut {
        orders: orders.into_iter().map(OrderSummary::from).collect(),
    }))
}

/// The `summary` action's own rate (per user), besides `DUET_THROTTLE_USER`: it counts
/// every order of the user.
pub const SUMMARIES: Throttle = Throttle::new("order_summary", ThrottleRate::per_minute(20));

/// `/api/v1/orders/`: full CRUD on the user's own orders, `cancel` one, and a `summary`.
pub fn orders() -> ModelViewSet<Order> {
    ModelViewSet::new()
        .filters([Order::STATUS, Order::CURRENCY])
        .ordering([Order::PLACED_AT, Order::TOTAL, Order::ID])
        .default_ordering([Order::PLACED_AT.desc()])
        .action(Action::detail("cancel", Method::POST, cancel).summary("Cancel a pending or paid order."))
        .action(
            Action::list("summary", Method::GET, summary)
                .summary("How many of the user's orders are in each status.")
                .returns(summary_schema())
                .throttle(SUMMARIES),
        )
}

/// The body of `summary`: a count for each status, every status named.
fn summary_schema() -> duet::serde_json::Value {
    let statuses: Vec<&str> = OrderStatus::CHOICES.iter().map(|c| c.value).collect();
    let counts: duet::serde_json::Map<String, duet::serde_json::Value> = statuses
        .iter()
        .map(|s| ((*s).to_owned(), json!({"type": "integer", "minimum": 0})))
        .collect();
    json!({"type": "object", "properties": counts, "required": statuses, "additionalProperties": false})
}

/// `GET /api/v1/orders/summary/`: how many of the user's orders are in each status.
async fn summary(req: ApiRequest) -> ApiResult<HttpResponse> {
    let mine = Scope::Owner(req.require_user()?.id);
    let mut counts = duet::serde_json::Map::new();
    for status in OrderStatus::CHOICES {
        let query = ListQuery::new(mine).filter(Order::STATUS, status.value);
        counts.insert(status.value.to_owned(), Order::count(req.db(), &query).await?.into());
    }
    Ok(HttpResponse::Ok().json(counts))
}

/// `POST /api/v1/orders/{id}/cancel/`: cancels a pending or paid order; shipped ones stay.
async fn cancel(req: ApiRequest, order: Order) -> ApiResult<HttpResponse> {
    let order = Order::cancel(req.db(), &order).await?;
    Ok(HttpResponse::Ok().json(order.to_json()))
}
