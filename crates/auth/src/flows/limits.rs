//! How often each flow may be used, counted by the app's [`Limiter`](crate::Limiter) (memory,
//! or Redis shared by instances): per client address for the anonymous flows, per account
//! for the logged-in ones. Each scope is named here once.

use actix_web::HttpRequest;

use crate::throttle::address_of;
use crate::{AuthError, Throttle, ThrottleRate, Throttles};

/// `POST /accounts/signup/`, per client address.
pub const SIGNUP: Throttle = Throttle::new("accounts_signup", ThrottleRate::per_hour(20));
/// `POST /accounts/verify/`, per client address.
pub const VERIFY: Throttle = Throttle::new("accounts_verify", ThrottleRate::per_hour(60));
/// `POST /accounts/password/reset/`, per client address.
pub const RESET: Throttle = Throttle::new("accounts_password_reset", ThrottleRate::per_hour(20));
/// `POST /accounts/password/reset/`, per address asked for (known or not: the same count, so
/// the answer reveals nothing).
pub const RESET_EMAIL: Throttle = Throttle::new("accounts_password_reset_email", ThrottleRate::per_hour(5));
/// `POST /accounts/password/reset/confirm/`, per client address.
pub const RESET_CONFIRM: Throttle = Throttle::new("accounts_password_reset_confirm", ThrottleRate::per_hour(30));
/// `POST /accounts/password/change/`, per account (it checks the current password).
pub const PASSWORD_CHANGE: Throttle = Throttle::new("accounts_password_change", ThrottleRate::per_hour(10));
/// `POST /accounts/email/change/`, per account.
pub const EMAIL_CHANGE: Throttle = Throttle::new("accounts_email_change", ThrottleRate::per_hour(10));
/// `POST /accounts/logout-everywhere/`, per account.
pub const LOGOUT_EVERYWHERE: Throttle = Throttle::new("accounts_logout_everywhere", ThrottleRate::per_hour(10));

/// Counts `req` against `throttle` per client address: 429 with `Retry-After` past it.
pub(super) async fn per_address(req: &HttpRequest, throttle: &Throttle) -> Result<(), AuthError> {
    Throttles::of(req).limiter.check(throttle, &address_of(req)).await
}

/// Counts `req` against `throttle` for `key` (an account id, an email address).
pub(super) async fn per_key(req: &HttpRequest, throttle: &Throttle, key: &str) -> Result<(), AuthError> {
    Throttles::of(req).limiter.check(throttle, key).await
}
