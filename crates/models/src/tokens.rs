//! API tokens for scripts and mobile apps, with a lifecycle as GitHub's fine-grained tokens
//! have: a name, a scope, an optional expiry and the time it was last used. Only a SHA-256
//! of each key is stored.

use std::time::Duration;

use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use crate::users::{User, users};
use crate::{Choices, Db, Error, ForeignKey, ListQuery, Model, Result, Scope, db_run};

/// What a token may do: read (safe methods only) or read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
pub enum TokenScope {
    /// GET, HEAD and OPTIONS only; anything else is refused (403).
    Read,
    /// Everything the user may do.
    #[choice(label = "Read and write")]
    ReadWrite,
}

/// An API token (`Authorization: Token <key>` or `Bearer <key>`): a model whose key is
/// never stored, only its SHA-256, and never shown after it is issued.
///
/// Revoking a token deletes its row: a revoked key is then indistinguishable from one that
/// never existed, and is refused as an invalid token. An expired token keeps its row (the
/// owner still sees it listed, as expired) until it is revoked.
#[derive(Debug, Clone, PartialEq, Eq, Model)]
#[duet(table = "api_tokens", name = "api_token", new = ApiTokenRow)]
pub struct ApiToken {
    /// Primary key.
    pub id: i64,
    /// Whose token it is.
    #[duet(owner, index)]
    pub user: ForeignKey<User>,
    /// What it is for, as its owner named it. Tokens issued before tokens had names are
    /// called "token".
    #[duet(max_length = 100, default = "token")]
    pub name: String,
    /// Lowercase hex SHA-256 of the key.
    #[duet(secret, unique)]
    pub key_hash: String,
    /// What it may do. Tokens issued before tokens had scopes may read and write.
    #[duet(default = TokenScope::ReadWrite)]
    pub scope: TokenScope,
    /// When it was issued (UTC).
    #[duet(auto_now_add)]
    pub created_at: NaiveDateTime,
    /// When it stops working (UTC); never when `None`.
    pub expires_at: Option<NaiveDateTime>,
    /// When it last authenticated a request (UTC), to the minute ([`LAST_USED_PRECISION`]).
    pub last_used_at: Option<NaiveDateTime>,
}

/// How stale `last_used_at` may get before a request updates it. Writing it on every request
/// would make every read a write — SQLite's single writer, PostgreSQL's WAL and row locks —
/// for a value people read to the day ("last used 3 days ago", as GitHub shows it); so a
/// token in constant use costs one write a minute.
pub const LAST_USED_PRECISION: Duration = Duration::from_secs(60);

/// What a new token is: its name, scope and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// What it is for (at most 100 characters, not blank).
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When it stops working; never when `None`.
    pub expires_at: Option<NaiveDateTime>,
}

impl Default for TokenSpec {
    /// A token named "token" that may read and write and never expires (what
    /// [`ApiToken::issue`] gives).
    fn default() -> TokenSpec {
        TokenSpec {
            name: "token".to_owned(),
            scope: TokenScope::ReadWrite,
            expires_at: None,
        }
    }
}

impl TokenSpec {
    /// A spec named `name`, checked as the model checks it (not blank, at most 100
    /// characters); read-write and never expiring until changed.
    pub fn named(name: &str) -> std::result::Result<TokenSpec, String> {
        let name = name.trim();
        let longest = ApiToken::fields()
            .iter()
            .find(|f| f.name == "name")
            .and_then(|f| f.max_length)
            .unwrap_or(u32::MAX);
        if name.is_empty() {
            return Err("This field may not be blank.".to_owned());
        }
        if u32::try_from(name.chars().count()).unwrap_or(u32::MAX) > longest {
            return Err(format!("Ensure this field has no more than {longest} characters."));
        }
        Ok(TokenSpec {
            name: name.to_owned(),
            ..TokenSpec::default()
        })
    }

    /// Expires `lifetime` after `now`: a human duration such as `30d`, `12h` or `90min`
    /// (humantime's syntax).
    pub fn expires_in(self, lifetime: &str, now: NaiveDateTime) -> std::result::Result<TokenSpec, String> {
        let parsed = humantime::parse_duration(lifetime.trim())
            .map_err(|e| format!("{lifetime:?} is not a lifetime such as 30d, 12h or 90min: {e}."))?;
        let expires_at = chrono::Duration::from_std(parsed)
            .ok()
            .and_then(|parsed| now.checked_add_signed(parsed))
            .filter(|at| *at > now)
            .ok_or_else(|| format!("{lifetime:?} is not a lifetime between a second and a few centuries."))?;
        Ok(TokenSpec {
            expires_at: Some(expires_at),
            ..self
        })
    }
}

/// What a key turned out to be, for [`ApiToken::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// A live token of an active user.
    Valid {
        /// Whose token.
        user: User,
        /// What it may do.
        scope: TokenScope,
    },
    /// A token past its expiry.
    Expired,
    /// No such token (never issued, or revoked), or its user is inactive.
    Invalid,
}

