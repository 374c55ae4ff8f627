//! `Cx`: one admin request — who asks (checked: staff, permissions), which model, the form.

use std::rc::Rc;
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use duet_models::{Choices, Db, PermissionAction, Permissions, User};
use maud::Markup;

use crate::AdminError;
use crate::registry::Entry;
use crate::site::Site;

/// One request to the admin.
pub(crate) struct Cx {
    pub(crate) site: Arc<Site>,
    pub(crate) req: HttpRequest,
    body: web::Bytes,
}

/// A staff member, with what they may do.
pub(crate) struct Staff {
    pub(crate) user: Rc<User>,
    pub(crate) permissions: Permissions,
    /// The session's CSRF token, for the page's forms.
    pub(crate) csrf: String,
}

impl Staff {
    pub(crate) fn may(&self, entry: &Entry, action: PermissionAction) -> bool {
        self.permissions.allows(&entry.key, action)
    }
}

const FLASH_KEY: &str = "_admin_flash";

impl Cx {
    pub(crate) fn new(site: Arc<Site>, req: HttpRequest, body: web::Bytes) -> Cx {
        Cx { site, req, body }
    }

    pub(crate) fn db(&self) -> Result<Db, AdminError> {
        self.req
            .app_data::<web::Data<Db>>()
            .map(|db| db.get_ref().clone())
            .ok_or_else(|| AdminError::Models(duet_models::Error::Config("no database configured".into())))
    }

    /// The logged-in staff member: anonymous visitors go to the login page and come back;
    /// other users get a 403 page. Their permissions are loaded for this request.
    pub(crate) async fn staff(&self) -> Result<Staff, AdminError> {
        let next = match self.req.query_string() {
            "" => self.req.path().to_owned(),
            query => format!("{}?{query}", self.req.path()),
        };
        let user = duet_auth::current_user(&self.req)
            .await?
            .ok_or(AdminError::LoginRequired { next })?;
        if !user.is_staff {
            tracing::warn!(user_id = user.id, path = self.req.path(), "admin refused: not staff");
            return Err(AdminError::Forbidden(format!(
                "{} is not a staff account: the admin is for staff only.",
                user.username
            )));
        }
        let permissions = Permissions::of(&self.db()?, &user).await?;
        let csrf = duet_auth::csrf::token(&self.req, &self.req.get_session())?;
        Ok(Staff {
            user,
            permissions,
            csrf,
        })
    }

    /// The model this URL names, if `staff` may do `action` with it: unknown models are
    /// 404, a missing permission 403.
    pub(crate) fn entry(&self, staff: &Staff, action: PermissionAction) -> Result<&Entry, AdminError> {
        let (app, model) = (self.param("app"), self.param("model"));
        let entry = self.site.entry(app, model)?;
        if staff.may(entry, action) {
            Ok(entry)
        } else {
            tracing::warn!(user_id = staff.user.id, model = %entry.key, ?action, "admin refused: no permission");
            Err(AdminError::Forbidden(format!(
                "You may not {} {}.",
                action.value(),
                entry.verbose_name_plural
            )))
        }
    }

    pub(crate) fn param(&self, name: &str) -> &str {
        self.req.match_info().get(name).unwrap_or_default()
    }

    /// The row's primary key in the URL; a path that is not a number names no row.
    pub(crate) fn pk(&self) -> Result<i64, AdminError> {
        self.param("pk")
            .parse()
            .map_err(|_| AdminError::NotFound(format!("No row {:?}.", self.param("pk"))))
    }

    /// The query string's pairs, in order.
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.req.query_string().as_bytes())
            .into_owned()
            .collect()
    }

    /// The posted form's pairs, in order (its CSRF token was checked before the handler).
    pub(crate) fn form(&self) -> Result<Vec<(String, String)>, AdminError> {
        let is_form = self
            .req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AdminError::BadRequest(
                "Send the form as application/x-www-form-urlencoded.".into(),
            ));
        }
        Ok(url::form_urlencoded::parse(&self.body)
            .into_owned()
            .filter(|(key, _)| key != duet_auth::csrf::CSRF_FORM_FIELD)
            .collect())
    }

    /// The request's body as sent.
    pub(crate) fn raw_body(&self) -> &[u8] {
        &self.body
    }

    /// A message for the next page this session shows.
    pub(crate) fn flash(&self, message: &str) {
        if self.req.get_session().insert(FLASH_KEY, message).is_err() {
            tracing::warn!("admin: the session could not keep a message");
        }
    }

    /// The message left for this page, once.
    pub(crate) fn take_flash(&self) -> Option<String> {
        self.req
            .get_session()
            .remove_as::<String>(FLASH_KEY)
            .and_then(Result::ok)
    }
}

/// An HTML page.
pub(crate) fn page(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("Cache-Control", "no-store"))
        .body(markup.into_string())
}

/// 200 with an HTML page.
pub(crate) fn ok(markup: Markup) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, markup)
}

/// After a POST: see `location`.
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}
