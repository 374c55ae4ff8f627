//! `model_queries!`: the scoped list/count/get/delete of [`Model`](crate::Model), written once
//! for both backends from a table's columns.

/// Implements [`Model::list`](crate::Model::list), `count`, `get` and `delete` for a diesel
/// table, inside an `impl Model for …` block.
///
/// ```ignore
/// impl Model for Order {
///     // constants, pk, owner_id, to_json …
///     duet_models::model_queries! {
///         table: orders,
///         pk: orders::id,
///         owner: orders::customer_id,
///         filters: { "status" => orders::status: Text, "currency" => orders::currency: Text },
///         ordering: { "id" => orders::id, "placed_at" => orders::placed_at, "total" => orders::total_cents },
///     }
/// }
/// ```
/// `owner:` may be omitted for models without an owner; then `Scope::Owner` matches nothing.
/// The row type must implement `Selectable` and `Queryable` for both backends.
#[macro_export]
macro_rules! model_queries {
    (
        table: $table:ident,
        pk: $pk:path,
        $(owner: $owner:path,)?
        filters: { $($fname:literal => $fcol:path : $fkind:ident),* $(,)? },
        ordering: { $($oname:literal => $ocol:path),* $(,)? } $(,)?
    ) => {
        async fn list(db: &$crate::Db, query: &$crate::ListQuery) -> $crate::Result<::std::vec::Vec<Self>> {
            use ::diesel::prelude::*;
            use ::diesel_async::RunQueryDsl;
            let known: &[&str] = &[$($oname),*];
            if let Some(other) = query.ordering.iter().map(|o| o.field).find(|f| !known.contains(f)) {
                return Err($crate::Error::Config(format!("cannot order by {other:?}")));
            }
            $crate::db_read!(db, |conn| {
                let mut q = $table::table.select(Self::as_select()).into_boxed();
                $crate::model_queries!(@scope q, query, $($owner)?);
                $crate::model_queries!(@filters q, query, $($fname => $fcol : $fkind),*);
                for order in &query.ordering {
                    q = match (order.field, order.descending) {
                        $(($oname, false) => q.then_order_by($ocol.asc()),
                          ($oname, true) => q.then_order_by($ocol.desc()),)*
                        // Refused above.
                        _ => q,
                    };
                }
                // The tie-break follows the last key's direction, so that an index on
                // (owner, key) can serve the whole ORDER BY without a sort.
                q = match query.ordering.last() {
                    Some(last) if last.descending => q.then_order_by($pk.desc()),
                    _ => q.then_order_by($pk.asc()),
                };
                if let Some(limit) = query.limit {
                    q = q.limit(limit);
                }
                if query.offset > 0 {
                    q = q.offset(query.offset);
                }
                q.load::<Self>(conn).await
            })
        }

        async fn count(db: &$crate::Db, query: &$crate::ListQuery) -> $crate::Result<i64> {
            use ::diesel::prelude::*;
            use ::diesel_async::RunQueryDsl;
            $crate::db_read!(db, |conn| {
                let mut q = $table::table.count().into_boxed();
                $crate::model_queries!(@scope q, query, $($owner)?);
                $crate::model_queries!(@filters q, query, $($fname => $fcol : $fkind),*);
                q.get_result::<i64>(conn).await
            })
        }

        async fn get(db: &$crate::Db, scope: $crate::Scope, pk: i64) -> $crate::Result<Self> {
            use ::diesel::prelude::*;
            use ::diesel_async::RunQueryDsl;
            $crate::db_read!(db, |conn| {
                let mut q = $table::table.select(Self::as_select()).filter($pk.eq(pk)).into_boxed();
                $crate::model_queries!(@scope q, scope, $($owner)?);
                q.first::<Self>(conn).await
            })
        }

        async fn delete(db: &$crate::Db, scope: $crate::Scope, pk: i64) -> $crate::Result<()> {
            use ::diesel::prelude::*;
            use ::diesel_async::RunQueryDsl;
            let deleted = $crate::db_run!(db, |conn| {
                let mut q = ::diesel::delete($table::table).filter($pk.eq(pk)).into_boxed();
                $crate::model_queries!(@scope q, scope, $($owner)?);
                q.execute(conn).await
            })?;
            if deleted == 0 { Err($crate::Error::NotFound) } else { Ok(()) }
        }
    };

    (@scope $q:ident, $scope:expr, $owner:path) => {
        if let $crate::Scope::Owner(owner) = $crate::model_queries!(@scope_of $scope) {
            $q = $q.filter($owner.eq(owner));
        }
    };
    (@scope $q:ident, $scope:expr, ) => {
        if let $crate::Scope::Owner(_) = $crate::model_queries!(@scope_of $scope) {
            // An ownerless model has no rows "of" anyone.
            $q = $q.filter(::diesel::dsl::sql::<::diesel::sql_types::Bool>("1 = 0"));
        }
    };
    (@scope_of $scope:expr) => { $crate::ScopeOf::scope_of(&$scope) };

    (@filters $q:ident, $query:ident, $($fname:literal => $fcol:path : $fkind:ident),*) => {
        for filter in &$query.filters {
            $q = match (filter.field, &filter.value) {
                $(($fname, $crate::FieldValue::$fkind(value)) => $q.filter($fcol.eq(value.clone())),)*
                (field, value) => {
                    return Err($crate::Error::Config(format!("cannot filter on {field:?} = {value:?}")));
                }
            };
        }
    };
}

/// Reads the [`Scope`](crate::Scope) of a [`ListQuery`](crate::ListQuery) or a bare scope;
/// lets [`model_queries!`] accept either.
pub trait ScopeOf {
    /// The scope.
    fn scope_of(&self) -> crate::Scope;
}

impl ScopeOf for crate::Scope {
    fn scope_of(&self) -> crate::Scope {
        *self
    }
}

impl ScopeOf for crate::ListQuery {
    fn scope_of(&self) -> crate::Scope {
        self.scope
    }
}

impl<T: ScopeOf> ScopeOf for &T {
    fn scope_of(&self) -> crate::Scope {
        (**self).scope_of()
    }
}
