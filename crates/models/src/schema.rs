//! diesel's tables of the framework's models, written by their derives: for hand-written
//! queries (`users::table.filter(users::is_staff.eq(true))`).

pub use crate::deliveries::webhook_deliveries;
pub use crate::tokens::api_tokens;
pub use crate::user_tokens::user_tokens;
pub use crate::users::users;

diesel::table! {
    /// One row per login (`Login`): the session holds the login's id, this table its SHA-256.
    user_logins (id) {
        /// The row's key.
        id -> BigInt,
        /// Whose login.
        user_id -> BigInt,
        /// Lowercase hex SHA-256 of the login's id (the id is only in the session).
        key_hash -> Text,
        /// When the user logged in (UTC).
        created_at -> Timestamp,
    }
}

diesel::joinable!(user_logins -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, api_tokens, user_logins);
