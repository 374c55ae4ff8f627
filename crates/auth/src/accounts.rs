//! The account views: log in, log out, who am I. Mounted under `/accounts/` by duet-mount.

use actix_session::Session;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use duet_models::{Db, Login, Model, User};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Identity;
use crate::identity::{SESSION_AUTH_ID_KEY, USER_ID_KEY, current_user};
use crate::{AuthConfig, AuthError, csrf};

/// `POST` to log in, `GET` for a CSRF token.
pub const LOGIN_PATH: &str = "/accounts/login/";
/// `POST` to log out.
pub const LOGOUT_PATH: &str = "/accounts/logout/";
/// `GET` the current user.
pub const ME_PATH: &str = "/accounts/me/";

/// A login: JSON, or a form carrying the CSRF token as `csrfmiddlewaretoken`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LoginInput)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    #[schema(format = Password)]
    password: String,
    /// The CSRF token, when it is not sent as the `X-CSRFToken` header (forms).
    #[serde(default, rename = "csrfmiddlewaretoken")]
    csrf_token: Option<String>,
}

/// The logged-in user, `{"user": …}`, as `GET /accounts/me/` and a login return it.
#[derive(Serialize, utoipa::ToSchema)]
struct LoggedIn {
    #[schema(schema_with = user_schema)]
    user: serde_json::Map<String, serde_json::Value>,
}

/// The user model's schema, `#/components/schemas/User` (the document adds it).
fn user_schema() -> utoipa::openapi::Ref {
    utoipa::openapi::Ref::from_schema_name("User")
}

/// What `GET /accounts/login/` returns.
#[derive(Serialize, utoipa::ToSchema)]
struct CsrfToken {
    /// The session's CSRF token, to send as `X-CSRFToken` (also in the `csrftoken` cookie).
    csrftoken: String,
    /// What to do with it.
    detail: &'static str,
}

/// `{"detail": …}`, the document's `Detail`.
#[derive(Serialize)]
struct Detail {
    detail: &'static str,
}

fn config(req: &HttpRequest) -> AuthConfig {
    req.app_data::<web::Data<AuthConfig>>()
        .map(|c| c.get_ref().clone())
        .unwrap_or_default()
}

/// `GET /accounts/login/`: sets the `csrftoken` cookie and returns the token, so a client
/// can then `POST` its credentials.
#[utoipa::path(
    get,
    path = "/login/",
    operation_id = "accounts_login_form",
    tag = "accounts",
    security(()),
    responses((status = 200, description = "The CSRF token to log in with.", body = CsrfToken)),
)]
pub async fn login_form(req: HttpRequest, session: Session) -> Result<HttpResponse, AuthError> {
    let token = csrf::token(&req, &session)?;
    Ok(HttpResponse::Ok()
        .cookie(csrf::cookie(&token, config(&req).secure_cookies))
        .json(CsrfToken {
            csrftoken: token,
            detail: "POST username and password to log in.",
        }))
}

/// `POST /accounts/login/` with JSON `{"username","password"}` or a form.
///
/// CSRF-checked even though nobody is logged in yet (login CSRF). On success a login is
/// recorded ([`Login::start`]), the session id and the CSRF token are both replaced (no
/// session fixation), and the user is returned. Wrong credentials and inactive users get
/// the same 400 after the same work. Past the login rate (`DUET_THROTTLE_LOGIN`, per address
/// and per username, whether or not it exists): 429 with `Retry-After`. The password check
/// waits its turn ([`PasswordChecks`](crate::PasswordChecks)): 503 when too many are queued.
#[utoipa::path(
    post,
    path = "/login/",
    operation_id = "accounts_login",
    tag = "accounts",
    security(("csrf" = [])),
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Logged in: the session cookie is set, the CSRF token rotated.", body = LoggedIn),
        (status = 400, description = "Missing or wrong credentials, or a malformed body.", body = ref("#/components/schemas/Invalid")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 415, description = "Neither JSON nor a form.", body = ref("#/components/schemas/Error")),
        (status = 429, description = "Too many login attempts from this address or for this username.", body = ref("#/components/schemas/Error")),
        (status = 503, description = "Too many logins at once, or the session store is down.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn login(
    req: HttpRequest,
    session: Session,
    db: web::Data<Db>,
    body: web::Bytes,
) -> Result<HttpResponse, AuthError> {
    if crate::session::is_unavailable(&session) {
        return Err(AuthError::Unavailable);
    }
    let credentials: Credentials = parse_body(&req, &body)?;
    let config = config(&req);
    csrf::verify(
        &req,
        &session,
        credentials.csrf_token.as_deref(),
        &config.trusted_origins,
    )
    .map_err(|failure| {
        tracing::warn!(%failure, "login refused: CSRF");
        AuthError::Csrf(failure)
    })?;
    let mut missing = serde_json::Map::new();
    for (field, value) in [("username", &credentials.username), ("password", &credentials.password)] {
        if value.is_empty() {
            missing.insert(field.into(), json!(["This field is required."]));
        }
    }
    if !missing.is_empty() {
        return Ok(HttpResponse::BadRequest().json(missing));
    }
    let (user, token) = log_in(&req, &session, &db, &credentials.username, &credentials.password).await?;
    Ok(HttpResponse::Ok()
        .cookie(csrf::cookie(&token, config.secure_cookies))
        .json(LoggedIn { user: user.to_json() }))
}

