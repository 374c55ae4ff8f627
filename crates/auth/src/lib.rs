//! duet-auth is the one place that turns a request into a user, for every surface.
//!
//! - **Sessions** ([`SessionConfig`], [`SessionBackend`]): actix-session with an encrypted,
//!   signed cookie store by default or Redis ([`RedisSessionStore`]: bounded waits, a
//!   session it cannot read is [`Identity::Unavailable`], a write it cannot make a 503 through
//!   [`session_faults`]); cookies HttpOnly, SameSite=Lax, `Secure` in production.
//! - **Hosts** ([`AllowedHosts`]): requests for any other host are refused (400) before
//!   anything reads the host.
//! - **The client** ([`Client::of`]): its address, scheme and host, from the connection or,
//!   only when the peer is one of the [`TrustedProxies`], from the proxy's `Forwarded` /
//!   `X-Forwarded-*` headers; every consumer reads them there.
//! - **Identity** ([`authenticate`] middleware, [`Identity`], [`CurrentUser`],
//!   [`StaffUser`]): an `Authorization: Token <key>` / `Bearer <key>` header or the session's
//!   login; the user row is loaded once per request, only when a handler asks.
//! - **CSRF** ([`csrf`]): DRF's rule — unsafe methods on session-authenticated requests and
//!   the login view need the session's token in `X-CSRFToken` and a same-site `Origin`;
//!   token-authenticated requests and exempt prefixes (webhooks) do not.
//! - **Accounts** ([`accounts`]): `POST /accounts/login/` (records a login row, rotates the
//!   session id and the CSRF token; its password check bounded by [`PasswordChecks`]),
//!   `POST /accounts/logout/` (ends the login row: a replayed cookie is anonymous, whatever
//!   the store), `GET /accounts/me/`.
//! - **Tokens** ([`tokens`]): `GET`/`POST /accounts/tokens/`, `DELETE /accounts/tokens/{id}/`
//!   — a user's named API tokens (scope `read` or `read_write`, optional expiry, last use),
//!   managed from a session only.
//! - **Throttling** ([`Limiter`], [`Throttle`], [`Throttles`]): DRF-style rates
//!   (`N/minute`) counted per scope and key in memory or in Redis; 429 with `Retry-After`
//!   past them. Logins are throttled per address and per username.
//! - **Self-service accounts** ([`flows`], configured by [`Accounts`]): sign-up, address
//!   confirmation, password reset and change, email change, log out everywhere; mailed
//!   single-use tokens ([`AccountEmails`] holds the emails' words), passwords checked by
//!   [`PasswordRules`] (Django's validators).
//! - **Permissions** ([`Permission`]): `AllowAny`, `IsAuthenticated`, `IsStaff`,
//!   `IsAuthenticatedOrReadOnly`, `IsOwner`, composable with `and`/`or`/`not`.
//! - **Redis connections** ([`redis_conn`]): one per worker thread, without Nagle's
//!   algorithm, for the session store and the throttle here and for duet-state's Redis
//!   state manager above.
//!
//! ```
//! use actix_web::{App, HttpResponse, middleware::from_fn, web};
//! use duet_auth::{AuthConfig, CurrentUser, SessionBackend, SessionConfig, authenticate};
//!
//! async fn hello(user: CurrentUser) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello {}", user.username))
//! }
//!
//! # #[actix_web::main] async fn main() -> duet_models::Result<()> {
//! let db = duet_models::Db::connect_url("sqlite://:memory:").await?;
//! let sessions = SessionConfig::new(&[7u8; 64]);
//! let app = App::new()
//!     .app_data(web::Data::new(db))
//!     .app_data(web::Data::new(AuthConfig::default()))
//!     .route("/hello", web::get().to(hello))
//!     .wrap(from_fn(authenticate))                      // inner: runs after the session
//!     .wrap(sessions.middleware(SessionBackend::cookie())); // outer: runs first
//! let app = actix_web::test::init_service(app).await;
//! let response = actix_web::test::call_service(&app, actix_web::test::TestRequest::get().uri("/hello").to_request()).await;
//! assert_eq!(response.status(), 401);
//! # Ok(()) }
//! ```

pub mod accounts;
mod client;
pub mod csrf;
mod emails;
mod error;
pub mod flows;
mod hosts;
mod identity;
mod password_rules;
mod passwords;
mod permissions;
pub mod redis_conn;
mod session;
mod throttle;
pub mod tokens;

pub use accounts::LogoutListener;
pub use client::{Client, Scheme, TrustedProxies};
pub use emails::{AccountEmails, Template};
pub use error::{AuthError, CsrfFailure};
pub use flows::{AccountPages, Accounts, Signup, Verification};
pub use hosts::AllowedHosts;
pub use identity::{AuthConfig, CurrentUser, Identity, StaffUser, authenticate, current_user, is_safe, session_tag};
pub use password_rules::PasswordRules;
pub use passwords::PasswordChecks;
pub use permissions::{
    Access, AllowAny, And, IsAuthenticated, IsAuthenticatedOrReadOnly, IsOwner, IsStaff, Not, Or, Permission, check,
    check_object,
};
pub use session::{
    RedisSessionConfig, RedisSessionStore, SESSION_COOKIE, SessionBackend, SessionConfig, session_faults,
};
pub use throttle::{Limiter, Throttle, ThrottleRate, Throttles};
