//! Who is asking: resolved once per request by [`authenticate`], read by the extractors.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use duet_models::{ApiToken, Db, Login, TokenCheck, TokenScope, User};
use futures_util::future::LocalBoxFuture;

use crate::session::is_unavailable;
use crate::{AllowedHosts, AuthError, Client, PasswordChecks, Throttles, TrustedProxies, csrf};

pub(crate) const USER_ID_KEY: &str = "_auth_user_id";
pub(crate) const SESSION_AUTH_ID_KEY: &str = "_auth_sid";

/// How the request authenticated, before the user row is loaded.
#[derive(Debug, Clone)]
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// A session that says it is logged in: the user's id and the id of this login. The
    /// login is checked when the user is loaded ([`current_user`]): one that has ended
    /// (logout, on any instance) is anonymous.
    Session {
        /// The user's id.
        user_id: i64,
        /// A random id given to this login (a row of `user_logins`); live sockets of the
        /// session are keyed by it.
        session_auth_id: String,
    },
    /// The session could not be read (its store did not answer in time): who is asking is
    /// unknown. [`current_user`] fails with [`AuthError::Unavailable`] (503).
    Unavailable,
    /// A valid `Authorization: Token|Bearer …` header, already resolved to its active user
    /// (a `read` token only on safe methods: the middleware refuses it on the others).
    Token(Box<User>),
}

impl Identity {
    /// The identity [`authenticate`] resolved for `req`.
    pub fn of(req: &HttpRequest) -> Identity {
        req.extensions()
            .get::<Identity>()
            .cloned()
            .unwrap_or(Identity::Anonymous)
    }

    /// The identity a session holds (no database access).
    pub fn from_session(session: &Session) -> Identity {
        if is_unavailable(session) {
            return Identity::Unavailable;
        }
        match (
            session.get::<i64>(USER_ID_KEY),
            session.get::<String>(SESSION_AUTH_ID_KEY),
        ) {
            (Ok(Some(user_id)), Ok(Some(session_auth_id))) => Identity::Session {
                user_id,
                session_auth_id,
            },
            _ => Identity::Anonymous,
        }
    }

    /// True for session logins: the requests CSRF protects.
    pub fn is_session(&self) -> bool {
        matches!(self, Identity::Session { .. })
    }
}

/// A tag of an anonymous visitor, for binding what they create (their tabs) to them: a
/// SHA-256 of their CSRF token (the session's, else the `csrftoken` cookie's), so it changes
/// when the token does (login, logout) and reveals nothing. `None` when there is no token
/// yet (a client that never loaded a page).
pub fn session_tag(req: &HttpRequest) -> Option<String> {
    use sha2::Digest;
    let secret = csrf::expected(req, &req.get_session())?;
    let digest = sha2::Sha256::digest(format!("duet session tag:{secret}").as_bytes());
    Some(hex::encode(&digest[..16]))
}

/// Settings of the [`authenticate`] middleware and the account views, as
/// `web::Data<AuthConfig>`.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Path prefixes whose requests are never CSRF-checked (webhooks: signed, no session).
    pub csrf_exempt_prefixes: Vec<String>,
    /// Origins besides this site's own that may send unsafe session requests.
    pub trusted_origins: Vec<String>,
    /// Whether cookies set by the auth views are `Secure`.
    pub secure_cookies: bool,
    /// The host names the app answers to; any other host is a 400.
    pub allowed_hosts: AllowedHosts,
    /// The proxies whose forwarding headers [`Client::of`](crate::Client::of) believes.
    pub trusted_proxies: TrustedProxies,
    /// The API's and the logins' rates, and where they are counted.
    pub throttles: Throttles,
    /// The bound on password checks running at once (logins).
    pub password_checks: PasswordChecks,
    /// How long a login lasts at most (the session's TTL): older logins of a user are
    /// forgotten when the user logs in again.
    pub login_max_age: std::time::Duration,
}

impl Default for AuthConfig {
    /// No exempt prefixes, trusted origins or proxies, cookies not `Secure`, loopback hosts only,
    /// [`PasswordChecks::default`], [`Throttles::default`] (logins 10 per minute, in memory),
    /// logins of two weeks (the session's default TTL).
    fn default() -> AuthConfig {
        AuthConfig {
            csrf_exempt_prefixes: Vec::new(),
            trusted_origins: Vec::new(),
            secure_cookies: false,
            allowed_hosts: AllowedHosts::default(),
            trusted_proxies: TrustedProxies::default(),
            throttles: Throttles::default(),
            password_checks: PasswordChecks::default(),
            login_max_age: std::time::Duration::from_secs(14 * 24 * 60 * 60),
        }
    }
}

impl AuthConfig {
    fn is_exempt(&self, path: &str) -> bool {
        self.csrf_exempt_prefixes
            .iter()
            .any(|p| path == p || path.starts_with(&format!("{p}/")))
    }
}

/// Middleware (`actix_web::middleware::from_fn(authenticate)`), inside the session
/// middleware: refuses hosts that are not allowed, resolves the [`Identity`] (checking API
/// tokens against the database: an unknown or revoked token is 401 "Invalid token.", an
/// expired one 401 "Token has expired.", a `read` token on an unsafe method 403), then enforces CSRF on unsafe session-authenticated
/// requests outside exempt prefixes: the `X-CSRFToken` header, or for a plain HTML form
/// (`application/x-www-form-urlencoded`) its `csrfmiddlewaretoken` field, as Django's
/// middleware reads it.
pub async fn authenticate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match resolve(&mut req).await {
        Ok(()) => next.call(req).await.map(ServiceResponse::map_into_left_body),
        // A refusal is the request's response (outer middleware, such as the request log,
        // still sees the request and the identity).
        Err(error) => Ok(req.error_response(error).map_into_right_body()),
    }
}