/// Logs `username` in on `session` once the caller has checked the request's CSRF token
/// ([`csrf::verify`]): the password check waits its turn ([`PasswordChecks`](crate::PasswordChecks),
/// [`AuthError::Unavailable`] when too many are queued), a login row is recorded, and the
/// session id and the CSRF token are replaced. Returns the user and the new CSRF token, for
/// the `csrftoken` cookie ([`csrf::cookie`]). Wrong credentials and inactive users are
/// [`AuthError::InvalidCredentials`] after the same work. Attempts past the login rate
/// ([`Throttles::login`](crate::Throttles::login), per address and per username) are
/// [`AuthError::Throttled`] before any user is looked up.
///
/// The JSON view (`POST /accounts/login/`) and the admin's login form both end here.
pub async fn log_in(
    req: &HttpRequest,
    session: &Session,
    db: &Db,
    username: &str,
    password: &str,
) -> Result<(User, String), AuthError> {
    let config = config(req);
    config.throttles.check_login(req, username).await?;
    let checked = config
        .password_checks
        .run(User::authenticate(db, username, password))
        .await
        .inspect_err(|_| tracing::warn!("login refused: too many password checks at once"))?;
    let Some(user) = checked? else {
        tracing::info!(username = %username, "login failed");
        return Err(AuthError::InvalidCredentials);
    };
    let login_id = Login::start(db, user.id, config.login_max_age).await?;
    let token = start_session(session, user.id, &login_id)?;
    tracing::info!(user_id = user.id, "logged in");
    Ok((user, token))
}

/// Puts login `login_id` of `user_id` in `session`, replacing the session id and the CSRF
/// token (no session fixation); returns the new CSRF token.
pub(crate) fn start_session(session: &Session, user_id: i64, login_id: &str) -> Result<String, AuthError> {
    session.renew();
    session.insert(USER_ID_KEY, user_id).map_err(|_| AuthError::Internal)?;
    session
        .insert(SESSION_AUTH_ID_KEY, login_id)
        .map_err(|_| AuthError::Internal)?;
    csrf::rotate(session)
}

/// Told when a login ends, to end what hangs off it (the event-state layer closes that
/// login's live sockets). Register as `web::Data::from(Arc<dyn LogoutListener>)`.
pub trait LogoutListener: Send + Sync + 'static {
    /// The login `session_auth_id` has just logged out.
    fn logged_out(&self, session_auth_id: &str);

    /// Every login of `user_id` but `kept` (the session that asked, if any) has just ended:
    /// a password change, "log out everywhere".
    fn logged_out_elsewhere(&self, user_id: i64, kept: Option<&str>);
}

/// `POST /accounts/logout/`: ends the login ([`Login::end`]: a copy of the session cookie no
/// longer logs anyone in, whatever the session store), purges the session (CSRF-checked
/// like any unsafe request) and tells the [`LogoutListener`], if one is registered.
#[utoipa::path(
    post,
    path = "/logout/",
    operation_id = "accounts_logout",
    tag = "accounts",
    security(("session" = [], "csrf" = []), ()),
    responses(
        (status = 200, description = "Logged out (or was not logged in).", body = ref("#/components/schemas/Detail")),
        (status = 403, description = "The CSRF check failed.", body = ref("#/components/schemas/Error")),
        (status = 503, description = "Too many logins at once, or the session store is down.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn logout(req: HttpRequest, session: Session, db: web::Data<Db>) -> Result<HttpResponse, AuthError> {
    match Identity::from_session(&session) {
        Identity::Unavailable => return Err(AuthError::Unavailable),
        Identity::Session { session_auth_id, .. } => {
            Login::end(&db, &session_auth_id).await?;
            if let Some(listener) = req.app_data::<web::Data<dyn LogoutListener>>() {
                listener.logged_out(&session_auth_id);
            }
        }
        Identity::Anonymous | Identity::Token(_) => {}
    }
    session.purge();
    let token = csrf::fresh()?;
    Ok(HttpResponse::Ok()
        .cookie(csrf::cookie(&token, config(&req).secure_cookies))
        .json(Detail { detail: "Logged out." }))
}

/// `GET /accounts/me/`: the current user, or 401; sets the `csrftoken` cookie either way.
#[utoipa::path(
    get,
    path = "/me/",
    operation_id = "accounts_me",
    tag = "accounts",
    responses(
        (status = 200, description = "The current user.", body = LoggedIn),
        (status = 401, description = "Not logged in.", body = ref("#/components/schemas/Error")),
    ),
)]
pub async fn me(req: HttpRequest, session: Session) -> Result<HttpResponse, AuthError> {
    let token = csrf::token(&req, &session)?;
    let cookie = csrf::cookie(&token, config(&req).secure_cookies);
    Ok(match current_user(&req).await? {
        Some(user) => HttpResponse::Ok()
            .cookie(cookie)
            .json(LoggedIn { user: user.to_json() }),
        None => {
            let mut response = actix_web::ResponseError::error_response(&AuthError::NotAuthenticated);
            response.add_cookie(&cookie).map_err(|_| AuthError::Internal)?;
            response
        }
    })
}

/// A JSON or form body (by its `Content-Type`) as `T`.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, AuthError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => {
            serde_json::from_slice(body).map_err(|e| AuthError::BadRequest(format!("JSON parse error - {e}")))
        }
        "application/x-www-form-urlencoded" => {
            serde_urlencoded::from_bytes(body).map_err(|e| AuthError::BadRequest(format!("form parse error - {e}")))
        }
        _ => Err(AuthError::UnsupportedMediaType(content_type.to_owned())),
    }
}
