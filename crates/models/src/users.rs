//! The `users` table: accounts shared by every surface.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::password::{decoy_hash, hash_password, verify_password};
use crate::{Db, Error, Model, Result, Scope, db_run};

/// A user account: a model like any other (the admin lists users), whose password hash is
/// secret — never in JSON, forms or the API schema.
#[derive(Clone, PartialEq, Eq, Model)]
#[duet(new = UserRow, changes = UserChanges)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Unique login name.
    #[duet(unique, max_length = 150)]
    pub username: String,
    /// Contact address (may be empty).
    #[duet(blank, max_length = 254, default = "")]
    pub email: String,
    /// Argon2id PHC string.
    #[duet(secret)]
    pub password_hash: String,
    /// The address in `email` was confirmed (a link sent to it was opened).
    #[duet(default = false)]
    pub email_verified: bool,
    /// Inactive users cannot log in.
    #[duet(default = true)]
    pub is_active: bool,
    /// May use the admin.
    #[duet(default = false)]
    pub is_staff: bool,
    /// Has every permission.
    #[duet(default = false)]
    pub is_superuser: bool,
    /// When the account was made (UTC).
    #[duet(auto_now_add)]
    pub created_at: NaiveDateTime,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .finish_non_exhaustive()
    }
}

/// What it takes to create a [`User`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique login name (1–150 characters).
    pub username: String,
    /// Contact address (may be empty).
    pub email: String,
    /// The plain password; only its Argon2id hash is stored.
    pub password: String,
    /// May use the admin.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// May log in (a sign-up that must confirm its address first starts inactive).
    pub is_active: bool,
}

impl Default for NewUser {
    fn default() -> NewUser {
        NewUser {
            username: String::new(),
            email: String::new(),
            password: String::new(),
            is_staff: false,
            is_superuser: false,
            is_active: true,
        }
    }
}

impl User {
    /// Creates a user. A taken username is [`Error::UniqueViolation`]; an empty username or
    /// password is [`Error::Config`].
    pub async fn create(db: &Db, new: NewUser) -> Result<User> {
        let username = new.username.trim().to_owned();
        if username.is_empty() || username.chars().count() > 150 {
            return Err(Error::Config("username must be 1 to 150 characters".into()));
        }
        if new.password.is_empty() {
            return Err(Error::Config("password must not be empty".into()));
        }
        let password_hash = hash_password(new.password).await?;
        let row = UserRow {
            username,
            email: new.email.trim().to_owned(),
            password_hash,
            email_verified: false,
            is_active: new.is_active,
            is_staff: new.is_staff || new.is_superuser,
            is_superuser: new.is_superuser,
            created_at: crate::now(),
        };
        <User as Model>::create(db, row).await.map_err(|error| match error {
            // The username's uniqueness as the callers (the CLI, sign-up) expect it.
            Error::Invalid(_) => Error::UniqueViolation("username".into()),
            other => other,
        })
    }

    /// The user named `username`, active or not.
    pub async fn by_username(db: &Db, username: &str) -> Result<User> {
        let query = crate::ListQuery::new(Scope::All)
            .filter("username", username)
            .window(1, 0);
        let users = <User as Model>::list(db, &query).await?;
        users.into_iter().next().ok_or(Error::NotFound)
    }

    /// The user with id `id`, active or not.
    pub async fn by_id(db: &Db, id: i64) -> Result<User> {
        <User as Model>::get(db, Scope::All, id).await
    }

    /// The active user whose credentials these are, or `None`.
    ///
    /// Costs one Argon2 verification whether or not the user exists or is active, so
    /// timing does not reveal which usernames exist.
    pub async fn authenticate(db: &Db, username: &str, password: &str) -> Result<Option<User>> {
        let user = match User::by_username(db, username).await {
            Ok(user) => Some(user),
            Err(Error::NotFound) => None,
            Err(other) => return Err(other),
        };
        let hash = user
            .as_ref()
            .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
        let matches = verify_password(password.to_owned(), hash).await;
        Ok(user.filter(|u| matches && u.is_active))
    }

    /// Replaces the user's password.
    pub async fn set_password(db: &Db, id: i64, password: &str) -> Result<()> {
        if password.is_empty() {
            return Err(Error::Config("password must not be empty".into()));
        }
        let hash = hash_password(password.to_owned()).await?;
        let updated = db_run!(db, |conn| diesel::update(users::table.find(id))
            .set(users::password_hash.eq(&hash))
            .execute(conn)
            .await)?;
        if updated == 0 { Err(Error::NotFound) } else { Ok(()) }
    }

    /// An address as stored: trimmed and lowercase, so that lookups ([`User::by_email`]) are
    /// exact. Sign-up, email change, password reset and `createuser` all store or look up
    /// addresses through it.
    pub fn normalise_email(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// The users whose address is `email`, active or not.
    pub async fn by_email(db: &Db, email: &str) -> Result<Vec<User>> {
        let query = crate::ListQuery::new(Scope::All).filter("email", email);
        <User as Model>::list(db, &query).await
    }

    /// Replaces the user's address, confirmed (`verified`) or not.
    pub async fn set_email(db: &Db, id: i64, email: &str, verified: bool) -> Result<()> {
        let updated = db_run!(db, |conn| diesel::update(users::table.find(id))
            .set((users::email.eq(email), users::email_verified.eq(verified)))
            .execute(conn)
            .await)?;
        if updated == 0 { Err(Error::NotFound) } else { Ok(()) }
    }

    /// Activates or deactivates the user.
    pub async fn set_active(db: &Db, id: i64, active: bool) -> Result<()> {
        let updated = db_run!(db, |conn| diesel::update(users::table.find(id))
            .set(users::is_active.eq(active))
            .execute(conn)
            .await)?;
        if updated == 0 { Err(Error::NotFound) } else { Ok(()) }
    }
}
