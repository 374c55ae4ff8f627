//! duet serves a web product from one Rust process: a browser UI whose state lives on the
//! server, a JSON API, webhooks — on one port, one origin, one database, one logged-in user.
//! This crate is the one an app depends on.
//!
//! # A tour
//!
//! An app is an [`App`]: backend prefixes that own their routes, states that answer the
//! browser's events, pages, models and migrations. [`cli::run`] gives it the framework's
//! commands (`serve`, `migrate`, `makemigrations`, `createuser`, `token`, `routes`, `openapi`, `check`,
//! …) and builds everything it needs from the settings ([`Settings`]: `DATABASE_URL`,
//! `REDIS_URL`, `DUET_SECRET_KEY`, …).
//!
//! ```no_run
//! use duet::prelude::*;
//! use duet::ui::{button, column, event, text, var};
//! use serde::{Deserialize, Serialize};
//!
//! // The event-state side: a state kept on the server, changed by events from the page.
//! #[derive(Debug, Default, Serialize, Deserialize, State)]
//! pub struct CounterState {
//!     count: i64,
//! }
//!
//! #[events]
//! impl CounterState {
//!     async fn increment(&mut self, _ctx: &mut EventCtx) -> EventResult {
//!         self.count += 1;
//!         Ok(())
//!     }
//! }
//!
//! // The HTTP side: a plain handler for mobile apps and scripts (session or API token),
//! // described once for the OpenAPI document (`/api/schema/`, `/api/docs/`).
//! /// Who is logged in.
//! #[utoipa::path(get, path = "/whoami/", responses((status = 200, description = "The username.")))]
//! async fn whoami(user: CurrentUser) -> HttpResponse {
//!     HttpResponse::Ok().json(serde_json::json!({ "username": user.username }))
//! }
//!
//! fn app() -> App {
//!     let home = Page::new("/").title("Counter").body(column([
//!         text(var::<CounterState>("count")),
//!         button("+1").on_click(event::<CounterState>("increment")),
//!     ]));
//!     App::new("counter")
//!         .api("/api", |api| {
//!             route!(api, whoami); // serves /api/whoami/
//!         })
//!         .state::<CounterState>()
//!         .ui(Ui::new("Counter").page(home))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     duet::cli::run(app())
//! }
//! ```
//!
//! `cargo run` serves it on <http://127.0.0.1:8000> with an SQLite database in `var/`;
//! `cargo run -- --help` lists the commands and every setting. The tutorial
//! (`docs/tutorial.md`) goes from `cargo new` to an app with a model, an API, live pages and
//! a webhook.
//!
//! # The layers
//!
//! Each layer is a crate of its own, re-exported here; an app may also depend on one alone.
//!
//! | module | crate | owns |
//! |---|---|---|
//! | [`models`] | duet-models | the database pool (SQLite or PostgreSQL), migrations and migrations from models, users, tokens, the `Model` trait, validation |
//! | [`auth`] | duet-auth | sessions, login and logout, CSRF, API tokens, permissions |
//! | [`views`] | duet-views | HTTP API errors, routes, `ViewSet` and `ApiRouter`, pagination, filtering |
//! | [`state`] | duet-state | the event-state protocol at `/_event`: `State`, deltas, tab stores, broadcasts |
//! | [`ui`] | duet-ui | pages and components described in Rust, and the browser runtime |
//! | [`webhooks`] | duet-webhooks | signature verification (Stripe, GitHub, Slack, Standard Webhooks) and idempotency |
//! | [`mount`] | duet-mount | the prefix table, reserved paths, the SPA catch-all, assets and the shell |
//! | [`admin`] | duet-admin | the staff admin at `/admin`: change lists, forms, history, permissions, live updates |
//!
//! This crate adds the [`App`] builder, the framework [`Settings`], the [`Services`] chosen
//! from them, and the [`cli`].
//!
//! # Feature flags
//!
//! | feature | default | effect |
//! |---|---|---|
//! | `mimalloc` | on | mimalloc is the global allocator, also for the bundled SQLite's C code (measured in `docs/benchmarks.md`). Turn it off to set your own `#[global_allocator]`. |
//!
//! The bundled SQLite's compile options (and mimalloc's lazy arena commit) are build
//! environment variables, which no dependency can set for you: copy the `[env]` table of
//! the template's `.cargo/config.toml` (`templates/app`) into your project's.

mod app;
pub mod cli;
mod compression;
mod cors;
mod deploy;
mod error;
mod headers;
mod makemigrations;
mod metrics;
pub mod prelude;
mod secret_key;
mod services;
mod settings;
mod shutdown;
mod telemetry;

pub use app::{App, Checked};
pub use cors::CorsOrigins;
pub use error::Error;
pub use headers::{DEFAULT_CSP, DEFAULT_HSTS, SecurityHeaders};
pub use services::Services;
pub use settings::{Env, SecretKey, Settings};
pub use shutdown::RESTARTING;
pub use telemetry::{LogFormat, REQUEST_ID_HEADER, RequestId};

pub use duet_admin as admin;
pub use duet_auth as auth;
pub use duet_mail as mail;
pub use duet_models as models;
pub use duet_mount as mount;
pub use duet_state as state;
pub use duet_ui as ui;
pub use duet_views as views;
pub use duet_webhooks as webhooks;

pub use {actix_web, chrono, clap, diesel, diesel_async, serde_json, tokio, tracing};

/// mimalloc instead of the system allocator: per request the server allocates and frees many
/// small buffers across worker threads, where glibc's malloc showed in profiles.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
