//! The table, the `New…`/`…Changes` types, the field constants, the description
//! (`fields()`, `to_json`) and the compile-time checks of a model.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Expr, Ident, Lit};

use super::spec::{Auto, FieldSpec, ModelSpec};

pub(super) fn new_ident(model: &ModelSpec) -> Ident {
    model.new.clone()
}

pub(super) fn changes_ident(model: &ModelSpec) -> Ident {
    model.changes.clone()
}

/// The diesel SQL type of a field's Rust type, read from its name (diesel's `table!` needs
/// the type itself; [`assertions`] checks it agrees with the type's `FieldType::Sql`). An
/// unknown name is a `#[derive(Choices)]` enum: text.
fn sql_type(field: &FieldSpec, krate: &TokenStream) -> TokenStream {
    let types = quote!(#krate::__private::diesel::sql_types);
    let sql = match type_name(field).as_str() {
        "i64" | "Money" | "Decimal" | "ForeignKey" => quote!(#types::BigInt),
        "bool" => quote!(#types::Bool),
        "NaiveDateTime" => quote!(#types::Timestamp),
        "NaiveDate" => quote!(#types::Date),
        _ => quote!(#types::Text),
    };
    if field.inner.is_some() {
        quote!(#types::Nullable<#sql>)
    } else {
        sql
    }
}

/// The type a field has in a row as loaded: its own, but a `NaiveDateTime` is decoded as
/// `RowTimestamp` (see `duet_models`' `row_timestamp`: diesel's SQLite parse is slow).
pub(super) fn row_type(field: &FieldSpec, krate: &TokenStream) -> TokenStream {
    if !is_timestamp(field) {
        let ty = &field.ty;
        return quote!(#ty);
    }
    let timestamp = quote!(#krate::__private::RowTimestamp);
    if field.inner.is_some() {
        quote!(::core::option::Option<#timestamp>)
    } else {
        timestamp
    }
}

/// The field's value from its [`row_type`] value, the variable `ident`.
fn from_row(field: &FieldSpec) -> TokenStream {
    let ident = &field.ident;
    match (is_timestamp(field), field.inner.is_some()) {
        (false, _) => quote!(#ident),
        (true, false) => quote!(#ident.0),
        (true, true) => quote!(#ident.map(|t| t.0)),
    }
}

fn is_timestamp(field: &FieldSpec) -> bool {
    type_name(field) == "NaiveDateTime"
}

/// The last segment of the field's value type (`NaiveDateTime` for
/// `Option<chrono::NaiveDateTime>`), or `""`.
fn type_name(field: &FieldSpec) -> String {
    match field.value_ty() {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// diesel's `table!`, in a module named after the table, next to the struct.
pub(super) fn table(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let table = &model.table;
    let key = &model.primary_key().column;
    let columns = model.fields.iter().map(|f| {
        let column = &f.column;
        let sql = sql_type(f, krate);
        let doc = format!("Column `{}`: {}.", f.column, f.verbose_name);
        quote!(#[doc = #doc] #column -> #sql,)
    });
    let doc = format!(
        "diesel's description of table `{}` (written by `#[derive(Model)]`).",
        model.table
    );
    quote! {
        #krate::__private::diesel::table! {

            #[doc = #doc]
            #table (#key) {
                #(#columns)*
            }
        }
    }
}

/// `New{Model}` and `{Model}Changes`.
pub(super) fn types(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let vis = &model.vis;
    let ident = &model.ident;
    let new = new_ident(model);
    let changes = changes_ident(model);
    let new_fields = model.columns().map(|f| {
        let (name, ty) = (&f.ident, &f.ty);
        let doc = format!("`{}`.", f.name);
        quote!(#[doc = #doc] pub #name: #ty,)
    });
    let change_fields = model.columns().map(|f| {
        let (name, ty) = (&f.ident, &f.ty);
        let doc = format!("The new `{}`, or `None` to leave it.", f.name);
        quote!(#[doc = #doc] pub #name: ::core::option::Option<#ty>,)
    });
    let new_doc = format!(
        "A new [`{ident}`]: every column but the primary key, as `{ident}::validate_new` checks client input into it, or as code builds it."
    );
    let changes_doc = format!("Changes to an [`{ident}`]: `None` leaves a column as it is.");
    let _ = krate;
    // Debug shows every field but secret ones (a password hash never reaches a log).
    let debug_fields = model.columns().map(|f| {
        let (ident, name) = (&f.ident, &f.name);
        if f.secret {
            quote!(.field(#name, &"…"))
        } else {
            quote!(.field(#name, &self.#ident))
        }
    });
    let debug_fields: Vec<_> = debug_fields.collect();
    let (new_name, changes_name) = (new.to_string(), changes.to_string());
    quote! {
        #[doc = #new_doc]
        #[derive(Clone)]
        #vis struct #new {
            #(#new_fields)*
        }

        #[doc = #changes_doc]
        #[derive(Clone, Default)]
        #vis struct #changes {
            #(#change_fields)*
        }

        #[automatically_derived]
        impl ::core::fmt::Debug for #new {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#new_name) #(#debug_fields)* .finish()
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Debug for #changes {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#changes_name) #(#debug_fields)* .finish()
            }
        }
    }
}

/// `Order::STATUS` and friends, and the row-to-struct conversion.
pub(super) fn inherent(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let ident = &model.ident;
    let consts = model.fields.iter().filter(|f| !f.secret).map(|f| {
        let constant = format_ident!("{}", f.name.to_uppercase());
        let name = &f.name;
        let doc = format!("The `{name}` field, for a viewset's or the admin's options.");
        quote!(#[doc = #doc] pub const #constant: #krate::FieldRef<#ident> = #krate::FieldRef::new(#name);)
    });
    let idents: Vec<&Ident> = model.fields.iter().map(|f| &f.ident).collect();
    let tys: Vec<_> = model.fields.iter().map(|f| row_type(f, krate)).collect();
    let values: Vec<_> = model.fields.iter().map(from_row).collect();
    let sqls: Vec<_> = model.fields.iter().map(|f| sql_type(f, krate)).collect();
    let table = &model.table;
    let columns: Vec<_> = model.fields.iter().map(|f| &f.column).collect();
    let diesel = quote!(#krate::__private::diesel);
    quote! {
        impl #ident {
            #(#consts)*

            #[doc(hidden)]
            fn __duet_row((#(#idents,)*): (#(#tys,)*)) -> Self {
                Self { #(#idents: #values),* }
            }
        }

        // For hand-written queries: `.select(Order::as_select())` and `.load::<Order>(…)`.
        #[automatically_derived]
        impl<__DB: #diesel::backend::Backend> #diesel::Selectable<__DB> for #ident {
            type SelectExpression = (#(#table::#columns,)*);

            fn construct_selection() -> Self::SelectExpression {
                (#(#table::#columns,)*)
            }
        }

        #[automatically_derived]
        impl<__DB> #diesel::deserialize::Queryable<(#(#sqls,)*), __DB> for #ident
        where
            __DB: #diesel::backend::Backend,
            (#(#tys,)*): #diesel::deserialize::FromStaticSqlRow<(#(#sqls,)*), __DB>,
        {
            type Row = (#(#tys,)*);

            fn build(row: Self::Row) -> #diesel::deserialize::Result<Self> {
                ::core::result::Result::Ok(Self::__duet_row(row))
            }
        }
    }
}

/// The SQL literal of a default, when it is a constant.
fn db_default(field: &FieldSpec, krate: &TokenStream) -> TokenStream {
    let ty = &field.ty;
    match &field.default {
        Some(Expr::Lit(lit)) => match &lit.lit {
            Lit::Str(text) => quote!(::core::option::Option::Some(#krate::Literal::Text(#text))),
            Lit::Int(int) => quote!(::core::option::Option::Some(#krate::Literal::Integer(#int))),
            Lit::Bool(b) => quote!(::core::option::Option::Some(#krate::Literal::Bool(#b))),
            _ => quote!(::core::option::Option::None),
        },
        Some(path @ Expr::Path(_)) => {
            quote!(<#ty as #krate::FieldType>::literal(&::core::convert::Into::<#ty>::into(#path)))
        }
        _ => quote!(::core::option::Option::None),
    }
}

/// The associated constants, `fields()`, `indexes()`, `pk`, `owner_id` and `to_json`.
pub(super) fn description(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let (name, table, verbose, plural) = (
        &model.name,
        model.table.to_string(),
        &model.verbose_name,
        &model.verbose_name_plural,
    );
    let key = &model.primary_key().ident;
    let key_name = &model.primary_key().name;
    let fields = model.fields.iter().map(|f| {
        let ty = &f.ty;
        let (field_name, column) = (&f.name, f.column.to_string());
        let (read_only, primary_key, secret, unique, index, blank) =
            (f.read_only, f.primary_key, f.secret, f.unique, f.index, f.blank);
        let option = |value: Option<TokenStream>| match value {
            Some(value) => quote!(::core::option::Option::Some(#value)),
            None => quote!(::core::option::Option::None),
        };
        let max_length = option(f.max_length.map(|m| quote!(#m)));
        let pattern = option(f.regex.as_ref().map(|r| quote!(#r)));
        let min = option(f.min.map(|m| quote!(#m)));
        let max = option(f.max.map(|m| quote!(#m)));
        let db_default = db_default(f, krate);
        let auto = match f.auto {
            Auto::No => quote!(#krate::AutoNow::No),
            Auto::OnCreate => quote!(#krate::AutoNow::OnCreate),
            Auto::OnSave => quote!(#krate::AutoNow::OnSave),
        };
        let (verbose_name, help_text) = (&f.verbose_name, &f.help_text);
        quote! {
            #krate::Field {
                name: #field_name,
                column: #column,
                kind: <#ty as #krate::FieldType>::KIND,
                nullable: <#ty as #krate::FieldType>::NULLABLE,
                read_only: #read_only,
                primary_key: #primary_key,
                secret: #secret,
                unique: #unique,
                index: #index,
                max_length: #max_length,
                blank: #blank,
                pattern: #pattern,
                min: #min,
                max: #max,
                db_default: #db_default,
                auto_now: #auto,
                verbose_name: #verbose_name,
                help_text: #help_text,
            }
        }
    });
    let indexes = model.indexes.iter().map(|index| {
        let (index_name, columns, unique) = (&index.name, &index.columns, index.unique);
        quote!(#krate::Index { name: #index_name, columns: &[#(#columns),*], unique: #unique })
    });
    let owner = match model.owner() {
        Some(owner) => {
            let (ident, owner_name) = (&owner.ident, &owner.name);
            quote! {
                const OWNER_FIELD: ::core::option::Option<&'static str> = ::core::option::Option::Some(#owner_name);

                fn owner_id(&self) -> ::core::option::Option<i64> {
                    ::core::option::Option::Some(self.#ident.id())
                }
            }
        }
        None => quote!(),
    };
    let shown = model.fields.iter().filter(|f| !f.secret);
    let json_names = shown.clone().map(|f| &f.name);
    let json_idents = shown.clone().map(|f| &f.ident);
    let shown_count = shown.count();
    let json = quote!(#krate::__private::serde_json);
    quote! {
        const NAME: &'static str = #name;
        const TABLE: &'static str = #table;
        const VERBOSE_NAME: &'static str = #verbose;
        const VERBOSE_NAME_PLURAL: &'static str = #plural;
        const PRIMARY_KEY: &'static str = #key_name;
        #owner

        fn fields() -> &'static [#krate::Field] {
            static FIELDS: ::std::sync::LazyLock<::std::vec::Vec<#krate::Field>> =
                ::std::sync::LazyLock::new(|| ::std::vec![#(#fields),*]);
            &FIELDS
        }

        fn indexes() -> &'static [#krate::Index] {
            const INDEXES: &[#krate::Index] = &[#(#indexes),*];
            INDEXES
        }

        fn pk(&self) -> i64 {
            self.#key
        }

        fn to_json(&self) -> #json::Map<::std::string::String, #json::Value> {
            let mut json = #json::Map::with_capacity(#shown_count);
            #(json.insert(::std::string::String::from(#json_names), #krate::FieldType::to_json(&self.#json_idents));)*
            json
        }
    }
}

/// Compile-time checks that point at the field: its type is a field type, an owner is a
/// user key, text options are on text, number options on numbers, `auto_now` on timestamps.
pub(super) fn assertions(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let private = quote!(#krate::__private);
    let checks = model.fields.iter().map(|f| {
        let ty = &f.ty;
        let span = f.ty_span();
        let sql = sql_type(f, krate);
        let mut checks = vec![quote_spanned!(span=> field_type::<#ty, #sql>();)];
        if f.owner {
            checks.push(quote_spanned!(span=> owner::<#ty>();));
        }
        if f.max_length.is_some() || f.blank || f.regex.is_some() {
            checks.push(quote_spanned!(span=> text::<#ty>();));
        }
        if f.min.is_some() || f.max.is_some() {
            checks.push(quote_spanned!(span=> number::<#ty>();));
        }
        if f.auto != Auto::No {
            checks.push(quote_spanned!(span=> timestamp::<#ty>();));
        }
        quote!(#(#checks)*)
    });
    quote! {
        const _: () = {
            fn field_type<T: #krate::FieldType<Sql = S>, S>() {}
            fn owner<T: #krate::UserKey>() {}
            fn text<T: #private::TextField>() {}
            fn number<T: #private::NumberField>() {}
            fn timestamp<T: #private::TimestampField>() {}
            #[allow(dead_code)]
            fn checks() {
                #(#checks)*
            }
        };
    }
}
