//! The shop's one model: orders placed by users. Declared once: its table, JSON, validation,
//! queries, API defaults, page rows and migrations all come from this struct.

use duet::chrono::NaiveDateTime;
use duet::models::{Choices, Db, Error, ForeignKey, ListQuery, Model, Money, Result, Scope, User, ValidationErrors};

/// The statuses an order moves through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
pub enum OrderStatus {
    /// Placed, not paid yet.
    Pending,
    /// Paid (Stripe's `checkout.session.completed`).
    Paid,
    /// On its way.
    Shipped,
    /// Called off.
    Cancelled,
}

/// An order placed by a user.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(index(name = "orders_customer_placed", fields(customer, placed_at)))]
pub struct Order {
    /// Primary key.
    pub id: i64,
    /// The user who placed it; every queryset is scoped to it.
    #[duet(owner)]
    pub customer: ForeignKey<User>,
    /// The total, in cents of `currency` (`"12.50"` in JSON).
    #[duet(column = "total_cents", min = 0)]
    pub total: Money,
    /// ISO 4217 code, e.g. `EUR`.
    #[duet(max_length = 3, validate = currency_code)]
    pub currency: String,
    /// Where it stands.
    #[duet(default = OrderStatus::Pending)]
    pub status: OrderStatus,
    /// When it was placed (UTC). Indexed: the admin lists every customer's orders newest
    /// first, which SQLite would otherwise sort the table for.
    #[duet(auto_now_add, index)]
    pub placed_at: NaiveDateTime,
    /// The reference payment providers echo back (Stripe's `client_reference_id`).
    #[duet(read_only, unique, default = new_reference())]
    pub client_reference: String,
}

/// A three-letter ISO 4217 code such as `EUR`.
fn currency_code(code: &str) -> std::result::Result<(), &'static str> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err("Use a three-letter ISO 4217 code such as \"EUR\".")
    }
}

/// A fresh `client_reference` for payment providers, e.g. `ord_3f9a…`.
pub fn new_reference() -> String {
    format!("ord_{}", duet::models::random_hex(12))
}

impl Order {
    /// Marks the order with `client_reference` paid; `None` when there is no such order.
    pub async fn mark_paid(db: &Db, client_reference: &str) -> Result<Option<Order>> {
        let query = ListQuery::new(Scope::All).filter(Order::CLIENT_REFERENCE, client_reference);
        let Some(order) = Order::list(db, &query).await?.pop() else {
            return Ok(None);
        };
        let paid = OrderChanges {
            status: Some(OrderStatus::Paid),
            ..OrderChanges::default()
        };
        Ok(Some(Order::update(db, Scope::All, order.id, paid).await?))
    }

    /// Cancels the order: pending and paid ones only, a shipped order stays shipped
    /// (a validation error, as the API and the admin show it).
    pub async fn cancel(db: &Db, order: &Order) -> Result<Order> {
        if order.status == OrderStatus::Shipped {
            let mut errors = ValidationErrors::new();
            errors.add_non_field("A shipped order cannot be cancelled.");
            return Err(Error::Invalid(errors));
        }
        Order::set_status(db, order.id, OrderStatus::Cancelled).await
    }

    /// Marks the order shipped: paid and pending ones; a cancelled order cannot ship.
    pub async fn ship(db: &Db, order: &Order) -> Result<Order> {
        order.shippable()?;
        Order::set_status(db, order.id, OrderStatus::Shipped).await
    }

    /// Whether the order can ship: not once cancelled.
    pub fn shippable(&self) -> Result<()> {
        if self.status == OrderStatus::Cancelled {
            let mut errors = ValidationErrors::new();
            errors.add_non_field(format!("Order #{} is cancelled: it cannot be shipped.", self.id));
            return Err(Error::Invalid(errors));
        }
        Ok(())
    }

    async fn set_status(db: &Db, id: i64, status: OrderStatus) -> Result<Order> {
        let changes = OrderChanges {
            status: Some(status),
            ..OrderChanges::default()
        };
        Order::update(db, Scope::All, id, changes).await
    }
}
