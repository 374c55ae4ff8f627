//! The scoped queries of a model — list (filters with lookups, search, ordering, window),
//! count, get, create, update, delete — written once and run on either backend by
//! `db_run!`. Every write announces itself on the database's change hook.

use proc_macro2::TokenStream;
use quote::quote;

use super::meta::{changes_ident, row_type};
use super::spec::{Auto, ModelSpec};

struct Names {
    krate: TokenStream,
    private: TokenStream,
    diesel: TokenStream,
    table: TokenStream,
    select: TokenStream,
    row: TokenStream,
}

impl Names {
    fn new(model: &ModelSpec, krate: &TokenStream) -> Names {
        let table = &model.table;
        let columns = model.fields.iter().map(|f| &f.column);
        let tys = model.fields.iter().map(|f| row_type(f, krate));
        Names {
            krate: krate.clone(),
            private: quote!(#krate::__private),
            diesel: quote!(#krate::__private::diesel),
            table: quote!(#table),
            select: quote!((#(#table::#columns,)*)),
            row: quote!((#(#tys,)*)),
        }
    }

    /// The imports every query body needs.
    fn uses(&self) -> TokenStream {
        let private = &self.private;
        quote! {
            #[allow(unused_imports)]
            use #private::diesel::prelude::*;
            #[allow(unused_imports)]
            use #private::diesel_async::RunQueryDsl;
        }
    }
}

pub(super) fn functions(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let n = Names::new(model, krate);
    let list = list(model, &n);
    let count = count(model, &n);
    let get = get(model, &n);
    let create = create(model, &n);
    let update = update(model, &n);
    let update_unchanged = update_unchanged(model, &n);
    let delete = delete(model, &n);
    quote!(#list #count #get #create #update #update_unchanged #delete)
}

/// `q = q.filter(owner = …)` for a scope, or an early answer for a model without an owner.
fn scoped(model: &ModelSpec, n: &Names, scope: &TokenStream, nobody: &TokenStream) -> (TokenStream, TokenStream) {
    let (krate, table) = (&n.krate, &n.table);
    match model.owner() {
        Some(owner) => {
            let column = &owner.column;
            (
                quote!(),
                quote! {
                    if let #krate::Scope::Owner(owner) = #scope {
                        q = q.filter(#table::#column.eq(owner));
                    }
                },
            )
        }
        // A model without an owner has no rows "of" anyone.
        None => (
            quote! {
                if let #krate::Scope::Owner(_) = #scope {
                    return #nobody;
                }
            },
            quote!(),
        ),
    }
}

/// The filters and the search of a `ListQuery` named `query`, applied to `q`.
fn conditions(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private, table) = (&n.krate, &n.private, &n.table);
    let shown: Vec<_> = model.fields.iter().filter(|f| !f.secret).collect();
    let filter_arms = shown.iter().map(|f| {
        let (name, column, ty) = (&f.name, &f.column, &f.ty);
        let value = quote!(#private::filter_value::<#ty>(filter.field, &filter.value)?);
        quote! {
            #name => {
                let column = #table::#column;
                match filter.lookup {
                    #krate::Lookup::Exact => q.filter(column.eq(#value)),
                    #krate::Lookup::Gt => q.filter(column.gt(#value)),
                    #krate::Lookup::Gte => q.filter(column.ge(#value)),
                    #krate::Lookup::Lt => q.filter(column.lt(#value)),
                    #krate::Lookup::Lte => q.filter(column.le(#value)),
                    #krate::Lookup::In => {
                        q.filter(column.eq_any(#private::filter_values::<#ty>(filter.field, &filter.value)?))
                    }
                    #krate::Lookup::IsNull => {
                        if #private::null_flag(filter.field, &filter.value)? {
                            q.filter(column.is_null())
                        } else {
                            q.filter(column.is_not_null())
                        }
                    }
                }
            }
        }
    });
    let searchable: Vec<_> = shown.iter().filter(|f| f.text).collect();
    let search_names = searchable.iter().map(|f| &f.name);
    let search = match searchable.split_first() {
        None => quote! {
            if let ::core::option::Option::Some(search) = &query.search {
                return ::core::result::Result::Err(#private::unusable(
                    search.fields.iter().next().copied().unwrap_or("search"),
                    "search",
                ));
            }
        },
        Some((first, rest)) => {
            let term = |f: &&&super::spec::FieldSpec| {
                let (name, column) = (&f.name, &f.column);
                let text = if f.inner.is_some() {
                    quote!(#table::#column)
                } else {
                    quote!(#table::#column.nullable())
                };
                quote! {
                    search.fields.contains(&#name).into_sql::<#private::diesel::sql_types::Bool>()
                        .and(#private::lower(#text).like(pattern.clone()).escape('\\'))
                }
            };
            let first = term(first);
            let rest = rest.iter().map(term);
            // The primary key and foreign keys match by id (`Search::ids`): a number typed
            // in the search box, the ids of related rows whose text matched.
            let keyed = shown.iter().filter(|f| f.primary_key || f.foreign).map(|f| {
                let (name, column) = (&f.name, &f.column);
                let column = if f.inner.is_some() {
                    quote!(#table::#column)
                } else {
                    quote!(#table::#column.nullable())
                };
                quote!(#column.eq_any(#private::search_ids(search, #name)))
            });
            let keyed_names = shown.iter().filter(|f| f.primary_key || f.foreign).map(|f| &f.name);
            quote! {
                if let ::core::option::Option::Some(search) = &query.search {
                    if let ::core::option::Option::Some(field) =
                        search.fields.iter().find(|field| ![#(#search_names),*].contains(field))
                    {
                        return ::core::result::Result::Err(#private::unusable(field, "search"));
                    }
                    if let ::core::option::Option::Some((field, _)) =
                        search.ids.iter().find(|(field, _)| ![#(#keyed_names),*].contains(field))
                    {
                        return ::core::result::Result::Err(#private::unusable(field, "search"));
                    }
                    let pattern = #krate::contains_pattern(&search.text);
                    q = q.filter((#first) #(.or(#rest))* #(.or(#keyed))*);
                }
            }
        }
    };
    quote! {
        for filter in &query.filters {
            q = match filter.field {
                #(#filter_arms)*
                other => return ::core::result::Result::Err(#private::unusable(other, "filter")),
            };
        }
        #search
    }
}

fn list(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private, table, select, row) = (&n.krate, &n.private, &n.table, &n.select, &n.row);
    let uses = n.uses();
    let (early, scope) = scoped(
        model,
        n,
        &quote!(query.scope),
        &quote!(::core::result::Result::Ok(::std::vec::Vec::new())),
    );
    let conditions = conditions(model, n);
    let key = &model.primary_key().column;
    let order_arms = model.fields.iter().filter(|f| !f.secret).map(|f| {
        let (name, column) = (&f.name, &f.column);
        quote! {
            (#name, false) => q.then_order_by(#table::#column.asc()),
            (#name, true) => q.then_order_by(#table::#column.desc()),
        }
    });
    quote! {
        async fn list(db: &#krate::Db, query: &#krate::ListQuery) -> #krate::Result<::std::vec::Vec<Self>> {
            #uses
            #early
            let rows = #krate::db_read!(db, |conn| async {
                let mut q = #table::table.select(#select).into_boxed();
                #scope
                #conditions
                for order in &query.ordering {
                    q = match (order.field, order.descending) {
                        #(#order_arms)*
                        (other, _) => return ::core::result::Result::Err(#private::unusable(other, "order")),
                    };
                }
                // The tie-break follows the last key's direction, so that an index on
                // (owner, key) can serve the whole ORDER BY without a sort.
                q = match query.ordering.last() {
                    ::core::option::Option::Some(last) if last.descending => q.then_order_by(#table::#key.desc()),
                    _ => q.then_order_by(#table::#key.asc()),
                };
                if let ::core::option::Option::Some(limit) = query.limit {
                    q = q.limit(limit);
                }
                if query.offset > 0 {
                    q = q.offset(query.offset);
                }
                // Decoded straight from SQLite's statement (no owned copy of each row), its
                // SQL text built once per shape.
                let q = #private::ShapedSql::<Self, _>::new(q, #private::QueryShape::of_list(query));
                <_ as #krate::LoadRows<_, #row>>::load_rows(conn, q).await.map_err(#krate::Error::from)
            }.await)?;
            ::core::result::Result::Ok(rows.into_iter().map(Self::__duet_row).collect())
        }
    }
}

fn count(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private, table) = (&n.krate, &n.private, &n.table);
    let uses = n.uses();
    let (early, scope) = scoped(model, n, &quote!(query.scope), &quote!(::core::result::Result::Ok(0)));
    let conditions = conditions(model, n);
    quote! {
        async fn count(db: &#krate::Db, query: &#krate::ListQuery) -> #krate::Result<i64> {
            #uses
            #early
            #krate::db_read!(db, |conn| async {
                let mut q = #table::table.count().into_boxed();
                #scope
                #conditions
                #private::ShapedSql::<Self, _>::new(q, #private::QueryShape::of_list(query))
                    .get_result::<i64>(conn)
                    .await
                    .map_err(#krate::Error::from)
            }.await)
        }
    }
}

fn get(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private, table, select, row) = (&n.krate, &n.private, &n.table, &n.select, &n.row);
    let uses = n.uses();
    let not_found = quote!(::core::result::Result::Err(#krate::Error::NotFound));
    let (early, scope) = scoped(model, n, &quote!(scope), &not_found);
    let key = &model.primary_key().column;
    quote! {
        async fn get(db: &#krate::Db, scope: #krate::Scope, pk: i64) -> #krate::Result<Self> {
            #uses
            #early
            let row = #krate::db_read!(db, |conn| async {
                let mut q = #table::table.select(#select).filter(#table::#key.eq(pk)).into_boxed();
                #scope
                #private::ShapedSql::<Self, _>::new(q.limit(1), #private::QueryShape::of_get(scope))
                    .get_result::<#row>(conn)
                    .await
                    .map_err(#krate::Error::from)
            }.await)?;
            ::core::result::Result::Ok(Self::__duet_row(row))
        }
    }
}

/// Announces a write of `row`.
fn announce(n: &Names, change: &TokenStream) -> TokenStream {
    let krate = &n.krate;
    quote! {
        db.changed(#krate::ModelChange {
            model: <Self as #krate::Model>::NAME,
            pk: <Self as #krate::Model>::pk(&row),
            owner: <Self as #krate::Model>::owner_id(&row),
            change: #krate::ChangeKind::#change,
        });
    }
}

fn create(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private, diesel, table, select, row) = (&n.krate, &n.private, &n.diesel, &n.table, &n.select, &n.row);
    let uses = n.uses();
    let new = super::meta::new_ident(model);
    let values = model.columns().map(|f| {
        let (column, ident) = (&f.column, &f.ident);
        quote!(#table::#column.eq(&new.#ident),)
    });
    let announce = announce(n, &quote!(Created));
    quote! {
        async fn create(db: &#krate::Db, new: #new) -> #krate::Result<Self> {
            #uses
            let row = #krate::db_run!(db, |conn| async {
                #diesel::insert_into(#table::table)
                    .values((#(#values)*))
                    .returning(#select)
                    .get_result::<#row>(conn)
                    .await
                    .map_err(#krate::Error::from)
            }.await)
            .map_err(#private::write_error::<Self>)?;
            let row = Self::__duet_row(row);
            #announce
            ::core::result::Result::Ok(row)
        }
    }
}

/// `diesel::update(…).set(…)` or `diesel::delete(…)` of one row, scoped, returning it.
fn one_row(model: &ModelSpec, n: &Names, statement: &TokenStream, set: &TokenStream) -> TokenStream {
    let (krate, diesel, table, select, row) = (&n.krate, &n.diesel, &n.table, &n.select, &n.row);
    let key = &model.primary_key().column;
    let scoped_target = match model.owner() {
        Some(owner) => {
            let column = &owner.column;
            quote!(target.filter(#table::#column.eq(owner)))
        }
        None => quote!(target),
    };
    let owner_binding = match model.owner() {
        Some(_) => quote!(#krate::Scope::Owner(owner)),
        None => quote!(#krate::Scope::Owner(_)),
    };
    let run = |target: TokenStream| quote!(#diesel::#statement(#target) #set .returning(#select).get_result::<#row>(conn).await);
    let all = run(quote!(target));
    let owned = run(scoped_target);
    quote! {{
        let target = #table::table.filter(#table::#key.eq(pk));
        match scope {
            #krate::Scope::All => #all,
            #owner_binding => #owned,
        }
        .map_err(#krate::Error::from)
    }}
}

/// What an update writes: the `Changes` fields, the `auto_now` ones set to now, the `SET`.
struct Changed<'a> {
    idents: Vec<&'a syn::Ident>,
    autos: Vec<TokenStream>,
    sets: Vec<TokenStream>,
}

fn changed<'a>(model: &'a ModelSpec, n: &Names) -> Changed<'a> {
    let (krate, private, table) = (&n.krate, &n.private, &n.table);
    Changed {
        idents: model.columns().map(|f| &f.ident).collect(),
        autos: model
            .columns()
            .filter(|f| f.auto == Auto::OnSave)
            .map(|f| {
                let (ident, ty) = (&f.ident, &f.ty);
                quote!(changes.#ident = ::core::option::Option::Some(<#ty as #private::TimestampField>::at(#krate::now()));)
            })
            .collect(),
        sets: model
            .columns()
            .map(|f| {
                let (ident, column) = (&f.ident, &f.column);
                quote!(changes.#ident.as_ref().map(|value| #table::#column.eq(value)),)
            })
            .collect(),
    }
}

fn update(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private) = (&n.krate, &n.private);
    let uses = n.uses();
    let changes = changes_ident(model);
    let not_found = quote!(::core::result::Result::Err(#krate::Error::NotFound));
    let (early, _) = scoped(model, n, &quote!(scope), &not_found);
    let Changed { idents, autos, sets } = changed(model, n);
    let statement = one_row(model, n, &quote!(update), &quote!(.set((#(#sets)*))));
    let announce = announce(n, &quote!(Updated));
    quote! {
        async fn update(db: &#krate::Db, scope: #krate::Scope, pk: i64, changes: #changes) -> #krate::Result<Self> {
            #uses
            #early
            let mut changes = changes;
            #(#autos)*
            if #(changes.#idents.is_none())&&* {
                return <Self as #krate::Model>::get(db, scope, pk).await;
            }
            let row = #krate::db_run!(db, |conn| async #statement.await)
                .map_err(#private::write_error::<Self>)?;
            let row = Self::__duet_row(row);
            #announce
            ::core::result::Result::Ok(row)
        }
    }
}

/// `update`, conditional on the fields of `unchanged` holding the values the caller saw: the
/// comparison sits in the UPDATE's own WHERE (on PostgreSQL a concurrent write is re-checked
/// against it, on SQLite writes are serialized), so nothing lands in between.
fn update_unchanged(model: &ModelSpec, n: &Names) -> TokenStream {
    let (krate, private, diesel, table, select, row) = (&n.krate, &n.private, &n.diesel, &n.table, &n.select, &n.row);
    let uses = n.uses();
    let changes = changes_ident(model);
    let not_found = quote!(::core::result::Result::Err(#krate::Error::NotFound));
    let (early, scope) = scoped(model, n, &quote!(scope), &not_found);
    let key = &model.primary_key().column;
    let Changed { idents, autos, sets } = changed(model, n);
    let compare_arms = model.fields.iter().filter(|f| !f.secret).map(|f| {
        let (name, column, ty) = (&f.name, &f.column, &f.ty);
        quote! {
            #name => {
                let (low, high) = #private::shown_range::<#ty>(field, value)?;
                if value.is_null() {
                    q.filter(#table::#column.is_null())
                } else {
                    q.filter(#table::#column.between(low, high))
                }
            }
        }
    });
    let announce = announce(n, &quote!(Updated));
    quote! {
        async fn update_unchanged(
            db: &#krate::Db,
            scope: #krate::Scope,
            pk: i64,
            unchanged: &#private::serde_json::Map<::std::string::String, #private::serde_json::Value>,
            changes: #changes,
        ) -> #krate::Result<Self> {
            #uses
            #early
            let mut changes = changes;
            #(#autos)*
            if #(changes.#idents.is_none())&&* {
                // Nothing is written, so reading and comparing cannot lose an update.
                let row = <Self as #krate::Model>::get(db, scope, pk).await?;
                let shown = <Self as #krate::Model>::to_json(&row);
                return match unchanged.iter().all(|(field, value)| shown.get(field) == ::core::option::Option::Some(value)) {
                    true => ::core::result::Result::Ok(row),
                    false => #not_found,
                };
            }
            let row = #krate::db_run!(db, |conn| async {
                let mut q = #diesel::update(#table::table.filter(#table::#key.eq(pk)))
                    .set((#(#sets)*))
                    .into_boxed();
                #scope
                for (field, value) in unchanged {
                    q = match field.as_str() {
                        #(#compare_arms)*
                        other => return ::core::result::Result::Err(#private::unusable(other, "compare")),
                    };
                }
                q.returning(#select).get_result::<#row>(conn).await.map_err(#krate::Error::from)
            }.await)
            .map_err(#private::write_error::<Self>)?;
            let row = Self::__duet_row(row);
            #announce
            ::core::result::Result::Ok(row)
        }
    }
}

fn delete(model: &ModelSpec, n: &Names) -> TokenStream {
    let krate = &n.krate;
    let uses = n.uses();
    let not_found = quote!(::core::result::Result::Err(#krate::Error::NotFound));
    let (early, _) = scoped(model, n, &quote!(scope), &not_found);
    let statement = one_row(model, n, &quote!(delete), &quote!());
    let announce = announce(n, &quote!(Deleted));
    quote! {
        async fn delete(db: &#krate::Db, scope: #krate::Scope, pk: i64) -> #krate::Result<Self> {
            #uses
            #early
            let row = #krate::db_run!(db, |conn| async #statement.await)?;
            let row = Self::__duet_row(row);
            #announce
            ::core::result::Result::Ok(row)
        }
    }
}
