use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use duet_auth::Access;
use duet_models::{Db, User};
use futures_util::future::LocalBoxFuture;

use crate::{ApiError, ApiResult};

/// An API request with its user (resolved once) and the database.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    http: HttpRequest,
    user: Option<Rc<User>>,
    db: Db,
}

impl ApiRequest {
    /// The underlying actix request.
    pub fn http(&self) -> &HttpRequest {
        &self.http
    }

    /// The active user, if the request is authenticated.
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }

    /// The active user, or 401.
    pub fn require_user(&self) -> ApiResult<&User> {
        self.user()
            .ok_or(ApiError::Auth(duet_auth::AuthError::NotAuthenticated))
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What permissions decide on.
    pub fn access(&self) -> Access<'_> {
        Access {
            user: self.user(),
            method: self.http.method(),
        }
    }
}

impl FromRequest for ApiRequest {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, ApiResult<ApiRequest>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let http = req.clone();
        Box::pin(async move {
            let db = http
                .app_data::<web::Data<Db>>()
                .map(|d| d.get_ref().clone())
                .ok_or_else(|| {
                    tracing::error!("no Db in app data: register web::Data<Db>");
                    ApiError::Internal
                })?;
            let user = duet_auth::current_user(&http).await?;
            Ok(ApiRequest { http, user, db })
        })
    }
}
