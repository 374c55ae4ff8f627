//! The SQL text of a model's dynamic queries, built once per shape instead of at every run.
//!
//! A list query is boxed (its filters, search, ordering and window are known only at run
//! time), so diesel cannot find its prepared statement by type: it builds the query's SQL at
//! every run to look the statement up by text — on `GET /api/orders/` 21 identifiers quoted
//! through `str::replace`: ~8,000 instructions and ~29 allocations per request
//! (docs/benchmarks.md). The text depends only on the query's shape (which filters with
//! which lookups and how many `IN` values, which ordering, whether there is a window), not
//! on the values it binds, so [`ShapedSql`] keeps the text of each shape it has built, per
//! thread, and hands it to diesel from there; the binds are collected from the query as
//! before.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryBuilder, QueryFragment, QueryId};
use diesel::result::QueryResult;
use serde_json::Value;

use crate::{FieldType, ListQuery, Lookup, Scope};

/// Shapes kept per query type and thread; a query of a shape past them builds its SQL.
const KEPT_SHAPES: usize = 256;

thread_local! {
    static BUILT: RefCell<HashMap<TypeId, HashMap<QueryShape, Box<str>>>> = RefCell::default();
}

/// What decides a query's SQL text, as opposed to the values it binds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryShape(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    /// One row by its primary key.
    Key,
    Owner,
    /// A filter, with the number of values an `IN` binds, or an `__isnull` filter's flag.
    Filter(&'static str, Lookup, usize),
    Search,
    /// A key field a search matches ids in, with how many.
    SearchIds(&'static str, usize),
    Order(&'static str, bool),
    Limit,
    Offset,
}

impl QueryShape {
    /// The shape of a get by primary key in `scope` (its query has the type of a list's).
    pub fn of_get(scope: Scope) -> QueryShape {
        QueryShape([Part::Key].into_iter().chain(Self::scope_part(scope)).collect())
    }

    /// The shape of `query`'s list (or count).
    pub fn of_list(query: &ListQuery) -> QueryShape {
        let mut parts = Vec::with_capacity(query.filters.len() + query.ordering.len() + 3);
        parts.extend(Self::scope_part(query.scope));
        parts.extend(
            query
                .filters
                .iter()
                .map(|f| Part::Filter(f.field, f.lookup, Self::variant(f.lookup, &f.value))),
        );
        if let Some(search) = &query.search {
            parts.push(Part::Search);
            parts.extend(search.ids.iter().map(|(field, ids)| Part::SearchIds(field, ids.len())));
        }
        parts.extend(query.ordering.iter().map(|o| Part::Order(o.field, o.descending)));
        parts.extend(query.limit.map(|_| Part::Limit));
        parts.extend((query.offset > 0).then_some(Part::Offset));
        QueryShape(parts)
    }

    fn scope_part(scope: Scope) -> Option<Part> {
        matches!(scope, Scope::Owner(_)).then_some(Part::Owner)
    }

    /// What in a filter's value changes its SQL: the number of values of an `IN` (as
    /// `__private::filter_values` reads them), the flag of an `__isnull`.
    fn variant(lookup: Lookup, value: &Value) -> usize {
        match (lookup, value) {
            (Lookup::In, Value::Array(items)) => items.len(),
            (Lookup::In, Value::String(text)) => text.split(',').count(),
            (Lookup::IsNull, value) => bool::from_json(value).map_or(2, usize::from),
            _ => 0,
        }
    }
}

/// `query` (a query of model `M`), whose SQL text diesel takes from the texts this thread
/// has built for `shape`.
pub struct ShapedSql<M, Q> {
    query: Q,
    shape: QueryShape,
    model: PhantomData<fn() -> M>,
}

impl<M: 'static, Q: 'static> ShapedSql<M, Q> {
    /// `query`, of `shape`: two queries of the same model, type and shape must have the same
    /// SQL text.
    pub fn new(query: Q, shape: QueryShape) -> ShapedSql<M, Q> {
        ShapedSql {
            query,
            shape,
            model: PhantomData,
        }
    }

    fn built<DB>(&self, backend: &DB) -> QueryResult<String>
    where
        DB: Backend,
        DB::QueryBuilder: Default,
        Q: QueryFragment<DB>,
    {
        let mut builder = DB::QueryBuilder::default();
        self.query.to_sql(&mut builder, backend)?;
        Ok(builder.finish())
    }
}

impl<M, Q> QueryId for ShapedSql<M, Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<M, Q: Query> Query for ShapedSql<M, Q> {
    type SqlType = Q::SqlType;
}

impl<M, Q, Conn> diesel::RunQueryDsl<Conn> for ShapedSql<M, Q> {}

impl<M, Q, DB> QueryFragment<DB> for ShapedSql<M, Q>
where
    M: 'static,
    Q: QueryFragment<DB> + 'static,
    DB: Backend,
    DB::QueryBuilder: Default,
{
    /// The query's own walk: its binds, and whether its statement may be cached.
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    /// The SQL text, from this thread's texts of the shape: what a connection calls to
    /// build a statement or find its prepared one (diesel's and diesel-async's
    /// connections all do). diesel 2.3 hides this method from its docs (it is public for
    /// backends); were it no longer called, queries would stay right, their text built at
    /// every run again.
    fn to_sql(&self, out: &mut DB::QueryBuilder, backend: &DB) -> QueryResult<()> {
        // Keyed by the backend too: `Q` names it.
        let key = TypeId::of::<(M, Q)>();
        let kept = BUILT.with_borrow(|built| {
            let sql = built.get(&key)?.get(&self.shape)?;
            debug_assert_eq!(
                Some(&**sql),
                self.built(backend).ok().as_deref(),
                "two queries of one shape ({:?}) built different SQL",
                self.shape
            );
            out.push_sql(sql);
            Some(())
        });
        if kept.is_some() {
            return Ok(());
        }
        let sql = self.built(backend)?;
        out.push_sql(&sql);
        BUILT.with_borrow_mut(|built| {
            let shapes = built.entry(key).or_default();
            if shapes.len() < KEPT_SHAPES {
                shapes.insert(self.shape.clone(), sql.into_boxed_str());
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use diesel::sqlite::{Sqlite, SqliteQueryBuilder};
    use serde_json::json;

    use super::*;

    /// A query whose text is `SELECT 1` the first time it is built, `SELECT 2` after.
    struct Changing(AtomicUsize);

    impl QueryFragment<Sqlite> for Changing {
        fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            let built = self.0.fetch_add(1, Ordering::Relaxed);
            pass.push_sql(if built == 0 { "SELECT 1" } else { "SELECT 2" });
            Ok(())
        }
    }

    fn sql(query: &ShapedSql<Changing, Changing>) -> String {
        let mut builder = SqliteQueryBuilder::new();
        query.to_sql(&mut builder, &Sqlite).unwrap();
        builder.finish()
    }

    #[test]
    fn a_shape_s_text_is_built_once_and_reused() {
        let shape = QueryShape::of_get(Scope::All);
        let first = ShapedSql::<Changing, _>::new(Changing(AtomicUsize::new(0)), shape.clone());
        assert_eq!(sql(&first), "SELECT 1");
        // Another query of the same shape, whose own text would be `SELECT 2`: it gets the
        // kept text, which debug builds check against a fresh one.
        let second = ShapedSql::<Changing, _>::new(Changing(AtomicUsize::new(1)), shape);
        if cfg!(debug_assertions) {
            assert!(
                std::panic::catch_unwind(|| sql(&second)).is_err(),
                "the check sees the texts differ"
            );
        } else {
            assert_eq!(sql(&second), "SELECT 1");
        }
    }

    #[test]
    fn a_shape_is_what_changes_the_sql_not_the_values() {
        let all = || ListQuery::new(Scope::All);
        let same = [
            (all().filter("status", "paid"), all().filter("status", "cancelled")),
            (
                all().filter_by("id", Lookup::In, "1,2"),
                all().filter_by("id", Lookup::In, json!([7, 8])),
            ),
            (all().search("mug", vec!["slug"]), all().search("cup", vec!["note"])),
            (all().window(10, 20), all().window(50, 1)),
            (ListQuery::new(Scope::Owner(1)), ListQuery::new(Scope::Owner(2))),
        ];
        for (a, b) in same {
            assert_eq!(QueryShape::of_list(&a), QueryShape::of_list(&b), "{a:?} and {b:?}");
        }
        let different = [
            (
                all().filter_by("id", Lookup::In, "1,2"),
                all().filter_by("id", Lookup::In, "1,2,3"),
            ),
            (
                all().filter_by("id", Lookup::IsNull, true),
                all().filter_by("id", Lookup::IsNull, false),
            ),
            (all().filter("status", "paid"), all().filter("currency", "paid")),
            (
                all().filter_by("total", Lookup::Gt, 1),
                all().filter_by("total", Lookup::Gte, 1),
            ),
            (all().search_ids("id", vec![1]), all().search_ids("id", vec![1, 2])),
            (all().order_by("total", false), all().order_by("total", true)),
            (all().window(10, 0), all().window(10, 5)),
            (all(), all().window(10, 0)),
            (all(), ListQuery::new(Scope::Owner(1))),
        ];
        for (a, b) in different {
            assert_ne!(QueryShape::of_list(&a), QueryShape::of_list(&b), "{a:?} and {b:?}");
        }
        let get = QueryShape::of_get;
        assert_eq!(get(Scope::Owner(1)), get(Scope::Owner(2)));
        assert_ne!(get(Scope::Owner(1)), get(Scope::All));
        assert_ne!(get(Scope::All), QueryShape::of_list(&all()), "a get is not a list");
    }
}
