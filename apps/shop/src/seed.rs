//! Demo data for a fresh development database.

use chrono::Duration;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use duet_models::schema::users;
use duet_models::{Db, Error, NewUser, Result, User, db_run};

use crate::orders::{NewOrder, Order};

/// The demo account's username and password.
pub const DEMO_USER: &str = "demo";

/// Seeds the `demo` user (password `demo`) and a handful of orders when the database has
/// no users at all. Returns whether it seeded. Instances starting together on a fresh
/// database are safe: the one that creates the demo user seeds, the others see its
/// username taken and leave it to that one.
pub async fn seed_if_empty(db: &Db) -> Result<bool> {
    let users: i64 = db_run!(db, |conn| users::table.count().get_result(conn).await)?;
    if users > 0 {
        return Ok(false);
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
            tracing::info!("another instance is seeding the fresh database");
            return Ok(false);
        }
        Err(other) => return Err(other),
    };
    let now = duet_models::now();
    let orders = [
        (1250, "pending"),
        (4999, "paid"),
        (899, "shipped"),
        (15000, "pending"),
        (2500, "cancelled"),
    ];
    for (n, (total_cents, status)) in orders.into_iter().enumerate() {
        let n = i64::try_from(n).unwrap_or_default();
        Order::create(
            db,
            &NewOrder {
                customer_id: demo.id,
                total_cents,
                currency: "EUR".into(),
                status: status.into(),
                placed_at: now - Duration::days(10 - n),
                client_reference: format!("demo-{}", n + 1),
            },
        )
        .await?;
    }
    tracing::info!(
        user = DEMO_USER,
        password = DEMO_USER,
        orders = orders.len(),
        "seeded a fresh database with demo data"
    );
    Ok(true)
}
