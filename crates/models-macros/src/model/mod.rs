//! `#[derive(Model)]`: the table, the description, validation and queries of one struct.

mod attrs;
mod meta;
mod queries;
mod spec;
mod validate;

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use self::attrs::ModelInput;
use self::spec::ModelSpec;

pub(crate) fn expand(input: &DeriveInput) -> darling::Result<TokenStream> {
    let model = ModelSpec::check(ModelInput::from_derive_input(input)?)?;
    let krate = crate::krate();
    let table = meta::table(&model, &krate);
    let types = meta::types(&model, &krate);
    let inherent = meta::inherent(&model, &krate);
    let assertions = meta::assertions(&model, &krate);
    let description = meta::description(&model, &krate);
    let validation = validate::functions(&model, &krate);
    let queries = queries::functions(&model, &krate);
    let ident = &model.ident;
    let new = meta::new_ident(&model);
    let changes = meta::changes_ident(&model);
    Ok(quote! {
        #table
        #types
        #inherent
        #assertions

        #[automatically_derived]
        impl #krate::Model for #ident {
            type New = #new;
            type Changes = #changes;
            #description
            #validation
            #queries
        }
    })
}
