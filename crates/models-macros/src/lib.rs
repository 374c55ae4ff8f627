//! The derives behind duet's models: [`macro@Model`] writes a table, its validation and its
//! scoped queries from one struct; [`macro@Choices`] makes an enum a field's allowed values.
//!
//! Use them through `duet-models` (`use duet_models::{Choices, Model};`) or the `duet`
//! facade (`duet::models`); the generated code names whichever the calling crate depends on.
//! A crate declaring a model also depends on `diesel`: the generated `diesel::table!` names
//! `::diesel`. `docs/models.md` is the reference, with every attribute.
//!
//! ```ignore
//! use duet::models::{Choices, ForeignKey, Model, Money, User};
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, Choices)]
//! pub enum OrderStatus { Pending, Paid, Shipped, Cancelled }
//!
//! #[derive(Debug, Clone, Model)]
//! pub struct Order {
//!     pub id: i64,
//!     #[duet(owner)]
//!     pub customer: ForeignKey<User>,        // column customer_id; querysets scoped to it
//!     #[duet(min = 0)]
//!     pub total: Money,                      // "12.50" in JSON, cents in the column
//!     #[duet(default = OrderStatus::Pending)]
//!     pub status: OrderStatus,
//!     #[duet(auto_now_add)]
//!     pub placed_at: chrono::NaiveDateTime,
//! }
//! ```

use proc_macro::TokenStream;
use proc_macro_crate::{FoundCrate, crate_name};
use quote::{format_ident, quote};

mod choices;
mod model;

/// Derives `duet_models::Model` for a struct with named fields: the diesel table, the
/// `New…`/`…Changes` types, validation with DRF-shaped errors, and the scoped queries.
#[proc_macro_derive(Model, attributes(duet))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    model::expand(&input)
        .unwrap_or_else(|error| error.write_errors())
        .into()
}

/// Derives `duet_models::Choices` (and `FieldType`, and the text column conversions) for an
/// enum of unit variants: each variant is stored as its snake_case name unless
/// `#[choice(value = "…")]` says otherwise, and labelled `#[choice(label = "…")]` or by its
/// name in words.
#[proc_macro_derive(Choices, attributes(choice))]
pub fn derive_choices(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    choices::expand(&input)
        .unwrap_or_else(|error| error.write_errors())
        .into()
}

/// The path the generated code names duet-models by: the `duet` facade's re-export when the
/// calling crate depends on `duet` (a dev-dependency on duet-models alone, for its test
/// helpers, must not win: it is missing from the library build), else duet-models itself.
fn krate() -> proc_macro2::TokenStream {
    match (crate_name("duet"), crate_name("duet-models")) {
        (Ok(FoundCrate::Name(facade)), _) => {
            let facade = format_ident!("{facade}");
            quote!(::#facade::models)
        }
        (Ok(FoundCrate::Itself), _) => quote!(::duet::models),
        (_, Ok(FoundCrate::Name(name))) => {
            let name = format_ident!("{name}");
            quote!(::#name)
        }
        _ => quote!(::duet_models),
    }
}

/// `snake_case` of a `CamelCase` name: `OrderItem` → `order_item`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A name in words: `placed_at` → `placed at`, `InTransit` → `in transit`.
fn words(name: &str) -> String {
    snake_case(name).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake_case("Order"), "order");
        assert_eq!(snake_case("OrderItem"), "order_item");
        assert_eq!(words("placed_at"), "placed at");
        assert_eq!(words("InTransit"), "in transit");
    }
}
