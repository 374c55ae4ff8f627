//! duet-admin: the staff admin at `/admin`, built on each model's description — no second
//! list of fields. Registered models get a change list (columns, sorting, search, filters,
//! pages, bulk actions after a confirmation, live updates), add and change forms (a widget
//! per field kind, the model's own validation, read-only fields never written, no lost
//! update), deletion with its cascades, and a history of everything staff did.
//!
//! The admin is served by the app, under its prefix: the same session, user and CSRF rules
//! as the rest of the app. Anonymous visitors get the login page and come back; logged-in
//! users who are not staff get a 403 page; superusers may do everything; other staff need
//! per-model view/add/change/delete permissions, granted to them or to their groups
//! (`duet_models::PermissionGrant`), checked on the server for every request.
//!
//! ```
//! use duet_admin::{ActionCtx, ActionResult, Admin, ModelAdmin};
//! use duet_models::{Model, User};
//!
//! async fn deactivate(ctx: ActionCtx, users: Vec<User>) -> ActionResult {
//!     for user in &users {
//!         User::set_active(&ctx.db, user.id, false).await?;
//!     }
//!     Ok(format!("{} users deactivated by {}.", users.len(), ctx.user.username))
//! }
//!
//! let admin = Admin::new("shop").accounts().register_with(
//!     ModelAdmin::<User>::new()
//!         .app("people")
//!         .search([User::USERNAME])
//!         .action("deactivate", "Deactivate", deactivate),
//! );
//! // `User` is registered by `accounts()` already: the app would not start.
//! assert_eq!(admin.problems(), ["admin people.user: registered twice"]);
//! ```
//!
//! An app uses it through `duet::App::admin` (docs/admin.md):
//!
//! ```ignore
//! App::new("shop").admin(|admin| admin.accounts().register::<Order>())
//! ```

mod context;
mod error;
mod log;
mod options;
mod registry;
mod render;
mod site;
mod views;

pub use error::AdminError;
pub use options::{ActionCtx, ActionResult, ModelAdmin};
pub use site::Admin;

/// Where the admin is mounted.
pub const PREFIX: &str = "/admin";
/// Its index page.
pub const INDEX_PATH: &str = "/admin/";
/// Its login page.
pub const LOGIN_PATH: &str = "/admin/login/";
/// Where its logout form posts.
pub const LOGOUT_PATH: &str = "/admin/logout/";
