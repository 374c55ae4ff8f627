//! CSRF protection by DRF's rule: unsafe methods on session-authenticated requests (and the
//! login view) must carry the token in `X-CSRFToken` and must not come from another site's
//! `Origin`. A login's token is kept in its session (replaced at login); an anonymous
//! visitor's lives only in its `csrftoken` cookie (double submit), so that no session is
//! stored for visitors who never log in.

use actix_session::Session;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::{AuthError, CsrfFailure};

/// The cookie carrying the token to JavaScript (readable: not HttpOnly).
pub const CSRF_COOKIE: &str = "csrftoken";
/// The header a client echoes the token in.
pub const CSRF_HEADER: &str = "X-CSRFToken";
/// The form field a plain HTML form echoes the token in.
pub const CSRF_FORM_FIELD: &str = "csrfmiddlewaretoken";
pub(crate) const SESSION_KEY: &str = "_csrf";
/// The length of a token: 32 random bytes in unpadded URL-safe base64.
const TOKEN_LEN: usize = 43;

/// The CSRF token to give a page: the session's (a login's, set by [`rotate`]), else the
/// request's own `csrftoken` cookie when it holds a token, else a new one. Nothing is
/// written to the session: an anonymous visitor's token lives in its cookie alone (checked
/// by double submit, as Django's default), so anonymous requests store no session.
pub fn token(req: &HttpRequest, session: &Session) -> Result<String, AuthError> {
    match expected(req, session) {
        Some(token) => Ok(token),
        None => random_token(),
    }
}

/// A new token for a fresh start (at logout): the old one is not reused.
pub fn fresh() -> Result<String, AuthError> {
    random_token()
}

/// The token unsafe requests must echo: the session's when it has one (a login), else the
/// `csrftoken` cookie's (an anonymous visitor). A session that could not be read has none.
pub(crate) fn expected(req: &HttpRequest, session: &Session) -> Option<String> {
    if crate::session::is_unavailable(session) {
        return cookie_token(req);
    }
    match session.get::<String>(SESSION_KEY) {
        Ok(Some(token)) => Some(token),
        _ => cookie_token(req),
    }
}

/// The request's `csrftoken` cookie, when it holds a token as [`random_token`] makes them.
fn cookie_token(req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(CSRF_COOKIE)?;
    let value = cookie.value();
    let well_formed = value.len() == TOKEN_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| value.to_owned())
}

/// Replaces the session's CSRF token (at login) and returns the new one.
pub fn rotate(session: &Session) -> Result<String, AuthError> {
    let token = random_token()?;
    session.insert(SESSION_KEY, &token).map_err(|_| AuthError::Internal)?;
    Ok(token)
}

/// The `csrftoken` cookie for `token`: readable by scripts, SameSite=Lax, a year long.
pub fn cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(CSRF_COOKIE, token.to_owned())
        .path("/")
        .http_only(false)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// Checks an unsafe request: its `Origin` (or `Referer`) must be this site or a trusted
/// origin, and its token (header, or `form_token`) must equal the session's.
pub fn verify(
    req: &HttpRequest,
    session: &Session,
    form_token: Option<&str>,
    trusted_origins: &[String],
) -> Result<(), CsrfFailure> {
    check_origin(req, trusted_origins)?;
    let expected = expected(req, session).ok_or(CsrfFailure::CookieNotSet)?;
    let given = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(form_token)
        .filter(|t| !t.is_empty())
        .ok_or(CsrfFailure::TokenMissing)?;
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(CsrfFailure::TokenIncorrect)
    }
}

fn check_origin(req: &HttpRequest, trusted_origins: &[String]) -> Result<(), CsrfFailure> {
    let values = |name| {
        req.headers()
            .get_all(name)
            .map(|v| v.to_str().unwrap_or("?"))
            .collect::<Vec<_>>()
    };
    let origins = values("origin");
    // Browsers send one Origin; every value present must pass, so a second header cannot
    // smuggle a foreign origin past the first.
    let claimed: Vec<String> = if origins.is_empty() {
        match values("referer").first() {
            Some(referer) => match url::Url::parse(referer) {
                Ok(url) => vec![url.origin().ascii_serialization()],
                Err(_) => return Err(CsrfFailure::OriginMismatch((*referer).to_owned())),
            },
            // Non-browser clients send neither; the token check still applies.
            None => return Ok(()),
        }
    } else {
        origins.into_iter().map(str::to_owned).collect()
    };
    let own = crate::Client::of(req).origin();
    for origin in claimed {
        let trusted =
            origin.eq_ignore_ascii_case(&own) || trusted_origins.iter().any(|t| t.eq_ignore_ascii_case(&origin));
        if !trusted {
            return Err(CsrfFailure::OriginMismatch(origin));
        }
    }
    Ok(())
}

fn random_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| AuthError::Internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
