//! The `users` table: accounts shared by every surface.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Map, Value, json};

use crate::model::{Field, FieldKind, Model};
use crate::password::{decoy_hash, hash_password, verify_password};
use crate::schema::users;
use crate::{Db, Error, Result, db_run};

/// A user account. The password hash never leaves this crate's JSON.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Unique login name.
    pub username: String,
    /// Contact address (may be empty).
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Inactive users cannot log in.
    pub is_active: bool,
    /// May use the admin.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// When the account was made (UTC).
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
#[derive(Debug, Clone, Default)]
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
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct UserRow<'a> {
    username: &'a str,
    email: &'a str,
    password_hash: &'a str,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    created_at: NaiveDateTime,
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
            username: &username,
            email: new.email.trim(),
            password_hash: &password_hash,
            is_active: true,
            is_staff: new.is_staff || new.is_superuser,
            is_superuser: new.is_superuser,
            created_at: crate::now(),
        };
        db_run!(db, |conn| diesel::insert_into(users::table)
            .values(&row)
            .returning(User::as_returning())
            .get_result(conn)
            .await)
    }

    /// The user named `username`, active or not.
    pub async fn by_username(db: &Db, username: &str) -> Result<User> {
        crate::db_read!(db, |conn| users::table
            .filter(users::username.eq(username))
            .select(User::as_select())
            .first(conn)
            .await)
    }

    /// The user with id `id`, active or not.
    pub async fn by_id(db: &Db, id: i64) -> Result<User> {
        crate::db_read!(db, |conn| users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await)
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

    /// Activates or deactivates the user.
    pub async fn set_active(db: &Db, id: i64, active: bool) -> Result<()> {
        let updated = db_run!(db, |conn| diesel::update(users::table.find(id))
            .set(users::is_active.eq(active))
            .execute(conn)
            .await)?;
        if updated == 0 { Err(Error::NotFound) } else { Ok(()) }
    }
}

impl Model for User {
    const NAME: &'static str = "user";
    const TABLE: &'static str = "users";
    const FIELDS: &'static [Field] = &[
        Field::read_only("id", FieldKind::Integer),
        Field::new("username", FieldKind::Text),
        Field::new("email", FieldKind::Text),
        Field::new("is_active", FieldKind::Bool),
        Field::new("is_staff", FieldKind::Bool),
        Field::new("is_superuser", FieldKind::Bool),
        Field::read_only("created_at", FieldKind::DateTime),
    ];

    fn pk(&self) -> i64 {
        self.id
    }

    fn to_json(&self) -> Map<String, Value> {
        crate::json_object([
            ("id", json!(self.id)),
            ("username", json!(self.username)),
            ("email", json!(self.email)),
            ("is_active", json!(self.is_active)),
            ("is_staff", json!(self.is_staff)),
            ("is_superuser", json!(self.is_superuser)),
            ("created_at", crate::datetime_to_json(&self.created_at)),
        ])
    }

    crate::model_queries! {
        table: users,
        pk: users::id,
        filters: {
            "username" => users::username: Text,
            "is_active" => users::is_active: Bool,
            "is_staff" => users::is_staff: Bool,
        },
        ordering: { "id" => users::id, "username" => users::username, "created_at" => users::created_at },
    }
}