impl ApiToken {
    /// Issues a token for `user_id` named "token", read-write, never expiring, and returns
    /// its key. This is the only time the key is seen: the database keeps its SHA-256.
    pub async fn issue(db: &Db, user_id: i64) -> Result<String> {
        Ok(ApiToken::issue_with(db, user_id, TokenSpec::default()).await?.1)
    }

    /// Issues a token as `spec` says; returns the row and the key (shown this once).
    pub async fn issue_with(db: &Db, user_id: i64, spec: TokenSpec) -> Result<(ApiToken, String)> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let row = ApiTokenRow {
            user: user_id.into(),
            name: spec.name,
            key_hash: hash_key(&key),
            scope: spec.scope,
            created_at: crate::now(),
            expires_at: spec.expires_at,
            last_used_at: None,
        };
        let token = <ApiToken as Model>::create(db, row).await?;
        Ok((token, key))
    }

    /// What `key` is at `now`: a live token of an active user, an expired one, or nothing.
    /// A live token's `last_used_at` is brought up to date when it is older than
    /// [`LAST_USED_PRECISION`] (at most one write a minute per token).
    pub async fn authenticate(db: &Db, key: &str, now: NaiveDateTime) -> Result<TokenCheck> {
        let key_hash = hash_key(key);
        let found = crate::db_read!(db, |conn| api_tokens::table
            .inner_join(users::table.on(users::id.eq(api_tokens::user_id)))
            .filter(api_tokens::key_hash.eq(&key_hash))
            .filter(users::is_active.eq(true))
            .select((User::as_select(), ApiToken::as_select()))
            .first::<(User, ApiToken)>(conn)
            .await
            .optional())?;
        let Some((user, token)) = found else {
            return Ok(TokenCheck::Invalid);
        };
        if token.is_expired(now) {
            return Ok(TokenCheck::Expired);
        }
        if token.last_used_is_stale(now) {
            ApiToken::touch(db, token.id, now).await?;
        }
        Ok(TokenCheck::Valid {
            user,
            scope: token.scope,
        })
    }

    /// Whether the token no longer works at `now`.
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether a request at `now` should record itself as the token's last use.
    pub fn last_used_is_stale(&self, now: NaiveDateTime) -> bool {
        let precision = chrono::Duration::from_std(LAST_USED_PRECISION).unwrap_or_default();
        self.last_used_at.is_none_or(|at| now - at >= precision)
    }

    /// Records a use at `now`. The condition makes concurrent requests of one token (on any
    /// instance) write once, not once each.
    async fn touch(db: &Db, id: i64, now: NaiveDateTime) -> Result<()> {
        let precision = chrono::Duration::from_std(LAST_USED_PRECISION).unwrap_or_default();
        let stale = now - precision;
        db_run!(db, |conn| diesel::update(
            api_tokens::table.filter(api_tokens::id.eq(id)).filter(
                api_tokens::last_used_at
                    .is_null()
                    .or(api_tokens::last_used_at.le(stale))
            )
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .await)?;
        Ok(())
    }

    /// `user_id`'s tokens, newest first (expired ones too).
    pub async fn of_user(db: &Db, user_id: i64) -> Result<Vec<ApiToken>> {
        let query = ListQuery::new(Scope::Owner(user_id)).order_by(ApiToken::CREATED_AT, true);
        <ApiToken as Model>::list(db, &query).await
    }

    /// Revokes (deletes) the token `id` within `scope`: a user's own ([`Scope::Owner`]) or
    /// any ([`Scope::All`], the command line). [`Error::NotFound`] when there is none.
    pub async fn revoke(db: &Db, scope: Scope, id: i64) -> Result<ApiToken> {
        <ApiToken as Model>::delete(db, scope, id).await
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{TokenScope, TokenSpec};
    use crate::Choices;

    #[test]
    fn a_spec_is_named_and_given_a_lifetime_as_people_write_them() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let spec = TokenSpec::named("deploy").unwrap().expires_in("30d", now).unwrap();
        assert_eq!(spec.expires_at, Some(now + chrono::Duration::days(30)));
        let spec = TokenSpec::named("deploy")
            .unwrap()
            .expires_in("12h 30min", now)
            .unwrap();
        assert_eq!(spec.expires_at, Some(now + chrono::Duration::minutes(12 * 60 + 30)));
        assert_eq!(TokenSpec::named("  ").unwrap_err(), "This field may not be blank.");
        assert_eq!(
            TokenSpec::named(&"x".repeat(101)).unwrap_err(),
            "Ensure this field has no more than 100 characters."
        );
        for bad in ["30", "soon", "-1d", "0s"] {
            let error = TokenSpec::default().expires_in(bad, now).unwrap_err();
            assert!(error.contains(bad), "{bad}: {error}");
        }
        assert_eq!(TokenScope::from_value("read"), Some(TokenScope::Read));
        assert_eq!(TokenScope::ReadWrite.value(), "read_write");
    }
}
