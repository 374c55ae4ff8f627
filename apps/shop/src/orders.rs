//! The shop's one model: orders placed by users.

use diesel::prelude::*;
use duet::chrono::NaiveDateTime;
use duet::diesel_async::RunQueryDsl;
use duet::models::{Db, Field, FieldKind, Index, Input, Literal, Model, Result, ValidationErrors, db_run, json_object};
use duet::serde_json::{Map, Value, json};

/// diesel's description of the `orders` table.
pub mod schema {
    #![allow(missing_docs)]
    diesel::table! {
        orders (id) {
            id -> BigInt,
            customer_id -> BigInt,
            total_cents -> BigInt,
            currency -> Text,
            status -> Text,
            placed_at -> Timestamp,
            client_reference -> Text,
        }
    }
}
use schema::orders;

/// The statuses an order moves through.
pub const STATUSES: &[&str] = &["pending", "paid", "shipped", "cancelled"];

/// An order placed by a user.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct Order {
    /// Primary key.
    pub id: i64,
    /// The user who placed it.
    pub customer_id: i64,
    /// The total, in cents of `currency`.
    pub total_cents: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// One of [`STATUSES`].
    pub status: String,
    /// When it was placed (UTC).
    pub placed_at: NaiveDateTime,
    /// The reference payment providers echo back (Stripe's `client_reference_id`).
    pub client_reference: String,
}

/// What it takes to place an [`Order`].
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder {
    /// The user placing it.
    pub customer_id: i64,
    /// The total, in cents.
    pub total_cents: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// One of [`STATUSES`].
    pub status: String,
    /// When it was placed.
    pub placed_at: NaiveDateTime,
    /// A unique reference for payment providers.
    pub client_reference: String,
}

/// Changes to an order; `None` fields stay as they are.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = orders)]
pub struct OrderChanges {
    /// New total, in cents.
    pub total_cents: Option<i64>,
    /// New currency.
    pub currency: Option<String>,
    /// New status.
    pub status: Option<String>,
}

impl OrderChanges {
    fn is_empty(&self) -> bool {
        self.total_cents.is_none() && self.currency.is_none() && self.status.is_none()
    }

    /// Validates a (partial) update: only the fields sent are read. Shared by the API's and
    /// the pages' serializers, so both surfaces accept exactly the same input.
    pub fn from_input(mut input: Input) -> std::result::Result<OrderChanges, ValidationErrors> {
        let changes = OrderChanges {
            total_cents: input.money("total"),
            currency: read_currency(&mut input),
            status: input.choice("status", STATUSES),
        };
        input.finish()?;
        Ok(changes)
    }
}

impl NewOrder {
    /// Validates a new order for `customer_id`: `total` and `currency` are required,
    /// `status` defaults to pending.
    pub fn from_input(customer_id: i64, mut input: Input) -> std::result::Result<NewOrder, ValidationErrors> {
        let total_cents = input.money("total");
        let currency = read_currency(&mut input);
        let status = if input.raw("status").is_some() {
            input.choice("status", STATUSES)
        } else {
            Some("pending".into())
        };
        let (Some(total_cents), Some(currency), Some(status)) = (total_cents, currency, status) else {
            return Err(input.finish().err().unwrap_or_default());
        };
        input.finish()?;
        Ok(NewOrder {
            customer_id,
            total_cents,
            currency,
            status,
            placed_at: duet::models::now(),
            client_reference: new_reference(),
        })
    }
}

/// A three-letter ISO 4217 code such as `EUR`.
fn read_currency(input: &mut Input) -> Option<String> {
    let code = input.text("currency", 3)?;
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Some(code)
    } else {
        input.error("currency", "Use a three-letter ISO 4217 code such as \"EUR\".");
        None
    }
}

/// A fresh `client_reference` for payment providers, e.g. `ord_3f9a…`.
pub fn new_reference() -> String {
    format!("ord_{}", duet::models::random_hex(12))
}

impl Order {
    /// Applies `changes` to order `id` and returns the updated row.
    pub async fn update(db: &Db, id: i64, changes: &OrderChanges) -> Result<Order> {
        if changes.is_empty() {
            return <Order as Model>::get(db, duet::models::Scope::All, id).await;
        }
        db_run!(db, |conn| diesel::update(orders::table.find(id))
            .set(changes)
            .returning(Order::as_returning())
            .get_result(conn)
            .await)
    }

    /// Marks the order with `client_reference` paid; `None` when there is no such order.
    pub async fn mark_paid(db: &Db, client_reference: &str) -> Result<Option<Order>> {
        db_run!(db, |conn| diesel::update(
            orders::table.filter(orders::client_reference.eq(client_reference))
        )
        .set(orders::status.eq("paid"))
        .returning(Order::as_returning())
        .get_result(conn)
        .await
        .optional())
    }

    /// Inserts an order.
    pub async fn create(db: &Db, new: &NewOrder) -> Result<Order> {
        db_run!(db, |conn| diesel::insert_into(orders::table)
            .values(new)
            .returning(Order::as_returning())
            .get_result(conn)
            .await)
    }
}

impl Model for Order {
    const NAME: &'static str = "order";
    const TABLE: &'static str = "orders";
    const OWNER_FIELD: Option<&'static str> = Some("customer");
    fn fields() -> &'static [Field] {
        const CHOICES: &[duet::models::Choice] = &[
            duet::models::Choice {
                value: "pending",
                label: "Pending",
            },
            duet::models::Choice {
                value: "paid",
                label: "Paid",
            },
            duet::models::Choice {
                value: "shipped",
                label: "Shipped",
            },
            duet::models::Choice {
                value: "cancelled",
                label: "Cancelled",
            },
        ];
        const FIELDS: &[Field] = &[
            Field {
                primary_key: true,
                ..Field::read_only("id", FieldKind::Integer)
            },
            Field {
                column: "customer_id",
                ..Field::read_only(
                    "customer",
                    FieldKind::ForeignKey {
                        model: "user",
                        table: "users",
                    },
                )
            },
            Field {
                column: "total_cents",
                ..Field::new("total", FieldKind::Money)
            },
            Field::new("currency", FieldKind::Text),
            Field {
                db_default: Some(Literal::Text("pending")),
                ..Field::new("status", FieldKind::Choice(CHOICES))
            },
            Field::read_only("placed_at", FieldKind::DateTime),
            Field {
                unique: true,
                ..Field::read_only("client_reference", FieldKind::Text)
            },
        ];
        FIELDS
    }

    fn indexes() -> &'static [Index] {
        &[Index {
            name: "orders_customer_placed",
            columns: &["customer_id", "placed_at"],
            unique: false,
        }]
    }

    fn pk(&self) -> i64 {
        self.id
    }

    fn owner_id(&self) -> Option<i64> {
        Some(self.customer_id)
    }

    fn to_json(&self) -> Map<String, Value> {
        json_object([
            ("id", json!(self.id)),
            ("customer", json!(self.customer_id)),
            ("total", json!(duet::models::cents_to_decimal(self.total_cents))),
            ("currency", json!(self.currency)),
            ("status", json!(self.status)),
            ("placed_at", duet::models::datetime_to_json(&self.placed_at)),
            ("client_reference", json!(self.client_reference)),
        ])
    }

    duet::models::model_queries! {
        table: orders,
        pk: orders::id,
        owner: orders::customer_id,
        filters: { "status" => orders::status: Text, "currency" => orders::currency: Text },
        ordering: { "id" => orders::id, "placed_at" => orders::placed_at, "total" => orders::total_cents },
    }
}
