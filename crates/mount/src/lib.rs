//! duet-mount is the mount router: for every request path it decides who answers.
//!
//! duet serves several surfaces from one actix-web process, and each path belongs to exactly
//! one of them:
//!
//! - **Backend prefixes** ([`PrefixTable`]): the HTTP APIs. The app declares its prefixes
//!   (`/api`, `/webhooks`); the framework adds its own ([`ACCOUNTS_PREFIX`], duet-auth's
//!   views). A path under a prefix is the backend's, including its 404s.
//! - **Reserved framework paths** ([`RESERVED_PATHS`]): [`EVENT_PATH`] (the event-state
//!   protocol), [`HEALTH_PATH`] and everything under [`DUET_PATH`].
//! - **The SPA catch-all**: everything else — embedded static files ([`Assets`]) and, for any
//!   other path, the single-page app's shell.
//!
//! The table is validated at start-up: prefixes that are malformed, duplicated, nested in one
//! another or touching a framework path are refused with a [`MountError`] that names them.
//! [`Mount`] then serves a checked app: the reserved paths, the app's routes and the
//! catch-all. The app builder that declares prefixes and their routes is `duet::App`.
//!
//! ```
//! use duet_mount::{MountError, PrefixTable, Target};
//!
//! let table = PrefixTable::new(["/api", "/webhooks/"])?;
//! assert_eq!(table.prefixes().collect::<Vec<_>>(), ["/accounts", "/api", "/webhooks"]);
//!
//! assert_eq!(table.classify("/api/orders/42"), Target::Backend("/api"));
//! assert_eq!(table.classify("/%61pi/orders"), Target::Backend("/api")); // decoded first
//! assert_eq!(table.classify("/accounts/login/"), Target::Backend("/accounts"));
//! assert_eq!(table.classify("/_event"), Target::Reserved("/_event"));
//! assert_eq!(table.classify("/apix"), Target::CatchAll);
//! assert_eq!(table.classify("/orders/42"), Target::CatchAll);
//! assert!(matches!(table.classify("/api/../x"), Target::Invalid(_)));
//!
//! assert_eq!(table.contains_route("/api/v1/orders/{id}/"), Some("/api"));
//!
//! assert!(matches!(
//!     PrefixTable::new(["/api", "/api/v1"]),
//!     Err(MountError::OverlappingPrefixes { .. })
//! ));
//! # Ok::<(), MountError>(())
//! ```

mod assets;
pub mod compress;
mod error;
mod prefix;
mod router;
mod shell;

pub use assets::{AssetBytes, Assets};
pub use error::{InvalidReason, MountError};
pub use prefix::{
    ACCOUNTS_OWNER, ACCOUNTS_PREFIX, APP_OWNER, DUET_PATH, EVENT_PATH, HEALTH_PATH, InvalidPath, PrefixTable,
    RESERVED_PATHS, Target,
};
pub use router::Mount;
pub use shell::SpaShell;
