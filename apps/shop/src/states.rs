//! The shop's event-state side: a counter (the smallest example) and the user's orders,
//! live: changes made over HTTP or by a webhook reach open `/orders` tabs.

use duet_models::{ListQuery, Model, Scope};
use duet_state::{EventCtx, EventResult, Registry, RegistryError, State, events};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Default, Serialize, Deserialize, State)]
#[state(name = "counter")]
pub struct CounterState {
    /// The count.
    pub count: i64,
}

#[events]
impl CounterState {
    async fn increment(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.count += 1;
        Ok(())
    }

    async fn decrement(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.count -= 1;
        Ok(())
    }

    async fn set_to(&mut self, _ctx: &mut EventCtx, value: i64) -> EventResult {
        self.count = value;
        Ok(())
    }

    /// Adds one after `millis` milliseconds (at most 30 s): a stand-in for slow work, such as
    /// a call to a payment provider, during which the tab stays locked.
    async fn increment_slowly(&mut self, _ctx: &mut EventCtx, millis: u64) -> EventResult {
        tokio::time::sleep(std::time::Duration::from_millis(millis.min(30_000))).await;
        self.count += 1;
        Ok(())
    }
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
#[derive(Debug, Default, Serialize, Deserialize, State)]
#[state(name = "orders", login_required)]
pub struct OrderState {
    /// The orders.
    pub orders: Vec<OrderRow>,
}

#[events]
impl OrderState {
    /// Loads the user's orders and listens for changes to them. `change` (what a publisher
    /// sent, e.g. `{"order": 7}`; `None` on page load) is not trusted for content: the list
    /// is read again, so it is always what the database says.
    async fn refresh(&mut self, ctx: &mut EventCtx, change: Option<serde_json::Value>) -> EventResult {
        tracing::debug!(?change, "refreshing orders");
        let user_id = ctx.require_user()?.id;
        let query = ListQuery::new(Scope::Owner(user_id)).order_by("placed_at", true);
        self.orders = Order::list(ctx.db(), &query)
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
    }
}
