//! diesel table definitions of the framework tables (`users` is written by its model's
//! derive).
#![allow(missing_docs)]

pub use crate::users::users;

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        key_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        provider -> Text,
        delivery_id -> Text,
        received_at -> Timestamp,
        status -> Text,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, api_tokens);
