//! diesel's tables of the framework's models, written by their derives: for hand-written
//! queries (`users::table.filter(users::is_staff.eq(true))`).

pub use crate::deliveries::webhook_deliveries;
pub use crate::tokens::api_tokens;
pub use crate::users::users;

diesel::allow_tables_to_appear_in_same_query!(users, api_tokens);
