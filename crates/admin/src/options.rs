//! `ModelAdmin`: how one model shows in the admin. Every option has a default taken from
//! the model's description; fields are named by the model's field constants
//! (`Order::STATUS`), so a misspelt one does not compile.

use std::sync::Arc;

use duet_models::{Db, FieldRef, Model, OrderBy, User};
use futures_util::future::LocalBoxFuture;

/// What an action gets besides the rows: the database and the staff member acting.
#[derive(Debug, Clone)]
pub struct ActionCtx {
    /// The app's database.
    pub db: Db,
    /// Who runs the action (already checked: staff with change permission on the model).
    pub user: User,
}

/// What an action returns: the message shown to the staff member ("3 orders shipped."), or
/// the error that stopped it (its message is shown; nothing is logged for the rows).
pub type ActionResult = Result<String, duet_models::Error>;

pub(crate) type ActionFn<M> = Arc<dyn Fn(ActionCtx, Vec<M>) -> LocalBoxFuture<'static, ActionResult> + Send + Sync>;

/// A named action over selected rows (bulk) or one row (a row action).
pub(crate) struct ActionDef<M> {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) run: ActionFn<M>,
}

/// Finds the ids of related rows whose text matches: for a search through a foreign key.
pub(crate) type RelatedSearch =
    Arc<dyn Fn(Db, String) -> LocalBoxFuture<'static, duet_models::Result<Vec<i64>>> + Send + Sync>;

/// How many related ids a search through a foreign key matches at most.
pub(crate) const RELATED_SEARCH_LIMIT: i64 = 1000;

/// How model `M` shows in the admin. [`ModelAdmin::new`] takes everything from the model:
/// every field but secret ones as columns and on the form, search over its text fields,
/// filters on its choice and boolean fields, newest first, 50 rows a page.
///
/// ```
/// use duet_admin::{ActionCtx, ActionResult, ModelAdmin};
/// use duet_models::{Model, User};
///
/// async fn deactivate(ctx: ActionCtx, users: Vec<User>) -> ActionResult {
///     for user in &users {
///         User::set_active(&ctx.db, user.id, false).await?;
///     }
///     Ok(format!("{} users deactivated.", users.len()))
/// }
///
/// let users = ModelAdmin::<User>::new()
///     .list_display([User::USERNAME, User::EMAIL, User::IS_STAFF])
///     .search([User::USERNAME, User::EMAIL])
///     .filters([User::IS_STAFF, User::IS_ACTIVE])
///     .ordering([User::USERNAME.asc()])
///     .per_page(100)
///     .action("deactivate", "Deactivate", deactivate);
/// # let _ = users;
/// ```
pub struct ModelAdmin<M: Model> {
    pub(crate) app: Option<String>,
    pub(crate) list_display: Option<Vec<&'static str>>,
    pub(crate) search: Option<Vec<&'static str>>,
    pub(crate) search_related: Vec<(&'static str, &'static str, RelatedSearch)>,
    pub(crate) filters: Option<Vec<&'static str>>,
    pub(crate) ordering: Option<Vec<OrderBy>>,
    pub(crate) read_only: Vec<&'static str>,
    pub(crate) per_page: i64,
    pub(crate) actions: Vec<ActionDef<M>>,
    pub(crate) row_actions: Vec<ActionDef<M>>,
    pub(crate) fieldsets: Vec<(&'static str, Vec<&'static str>)>,
    pub(crate) can_add: bool,
    pub(crate) names_models: Option<&'static str>,
}

impl<M: Model> Default for ModelAdmin<M> {
    fn default() -> Self {
        ModelAdmin::new()
    }
}

impl<M: Model> ModelAdmin<M> {
    /// Everything from the model's description.
    pub fn new() -> ModelAdmin<M> {
        ModelAdmin {
            app: None,
            list_display: None,
            search: None,
            search_related: Vec::new(),
            filters: None,
            ordering: None,
            read_only: Vec::new(),
            per_page: 50,
            actions: Vec::new(),
            row_actions: Vec::new(),
            fieldsets: Vec::new(),
            can_add: true,
            names_models: None,
        }
    }

