//! diesel table definitions of the framework tables.
#![allow(missing_docs)]

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        is_active -> Bool,
        is_staff -> Bool,
        is_superuser -> Bool,
        created_at -> Timestamp,
    }
}

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

diesel::table! {
    user_logins (id) {
        id -> BigInt,
        user_id -> BigInt,
        key_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(user_logins -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, api_tokens, user_logins);
