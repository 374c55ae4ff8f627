//! The shop's staff admin at `/admin`: orders (search by id, client reference or customer,
//! a status filter and a date range, sorted by date or total, bulk "mark shipped", a row
//! action "cancel"), and the accounts (users, groups, permissions).

use duet::admin::{ActionCtx, ActionResult, Admin, ModelAdmin};
use duet::models::User;

use crate::orders::Order;

/// What the admin shows.
pub fn admin(admin: Admin) -> Admin {
    admin.accounts().register_with(
        ModelAdmin::<Order>::new()
            .list_display([
                Order::ID,
                Order::CUSTOMER,
                Order::STATUS,
                Order::TOTAL,
                Order::CURRENCY,
                Order::PLACED_AT,
                Order::CLIENT_REFERENCE,
            ])
            .search([Order::CLIENT_REFERENCE])
            .search_related(Order::CUSTOMER, User::USERNAME)
            .filters([Order::STATUS, Order::PLACED_AT])
            .ordering([Order::PLACED_AT.desc()])
            .fieldset("Order", [Order::CUSTOMER, Order::STATUS])
            .fieldset("Payment", [Order::TOTAL, Order::CURRENCY, Order::CLIENT_REFERENCE])
            .action("mark_shipped", "Mark shipped", mark_shipped)
            .row_action("cancel", "Cancel order", cancel),
    )
}

/// Ships the selected orders; a cancelled one among them stops the action before any ships.
async fn mark_shipped(ctx: ActionCtx, orders: Vec<Order>) -> ActionResult {
    orders.iter().try_for_each(Order::shippable)?;
    for order in &orders {
        Order::ship(&ctx.db, order).await?;
    }
    Ok(format!("{} orders marked shipped.", orders.len()))
}

/// Cancels one order (not a shipped one).
async fn cancel(ctx: ActionCtx, orders: Vec<Order>) -> ActionResult {
    for order in &orders {
        Order::cancel(&ctx.db, order).await?;
    }
    Ok(match orders.as_slice() {
        [order] => format!("Order #{} cancelled.", order.id),
        _ => format!("{} orders cancelled.", orders.len()),
    })
}
