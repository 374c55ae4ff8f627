//! The `Model` trait: a table described once, for the state side, the HTTP side and the admin.

use std::future::Future;

use serde_json::{Map, Value};

use crate::{Db, Field, Index, Input, ListQuery, Result, Scope, ValidationErrors};

/// Who owns a new row of a model with an owner field ([`Model::validate_new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewOwner {
    /// This user — the request's or the tab's: the input cannot choose another.
    User(i64),
    /// Whoever the input's owner field names, checked like any foreign key: for staff
    /// creating a row on someone's behalf (the admin). Never for a client's own input.
    FromInput,
}

/// A table described once: its name, fields, primary key, JSON form, owner, validation and
/// scoped queries. `#[derive(Model)]` writes it.
///
/// `ModelState` (the event-state side), `ModelViewSet` (the HTTP side), the admin, the API
/// schema and `makemigrations` all work from this description, so a model is never
/// described twice. Every write through it ([`Model::create`], [`Model::update`],
/// [`Model::delete`]) is announced on the database's change hook ([`Db::on_change`]), so open
/// pages showing the row update without the caller publishing anything.
pub trait Model: Clone + Send + Sync + Sized + 'static {
    /// Singular name, e.g. `"order"`.
    const NAME: &'static str;
    /// Table name, e.g. `"orders"`.
    const TABLE: &'static str;
    /// What people call one row (`"order"`).
    const VERBOSE_NAME: &'static str = Self::NAME;
    /// What people call several (`"orders"`).
    const VERBOSE_NAME_PLURAL: &'static str = Self::TABLE;
    /// The primary key field.
    const PRIMARY_KEY: &'static str = "id";
    /// The field holding the owning user's id, if rows belong to users.
    const OWNER_FIELD: Option<&'static str> = None;

    /// A validated new row: every column but the primary key.
    type New: Send + 'static;
    /// Validated changes: `None` leaves a column as it is.
    type Changes: Default + Send + 'static;

    /// The fields, in declaration order (secret ones too: they are columns; see
    /// [`Field::secret`]).
    fn fields() -> &'static [Field];

    /// Indexes over several columns.
    fn indexes() -> &'static [Index] {
        &[]
    }

    /// The field named `name`, if the model has it.
    fn field(name: &str) -> Option<&'static Field> {
        Self::fields().iter().find(|f| f.name == name)
    }

    /// The row's primary key.
    fn pk(&self) -> i64;

    /// The owning user's id, when [`Model::OWNER_FIELD`] is set.
    fn owner_id(&self) -> Option<i64> {
        None
    }

    /// Every field of the row but secret ones, keyed by field name.
    fn to_json(&self) -> Map<String, Value>;

    /// Validates a new row from client input: read-only fields are ignored (they take their
    /// defaults), absent fields take their defaults, and the owner field (if the model has
    /// one) is the one `owner` says.
    fn validate_new(input: Input, owner: NewOwner) -> std::result::Result<Self::New, ValidationErrors>;

    /// Validates changes from client input: only the fields sent are read in a partial
    /// update (PATCH); a full one (PUT) needs every required field.
    fn validate_changes(input: Input) -> std::result::Result<Self::Changes, ValidationErrors>;

    /// Rows matching `query`. A filter, search or ordering on a field the model cannot use
    /// that way is [`Error::Invalid`](crate::Error::Invalid), naming the field.
    fn list(db: &Db, query: &ListQuery) -> impl Future<Output = Result<Vec<Self>>> + Send;

    /// How many rows match `query`'s scope, filters and search (its window is ignored).
    fn count(db: &Db, query: &ListQuery) -> impl Future<Output = Result<i64>> + Send;

    /// The row with primary key `pk` within `scope`; [`Error::NotFound`](crate::Error::NotFound)
    /// when it is missing or belongs to someone else.
    fn get(db: &Db, scope: Scope, pk: i64) -> impl Future<Output = Result<Self>> + Send;

    /// Inserts a row. A unique value that is taken is [`Error::Invalid`](crate::Error::Invalid)
    /// on its field.
    fn create(db: &Db, new: Self::New) -> impl Future<Output = Result<Self>> + Send;

    /// Applies `changes` to the row with primary key `pk` within `scope` and returns it.
    fn update(db: &Db, scope: Scope, pk: i64, changes: Self::Changes) -> impl Future<Output = Result<Self>> + Send;

    /// Applies `changes` to the row with primary key `pk` within `scope` only if each field
    /// named in `unchanged` still holds that value (its JSON, as [`Model::to_json`] showed
    /// it): one `UPDATE … WHERE pk = ? AND field = ? …`, so no write can land between the
    /// comparison and the update. [`Error::NotFound`](crate::Error::NotFound) when no row
    /// matched — gone, or changed meanwhile: read it again to tell which. A field the model
    /// does not show, or a value it cannot read, is [`Error::Invalid`](crate::Error::Invalid).
    fn update_unchanged(
        db: &Db,
        scope: Scope,
        pk: i64,
        unchanged: &Map<String, Value>,
        changes: Self::Changes,
    ) -> impl Future<Output = Result<Self>> + Send;

    /// Deletes the row with primary key `pk` within `scope` and returns it;
    /// [`Error::NotFound`](crate::Error::NotFound) when there is none to delete.
    fn delete(db: &Db, scope: Scope, pk: i64) -> impl Future<Output = Result<Self>> + Send;
}

/// Formats integer cents as a decimal string: `1250` → `"12.50"`, `-5` → `"-0.05"`.
pub fn cents_to_decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::cents_to_decimal;

    #[test]
    fn money_formats_as_decimal() {
        for (cents, text) in [
            (0, "0.00"),
            (5, "0.05"),
            (1250, "12.50"),
            (100_000, "1000.00"),
            (-5, "-0.05"),
            (i64::MIN, "-92233720368547758.08"),
        ] {
            assert_eq!(cents_to_decimal(cents), text);
        }
    }
}
