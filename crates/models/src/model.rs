//! The `Model` trait: a table described once, for the state side, the HTTP side and the admin.

use std::future::Future;

use serde_json::{Map, Value};

use crate::{Db, Field, Index, Result};

/// Which rows a caller may see: everything (staff, the system) or one user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every row.
    All,
    /// Only rows owned by this user id; other rows are "not found".
    Owner(i64),
}

/// A typed value to filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// An integer.
    Integer(i64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
}

/// `field = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The field's name.
    pub field: &'static str,
    /// The value it must equal.
    pub value: FieldValue,
}

/// Sort by a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy {
    /// The field's name.
    pub field: &'static str,
    /// Largest first.
    pub descending: bool,
}

/// What to list: scope, filters, ordering and a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Whose rows.
    pub scope: Scope,
    /// All must hold.
    pub filters: Vec<Filter>,
    /// Applied in order; the primary key breaks ties (in the last key's direction) so pages
    /// are stable.
    pub ordering: Vec<OrderBy>,
    /// At most this many rows.
    pub limit: Option<i64>,
    /// Skip this many rows first.
    pub offset: i64,
}

impl ListQuery {
    /// Every row in `scope`, in primary-key order.
    pub fn new(scope: Scope) -> ListQuery {
        ListQuery {
            scope,
            filters: Vec::new(),
            ordering: Vec::new(),
            limit: None,
            offset: 0,
        }
    }

    /// Adds `field = value`.
    pub fn filter(mut self, field: &'static str, value: FieldValue) -> ListQuery {
        self.filters.push(Filter { field, value });
        self
    }

    /// Adds a sort key.
    pub fn order_by(mut self, field: &'static str, descending: bool) -> ListQuery {
        self.ordering.push(OrderBy { field, descending });
        self
    }

    /// Limits the window to `limit` rows after `offset`.
    pub fn window(mut self, limit: i64, offset: i64) -> ListQuery {
        self.limit = Some(limit);
        self.offset = offset;
        self
    }
}

/// A table described once: its name, fields, primary key, JSON form, owner, and scoped access.
///
/// `ModelState` (the event-state side), `ViewSet` (the HTTP side) and the admin all work
/// from this description, so a model is never described twice.
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

    /// The fields, in declaration order (secret ones too: they are columns; see
    /// [`Field::secret`]).
    fn fields() -> &'static [Field];

    /// Indexes over several columns.
    fn indexes() -> &'static [Index] {
        &[]
    }

    /// The row's primary key.
    fn pk(&self) -> i64;

    /// The owning user's id, when [`Model::OWNER_FIELD`] is set.
    fn owner_id(&self) -> Option<i64> {
        None
    }

    /// Every listed field of the row, keyed by field name.
    fn to_json(&self) -> Map<String, Value>;

    /// The field named `name`, if the model has it.
    fn field(name: &str) -> Option<&'static Field> {
        Self::fields().iter().find(|f| f.name == name)
    }

    /// Rows matching `query`. Filters and orderings on fields the model does not support
    /// are [`Error::Config`](crate::Error::Config) errors.
    fn list(db: &Db, query: &ListQuery) -> impl Future<Output = Result<Vec<Self>>> + Send;

    /// How many rows match `query`'s scope and filters (its window is ignored).
    fn count(db: &Db, query: &ListQuery) -> impl Future<Output = Result<i64>> + Send;

    /// The row with primary key `pk` within `scope`; [`Error::NotFound`](crate::Error::NotFound)
    /// when it is missing or belongs to someone else.
    fn get(db: &Db, scope: Scope, pk: i64) -> impl Future<Output = Result<Self>> + Send;

    /// Deletes the row with primary key `pk` within `scope`;
    /// [`Error::NotFound`](crate::Error::NotFound) when there is none to delete.
    fn delete(db: &Db, scope: Scope, pk: i64) -> impl Future<Output = Result<()>> + Send;
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
