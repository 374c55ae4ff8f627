//! The shop's event-state side: a counter (the smallest example) and the user's orders,
//! live: changes made over HTTP or by a webhook reach open `/orders` tabs.

use duet::models::{ListQuery, Scope};
use duet::state::{EventCtx, EventError, EventResult, ModelList, ModelState, Registry, RegistryError, State, events};
use serde::{Deserialize, Serialize};

use crate::orders::Order;

/// Registers the shop's states (their `on_load` handlers are declared on the pages).
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register::<CounterState>()?;
    registry.register::<ModelList<OrderState>>()?;
    registry.register::<ModelList<OrderFeedState>>()?;
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
        duet::tokio::time::sleep(std::time::Duration::from_millis(millis.min(30_000))).await;
        self.count = self.count.checked_add(1).ok_or_else(at_the_limit)?;
        Ok(())
    }
}

/// The count would leave `i64`'s range: an error frame, and the count stays.
fn at_the_limit() -> EventError {
    EventError::msg("The count is at its limit.")
}

/// The logged-in user's orders, newest first, in list var `orders`: refreshed on load,
/// written from the pages (`create`, `update`, `delete`) and live: a change made anywhere
/// (the API, a webhook, another tab) reaches it.
#[derive(Debug, Clone, Copy)]
pub struct OrderState;

impl ModelState for OrderState {
    type Model = Order;
    const NAME: &'static str = "orders";
    const LIST_VAR: &'static str = "orders";

    fn queryset(ctx: &EventCtx) -> Result<ListQuery, EventError> {
        let user_id = ctx.require_user()?.id;
        Ok(ListQuery::new(Scope::Owner(user_id)).order_by(Order::PLACED_AT, true))
    }
}

/// Every order of the logged-in user, newest first, as a stream: the server keeps none of
/// the rows, only how many it sent. `refresh` shows the first page, `more` the next; a new
/// order appears at the top, a changed one changes in place, wherever it was written.
#[derive(Debug, Clone, Copy)]
pub struct OrderFeedState;

impl ModelState for OrderFeedState {
    type Model = Order;
    const NAME: &'static str = "order_feed";
    const LIST_VAR: &'static str = "orders";
    const STREAM_PAGE: Option<i64> = Some(50);
    const STREAM_NEW_FIRST: bool = true;

    fn queryset(ctx: &EventCtx) -> Result<ListQuery, EventError> {
        OrderState::queryset(ctx)
    }
}
