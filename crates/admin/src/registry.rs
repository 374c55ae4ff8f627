//! The registered models, type-erased: each [`Entry`] holds the options resolved against the
//! model's description and the model's queries behind [`Ops`].

use duet_models::{Db, Field, FieldKind, Input, ListQuery, Model, NewOwner, OrderBy, Scope, ValidationErrors};
use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};

use crate::options::{ActionCtx, ActionDef, ActionResult, ModelAdmin, RelatedSearch};

/// One row as the admin sees it: its key and its fields' JSON (secret ones never).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) pk: i64,
    pub(crate) values: Map<String, Value>,
}

/// Why a save did not happen.
pub(crate) enum SaveError {
    /// The model's validation refused the input: shown next to the fields.
    Invalid(ValidationErrors),
    /// Anything else.
    Failed(duet_models::Error),
}

impl From<duet_models::Error> for SaveError {
    fn from(error: duet_models::Error) -> Self {
        match error {
            duet_models::Error::Invalid(errors) => SaveError::Invalid(errors),
            other => SaveError::Failed(other),
        }
    }
}

/// A model's queries over JSON rows.
pub(crate) trait Ops: Send + Sync {
    fn list<'a>(&'a self, db: &'a Db, query: &'a ListQuery) -> LocalBoxFuture<'a, duet_models::Result<Vec<Row>>>;
    fn count<'a>(&'a self, db: &'a Db, query: &'a ListQuery) -> LocalBoxFuture<'a, duet_models::Result<i64>>;
    fn get<'a>(&'a self, db: &'a Db, pk: i64) -> LocalBoxFuture<'a, duet_models::Result<Row>>;
    fn create<'a>(&'a self, db: &'a Db, input: Map<String, Value>) -> LocalBoxFuture<'a, Result<Row, SaveError>>;
    /// Saves `input` if the fields of `unchanged` still hold those values (one conditional
    /// UPDATE); `Failed(NotFound)` when the row is gone or was changed meanwhile.
    fn update<'a>(
        &'a self,
        db: &'a Db,
        pk: i64,
        unchanged: &'a Map<String, Value>,
        input: Map<String, Value>,
    ) -> LocalBoxFuture<'a, Result<Row, SaveError>>;
    fn delete<'a>(&'a self, db: &'a Db, pk: i64) -> LocalBoxFuture<'a, duet_models::Result<Row>>;
    /// Runs the action `name` (bulk, or a row action when `row`) on the rows `pks`; `None`
    /// when the model has no such action.
    fn run<'a>(
        &'a self,
        name: &'a str,
        row: bool,
        ctx: ActionCtx,
        pks: Vec<i64>,
    ) -> Option<LocalBoxFuture<'a, ActionResult>>;
}

struct Typed<M: Model> {
    actions: Vec<ActionDef<M>>,
    row_actions: Vec<ActionDef<M>>,
}

fn row<M: Model>(m: &M) -> Row {
    Row {
        pk: m.pk(),
        values: m.to_json(),
    }
}

