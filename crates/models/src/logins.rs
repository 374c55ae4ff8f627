//! The `user_logins` table: one row per login, so that a session is logged in only while its
//! row exists, whatever store keeps the session (a cookie cannot be taken back; a row can).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::{user_logins, users};
use crate::tokens::hash_key;
use crate::users::User;
use crate::{Db, Error, LoadRows, Result, db_run};

/// Starting, checking and ending logins. A login's id is random; the session holds it, the
/// database only its SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct Login;

impl Login {
    /// Records a new login of `user_id` and returns its id (to keep in the session). The
    /// user's logins older than `max_age` (their sessions have expired) are deleted.
    pub async fn start(db: &Db, user_id: i64, max_age: std::time::Duration) -> Result<String> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        let id = hex::encode(bytes);
        let key_hash = hash_key(&id);
        let now = crate::now();
        let expired: NaiveDateTime = now - chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        db_run!(db, |conn| diesel::delete(
            user_logins::table
                .filter(user_logins::user_id.eq(user_id))
                .filter(user_logins::created_at.lt(expired))
        )
        .execute(conn)
        .await)?;
        db_run!(db, |conn| diesel::insert_into(user_logins::table)
            .values((
                user_logins::user_id.eq(user_id),
                user_logins::key_hash.eq(&key_hash),
                user_logins::created_at.eq(now),
            ))
            .execute(conn)
            .await)?;
        Ok(id)
    }

    /// The active user `user_id` if login `id` is theirs and has not ended; `None` otherwise
    /// (logged out, out everywhere, deactivated or deleted). One query, of a fixed shape (on
    /// SQLite its prepared statement is found by type: every request asks it).
    pub async fn user(db: &Db, user_id: i64, id: &str) -> Result<Option<User>> {
        let key_hash = hash_key(id);
        // `key_hash` is unique: at most one row.
        let users = crate::db_read!(db, |conn| conn
            .load_rows(
                user_logins::table
                    .inner_join(users::table)
                    .filter(user_logins::key_hash.eq(key_hash.clone()))
                    .filter(user_logins::user_id.eq(user_id))
                    .filter(users::is_active.eq(true))
                    .select(User::as_select()),
            )
            .await)?;
        Ok(users.into_iter().next())
    }

    /// Ends login `id` (logout); true when it had not ended yet.
    pub async fn end(db: &Db, id: &str) -> Result<bool> {
        let key_hash = hash_key(id);
        let deleted = db_run!(db, |conn| diesel::delete(
            user_logins::table.filter(user_logins::key_hash.eq(&key_hash))
        )
        .execute(conn)
        .await)?;
        Ok(deleted > 0)
    }

    /// Ends every login of `user_id` but `kept` (the one asking: "log out everywhere
    /// else"); returns how many ended.
    pub async fn end_others(db: &Db, user_id: i64, kept: &str) -> Result<usize> {
        let kept_hash = hash_key(kept);
        db_run!(db, |conn| diesel::delete(
            user_logins::table
                .filter(user_logins::user_id.eq(user_id))
                .filter(user_logins::key_hash.ne(&kept_hash))
        )
        .execute(conn)
        .await)
    }

    /// Ends every login of `user_id` ("log out everywhere"); returns how many there were.
    pub async fn end_all(db: &Db, user_id: i64) -> Result<usize> {
        db_run!(db, |conn| diesel::delete(
            user_logins::table.filter(user_logins::user_id.eq(user_id))
        )
        .execute(conn)
        .await)
    }
}