/// Checks the host, resolves the [`Identity`] into the request's extensions, and checks
/// CSRF.
async fn resolve(req: &mut ServiceRequest) -> Result<(), actix_web::Error> {
    let config = req
        .app_data::<web::Data<AuthConfig>>()
        .cloned()
        .unwrap_or_else(|| web::Data::new(AuthConfig::default()));
    let host = Client::of(req.request()).host;
    if !config.allowed_hosts.allows(&host) {
        tracing::warn!(host, path = req.path(), "request refused: host not allowed");
        return Err(AuthError::DisallowedHost(host).into());
    }
    let identity = match bearer_token(req.request())? {
        Some(key) => {
            let db = req.app_data::<web::Data<Db>>().ok_or(AuthError::Internal)?;
            match ApiToken::authenticate(db, key, duet_models::now())
                .await
                .map_err(AuthError::from)?
            {
                TokenCheck::Valid { user, scope } => {
                    if scope == TokenScope::Read && !is_safe(req.method()) {
                        tracing::warn!(user_id = user.id, method = %req.method(), path = req.path(), "read-only token refused");
                        let method = req.method().clone();
                        req.extensions_mut().insert(Identity::Token(Box::new(user)));
                        return Err(AuthError::ReadOnlyToken(method).into());
                    }
                    Identity::Token(Box::new(user))
                }
                TokenCheck::Expired => {
                    tracing::info!(path = req.path(), "expired API token refused");
                    return Err(AuthError::TokenExpired.into());
                }
                TokenCheck::Invalid => return Err(AuthError::InvalidToken.into()),
            }
        }
        None => Identity::from_session(&req.get_session()),
    };
    let check_csrf = identity.is_session() && !is_safe(req.method()) && !config.is_exempt(req.path());
    req.extensions_mut().insert(identity);
    if check_csrf {
        let session = req.get_session();
        let form_token = form_token(req).await?;
        csrf::verify(req.request(), &session, form_token.as_deref(), &config.trusted_origins).map_err(|failure| {
            tracing::warn!(path = req.path(), %failure, "CSRF check failed");
            AuthError::Csrf(failure)
        })?;
    }
    Ok(())
}

/// The CSRF token of a plain HTML form (`csrfmiddlewaretoken`), for an unsafe request that
/// carries no `X-CSRFToken` header: the form body is read (within the app's payload limit)
/// and put back for the handler. `None` for other requests.
async fn form_token(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    let is_form = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/x-www-form-urlencoded"));
    if !is_form || req.headers().contains_key(csrf::CSRF_HEADER) {
        return Ok(None);
    }
    let body = req.extract::<web::Bytes>().await?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == csrf::CSRF_FORM_FIELD)
        .map(|(_, value)| value.into_owned());
    req.set_payload(Payload::from(body));
    Ok(token)
}

/// The key of an `Authorization: Token <key>` or `Bearer <key>` header, if there is one.
fn bearer_token(req: &HttpRequest) -> Result<Option<&str>, AuthError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::InvalidToken)?;
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    if !(scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")) {
        // Another scheme (Basic, …) is not ours to judge.
        return Ok(None);
    }
    match parts.next().map(str::trim) {
        Some(key) if !key.is_empty() && !key.contains(' ') => Ok(Some(key)),
        _ => Err(AuthError::InvalidToken),
    }
}

/// GET, HEAD, OPTIONS and TRACE change nothing.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

#[derive(Clone)]
struct ResolvedUser(Option<Rc<User>>);

/// The request's active user, or `None`; loaded once per request and cached. A session's
/// user counts only while its login has not ended ([`Login::user`]); a session that could
/// not be read is [`AuthError::Unavailable`].
pub async fn current_user(req: &HttpRequest) -> Result<Option<Rc<User>>, AuthError> {
    if let Some(ResolvedUser(user)) = req.extensions().get::<ResolvedUser>() {
        return Ok(user.clone());
    }
    let user = match Identity::of(req) {
        Identity::Anonymous => None,
        Identity::Unavailable => return Err(AuthError::Unavailable),
        Identity::Token(user) => Some(Rc::new(*user)),
        Identity::Session {
            user_id,
            session_auth_id,
        } => {
            let db = req.app_data::<web::Data<Db>>().ok_or(AuthError::Internal)?;
            Login::user(db, user_id, &session_auth_id).await?.map(Rc::new)
        }
    };
    req.extensions_mut().insert(ResolvedUser(user.clone()));
    Ok(user)
}

/// The logged-in, active user (session or API token); 401 JSON otherwise.
///
/// `Option<CurrentUser>` accepts anonymous requests.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Rc<User>);

impl std::ops::Deref for CurrentUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

impl FromRequest for CurrentUser {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<CurrentUser, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            current_user(&req)
                .await?
                .map(CurrentUser)
                .ok_or(AuthError::NotAuthenticated)
        })
    }
}

/// A logged-in staff user; 401 when anonymous, 403 when not staff.
#[derive(Debug, Clone)]
pub struct StaffUser(pub Rc<User>);

impl std::ops::Deref for StaffUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

impl FromRequest for StaffUser {
    type Error = AuthError;
    type Future = LocalBoxFuture<'static, Result<StaffUser, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match current_user(&req).await? {
                Some(user) if user.is_staff => Ok(StaffUser(user)),
                Some(_) => Err(AuthError::PermissionDenied),
                None => Err(AuthError::NotAuthenticated),
            }
        })
    }
}

impl FromRequest for Identity {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Identity, std::convert::Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Identity::of(req)))
    }
}
