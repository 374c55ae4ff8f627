//! `ListQuery`: which rows to list — scope, filters with lookups, search, ordering, window —
//! in a form every model's generated queries understand.

use serde_json::Value;

/// Which rows a caller may see: everything (staff, the system) or one user's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every row.
    All,
    /// Only rows owned by this user id; other rows are "not found".
    Owner(i64),
}

/// How a filter compares a field with its value (Django's lookups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// `field = value` (`?status=paid`).
    Exact,
    /// `field > value` (`?total__gt=10`).
    Gt,
    /// `field >= value` (`?placed_at__gte=2026-11-01`).
    Gte,
    /// `field < value`.
    Lt,
    /// `field <= value`.
    Lte,
    /// `field IN (values)`: the value is an array (`?id__in=1,2,3`).
    In,
    /// `field IS NULL` when the value is `true`, `IS NOT NULL` when `false`.
    IsNull,
}

impl Lookup {
    /// Every lookup with the suffix a query string names it by (`""` for `Exact`).
    pub const SUFFIXES: [(Lookup, &'static str); 7] = [
        (Lookup::Exact, ""),
        (Lookup::Gt, "__gt"),
        (Lookup::Gte, "__gte"),
        (Lookup::Lt, "__lt"),
        (Lookup::Lte, "__lte"),
        (Lookup::In, "__in"),
        (Lookup::IsNull, "__isnull"),
    ];

    /// Splits a query-string key into its field and lookup: `total__gte` → (`total`, `Gte`).
    pub fn split(key: &str) -> (&str, Lookup) {
        Lookup::SUFFIXES
            .iter()
            .skip(1)
            .find_map(|(lookup, suffix)| key.strip_suffix(suffix).map(|field| (field, *lookup)))
            .unwrap_or((key, Lookup::Exact))
    }
}

/// `field <lookup> value`. The value is JSON as a client would send it for the field (a
/// string is read as the field's type reads text: `"12.50"` for money, `"2026-11-01"` for a
/// date); for [`Lookup::In`] an array of such values; for [`Lookup::IsNull`] a boolean.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The field's name.
    pub field: &'static str,
    /// How it compares.
    pub lookup: Lookup,
    /// What with.
    pub value: Value,
}

/// Sort by a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderBy {
    /// The field's name.
    pub field: &'static str,
    /// Largest first.
    pub descending: bool,
}

/// Rows whose text fields contain a text, ignoring case (DRF's `SearchFilter`) — or whose
/// primary key or a foreign key is one of the listed ids (the admin's search by id, or by a
/// related row's text: the ids of the customers whose name matched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// What to look for.
    pub text: String,
    /// The text fields to look in.
    pub fields: Vec<&'static str>,
    /// Key fields (the primary key, foreign keys) and the ids that match in them.
    pub ids: Vec<(&'static str, Vec<i64>)>,
}

/// What to list: scope, filters, search, ordering and a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Whose rows.
    pub scope: Scope,
    /// All must hold.
    pub filters: Vec<Filter>,
    /// Rows that contain a text, when set.
    pub search: Option<Search>,
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
            search: None,
            ordering: Vec::new(),
            limit: None,
            offset: 0,
        }
    }

    /// Adds `field = value`; `field` is a model's field constant (`Order::STATUS`) or name.
    pub fn filter(self, field: impl Into<&'static str>, value: impl Into<Value>) -> ListQuery {
        self.filter_by(field, Lookup::Exact, value)
    }

    /// Adds `field <lookup> value`.
    pub fn filter_by(mut self, field: impl Into<&'static str>, lookup: Lookup, value: impl Into<Value>) -> ListQuery {
        self.filters.push(Filter {
            field: field.into(),
            lookup,
            value: value.into(),
        });
        self
    }

    /// Keeps the rows whose `fields` contain `text`, ignoring case.
    pub fn search(mut self, text: impl Into<String>, fields: Vec<&'static str>) -> ListQuery {
        self.search = Some(Search {
            text: text.into(),
            fields,
            ids: Vec::new(),
        });
        self
    }

    /// Widens the search (set with [`ListQuery::search`]) to the rows whose key field
    /// `field` — the primary key or a foreign key — is one of `ids`. Without a search, it
    /// starts one that matches by id alone.
    pub fn search_ids(mut self, field: impl Into<&'static str>, ids: Vec<i64>) -> ListQuery {
        let search = self.search.get_or_insert_with(|| Search {
            text: String::new(),
            fields: Vec::new(),
            ids: Vec::new(),
        });
        search.ids.push((field.into(), ids));
        self
    }

    /// Adds a sort key; `field` is a model's field constant (`Order::PLACED_AT`) or name.
    pub fn order_by(mut self, field: impl Into<&'static str>, descending: bool) -> ListQuery {
        self.ordering.push(OrderBy {
            field: field.into(),
            descending,
        });
        self
    }

    /// Limits the window to `limit` rows after `offset`.
    pub fn window(mut self, limit: i64, offset: i64) -> ListQuery {
        self.limit = Some(limit);
        self.offset = offset;
        self
    }
}

/// The `LIKE` pattern that finds `text` anywhere, lowercased, with `%`, `_` and the escape
/// character itself escaped by `\`.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_split_into_field_and_lookup() {
        assert_eq!(Lookup::split("status"), ("status", Lookup::Exact));
        assert_eq!(Lookup::split("total__gte"), ("total", Lookup::Gte));
        assert_eq!(Lookup::split("id__in"), ("id", Lookup::In));
        assert_eq!(Lookup::split("note__isnull"), ("note", Lookup::IsNull));
        assert_eq!(Lookup::split("a__b"), ("a__b", Lookup::Exact));
    }

    #[test]
    fn search_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ab"), "%ab%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
