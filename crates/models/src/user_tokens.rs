//! The `user_tokens` table: the single-use tokens mailed to a user — confirm an address,
//! reset a password, confirm a new address — stored as SHA-256 only (phx.gen.auth's
//! `users_tokens`). A token is spent by deleting its row, so two uses of one token cannot
//! both succeed; every token of a user dies when the password changes.

use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::tokens::hash_key;
use crate::users::User;
use crate::{Choices, Db, Error, ForeignKey, Model, Result, Scope, db_run};

/// What a mailed token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Choices)]
pub enum TokenPurpose {
    /// Confirm the address the account was made with.
    Verify,
    /// Set a new password without the old one.
    ResetPassword,
    /// Confirm a new address, which then replaces the old one.
    ChangeEmail,
}

/// A token mailed to a user: only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(table = "user_tokens", name = "user_token", new = UserTokenRow)]
pub struct UserToken {
    /// Primary key.
    pub id: i64,
    /// Whose token it is.
    #[duet(owner, index)]
    pub user: ForeignKey<User>,
    /// What it is for.
    pub purpose: TokenPurpose,
    /// Lowercase hex SHA-256 of the token.
    #[duet(secret, unique)]
    pub token_hash: String,
    /// The address it was mailed to (for [`TokenPurpose::ChangeEmail`], the new address).
    #[duet(max_length = 254)]
    pub sent_to: String,
    /// When it was issued (UTC).
    #[duet(auto_now_add)]
    pub created_at: NaiveDateTime,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefused {
    /// No such token for this purpose: never issued, altered, already used, or revoked
    /// (the password changed).
    Invalid,
    /// It was issued longer ago than it lives.
    Expired,
}

impl UserToken {
    /// Issues a token for `purpose` mailed to `sent_to` and returns it: 32 random bytes,
    /// URL-safe base64. This is the only time the token is seen.
    pub async fn issue(db: &Db, user_id: i64, purpose: TokenPurpose, sent_to: &str) -> Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let row = UserTokenRow {
            user: user_id.into(),
            purpose,
            token_hash: hash_key(&token),
            sent_to: sent_to.to_owned(),
            created_at: crate::now(),
        };
        <UserToken as Model>::create(db, row).await?;
        Ok(token)
    }

    /// The token `token` and its user, when it was issued for one of `purposes` and is
    /// younger than the age given with that purpose. It stays valid until [`spend`](Self::spend).
    pub async fn find(
        db: &Db,
        token: &str,
        purposes: &[(TokenPurpose, std::time::Duration)],
    ) -> Result<std::result::Result<(UserToken, User), TokenRefused>> {
        let token_hash = hash_key(token);
        let found = crate::db_read!(db, |conn| user_tokens::table
            .filter(user_tokens::token_hash.eq(&token_hash))
            .select(UserToken::as_select())
            .first(conn)
            .await
            .optional())?;
        let Some((found, max_age)) =
            found.and_then(|t| purposes.iter().find(|(p, _)| *p == t.purpose).map(|(_, age)| (t, *age)))
        else {
            return Ok(Err(TokenRefused::Invalid));
        };
        if crate::now() - found.created_at > chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX) {
            return Ok(Err(TokenRefused::Expired));
        }
        let user = User::by_id(db, found.user.id()).await?;
        Ok(Ok((found, user)))
    }

    /// Uses the token up: true for the one caller that deletes it, false when it was
    /// already spent (a second use racing the first).
    pub async fn spend(&self, db: &Db) -> Result<bool> {
        match <UserToken as Model>::delete(db, Scope::All, self.id).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Deletes every token of `user_id` (its password changed); returns how many there were.
    pub async fn revoke_all(db: &Db, user_id: i64) -> Result<usize> {
        db_run!(db, |conn| diesel::delete(
            user_tokens::table.filter(user_tokens::user_id.eq(user_id))
        )
        .execute(conn)
        .await)
    }
}