impl<M: Model> Ops for Typed<M> {
    fn list<'a>(&'a self, db: &'a Db, query: &'a ListQuery) -> LocalBoxFuture<'a, duet_models::Result<Vec<Row>>> {
        Box::pin(async move { Ok(M::list(db, query).await?.iter().map(row).collect()) })
    }

    fn count<'a>(&'a self, db: &'a Db, query: &'a ListQuery) -> LocalBoxFuture<'a, duet_models::Result<i64>> {
        Box::pin(M::count(db, query))
    }

    fn get<'a>(&'a self, db: &'a Db, pk: i64) -> LocalBoxFuture<'a, duet_models::Result<Row>> {
        Box::pin(async move { M::get(db, Scope::All, pk).await.map(|m| row(&m)) })
    }

    fn create<'a>(&'a self, db: &'a Db, input: Map<String, Value>) -> LocalBoxFuture<'a, Result<Row, SaveError>> {
        Box::pin(async move {
            let new = M::validate_new(Input::new(input, false), NewOwner::FromInput).map_err(SaveError::Invalid)?;
            Ok(row(&M::create(db, new).await?))
        })
    }

    fn update<'a>(
        &'a self,
        db: &'a Db,
        pk: i64,
        unchanged: &'a Map<String, Value>,
        input: Map<String, Value>,
    ) -> LocalBoxFuture<'a, Result<Row, SaveError>> {
        Box::pin(async move {
            let changes = M::validate_changes(Input::new(input, true)).map_err(SaveError::Invalid)?;
            Ok(row(&M::update_unchanged(db, Scope::All, pk, unchanged, changes).await?))
        })
    }

    fn delete<'a>(&'a self, db: &'a Db, pk: i64) -> LocalBoxFuture<'a, duet_models::Result<Row>> {
        Box::pin(async move { M::delete(db, Scope::All, pk).await.map(|m| row(&m)) })
    }

    fn run<'a>(
        &'a self,
        name: &'a str,
        row: bool,
        ctx: ActionCtx,
        pks: Vec<i64>,
    ) -> Option<LocalBoxFuture<'a, ActionResult>> {
        let actions = if row { &self.row_actions } else { &self.actions };
        let action = actions.iter().find(|a| a.name == name)?;
        let run = action.run.clone();
        Some(Box::pin(async move {
            let ids: Vec<Value> = pks.iter().map(|pk| Value::from(*pk)).collect();
            let query = ListQuery::new(Scope::All).filter_by(M::PRIMARY_KEY, duet_models::Lookup::In, ids);
            let rows = M::list(&ctx.db, &query).await?;
            run(ctx, rows).await
        }))
    }
}

/// A named action as the pages show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ActionName {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
}

/// One registered model: its names, its options resolved against its fields, its queries.
pub(crate) struct Entry {
    /// The app it is listed under (`"shop"`), the first segment of its URLs.
    pub(crate) app: String,
    /// `Model::NAME` (`"order"`), the second.
    pub(crate) name: &'static str,
    /// `app.name`: how permissions and the log name it.
    pub(crate) key: String,
    pub(crate) verbose_name: &'static str,
    pub(crate) verbose_name_plural: &'static str,
    pub(crate) table: &'static str,
    pub(crate) primary_key: &'static str,
    pub(crate) owner: Option<&'static str>,
    /// Every field but secret ones, in declaration order.
    pub(crate) fields: Vec<&'static Field>,
    pub(crate) list_display: Vec<&'static Field>,
    pub(crate) search: Vec<&'static str>,
    pub(crate) search_related: Vec<(&'static str, RelatedSearch)>,
    pub(crate) filters: Vec<&'static Field>,
    pub(crate) ordering: Vec<OrderBy>,
    /// Fields the admin's options make read-only, beside the model's own.
    pub(crate) read_only: Vec<&'static str>,
    pub(crate) per_page: i64,
    pub(crate) actions: Vec<ActionName>,
    pub(crate) row_actions: Vec<ActionName>,
    pub(crate) fieldsets: Vec<(&'static str, Vec<&'static str>)>,
    pub(crate) can_add: bool,
    /// The framework's users: added, and given passwords, on forms of their own
    /// (`views::password`).
    pub(crate) users: bool,
    /// The text field naming a registered model (`ModelAdmin::names_models`).
    pub(crate) names_models: Option<&'static str>,
    pub(crate) ops: Box<dyn Ops>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("key", &self.key).finish_non_exhaustive()
    }
}

