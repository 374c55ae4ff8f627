//! The shop's event-state side: a counter (the smallest example) and the user's orders,
//! live: changes made over HTTP or by a webhook reach open `/orders` tabs.

use std::future::Future;
use std::pin::Pin;

use duet::chrono::NaiveDate;
use duet::models::{Choices, Error, ListQuery, Lookup, Model, ModelChange, NON_FIELD_ERRORS, Scope};
use duet::serde_json::Value;
use duet::state::{
    EventCtx, EventError, EventResult, HandlerDef, ModelList, ModelState, Registry, RegistryError, State, Toast, events,
};
use serde::{Deserialize, Serialize};

use crate::orders::{Order, OrderStatus};

/// Registers the shop's states (their `on_load` handlers are declared on the pages).
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register::<CounterState>()?;
    registry.register::<ModelList<OrderState>>()?;
    registry.register::<OrderHistory>()?;
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

    fn extra_handlers() -> Vec<HandlerDef<ModelList<OrderState>>> {
        vec![HandlerDef {
            name: "cancel",
            call: cancel,
        }]
    }
}

/// `orders.cancel(id)`: cancels one of the user's orders and says so in a toast; an order
/// that cannot be cancelled (shipped) is an error toast, and nothing changes.
fn cancel<'a>(
    orders: &'a mut ModelList<OrderState>,
    ctx: &'a mut EventCtx,
    payload: Value,
) -> Pin<Box<dyn Future<Output = EventResult> + 'a>> {
    Box::pin(async move {
        let id = payload
            .as_i64()
            .ok_or_else(|| EventError::bad_payload("send the order's id, an integer"))?;
        let owner = ctx.require_user()?.id;
        let order = Order::get(ctx.db(), Scope::Owner(owner), id).await?;
        match Order::cancel(ctx.db(), &order).await {
            Ok(_) => ctx.toast(Toast::success(format!("Order #{id} cancelled."))),
            Err(Error::Invalid(errors)) => {
                let why = errors.get(NON_FIELD_ERRORS).unwrap_or_default().join(" ");
                ctx.toast(Toast::error(why));
            }
            Err(error) => return Err(error.into()),
        }
        orders.refresh(ctx).await
    })
}

/// Orders on the history page, per page.
pub const HISTORY_PAGE_SIZE: i64 = 5;

/// The user's order history, a page at a time: filtered by status and placing date, in
/// either order, live (any change to the user's orders reloads the page shown).
#[derive(Debug, Serialize, Deserialize, State)]
#[state(name = "history", login_required)]
pub struct OrderHistory {
    /// A status's value, or `""` for every status.
    pub status: String,
    /// Orders placed on or after this day (`YYYY-MM-DD`, UTC), or `""` for all.
    pub since: String,
    /// Newest first, else oldest first.
    pub newest_first: bool,
    /// The page shown, from 1.
    pub page: i64,
    /// How many pages the filter gives (at least 1).
    pub pages: i64,
    /// The orders on the page.
    pub orders: Vec<Value>,
}

impl Default for OrderHistory {
    fn default() -> Self {
        OrderHistory {
            status: String::new(),
            since: String::new(),
            newest_first: true,
            page: 1,
            pages: 1,
            orders: Vec::new(),
        }
    }
}

#[events]
impl OrderHistory {
    /// Loads the page and follows the user's orders (`_change`: the change announced, if any).
    async fn refresh(&mut self, ctx: &mut EventCtx, _change: Value) -> EventResult {
        self.load(ctx).await?;
        let owner = ctx.require_user()?.id;
        ctx.subscribe(ModelChange::owner_topic(Order::NAME, owner), "refresh");
        Ok(())
    }

    async fn filter_status(&mut self, ctx: &mut EventCtx, status: String) -> EventResult {
        if !status.is_empty() && OrderStatus::from_value(&status).is_none() {
            return Err(EventError::bad_payload(format!("{status:?} is not an order status")));
        }
        self.status = status;
        self.page = 1;
        self.load(ctx).await
    }

    async fn filter_since(&mut self, ctx: &mut EventCtx, since: String) -> EventResult {
        if !since.is_empty() && NaiveDate::parse_from_str(&since, "%Y-%m-%d").is_err() {
            return Err(EventError::bad_payload("a day is YYYY-MM-DD"));
        }
        self.since = since;
        self.page = 1;
        self.load(ctx).await
    }

    async fn sort(&mut self, ctx: &mut EventCtx, newest_first: bool) -> EventResult {
        self.newest_first = newest_first;
        self.page = 1;
        self.load(ctx).await
    }

    async fn go(&mut self, ctx: &mut EventCtx, page: i64) -> EventResult {
        self.page = page;
        self.load(ctx).await
    }
}

impl OrderHistory {
    /// Reloads the page shown (moved into range if the filter has fewer pages now).
    async fn load(&mut self, ctx: &EventCtx) -> EventResult {
        let owner = ctx.require_user()?.id;
        let mut query = ListQuery::new(Scope::Owner(owner)).order_by(Order::PLACED_AT, self.newest_first);
        if !self.status.is_empty() {
            query = query.filter(Order::STATUS, self.status.as_str());
        }
        if let Ok(day) = NaiveDate::parse_from_str(&self.since, "%Y-%m-%d") {
            let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
            query = query.filter_by(Order::PLACED_AT, Lookup::Gte, duet::serde_json::json!(start));
        }
        let count = Order::count(ctx.db(), &query).await?;
        self.pages = ((count + HISTORY_PAGE_SIZE - 1) / HISTORY_PAGE_SIZE).max(1);
        self.page = self.page.clamp(1, self.pages);
        let window = query.window(HISTORY_PAGE_SIZE, (self.page - 1) * HISTORY_PAGE_SIZE);
        let rows = Order::list(ctx.db(), &window).await?;
        self.orders = rows.iter().map(|row| Value::Object(row.to_json())).collect();
        Ok(())
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
