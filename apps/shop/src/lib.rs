//! The duet demo shop: orders placed by users, served as an SPA with server-side state, a
//! JSON API, webhooks and the staff admin on one port. [`app`] is the whole app; `main.rs` hands it to the
//! framework CLI.

pub mod account_pages;
pub mod admin;
pub mod api;
pub mod orders;
pub mod pages;
pub mod seed;
pub mod states;
pub mod webhooks;

use duet::App;
use duet::auth::{Accounts, Signup};
use duet::models::{FRAMEWORK_MIGRATIONS, MigrationSet};
use duet::mount::{Assets, SpaShell};

/// The shop's own migrations (the `orders` table).
pub const SHOP_MIGRATIONS: MigrationSet =
    duet::models::migration_set!("shop", sqlite: "migrations/sqlite", postgres: "migrations/postgres");
/// Every migration the shop applies: the framework's, then its own.
pub const MIGRATIONS: [MigrationSet; 2] = [FRAMEWORK_MIGRATIONS, SHOP_MIGRATIONS];

/// What the shell shows before the runtime renders the page (and without JavaScript).
const SHELL_BODY: &str = r#"<div id="app"><main><noscript>This shop needs JavaScript. The JSON API is at
<a href="/api/v1/">/api/v1/</a>.</noscript></main></div>"#;

/// The shop: its JSON API under `/api`, its webhooks under `/webhooks` (enabled by their
/// secrets), its states and pages, its orders model and migrations, and demo data.
pub fn app() -> App {
    App::new("shop")
        .api("/api", api::routes)
        .admin(admin::admin)
        // Customers make their own accounts, and confirm their address before logging in.
        .accounts(Accounts {
            signup: Signup::Open,
            ..Accounts::default()
        })
        .with_settings(|app, secrets: &webhooks::WebhookSecrets| {
            let webhooks = webhooks::Webhooks::new(secrets)?;
            let app = secrets.missing().into_iter().fold(app, |app, var| {
                app.deploy_warning(format!("{var} is unset: its webhook endpoint is disabled (404)"))
            });
            Ok(app.webhooks("/webhooks", move |routes| webhooks.configure(routes)))
        })
        .states(states::register)
        .ui(pages::ui())
        .assets(Assets::new().hashed("shop.css", include_bytes!("../static/shop.css").as_slice()))
        .shell(SpaShell::new("Shop").stylesheet("shop.css").body(SHELL_BODY))
        .migrations(SHOP_MIGRATIONS)
        .model::<orders::Order>()
        .seed(seed::seed_if_empty)
}
