//! `#[events]` on a state's inherent `impl` block.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Error, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, ReturnType, Type};

/// Expands `#[events] impl X { ... }`. On errors the block is still emitted (without its
/// `#[computed]` attributes) with an empty `Events` impl, so the only errors are ours.
pub(crate) fn expand(args: TokenStream, mut item: ItemImpl) -> TokenStream {
    let mut errors: Vec<Error> = Vec::new();
    if !args.is_empty() {
        errors.push(Error::new_spanned(args, "`#[events]` takes no arguments"));
    }
    if let Some((_, path, _)) = &item.trait_ {
        errors.push(Error::new_spanned(
            path,
            "`#[events]` goes on the state's inherent `impl` block (`impl MyState { ... }`), not on a trait impl",
        ));
    }
    if !item.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &item.generics,
            "`#[events]` doesn't support generic `impl` blocks: a state is one concrete type",
        ));
    }

    let mut handlers = Vec::new();
    let mut computed = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(function) = impl_item else {
            if let Some(attr) = attrs_mut(impl_item).and_then(take_computed) {
                errors.push(Error::new_spanned(
                    attr,
                    "`#[computed]` goes on a `fn name(&self) -> T`",
                ));
            }
            continue;
        };
        if let Some(attr) = take_computed(&mut function.attrs) {
            match Computed::parse(function, &attr) {
                Ok(c) => computed.push(c),
                Err(e) => errors.push(e),
            }
            continue;
        }
        match Handler::parse(function) {
            Ok(Some(handler)) => handlers.push(handler),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }

    let self_ty = &item.self_ty;
    let krate = crate::krate();
    let events_impl = if errors.is_empty() {
        let handlers = if handlers.is_empty() {
            quote!(::std::vec::Vec::new())
        } else {
            let defs = handlers.iter().map(Handler::def);
            quote!(::std::vec::Vec::from([#(#defs),*]))
        };
        let computed_fn = (!computed.is_empty()).then(|| {
            let inserts = computed.iter().map(Computed::insert);
            let vars = Ident::new("__duet_vars", Span::mixed_site());
            quote! {
                fn computed(&self) -> #krate::__private::serde_json::Map<
                    ::std::string::String,
                    #krate::__private::serde_json::Value,
                > {
                    let mut #vars = #krate::__private::serde_json::Map::new();
                    #(#inserts)*
                    #vars
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl #krate::Events for #self_ty {
                fn handlers() -> ::std::vec::Vec<#krate::HandlerDef<Self>> {
                    #handlers
                }
                #computed_fn
            }
        }
    } else {
        let errors = errors.into_iter().map(|e| e.into_compile_error());
        quote! {
            #(#errors)*
            #[automatically_derived]
            impl #krate::Events for #self_ty {
                fn handlers() -> ::std::vec::Vec<#krate::HandlerDef<Self>> {
                    ::std::vec::Vec::new()
                }
            }
        }
    };
    quote! {
        #item
        #events_impl
    }
}

/// An `async fn name(&mut self, ctx: &mut EventCtx, args...) -> EventResult`.
struct Handler {
    method: Ident,
    args: Vec<Arg>,
    /// The method's `#[cfg(...)]`s, repeated on its entry.
    cfgs: Vec<Attribute>,
}

/// One of a handler's payload arguments.
struct Arg {
    /// Its key in an object payload, and its name in error messages.
    name: String,
    ty: Type,
}

impl Handler {
    /// `Ok(None)` for methods that aren't handlers: not `async`, or no `&mut self`.
    fn parse(function: &mut ImplItemFn) -> syn::Result<Option<Handler>> {
        let sig = &function.sig;
        if sig.asyncness.is_none() {
            return Ok(None);
        }
        let Some(FnArg::Receiver(receiver)) = sig.inputs.first() else {
            return Ok(None);
        };
        if !matches!(&*receiver.ty, Type::Reference(r) if r.mutability.is_some()) {
            return Ok(None);
        }
        if !sig.generics.params.is_empty() {
            return Err(Error::new_spanned(
                &sig.generics,
                "handlers can't be generic: their arguments are deserialized from the payload into concrete types",
            ));
        }
        let ctx = match sig.inputs.iter().nth(1) {
            Some(FnArg::Typed(ctx)) if is_event_ctx(&ctx.ty) => ctx,
            other => {
                let span = other.map_or_else(|| sig.inputs.span(), Spanned::span);
                return Err(Error::new(
                    span,
                    "handlers take `ctx: &mut EventCtx` as their first argument after `&mut self`",
                ));
            }
        };
        match &sig.output {
            ReturnType::Type(_, ty) if is_event_result(ty) => {}
            ReturnType::Type(_, ty) => {
                return Err(Error::new_spanned(
                    ty,
                    "handlers return `EventResult` (that is, `Result<(), EventError>`)",
                ));
            }
            ReturnType::Default => {
                return Err(Error::new(
                    sig.paren_token.span.close(),
                    "handlers return `EventResult` (that is, `Result<(), EventError>`): add `-> EventResult`",
                ));
            }
        }
        let extra: Vec<_> = sig.inputs.iter().skip(2).collect();
        let mut args = Vec::with_capacity(extra.len());
        for input in &extra {
            let FnArg::Typed(arg) = input else {
                return Err(Error::new_spanned(input, "unexpected receiver"));
            };
            match &*arg.ty {
                Type::Reference(_) => {
                    return Err(Error::new_spanned(
                        &arg.ty,
                        "handler arguments are deserialized from the payload: take an owned type \
                         (`String`, not `&str`)",
                    ));
                }
                Type::ImplTrait(_) => {
                    return Err(Error::new_spanned(
                        &arg.ty,
                        "handlers can't be generic: their arguments are deserialized from the payload into \
                         concrete types",
                    ));
                }
                _ => {}
            }
            let name = match &*arg.pat {
                Pat::Ident(pat) => pat.ident.unraw().to_string(),
                _ if extra.len() == 1 => "payload".to_owned(),
                pat => {
                    return Err(Error::new_spanned(
                        pat,
                        "name this argument: with two or more arguments the payload is an object keyed by \
                         their names (or an array in their order)",
                    ));
                }
            };
            args.push(Arg {
                name,
                ty: (*arg.ty).clone(),
            });
        }
        // Every handler takes the context, used or not: don't warn when it isn't.
        if let Pat::Ident(pat) = &*ctx.pat
            && !pat.ident.to_string().starts_with('_')
        {
            let ident = &pat.ident;
            function.block.stmts.insert(0, syn::parse_quote!(let _ = &#ident;));
        }
        Ok(Some(Handler {
            method: function.sig.ident.clone(),
            args,
            cfgs: cfgs(&function.attrs),
        }))
    }

    /// `HandlerDef { name, call: |state, ctx, payload| ... }`: the payload is checked and
    /// turned into the arguments before the handler's future is created.
    fn def(&self) -> TokenStream {
        let method = &self.method;
        let name = method.unraw().to_string();
        let krate = crate::krate();
        let p = quote!(#krate::__private);
        let state = Ident::new("__duet_state", Span::mixed_site());
        let ctx = Ident::new("__duet_ctx", Span::mixed_site());
        let payload = Ident::new("__duet_payload", Span::mixed_site());
        let error = Ident::new("__duet_error", Span::mixed_site());
        let body = match self.args.as_slice() {
            [] => quote! {
                match #p::no_args(&#payload) {
                    ::core::result::Result::Ok(()) => #p::boxed(Self::#method(#state, #ctx)),
                    ::core::result::Result::Err(#error) => #p::fail(#error),
                }
            },
            [Arg { name, ty }] => {
                let value = Ident::new("__duet_arg", Span::mixed_site());
                let parse = quote_spanned!(ty.span()=> #p::single::<#ty>(#name, #payload));
                quote! {
                    match #parse {
                        ::core::result::Result::Ok(#value) => #p::boxed(Self::#method(#state, #ctx, #value)),
                        ::core::result::Result::Err(#error) => #p::fail(#error),
                    }
                }
            }
            args => {
                let names: Vec<_> = args.iter().map(|a| &a.name).collect();
                let vars: Vec<_> = (0..args.len())
                    .map(|i| format_ident!("__duet_arg{}", i, span = Span::mixed_site()))
                    .collect();
                let value = Ident::new("__duet_value", Span::mixed_site());
                let parses = args.iter().zip(&vars).map(|(Arg { name, ty }, var)| {
                    let parse = quote_spanned!(ty.span()=> #p::arg::<#ty>(#name, #var));
                    quote! {
                        let #var = match #parse {
                            ::core::result::Result::Ok(#value) => #value,
                            ::core::result::Result::Err(#error) => return #p::fail(#error),
                        };
                    }
                });
                quote! {{
                    let [#(#vars),*] = match #p::split_args(#payload, [#(#names),*]) {
                        ::core::result::Result::Ok(#value) => #value,
                        ::core::result::Result::Err(#error) => return #p::fail(#error),
                    };
                    #(#parses)*
                    #p::boxed(Self::#method(#state, #ctx, #(#vars),*))
                }}
            }
        };
        let cfgs = &self.cfgs;
        quote! {
            #(#cfgs)*
            #krate::HandlerDef {
                name: #name,
                call: |#state, #ctx, #payload| #body,
            }
        }
    }
}

/// A `#[computed] fn name(&self) -> T`.
struct Computed {
    method: Ident,
    output: Span,
    cfgs: Vec<Attribute>,
}

impl Computed {
    fn parse(function: &ImplItemFn, attr: &Attribute) -> syn::Result<Computed> {
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            return Err(Error::new_spanned(attr, "`#[computed]` takes no arguments"));
        }
        let sig = &function.sig;
        if let Some(asyncness) = sig.asyncness {
            return Err(Error::new_spanned(
                asyncness,
                "a `#[computed]` fn can't be async: computed vars are recomputed after every change",
            ));
        }
        if !sig.generics.params.is_empty() {
            return Err(Error::new_spanned(&sig.generics, "a `#[computed]` fn can't be generic"));
        }
        match sig.inputs.first() {
            Some(FnArg::Receiver(receiver)) if matches!(&*receiver.ty, Type::Reference(r) if r.mutability.is_none()) => {
            }
            Some(input) => {
                return Err(Error::new_spanned(
                    input,
                    "a `#[computed]` fn takes `&self` (not `&mut self` or `self`)",
                ));
            }
            None => {
                return Err(Error::new(
                    sig.paren_token.span.join(),
                    "a `#[computed]` fn takes `&self`",
                ));
            }
        }
        if let Some(extra) = sig.inputs.iter().nth(1) {
            return Err(Error::new_spanned(
                extra,
                "a `#[computed]` fn takes only `&self`: a computed var is derived from the state's other vars",
            ));
        }
        let output = match &sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => {
                return Err(Error::new(
                    sig.paren_token.span.close(),
                    "a `#[computed]` fn returns the var's value: add `-> T` (T: Serialize)",
                ));
            }
        };
        Ok(Computed {
            method: sig.ident.clone(),
            output,
            cfgs: cfgs(&function.attrs),
        })
    }

    fn insert(&self) -> TokenStream {
        let krate = crate::krate();
        let method = &self.method;
        let name = method.unraw().to_string();
        let vars = Ident::new("__duet_vars", Span::mixed_site());
        let cfgs = &self.cfgs;
        let insert = quote_spanned! {self.output=>
            #krate::__private::insert_computed(&mut #vars, #name, &Self::#method(self));
        };
        quote!(#(#cfgs)* #insert)
    }
}

fn cfgs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect()
}

/// Removes `#[computed]` from `attrs`, returning it.
fn take_computed(attrs: &mut Vec<Attribute>) -> Option<Attribute> {
    let index = attrs.iter().position(|a| a.path().is_ident("computed"))?;
    Some(attrs.remove(index))
}

fn attrs_mut(item: &mut ImplItem) -> Option<&mut Vec<Attribute>> {
    match item {
        ImplItem::Const(c) => Some(&mut c.attrs),
        ImplItem::Type(t) => Some(&mut t.attrs),
        ImplItem::Macro(m) => Some(&mut m.attrs),
        _ => None,
    }
}

/// `&mut EventCtx`, `&mut duet_state::EventCtx`, `&'_ mut EventCtx`.
fn is_event_ctx(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) if r.mutability.is_some() => last_segment_is(&r.elem, "EventCtx"),
        _ => false,
    }
}

/// `EventResult` or `Result<(), EventError>` (any path to either).
fn is_event_result(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident == "EventResult" {
        return last.arguments.is_none();
    }
    if last.ident != "Result" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    let mut types = args.args.iter();
    matches!(
        (types.next(), types.next(), types.next()),
        (
            Some(syn::GenericArgument::Type(Type::Tuple(unit))),
            Some(syn::GenericArgument::Type(error)),
            None,
        ) if unit.elems.is_empty() && last_segment_is(error, "EventError")
    )
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => path.qself.is_none() && path.path.segments.last().is_some_and(|s| s.ident == name),
        Type::Paren(paren) => last_segment_is(&paren.elem, name),
        Type::Group(group) => last_segment_is(&group.elem, name),
        _ => false,
    }
}
