//! Demo data for a fresh development database.

use diesel::prelude::*;
use duet::chrono::Duration;
use duet::diesel_async::RunQueryDsl;
use duet::models::schema::users;
use duet::models::{Db, Error, Model, Money, NewUser, Result, User, db_run};

use crate::orders::{NewOrder, Order, OrderStatus};

/// The demo account's username and password.
pub const DEMO_USER: &str = "demo";

/// Seeds the `demo` user (password `demo`) and a handful of orders when the database has
/// no users at all (the app's seed hook: development only). Instances starting together on
/// a fresh database are safe: the one that creates the demo user seeds, the others see its
/// username taken and leave it to that one.
pub async fn seed_if_empty(db: Db) -> Result<()> {
    let db = &db;
    let users: i64 = db_run!(db, |conn| users::table.count().get_result(conn).await)?;
    if users > 0 {
        return Ok(());
    }
    let created = User::create(
        db,
        NewUser {
            username: DEMO_USER.into(),
            email: "demo@example.com".into(),
            password: DEMO_USER.into(),
            ..NewUser::default()
        },
    )
    .await;
    let demo = match created {
        Ok(demo) => demo,
        Err(Error::UniqueViolation(_)) => {
            duet::tracing::info!("another instance is seeding the fresh database");
            return Ok(());
        }
        Err(other) => return Err(other),
    };
    let now = duet::models::now();
    let orders = [
        (1250, OrderStatus::Pending),
        (4999, OrderStatus::Paid),
        (899, OrderStatus::Shipped),
        (15000, OrderStatus::Pending),
        (2500, OrderStatus::Cancelled),
    ];
    for (n, (cents, status)) in orders.into_iter().enumerate() {
        let n = i64::try_from(n).unwrap_or_default();
        let order = NewOrder {
            customer: demo.id.into(),
            total: Money::cents(cents),
            currency: "EUR".into(),
            status,
            placed_at: now - Duration::days(10 - n),
            client_reference: format!("demo-{}", n + 1),
        };
        Order::create(db, order).await?;
    }
    duet::tracing::info!(
        user = DEMO_USER,
        password = DEMO_USER,
        orders = orders.len(),
        "seeded a fresh database with demo data"
    );
    Ok(())
}
