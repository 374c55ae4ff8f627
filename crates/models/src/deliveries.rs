//! The `webhook_deliveries` table: each (provider, delivery id) is handled once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{Choices, Db, Error, Model, Result, db_run};

use self::webhook_deliveries as wd;

/// Where a delivery's handling stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
pub enum DeliveryStatus {
    /// A handler has it now.
    Processing,
    /// Handled: repeats are answered 200 without handling them again.
    Done,
}

/// A webhook delivery as recorded: a model (the admin lists them), written only by
/// [`WebhookDelivery::claim`] and its companions.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(
    table = "webhook_deliveries",
    name = "webhook_delivery",
    verbose_name_plural = "webhook deliveries",
    index(
        name = "webhook_deliveries_provider_delivery_id",
        fields(provider, delivery_id),
        unique
    )
)]
pub struct WebhookDelivery {
    /// Primary key.
    pub id: i64,
    /// The scheme that verified it (`stripe`, `github`, …).
    pub provider: String,
    /// The sender's id of this delivery.
    pub delivery_id: String,
    /// When it was (last) claimed (UTC).
    pub received_at: NaiveDateTime,
    /// Where it stands.
    pub status: DeliveryStatus,
}

/// The outcome of [`WebhookDelivery::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First time seen (or an earlier attempt was abandoned): the caller handles it, then
    /// calls [`WebhookDelivery::complete`] or [`WebhookDelivery::release`].
    Claimed,
    /// Already handled: answer 200 without handling it again.
    AlreadyDone,
    /// Another request is handling it right now.
    InProgress,
}

/// Delivery bookkeeping for webhook idempotency.
impl WebhookDelivery {
    /// Claims `(provider, delivery_id)` for handling.
    ///
    /// Exactly one of several concurrent claims gets [`Claim::Claimed`]: the unique
    /// `(provider, delivery_id)` index decides. A claim left `processing` for longer than
    /// `stale_after` (a crashed handler) can be taken over.
    pub async fn claim(db: &Db, provider: &str, delivery_id: &str, stale_after: Duration) -> Result<Claim> {
        let now = crate::now();
        let inserted = db_run!(db, |conn| diesel::insert_into(wd::table)
            .values((
                wd::provider.eq(provider),
                wd::delivery_id.eq(delivery_id),
                wd::received_at.eq(now),
                wd::status.eq(DeliveryStatus::Processing),
            ))
            .execute(conn)
            .await);
        match inserted {
            Ok(_) => return Ok(Claim::Claimed),
            Err(Error::UniqueViolation(_)) => {}
            Err(other) => return Err(other),
        }
        let cutoff: NaiveDateTime = now - stale_after;
        let taken_over = db_run!(db, |conn| diesel::update(
            wd::table
                .filter(wd::provider.eq(provider))
                .filter(wd::delivery_id.eq(delivery_id))
                .filter(wd::status.eq(DeliveryStatus::Processing))
                .filter(wd::received_at.lt(cutoff)),
        )
        .set(wd::received_at.eq(now))
        .execute(conn)
        .await)?;
        if taken_over == 1 {
            return Ok(Claim::Claimed);
        }
        let status: DeliveryStatus = db_run!(db, |conn| wd::table
            .filter(wd::provider.eq(provider))
            .filter(wd::delivery_id.eq(delivery_id))
            .select(wd::status)
            .first(conn)
            .await)?;
        Ok(if status == DeliveryStatus::Done {
            Claim::AlreadyDone
        } else {
            Claim::InProgress
        })
    }

    /// Marks a claimed delivery handled: later repeats get [`Claim::AlreadyDone`].
    pub async fn complete(db: &Db, provider: &str, delivery_id: &str) -> Result<()> {
        db_run!(db, |conn| diesel::update(
            wd::table
                .filter(wd::provider.eq(provider))
                .filter(wd::delivery_id.eq(delivery_id)),
        )
        .set(wd::status.eq(DeliveryStatus::Done))
        .execute(conn)
        .await)?;
        Ok(())
    }

    /// Gives up a claim after the handler failed, so the sender's retry handles it.
    pub async fn release(db: &Db, provider: &str, delivery_id: &str) -> Result<()> {
        db_run!(db, |conn| diesel::delete(
            wd::table
                .filter(wd::provider.eq(provider))
                .filter(wd::delivery_id.eq(delivery_id))
                .filter(wd::status.eq(DeliveryStatus::Processing)),
        )
        .execute(conn)
        .await)?;
        Ok(())
    }

    /// How many deliveries of `provider` are recorded as handled.
    pub async fn done_count(db: &Db, provider: &str) -> Result<i64> {
        db_run!(db, |conn| wd::table
            .filter(wd::provider.eq(provider))
            .filter(wd::status.eq(DeliveryStatus::Done))
            .count()
            .get_result(conn)
            .await)
    }
}
