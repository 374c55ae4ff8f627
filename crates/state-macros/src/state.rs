//! `#[derive(State)]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, LitStr};

use crate::serde_attrs::{self, Container, FieldAttrs};

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => &fields.named,
            Fields::Unnamed(_) => {
                return Err(Error::new(
                    input.ident.span(),
                    "`#[derive(State)]` needs a struct with named fields: each field is a var, named on the wire",
                ));
            }
            Fields::Unit => {
                return Err(Error::new(
                    input.ident.span(),
                    "`#[derive(State)]` needs a struct with named fields (a state with no vars is `struct Name {}`)",
                ));
            }
        },
        Data::Enum(_) => {
            return Err(Error::new(
                input.ident.span(),
                "`#[derive(State)]` needs a struct with named fields, not an enum",
            ));
        }
        Data::Union(_) => {
            return Err(Error::new(
                input.ident.span(),
                "`#[derive(State)]` needs a struct with named fields, not a union",
            ));
        }
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &input.generics,
            "`#[derive(State)]` doesn't support generic structs: a state is one concrete type with one NAME",
        ));
    }

    let mut errors = Errors::default();
    let options = StructOptions::parse(input, &mut errors);
    let container = Container::parse(&input.attrs);
    if let Some(span) = container.transparent {
        errors.push(Error::new(
            span,
            "`#[serde(transparent)]` can't be a state: a state serializes as an object of vars",
        ));
    }

    let mut backend_vars = Vec::new();
    let mut keys = Vec::new();
    for field in fields {
        let options = FieldOptions::parse(field, &mut errors);
        let serde = FieldAttrs::parse(field);
        let name = serde_attrs::field_name(field, &serde, &container);
        if let Some(span) = options.backend {
            if serde.skipped {
                errors.push(Error::new(
                    span,
                    "`#[state(backend)]` on a field serde skips: a skipped field isn't stored either, so it \
                     would be reset to its default before every event; remove `#[serde(skip)]` to keep it on \
                     the server",
                ));
            } else if serde.flatten {
                errors.push(Error::new(
                    span,
                    "`#[state(backend)]` on a `#[serde(flatten)]` field: its vars are the inner struct's \
                     fields; mark those instead",
                ));
            }
            backend_vars.push(name.clone());
        }
        if let Some(key) = options.key {
            if serde.flatten {
                errors.push(Error::new(
                    key.span(),
                    "`#[state(key)]` on a `#[serde(flatten)]` field: its vars are the inner struct's fields",
                ));
            }
            keys.push((name, key));
        }
    }
    errors.finish()?;

    let ident = &input.ident;
    let name = match options.name {
        Some(name) => name,
        None => LitStr::new(&default_name(&ident.to_string()), Span::call_site()),
    };
    let login_required = options.login_required;
    let list_key = (!keys.is_empty()).then(|| {
        let arms = keys.iter().map(|(var, key)| {
            quote! { #var => ::core::option::Option::Some(#key), }
        });
        quote! {
            fn list_key(var: &str) -> ::core::option::Option<&'static str> {
                match var {
                    #(#arms)*
                    _ => ::core::option::Option::Some("id"),
                }
            }
        }
    });
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let krate = crate::krate();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::State for #ident #ty_generics #where_clause {
            const NAME: &'static str = #name;
            const BACKEND_VARS: &'static [&'static str] = &[#(#backend_vars),*];
            const LOGIN_REQUIRED: bool = #login_required;
            #list_key
        }
    })
}

/// The struct's `#[state(...)]`: `name = "..."`, `login_required`.
#[derive(Default)]
struct StructOptions {
    name: Option<LitStr>,
    login_required: bool,
}

impl StructOptions {
    fn parse(input: &DeriveInput, errors: &mut Errors) -> StructOptions {
        let mut options = StructOptions::default();
        for attr in input.attrs.iter().filter(|a| a.path().is_ident("state")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let name: LitStr = meta.value()?.parse()?;
                    if name.value().is_empty() {
                        return Err(Error::new(name.span(), "a state's name can't be empty"));
                    }
                    if options.name.is_some() {
                        return Err(meta.error("duplicate `#[state(name)]`"));
                    }
                    options.name = Some(name);
                } else if meta.path.is_ident("login_required") {
                    options.login_required = true;
                } else if meta.path.is_ident("backend") || meta.path.is_ident("key") {
                    return Err(meta.error("`#[state(backend)]` and `#[state(key = \"...\")]` go on fields"));
                } else {
                    return Err(
                        meta.error("unknown `#[state]` key: a struct takes `name = \"...\"` and `login_required`")
                    );
                }
                Ok(())
            });
            errors.extend(parsed.err());
        }
        options
    }
}

/// A field's `#[state(...)]`: `backend`, `key = "..."`.
#[derive(Default)]
struct FieldOptions {
    backend: Option<Span>,
    key: Option<LitStr>,
}

impl FieldOptions {
    fn parse(field: &syn::Field, errors: &mut Errors) -> FieldOptions {
        let mut options = FieldOptions::default();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("state")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("backend") {
                    options.backend = Some(meta.path.span());
                } else if meta.path.is_ident("key") {
                    let key: LitStr = meta.value()?.parse()?;
                    if key.value().is_empty() {
                        return Err(Error::new(key.span(), "a list key can't be empty"));
                    }
                    options.key = Some(key);
                } else if meta.path.is_ident("name") || meta.path.is_ident("login_required") {
                    return Err(meta.error("`#[state(name)]` and `#[state(login_required)]` go on the struct"));
                } else {
                    return Err(meta.error("unknown `#[state]` key: a field takes `backend` and `key = \"...\"`"));
                }
                Ok(())
            });
            errors.extend(parsed.err());
        }
        options
    }
}

/// Every error found, reported together.
#[derive(Default)]
struct Errors(Option<Error>);

impl Errors {
    fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn extend(&mut self, error: Option<Error>) {
        if let Some(error) = error {
            self.push(error);
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// `CounterState` → `counter`, `OrderListState` → `order_list`, `HTTPLog` → `http_log`.
fn default_name(type_name: &str) -> String {
    let base = type_name
        .strip_suffix("State")
        .filter(|b| !b.is_empty())
        .unwrap_or(type_name);
    let chars: Vec<char> = base.chars().collect();
    let mut out = String::with_capacity(base.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) => {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                }
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::default_name;

    #[test]
    fn default_names() {
        for (type_name, expected) in [
            ("CounterState", "counter"),
            ("OrderListState", "order_list"),
            ("Counter", "counter"),
            ("State", "state"),
            ("HTTPLogState", "http_log"),
            ("Page2State", "page2"),
            ("Cart2Items", "cart2_items"),
            ("Already_Snake", "already_snake"),
        ] {
            assert_eq!(default_name(type_name), expected, "{type_name}");
        }
    }
}
