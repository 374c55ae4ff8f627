//! `validate_new` and `validate_changes`: client input read into a model's `New…` and
//! `…Changes` types, one rule set for the API, the pages and the admin.

use proc_macro2::TokenStream;
use quote::quote;

use super::meta::{changes_ident, new_ident};
use super::spec::{Auto, FieldSpec, ModelSpec};

/// The validators of a field beyond its type and constraints: `regex`, then `validate`,
/// each taking the value (the inner one of an `Option`, skipped when `None`).
fn validators(field: &FieldSpec, krate: &TokenStream) -> TokenStream {
    let private = quote!(#krate::__private);
    let value_ty = field.value_ty();
    let mut checks = Vec::new();
    if let Some(pattern) = &field.regex {
        checks.push(quote! {
            |value: &#value_ty| {
                static PATTERN: ::std::sync::LazyLock<#private::regex::Regex> = ::std::sync::LazyLock::new(|| {
                    #private::regex::Regex::new(#pattern).expect("checked when the model compiled")
                });
                #private::check_pattern(value, &PATTERN)
            }
        });
    }
    if let Some(validate) = &field.validate {
        checks.push(quote! {
            |value: &#value_ty| #validate(value).map_err(::core::convert::Into::<::std::string::String>::into)
        });
    }
    let ty = &field.ty;
    let wrapped = checks.iter().map(|check| {
        if field.inner.is_some() {
            quote!(&|value: &#ty| match value {
                ::core::option::Option::Some(value) => (#check)(value),
                ::core::option::Option::None => ::core::result::Result::Ok(()),
            })
        } else {
            quote!(&#check)
        }
    });
    quote!(&[#(#wrapped),*])
}

pub(super) fn functions(model: &ModelSpec, krate: &TokenStream) -> TokenStream {
    let new = new_ident(model);
    let changes = changes_ident(model);
    let position = |field: &FieldSpec| model.fields.iter().position(|f| f.ident == field.ident).unwrap_or(0);
    let reads = model.columns().map(|field| {
        let (ident, ty, index) = (&field.ident, &field.ty, position(field));
        let value = if field.owner {
            quote! {
                match owner {
                    #krate::NewOwner::User(id) => ::core::option::Option::Some(::core::convert::From::from(id)),
                    #krate::NewOwner::FromInput => input.create_value::<#ty>(&fields[#index], ::core::option::Option::None, &[]),
                }
            }
        } else if field.auto != Auto::No {
            quote!(::core::option::Option::Some(<#ty as #krate::__private::TimestampField>::at(now)))
        } else if field.read_only {
            match &field.default {
                Some(default) => quote!(::core::option::Option::Some(::core::convert::Into::<#ty>::into(#default))),
                None => {
                    let message = format!(
                        "{} cannot be created from input: its field {:?} is read-only and has no default.",
                        model.verbose_name, field.name
                    );
                    quote! {{
                        input.error(#krate::NON_FIELD_ERRORS, #message);
                        ::core::option::Option::None
                    }}
                }
            }
        } else {
            let validators = validators(field, krate);
            let default = match &field.default {
                Some(default) => quote!(::core::option::Option::Some(&|| ::core::convert::Into::<#ty>::into(#default))),
                None => quote!(::core::option::Option::None),
            };
            quote!(input.create_value::<#ty>(&fields[#index], #default, #validators))
        };
        quote!(let #ident: ::core::option::Option<#ty> = #value;)
    });
    let idents: Vec<_> = model.columns().map(|f| &f.ident).collect();
    let somes = idents.iter().map(|i| quote!(::core::option::Option::Some(#i)));
    let change_reads = model.columns().filter(|f| !f.read_only).map(|field| {
        let (ident, ty, index) = (&field.ident, &field.ty, position(field));
        let validators = validators(field, krate);
        let has_default = field.default.is_some();
        quote!(#ident: input.change_value::<#ty>(&fields[#index], #has_default, #validators),)
    });
    quote! {
        fn validate_new(
            input: #krate::Input,
            owner: #krate::NewOwner,
        ) -> ::core::result::Result<#new, #krate::ValidationErrors> {
            let _ = owner;
            let mut input = input;
            let fields = <Self as #krate::Model>::fields();
            let _ = fields;
            // One time for every timestamp that sets itself.
            let now = #krate::now();
            let _ = now;
            #(#reads)*
            match (#(#idents,)*) {
                (#(#somes,)*) if input.is_valid() => ::core::result::Result::Ok(#new { #(#idents),* }),
                _ => ::core::result::Result::Err(input.into_errors()),
            }
        }

        // `..Default::default()` covers the read-only fields, when there are any.
        #[allow(clippy::needless_update)]
        fn validate_changes(input: #krate::Input) -> ::core::result::Result<#changes, #krate::ValidationErrors> {
            let mut input = input;
            let fields = <Self as #krate::Model>::fields();
            let _ = fields;
            let changes = #changes {
                #(#change_reads)*
                ..::core::default::Default::default()
            };
            if input.is_valid() {
                ::core::result::Result::Ok(changes)
            } else {
                ::core::result::Result::Err(input.into_errors())
            }
        }
    }
}
