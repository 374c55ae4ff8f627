//! The shop's event-state side: a counter (the smallest example) and the user's orders,
//! live: changes made over HTTP or by a webhook reach open `/orders` tabs.

use duet_models::{Input, ListQuery, Scope};
use duet_state::{
    EventCtx, EventError, EventResult, ModelList, ModelState, Registry, RegistryError, State, StateSerializer, events,
};
use serde::{Deserialize, Serialize};

use crate::orders::{NewOrder, Order, OrderChanges};

/// The topic on which changes to `user_id`'s orders are published.
pub fn orders_topic(user_id: i64) -> String {
    format!("orders:user:{user_id}")
}

/// Registers the shop's states and their `on_load` handlers.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register::<CounterState>()?;
    registry.register::<ModelList<OrderState>>()?;
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
        self.count = self.count.checked_add(1).ok_or_else(at_the_limit)?;
        Ok(())
    }

    async fn decrement(&mut self, _ctx: &mut EventCtx) -> EventResult {
        self.count = self.count.checked_sub(1).ok_or_else(at_the_limit)?;
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
        self.count = self.count.checked_add(1).ok_or_else(at_the_limit)?;
        Ok(())
    }
}

/// The count would leave `i64`'s range: an error frame, and the count stays.
fn at_the_limit() -> EventError {
    EventError::msg("The count is at its limit.")
}

/// The logged-in user's orders, newest first, in list var `orders`: refreshed on load,
/// written from the pages (`create`, `update`, `delete`) and kept live: changes made over
/// HTTP or by a webhook are published on [`orders_topic`].
#[derive(Debug, Clone, Copy)]
pub struct OrderState;

impl ModelState for OrderState {
    type Serializer = OrderRows;
    const NAME: &'static str = "orders";
    const LIST_VAR: &'static str = "orders";

    fn queryset(ctx: &EventCtx) -> Result<ListQuery, EventError> {
        let user_id = ctx.require_user()?.id;
        Ok(ListQuery::new(Scope::Owner(user_id)).order_by("placed_at", true))
    }

    fn topic(ctx: &EventCtx) -> Option<String> {
        ctx.user().map(|user| orders_topic(user.id))
    }
}

/// An order as the pages show it: `{id, status, total, currency}`. Validation is the
/// model's own, shared with the API's serializer.
#[derive(Debug, Clone, Copy)]
pub struct OrderRows;

impl StateSerializer for OrderRows {
    type Model = Order;
    const FIELDS: &'static [&'static str] = &["status", "total", "currency"];

    async fn create(ctx: &EventCtx, input: Input) -> Result<Order, EventError> {
        let order = NewOrder::from_input(ctx.require_user()?.id, input)?;
        Ok(Order::create(ctx.db(), &order).await?)
    }

    async fn update(ctx: &EventCtx, row: Order, input: Input) -> Result<Order, EventError> {
        let changes = OrderChanges::from_input(input)?;
        Ok(Order::update(ctx.db(), row.id, &changes).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Misdescribed;

    struct Unknown;

    impl StateSerializer for Unknown {
        type Model = Order;
        const FIELDS: &'static [&'static str] = &["status", "colour"];

        async fn create(_: &EventCtx, _: Input) -> Result<Order, EventError> {
            Err(EventError::msg("unused"))
        }

        async fn update(_: &EventCtx, row: Order, _: Input) -> Result<Order, EventError> {
            Ok(row)
        }
    }

    impl ModelState for Misdescribed {
        type Serializer = Unknown;
        const NAME: &'static str = "misdescribed";

        fn queryset(_: &EventCtx) -> Result<ListQuery, EventError> {
            Ok(ListQuery::new(Scope::All))
        }
    }

    #[test]
    fn registering_a_model_state_checks_its_fields() {
        let mut registry = Registry::new();
        register(&mut registry).expect("the shop's states are well described");
        let error = registry.register::<ModelList<Misdescribed>>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "state \"misdescribed\": its serializer shows field \"colour\", which model \"order\" does not have"
        );
    }
}
