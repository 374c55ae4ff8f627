//! A change list's query string — search, filters, ordering, page — read into a `ListQuery`
//! the model runs, and written back into links that change one part of it.

use chrono::{Days, NaiveDate};
use duet_models::{Db, FieldKind, ListQuery, Lookup, Scope};
use serde_json::Value;

use crate::AdminError;
use crate::registry::Entry;

/// The change list's state, from its query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListState {
    /// Every pair as given (minus `_rows`), to rebuild links.
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) search: String,
    /// `(field, descending)` chosen by a header click.
    pub(crate) order: Option<(&'static str, bool)>,
    pub(crate) page: i64,
    /// `(key as given, value)` for each filter: `status`, `placed_at__gte`.
    pub(crate) filters: Vec<(String, String)>,
    /// Only the rows (the live list's refresh).
    pub(crate) rows_only: bool,
}

impl ListState {
    /// Reads `pairs`; a key the page does not send (an unknown field, a filter the model
    /// does not offer, ordering by a field that cannot be sorted) is a 400 naming it.
    pub(crate) fn parse(entry: &Entry, pairs: Vec<(String, String)>) -> Result<ListState, AdminError> {
        let mut state = ListState {
            page: 1,
            ..ListState::default()
        };
        for (key, value) in &pairs {
            match key.as_str() {
                "q" => state.search = value.trim().to_owned(),
                "p" => {
                    state.page = value
                        .parse::<i64>()
                        .ok()
                        .filter(|p| *p >= 1)
                        .ok_or_else(|| AdminError::BadRequest(format!("Page {value:?} is not a page number.")))?;
                }
                "o" => {
                    let (name, descending) = match value.strip_prefix('-') {
                        Some(name) => (name, true),
                        None => (value.as_str(), false),
                    };
                    let field = entry.field(name).filter(|f| f.kind != FieldKind::Json).ok_or_else(|| {
                        AdminError::BadRequest(format!("Cannot sort {} by {name:?}.", entry.verbose_name_plural))
                    })?;
                    state.order = Some((field.name, descending));
                }
                "_rows" => state.rows_only = true,
                "" => {}
                filter => {
                    let (name, lookup) = Lookup::split(filter);
                    let field = entry.filters.iter().find(|f| f.name == name).ok_or_else(|| {
                        AdminError::BadRequest(format!("{} cannot be filtered by {filter:?}.", capital(entry)))
                    })?;
                    let ranged = matches!(field.kind, FieldKind::Date | FieldKind::DateTime);
                    let allowed = match lookup {
                        Lookup::Exact => !ranged,
                        Lookup::Gte | Lookup::Lte => ranged,
                        _ => false,
                    };
                    if !allowed {
                        return Err(AdminError::BadRequest(format!(
                            "{} cannot be filtered by {filter:?}.",
                            capital(entry)
                        )));
                    }
                    if !value.is_empty() {
                        state.filters.push((filter.to_owned(), value.clone()));
                    }
                }
            }
        }
        state.pairs = pairs.into_iter().filter(|(k, _)| k != "_rows").collect();
        Ok(state)
    }

    /// The rows this state asks for (without its window): filters, search, ordering.
    pub(crate) async fn query(&self, entry: &Entry, db: &Db) -> Result<ListQuery, AdminError> {
        let mut query = ListQuery::new(Scope::All);
        for (key, value) in &self.filters {
            let (name, lookup) = Lookup::split(key);
            let field = entry.filters.iter().find(|f| f.name == name).expect("checked by parse");
            let (lookup, value) = filter_value(field.kind, lookup, value)?;
            query = query.filter_by(field.name, lookup, value);
        }
        if !self.search.is_empty() {
            query = query.search(self.search.clone(), entry.search.clone());
            if let Ok(pk) = self.search.trim_start_matches('#').parse::<i64>() {
                query = query.search_ids(entry.primary_key, vec![pk]);
            }
            for (field, search) in &entry.search_related {
                let ids = search(db.clone(), self.search.clone()).await?;
                query = query.search_ids(*field, ids);
            }
        }
        if let Some((field, descending)) = self.order {
            query = query.order_by(field, descending);
        }
        for order in &entry.ordering {
            if Some(order.field) != self.order.map(|(f, _)| f) {
                query.ordering.push(*order);
            }
        }
        Ok(query)
    }

    /// The value of `key`, if set.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A link to this list with `key` set to `value` (or removed), back on page one unless
    /// the page is what changes.
    pub(crate) fn with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k) && (k != "p" || changes.is_empty()))
            .cloned()
            .collect();
        for (key, value) in changes {
            if let Some(value) = value {
                pairs.push(((*key).to_owned(), (*value).to_owned()));
            }
        }
        if pairs.is_empty() {
            return "?".to_owned();
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        format!("?{query}")
    }
}

fn capital(entry: &Entry) -> String {
    entry.title()
}

/// A filter's value as the model reads it: dates of a date-time range become the start of
/// the day (`__gte`) or the start of the next (`__lte` becomes `__lt`).
fn filter_value(kind: FieldKind, lookup: Lookup, value: &str) -> Result<(Lookup, Value), AdminError> {
    if kind == FieldKind::DateTime {
        let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| AdminError::BadRequest(format!("{value:?} is not a date (YYYY-MM-DD).")))?;
        let (lookup, date) = match lookup {
            Lookup::Lte => (Lookup::Lt, date.checked_add_days(Days::new(1)).unwrap_or(date)),
            other => (other, date),
        };
        return Ok((lookup, Value::String(format!("{date}T00:00:00Z"))));
    }
    if let (FieldKind::ForeignKey { .. }, Ok(id)) = (kind, value.parse::<i64>()) {
        return Ok((lookup, Value::from(id)));
    }
    Ok((lookup, Value::String(value.to_owned())))
}
