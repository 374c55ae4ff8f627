//! CSRF protection by DRF's rule: unsafe methods on session-authenticated requests (and the
//! login view) must carry the session's token in `X-CSRFToken` and must not come from
//! another site's `Origin`.

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

/// The session's CSRF token, created on first use. A session that could not be read (its
/// store is away) gets a token that is not kept: the page still renders, and its unsafe
/// requests fail the check until the store is back.
pub fn token(session: &Session) -> Result<String, AuthError> {
    if crate::session::is_unavailable(session) {
        return random_token();
    }
    match session.get::<String>(SESSION_KEY) {
        Ok(Some(token)) => Ok(token),
        _ => rotate(session),
    }
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
    let expected = session
        .get::<String>(SESSION_KEY)
        .ok()
        .flatten()
        .ok_or(CsrfFailure::CookieNotSet)?;
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
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
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
