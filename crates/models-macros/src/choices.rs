//! `#[derive(Choices)]`: an enum of unit variants, stored as text.

use darling::{FromDeriveInput, FromVariant, ast};
use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Ident};

#[derive(FromDeriveInput)]
#[darling(attributes(choice), supports(enum_unit))]
struct ChoicesInput {
    ident: Ident,
    generics: syn::Generics,
    data: ast::Data<Variant, ()>,
}

#[derive(FromVariant)]
#[darling(attributes(choice))]
struct Variant {
    ident: Ident,
    #[darling(default)]
    value: Option<String>,
    #[darling(default)]
    label: Option<String>,
}

pub(crate) fn expand(input: &DeriveInput) -> darling::Result<TokenStream> {
    let parsed = ChoicesInput::from_derive_input(input)?;
    if !parsed.generics.params.is_empty() {
        return Err(darling::Error::custom("a Choices enum cannot be generic").with_span(&parsed.generics));
    }
    let ast::Data::Enum(variants) = parsed.data else {
        return Err(darling::Error::unsupported_shape("a struct").with_span(&parsed.ident));
    };
    if variants.is_empty() {
        return Err(darling::Error::custom("a Choices enum needs at least one variant").with_span(&parsed.ident));
    }
    let mut errors = darling::Error::accumulator();
    let mut values = Vec::new();
    for variant in &variants {
        let value = variant
            .value
            .clone()
            .unwrap_or_else(|| crate::snake_case(&variant.ident.to_string()));
        if values.contains(&value) {
            errors.push(
                darling::Error::custom(format!("the value {value:?} is used by two variants"))
                    .with_span(&variant.ident),
            );
        }
        values.push(value);
    }
    errors.finish()?;

    let krate = crate::krate();
    let private = quote!(#krate::__private);
    let diesel = quote!(#private::diesel);
    let ident = &parsed.ident;
    let idents: Vec<&Ident> = variants.iter().map(|v| &v.ident).collect();
    let labels: Vec<String> = variants
        .iter()
        .map(|v| {
            v.label.clone().unwrap_or_else(|| {
                let words = crate::words(&v.ident.to_string());
                let mut chars = words.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            })
        })
        .collect();
    let text = quote!(#diesel::sql_types::Text);
    let nullable_text = quote!(#diesel::sql_types::Nullable<#diesel::sql_types::Text>);
    let bound = quote!(#diesel::internal::derives::as_expression::Bound);

    Ok(quote! {
        #[automatically_derived]
        impl #krate::Choices for #ident {
            const CHOICES: &'static [#krate::Choice] = &[
                #(#krate::Choice { value: #values, label: #labels }),*
            ];

            fn value(self) -> &'static str {
                match self {
                    #(Self::#idents => #values,)*
                }
            }

            fn from_value(value: &str) -> ::core::option::Option<Self> {
                match value {
                    #(#values => ::core::option::Option::Some(Self::#idents),)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        #[automatically_derived]
        impl #krate::FieldType for #ident {
            type Sql = #text;
            const KIND: #krate::FieldKind = #krate::FieldKind::Choice(<Self as #krate::Choices>::CHOICES);

            fn to_json(&self) -> #private::serde_json::Value {
                #private::serde_json::Value::String(
                    ::std::string::ToString::to_string(<Self as #krate::Choices>::value(*self)),
                )
            }

            fn from_json(value: &#private::serde_json::Value) -> ::core::result::Result<Self, ::std::string::String> {
                #krate::choice_from_json(value)
            }

            fn literal(&self) -> ::core::option::Option<#krate::Literal> {
                ::core::option::Option::Some(#krate::Literal::Text(<Self as #krate::Choices>::value(*self)))
            }
        }

        #[automatically_derived]
        impl<__DB> #diesel::serialize::ToSql<#text, __DB> for #ident
        where
            __DB: #diesel::backend::Backend,
            str: #diesel::serialize::ToSql<#text, __DB>,
        {
            fn to_sql<'__b>(&'__b self, out: &mut #diesel::serialize::Output<'__b, '_, __DB>) -> #diesel::serialize::Result {
                <str as #diesel::serialize::ToSql<#text, __DB>>::to_sql(<Self as #krate::Choices>::value(*self), out)
            }
        }

        #[automatically_derived]
        impl<__DB> #diesel::serialize::ToSql<#nullable_text, __DB> for #ident
        where
            __DB: #diesel::backend::Backend,
            Self: #diesel::serialize::ToSql<#text, __DB>,
        {
            fn to_sql<'__b>(&'__b self, out: &mut #diesel::serialize::Output<'__b, '_, __DB>) -> #diesel::serialize::Result {
                <Self as #diesel::serialize::ToSql<#text, __DB>>::to_sql(self, out)
            }
        }

        #[automatically_derived]
        impl<__DB> #diesel::deserialize::FromSql<#text, __DB> for #ident
        where
            __DB: #diesel::backend::Backend,
            ::std::string::String: #diesel::deserialize::FromSql<#text, __DB>,
        {
            fn from_sql(bytes: <__DB as #diesel::backend::Backend>::RawValue<'_>) -> #diesel::deserialize::Result<Self> {
                let value = <::std::string::String as #diesel::deserialize::FromSql<#text, __DB>>::from_sql(bytes)?;
                <Self as #krate::Choices>::from_value(&value)
                    .ok_or_else(|| ::std::format!("{value:?} is not a value of {}", ::core::stringify!(#ident)).into())
            }
        }

        #[automatically_derived]
        impl<__DB, __ST> #diesel::deserialize::Queryable<__ST, __DB> for #ident
        where
            __DB: #diesel::backend::Backend,
            __ST: #diesel::sql_types::SingleValue,
            Self: #diesel::deserialize::FromSql<__ST, __DB>,
        {
            type Row = Self;

            fn build(row: Self) -> #diesel::deserialize::Result<Self> {
                ::core::result::Result::Ok(row)
            }
        }

        #[automatically_derived]
        impl #diesel::expression::AsExpression<#text> for #ident {
            type Expression = #bound<#text, Self>;

            fn as_expression(self) -> Self::Expression {
                #bound::new(self)
            }
        }

        #[automatically_derived]
        impl #diesel::expression::AsExpression<#nullable_text> for #ident {
            type Expression = #bound<#nullable_text, Self>;

            fn as_expression(self) -> Self::Expression {
                #bound::new(self)
            }
        }

        #[automatically_derived]
        impl<'__expr> #diesel::expression::AsExpression<#text> for &'__expr #ident {
            type Expression = #bound<#text, Self>;

            fn as_expression(self) -> Self::Expression {
                #bound::new(self)
            }
        }

        #[automatically_derived]
        impl<'__expr> #diesel::expression::AsExpression<#nullable_text> for &'__expr #ident {
            type Expression = #bound<#nullable_text, Self>;

            fn as_expression(self) -> Self::Expression {
                #bound::new(self)
            }
        }
    })
}
