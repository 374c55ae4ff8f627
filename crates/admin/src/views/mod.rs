//! The admin's pages, one module per kind of page.

pub(crate) mod actions;
pub(crate) mod delete;
pub(crate) mod edit;
pub(crate) mod history;
pub(crate) mod index;
pub(crate) mod list;
pub(crate) mod live;
pub(crate) mod login;
pub(crate) mod password;
pub(crate) mod query;
