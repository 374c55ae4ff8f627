//! The shop's event-state side: a counter (the smallest example) and the user's orders,
//! live: changes made over HTTP or by a webhook reach open `/orders` tabs.

use duet_models::{ListQuery, Model, Scope};
use duet_state::{EventCtx, EventError, EventResult, Events, HandlerDef, Registry, RegistryError, State};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::orders::Order;

/// The topic on which changes to `user_id`'s orders are published.
pub fn orders_topic(user_id: i64) -> String {
    format!("orders:user:{user_id}")
}

/// Registers the shop's states and their `on_load` handlers.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register::<CounterState>()?;
    registry.register::<OrderState>()?;
    registry.on_load("/orders", OrderState::NAME, "refresh")?;
    registry.on_load("/orders/{id}", OrderState::NAME, "refresh")?;
    Ok(())
}

/// A counter: the smallest state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct CounterState {
    /// The count.
    pub count: i64,
}

fn increment<'a>(state: &'a mut CounterState, _: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        state.count += 1;
        Ok(())
    })
}

fn decrement<'a>(state: &'a mut CounterState, _: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        state.count -= 1;
        Ok(())
    })
}

fn set_to<'a>(state: &'a mut CounterState, _: &'a mut EventCtx, payload: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        state.count = serde_json::from_value(payload).map_err(EventError::bad_payload)?;
        Ok(())
    })
}

impl Events for CounterState {
    fn handlers() -> Vec<HandlerDef<Self>> {
        vec![
            HandlerDef {
                name: "increment",
                call: increment,
            },
            HandlerDef {
                name: "decrement",
                call: decrement,
            },
            HandlerDef {
                name: "set_to",
                call: set_to,
            },
        ]
    }
}

impl State for CounterState {
    const NAME: &'static str = "counter";
}

/// One order as the `/orders` page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    /// The order's id (the list's key).
    pub id: i64,
    /// Its status.
    pub status: String,
    /// Its total as a decimal string.
    pub total: String,
    /// Its currency.
    pub currency: String,
}

/// The logged-in user's orders, newest first; refreshed on load and whenever they change.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct OrderState {
    /// The orders.
    pub orders: Vec<OrderRow>,
}

fn refresh<'a>(state: &'a mut OrderState, ctx: &'a mut EventCtx, _: Value) -> LocalBoxFuture<'a, EventResult> {
    Box::pin(async move {
        let user_id = ctx.require_user()?.id;
        let query = ListQuery::new(Scope::Owner(user_id)).order_by("placed_at", true);
        state.orders = Order::list(ctx.db(), &query)
            .await?
            .into_iter()
            .map(|o| OrderRow {
                id: o.id,
                status: o.status,
                total: duet_models::cents_to_decimal(o.total_cents),
                currency: o.currency,
            })
            .collect();
        ctx.subscribe(orders_topic(user_id), "refresh");
        Ok(())
    })
}

impl Events for OrderState {
    fn handlers() -> Vec<HandlerDef<Self>> {
        vec![HandlerDef {
            name: "refresh",
            call: refresh,
        }]
    }
}

impl State for OrderState {
    const NAME: &'static str = "orders";
    const LOGIN_REQUIRED: bool = true;
}