impl Entry {
    /// Resolves `options` against `M`'s fields; what cannot work is pushed on `problems`.
    pub(crate) fn new<M: Model>(app: &str, options: ModelAdmin<M>, problems: &mut Vec<String>) -> Entry {
        let app = options.app.clone().unwrap_or_else(|| app.to_owned());
        let key = format!("{app}.{}", M::NAME);
        let fields: Vec<&'static Field> = M::fields().iter().filter(|f| !f.secret).collect();
        let find = |name: &str| fields.iter().copied().find(|f| f.name == name);
        let list_display = match &options.list_display {
            Some(names) => names.iter().filter_map(|n| find(n)).collect(),
            None => fields
                .iter()
                .copied()
                .filter(|f| f.kind != FieldKind::Json)
                .take(8)
                .collect(),
        };
        let search = match &options.search {
            Some(names) => {
                for name in names {
                    if find(name).is_some_and(|f| f.kind != FieldKind::Text) {
                        problems.push(format!("admin {key}: search field {name:?} is not a text field"));
                    }
                }
                names.clone()
            }
            None => fields
                .iter()
                .filter(|f| f.kind == FieldKind::Text)
                .map(|f| f.name)
                .collect(),
        };
        let mut search_related = Vec::new();
        for (field, model, search) in options.search_related {
            match find(field).map(|f| f.kind) {
                Some(FieldKind::ForeignKey { model: target, .. }) if target == model => {
                    search_related.push((field, search));
                }
                _ => problems.push(format!(
                    "admin {key}: search_related({field:?}, …) needs a foreign key to {model:?}"
                )),
            }
        }
        let filters = match &options.filters {
            Some(names) => names
                .iter()
                .filter_map(|n| find(n))
                .inspect(|f| {
                    if !filterable(f) {
                        problems.push(format!(
                            "admin {key}: cannot filter on {:?} (a {:?} field)",
                            f.name, f.kind
                        ));
                    }
                })
                .collect(),
            None => fields
                .iter()
                .copied()
                .filter(|f| matches!(f.kind, FieldKind::Choice(_) | FieldKind::Bool))
                .collect(),
        };
        let ordering = options.ordering.clone().unwrap_or_else(|| {
            vec![OrderBy {
                field: M::PRIMARY_KEY,
                descending: true,
            }]
        });
        for defs in [&options.actions, &options.row_actions] {
            let mut seen = std::collections::HashSet::new();
            for action in defs.iter() {
                if !seen.insert(action.name) {
                    problems.push(format!("admin {key}: action {:?} is declared twice", action.name));
                }
            }
        }
        let names = |defs: &[ActionDef<M>]| {
            defs.iter()
                .map(|a| ActionName {
                    name: a.name,
                    label: a.label,
                })
                .collect()
        };
        Entry {
            app,
            name: M::NAME,
            key,
            verbose_name: M::VERBOSE_NAME,
            verbose_name_plural: M::VERBOSE_NAME_PLURAL,
            table: M::TABLE,
            primary_key: M::PRIMARY_KEY,
            owner: M::OWNER_FIELD,
            list_display,
            search,
            search_related,
            filters,
            ordering,
            read_only: options.read_only.clone(),
            per_page: options.per_page,
            actions: names(&options.actions),
            row_actions: names(&options.row_actions),
            fieldsets: options.fieldsets.clone(),
            can_add: options.can_add,
            names_models: options.names_models,
            users: std::any::TypeId::of::<M>() == std::any::TypeId::of::<duet_models::User>(),
            fields,
            ops: Box::new(Typed {
                actions: options.actions,
                row_actions: options.row_actions,
            }),
        }
    }

    /// The field `name`, if shown.
    pub(crate) fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().copied().find(|f| f.name == name)
    }

    /// Whether the form writes `field`: on the add form (`adding`) the owner is chosen too;
    /// on the change form only fields that are neither the model's read-only ones nor the
    /// admin's.
    pub(crate) fn editable(&self, field: &Field, adding: bool) -> bool {
        if self.read_only.contains(&field.name) {
            return false;
        }
        !field.read_only || (adding && Some(field.name) == self.owner)
    }

    /// `/admin/{app}/{model}/`.
    pub(crate) fn url(&self) -> String {
        format!("{}/{}/{}/", crate::PREFIX, self.app, self.name)
    }

    /// `/admin/{app}/{model}/{pk}/`.
    pub(crate) fn row_url(&self, pk: i64) -> String {
        format!("{}{pk}/", self.url())
    }

    /// How a row is named on pages and in the log: its `name`, `username` or `title`, else
    /// "order #7".
    pub(crate) fn repr(&self, row: &Row) -> String {
        ["name", "username", "title"]
            .iter()
            .find_map(|f| row.values.get(*f).and_then(Value::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{} #{}", self.verbose_name, row.pk))
    }

    /// The page's title for the model: "Orders".
    pub(crate) fn title(&self) -> String {
        capitalize(self.verbose_name_plural)
    }
}

/// Kinds a filter can offer values or a range for.
fn filterable(field: &Field) -> bool {
    matches!(
        field.kind,
        FieldKind::Choice(_) | FieldKind::Bool | FieldKind::ForeignKey { .. } | FieldKind::Date | FieldKind::DateTime
    )
}

/// `text` with its first letter in upper case.
pub(crate) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
