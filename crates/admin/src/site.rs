//! `Admin`: the registered models and the routes that serve them under `/admin`.

use std::future::Future;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use duet_models::{Group, GroupMember, Model, PermissionGrant, User};
use duet_views::Routes;

use crate::context::Cx;
use crate::options::ModelAdmin;
use crate::registry::Entry;
use crate::{AdminError, views};

/// The staff admin: the models registered with it, served under `/admin` by the app
/// builder (`App::admin`), with the session, the user and the CSRF rules of every other
/// prefix.
///
/// ```
/// use duet_admin::{Admin, ModelAdmin};
/// use duet_models::User;
///
/// let admin = Admin::new("shop")
///     .accounts()   // users, groups, memberships and permissions, under "auth"
///     .register_with(ModelAdmin::<User>::new().app("people").no_add());
/// assert_eq!(admin.problems(), ["admin people.user: registered twice"]);
/// ```
pub struct Admin {
    app: String,
    entries: Vec<Entry>,
    problems: Vec<String>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("app", &self.app)
            .field("models", &self.entries.iter().map(|e| &e.key).collect::<Vec<_>>())
            .finish()
    }
}

impl Admin {
    /// An admin with no models; models registered without [`ModelAdmin::app`] are listed
    /// under `app` (the app's name).
    pub fn new(app: &str) -> Admin {
        Admin {
            app: app.to_owned(),
            entries: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Registers `M` with every default taken from its description.
    pub fn register<M: Model>(self) -> Admin {
        self.register_with(ModelAdmin::<M>::new())
    }

    /// Registers `M` with `options`.
    pub fn register_with<M: Model>(mut self, options: ModelAdmin<M>) -> Admin {
        let entry = Entry::new(&self.app, options, &mut self.problems);
        if self.entries.iter().any(|e| e.name == entry.name) {
            // URLs and live topics name the model alone: one registration per model.
            self.problems.push(format!("admin {}: registered twice", entry.key));
        } else {
            self.entries.push(entry);
        }
        self
    }

    /// Registers the framework's account tables under "auth": users (added with a password
    /// and its confirmation, each with a page to change the password), groups, group members
    /// and permission grants.
    pub fn accounts(self) -> Admin {
        self.register_with(
            ModelAdmin::<User>::new()
                .app("auth")
                .list_display([
                    User::ID,
                    User::USERNAME,
                    User::EMAIL,
                    User::IS_ACTIVE,
                    User::IS_STAFF,
                    User::IS_SUPERUSER,
                ])
                .search([User::USERNAME, User::EMAIL])
                .filters([User::IS_ACTIVE, User::IS_STAFF, User::IS_SUPERUSER])
                .ordering([User::USERNAME.asc()]),
        )
        .register_with(ModelAdmin::<Group>::new().app("auth").ordering([Group::NAME.asc()]))
        .register_with(
            ModelAdmin::<GroupMember>::new()
                .app("auth")
                .filters([GroupMember::GROUP])
                .search_related(GroupMember::USER, User::USERNAME),
        )
        .register_with(
            ModelAdmin::<PermissionGrant>::new()
                .app("auth")
                .filters([PermissionGrant::ACTION, PermissionGrant::GROUP])
                .search([PermissionGrant::MODEL])
                .names_models(PermissionGrant::MODEL)
                .search_related(PermissionGrant::USER, User::USERNAME),
        )
    }

    /// What cannot work as registered (a search on a number, a filter on text, a model
    /// registered twice…): `App::check` lists these and the app does not start.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The admin's routes, to register under its prefix (`/admin`).
    pub fn into_routes(self) -> impl Fn(&mut Routes) + Send + Sync + 'static {
        let site = Arc::new(Site { entries: self.entries });
        move |routes: &mut Routes| register(&site, routes)
    }
}

/// What the handlers share: the registered models.
pub(crate) struct Site {
    pub(crate) entries: Vec<Entry>,
}

impl Site {
    /// The model at `/admin/{app}/{model}/`; not found otherwise.
    pub(crate) fn entry(&self, app: &str, model: &str) -> Result<&Entry, AdminError> {
        self.entries
            .iter()
            .find(|e| e.app == app && e.name == model)
            .ok_or_else(|| AdminError::NotFound(format!("No model {app}.{model} in the admin.")))
    }
}

/// A route's handler: an async fn of the request context.
fn to<F, Fut>(
    site: &Arc<Site>,
    handler: F,
) -> impl actix_web::Handler<(HttpRequest, web::Bytes), Output = Result<HttpResponse, AdminError>>
where
    F: Fn(Cx) -> Fut + Clone + 'static,
    Fut: Future<Output = Result<HttpResponse, AdminError>> + 'static,
{
    let site = Arc::clone(site);
    move |req: HttpRequest, body: web::Bytes| {
        let page = handler(Cx::new(Arc::clone(&site), req, body));
        async move {
            match page.await {
                // Not a failure: the way to the login page.
                Err(login @ AdminError::LoginRequired { .. }) => Ok(login.error_response()),
                other => other,
            }
        }
    }
}

fn register(site: &Arc<Site>, routes: &mut Routes) {
    routes.get("/", to(site, views::index::index));
    routes.get("/_static/{file}", |req: HttpRequest| async move {
        crate::render::ASSETS
            .respond(&req)
            .unwrap_or_else(|| HttpResponse::NotFound().finish())
    });
    routes.get("/login/", to(site, views::login::form));
    routes.post("/login/", to(site, views::login::submit));
    routes.post("/logout/", to(site, views::login::logout));
    routes.get("/history/", to(site, views::history::global));
    routes.get("/{app}/{model}/", to(site, views::list::list));
    routes.post("/{app}/{model}/action/", to(site, views::actions::bulk));
    routes.get("/{app}/{model}/live/", to(site, views::live::stream));
    routes.get("/{app}/{model}/add/", to(site, views::edit::add_form));
    routes.post("/{app}/{model}/add/", to(site, views::edit::add));
    routes.get("/{app}/{model}/{pk}/", to(site, views::edit::change_form));
    routes.post("/{app}/{model}/{pk}/", to(site, views::edit::change));
    routes.get("/{app}/{model}/{pk}/delete/", to(site, views::delete::confirm));
    routes.post("/{app}/{model}/{pk}/delete/", to(site, views::delete::delete));
    routes.get("/{app}/{model}/{pk}/history/", to(site, views::history::object));
    routes.post("/{app}/{model}/{pk}/action/{action}/", to(site, views::actions::row));
    routes.get("/{app}/{model}/{pk}/password/", to(site, views::password::form));
    routes.post("/{app}/{model}/{pk}/password/", to(site, views::password::set));
}