    /// The app it is listed under on the index (default: the app's name).
    pub fn app(mut self, label: &str) -> Self {
        self.app = Some(label.to_owned());
        self
    }

    /// The change list's columns, in order (Django's `list_display`).
    pub fn list_display(mut self, fields: impl IntoIterator<Item = FieldRef<M>>) -> Self {
        self.list_display = Some(fields.into_iter().map(FieldRef::name).collect());
        self
    }

    /// The text fields the search box looks in (`search_fields`); a number typed in it
    /// also finds the row with that id.
    pub fn search(mut self, fields: impl IntoIterator<Item = FieldRef<M>>) -> Self {
        self.search = Some(fields.into_iter().map(FieldRef::name).collect());
        self
    }

    /// Also finds rows whose foreign key `key` points at a row of `R` whose text field
    /// `field` contains the search (Django's `customer__username`): at most 1,000 related
    /// rows count.
    pub fn search_related<R: Model>(mut self, key: FieldRef<M>, field: FieldRef<R>) -> Self {
        let field = field.name();
        let search: RelatedSearch = Arc::new(move |db, text| {
            Box::pin(async move {
                let query = duet_models::ListQuery::new(duet_models::Scope::All)
                    .search(text, vec![field])
                    .window(RELATED_SEARCH_LIMIT, 0);
                Ok(R::list(&db, &query).await?.iter().map(Model::pk).collect())
            })
        });
        self.search_related.push((key.name(), R::NAME, search));
        self
    }

    /// The filters beside the list (`list_filter`): choices, booleans, foreign keys as a
    /// list of values, dates and times as a range.
    pub fn filters(mut self, fields: impl IntoIterator<Item = FieldRef<M>>) -> Self {
        self.filters = Some(fields.into_iter().map(FieldRef::name).collect());
        self
    }

    /// The list's order before anyone clicks a header (`ordering`).
    pub fn ordering(mut self, ordering: impl IntoIterator<Item = OrderBy>) -> Self {
        self.ordering = Some(ordering.into_iter().collect());
        self
    }

    /// Fields shown on the form but never written from it (`readonly_fields`), beside the
    /// model's own read-only fields.
    pub fn read_only(mut self, fields: impl IntoIterator<Item = FieldRef<M>>) -> Self {
        self.read_only.extend(fields.into_iter().map(FieldRef::name));
        self
    }

    /// Rows per page (`list_per_page`, default 50; 1 to 500).
    pub fn per_page(mut self, rows: i64) -> Self {
        self.per_page = rows.clamp(1, 500);
        self
    }

    /// The form's fields in groups, each under a heading (`fieldsets`); fields in no group
    /// come last.
    pub fn fieldset(mut self, heading: &'static str, fields: impl IntoIterator<Item = FieldRef<M>>) -> Self {
        self.fieldsets
            .push((heading, fields.into_iter().map(FieldRef::name).collect()));
        self
    }

    /// No "add" button or page: rows are made elsewhere.
    pub fn no_add(mut self) -> Self {
        self.can_add = false;
        self
    }

    /// `field` names a registered model (`app.model`, as permissions do): the form offers
    /// a select of them, and a save with any other value is refused next to the field.
    pub(crate) fn names_models(mut self, field: FieldRef<M>) -> Self {
        self.names_models = Some(field.name());
        self
    }

    /// A bulk action on the selected rows, run after a confirmation page (`actions`).
    /// `run` gets the rows and the acting user; it needs change permission on the model.
    pub fn action<F, Fut>(mut self, name: &'static str, label: &'static str, run: F) -> Self
    where
        F: Fn(ActionCtx, Vec<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ActionResult> + 'static,
    {
        self.actions.push(ActionDef {
            name,
            label,
            run: Arc::new(move |ctx, rows| Box::pin(run(ctx, rows))),
        });
        self
    }

    /// An action on one row, offered on its row and its change page, after a confirmation.
    pub fn row_action<F, Fut>(mut self, name: &'static str, label: &'static str, run: F) -> Self
    where
        F: Fn(ActionCtx, Vec<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ActionResult> + 'static,
    {
        self.row_actions.push(ActionDef {
            name,
            label,
            run: Arc::new(move |ctx, rows| Box::pin(run(ctx, rows))),
        });
        self
    }
}
