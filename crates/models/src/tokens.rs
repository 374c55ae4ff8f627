//! API tokens for scripts and mobile apps: only a SHA-256 of each token is stored.

use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use crate::users::{User, users};
use crate::{Db, Error, ForeignKey, Model, Result, db_run};

/// An API token (`Authorization: Token <key>` or `Bearer <key>`): a model whose key is
/// never stored, only its SHA-256, and never shown.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(table = "api_tokens", name = "api_token", new = ApiTokenRow)]
pub struct ApiToken {
    /// Primary key.
    pub id: i64,
    /// Whose token it is.
    #[duet(owner, index)]
    pub user: ForeignKey<User>,
    /// Lowercase hex SHA-256 of the key.
    #[duet(secret, unique)]
    pub key_hash: String,
    /// When it was issued (UTC).
    #[duet(auto_now_add)]
    pub created_at: NaiveDateTime,
}

impl ApiToken {
    /// Issues a new token for `user_id` and returns it. This is the only time the token is
    /// seen: the database keeps its SHA-256.
    pub async fn issue(db: &Db, user_id: i64) -> Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let row = ApiTokenRow {
            user: user_id.into(),
            key_hash: hash_key(&key),
            created_at: crate::now(),
        };
        <ApiToken as Model>::create(db, row).await?;
        Ok(key)
    }

    /// The active user owning `key`, or `None` for unknown keys and inactive users.
    pub async fn authenticate(db: &Db, key: &str) -> Result<Option<User>> {
        let key_hash = hash_key(key);
        let user = crate::db_read!(db, |conn| api_tokens::table
            .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
            .filter(api_tokens::key_hash.eq(&key_hash))
            .filter(users::is_active.eq(true))
            .select(User::as_select())
            .first(conn)
            .await
            .optional())?;
        Ok(user)
    }

    /// Revokes every token of `user_id`; returns how many there were.
    pub async fn revoke_all(db: &Db, user_id: i64) -> Result<usize> {
        db_run!(db, |conn| diesel::delete(
            api_tokens::table.filter(api_tokens::user_id.eq(user_id))
        )
        .execute(conn)
        .await)
    }

    /// The stored form of a key: lowercase hex SHA-256.
    pub fn hash_key(key: &str) -> String {
        hash_key(key)
    }
}

pub(crate) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}
