//! The macros behind `duet-state`'s states: [`macro@State`] (`#[derive(State)]`) writes a
//! struct's `duet_state::State` impl, and [`macro@events`] (`#[events]` on its `impl` block)
//! writes its `duet_state::Events` impl — the handlers the browser can call and the computed
//! vars.
//!
//! Use them through `duet-state`, which re-exports both (`use duet_state::{State, events};`),
//! or through the `duet` facade (`duet::state`). The generated code names `::duet_state::…`
//! when the calling crate depends on duet-state and `::duet::state::…` when it depends on
//! `duet` only. duet-state's crate docs have the runnable example.
//!
//! ```ignore
//! use duet_state::{EventCtx, EventResult, State, events};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(State, Default, Serialize, Deserialize)]
//! pub struct CounterState {           // NAME = "counter"
//!     count: i64,
//!     #[state(backend)]               // never sent to the browser
//!     clicks_today: u32,
//! }
//!
//! #[events]
//! impl CounterState {
//!     async fn increment(&mut self, ctx: &mut EventCtx) -> EventResult {   // payload: null
//!         self.count += 1;
//!         Ok(())
//!     }
//!     async fn set_to(&mut self, ctx: &mut EventCtx, value: i64) -> EventResult {   // payload: 5
//!         self.count = value;
//!         Ok(())
//!     }
//!     #[computed]
//!     fn doubled(&self) -> i64 {
//!         self.count * 2
//!     }
//! }
//! ```
//!
//! # `#[derive(State)]`
//!
//! On a struct with named fields, which must also be `Default + Serialize + Deserialize`
//! and have an [`macro@events`] impl block (every state has one, even `#[events] impl X {}`:
//! `State` requires `Events`). Attributes:
//!
//! | attribute | on | effect |
//! | --- | --- | --- |
//! | `#[state(name = "counter")]` | struct | `State::NAME`. Default: the type's name without a trailing `State`, in snake_case (`CounterState` → `counter`, `OrderListState` → `order_list`) |
//! | `#[state(login_required)]` | struct | `State::LOGIN_REQUIRED = true`: only logged-in users may load and use it |
//! | `#[state(backend)]` | field | listed in `State::BACKEND_VARS`: stored on the server, never sent to the browser |
//! | `#[state(key = "sku")]` | field | `State::list_key` of this list var is `sku` (every other var: `id`) |
//!
//! Several keys may share one attribute: `#[state(name = "cart", login_required)]`. Var names
//! are the fields' serialized names: `#[serde(rename = "...")]` and the struct's
//! `#[serde(rename_all = "...")]` are honoured, and `r#type` is `type`.
//!
//! Refused with a compile error: tuple and unit structs, enums and unions, generic structs,
//! unknown `#[state]` keys, `#[serde(transparent)]`, and `#[state(backend)]` on a field that
//! serde skips (`skip` or `skip_serializing`: a skipped field isn't stored either, so it would
//! be reset to its default before every event) or flattens.
//!
//! # `#[events]`
//!
//! On the state's inherent `impl` block (not generic, not a trait impl). The block is kept as
//! written — minus the `#[computed]` markers — and an `Events` impl is added:
//!
//! | in the block | becomes |
//! | --- | --- |
//! | `async fn name(&mut self, ctx: &mut EventCtx, args…) -> EventResult` | a handler named `name` (in `Events::handlers`) |
//! | `#[computed] fn name(&self) -> T` (`T: Serialize`) | a computed var named `name` (in `Events::computed`) |
//! | anything else (not `async`, or no `&mut self`) | left alone |
//!
//! **Handlers.** The context is the first argument after `&mut self` (any pattern; its type
//! is matched by its last path segment, `EventCtx`, and it is exempt from the unused-variable
//! lint: every handler takes it). The return type is `EventResult` or
//! `Result<(), EventError>`. The other arguments are the payload, checked before the handler
//! runs — a payload that doesn't fit is `EventError::bad_payload` and the handler never runs:
//!
//! | arguments after `ctx` | payload |
//! | --- | --- |
//! | none | `null` (or absent) or `{}` |
//! | one, `value: T` | a `T`, as is: `set_to(value: i64)` takes `5` |
//! | two or more, `a: A, b: B` | an object keyed by the argument names, `{"a": 1, "b": 2}`, or an array in their order, `[1, 2]`; unknown keys and extra items are refused; a missing one is an error unless its type accepts `null` (an `Option`) |
//!
//! Arguments must be owned types that implement `serde::de::DeserializeOwned` (`String`, not
//! `&str`); handlers can't be generic. An `async fn` taking `&mut self` is taken to be a
//! handler, so one without the context argument, or returning anything but `EventResult`, is
//! an error: keep such helpers in another `impl` block. A `#[cfg(...)]` on a handler applies
//! to its entry too.
//!
//! **Computed vars** take only `&self`, aren't `async` or generic, and return a value; they
//! are recomputed after every event and sent when they change. A value that fails to
//! serialize is left out of the map (the browser keeps the var's last value).

use proc_macro::TokenStream;
use proc_macro_crate::{FoundCrate, crate_name};
use quote::{format_ident, quote};

mod events;
mod serde_attrs;
mod state;

/// Derives `duet_state::State` for a struct with named fields: its `NAME`, `BACKEND_VARS`,
/// `LOGIN_REQUIRED` and `list_key`, from `#[state(...)]` attributes (see the
/// [crate docs](crate#derivestate) for the table).
#[proc_macro_derive(State, attributes(state))]
pub fn derive_state(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    state::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `duet_state::Events` from a state's inherent `impl` block: its
/// `async fn name(&mut self, ctx: &mut EventCtx, args…) -> EventResult` methods are the
/// handlers, its `#[computed] fn name(&self) -> T` methods the computed vars (see the
/// [crate docs](crate#events) for the payload rules).
#[proc_macro_attribute]
pub fn events(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemImpl);
    events::expand(args.into(), item).into()
}

/// The path the generated code names duet-state by: the `duet` facade's re-export when the
/// calling crate depends on `duet` (a dev-dependency on duet-state alone must not win: it
/// is missing from the library build), else its own dependency on duet-state. Where neither
/// is found (this crate's compile-fail tests, duet-state itself), `::duet_state`.
fn krate() -> proc_macro2::TokenStream {
    let name = |name: String| {
        let name = format_ident!("{name}");
        quote!(::#name)
    };
    match (crate_name("duet"), crate_name("duet-state")) {
        (Ok(FoundCrate::Name(facade)), _) => {
            let facade = name(facade);
            quote!(#facade::state)
        }
        (Ok(FoundCrate::Itself), _) => quote!(::duet::state),
        (_, Ok(FoundCrate::Name(state))) => name(state),
        _ => quote!(::duet_state),
    }
}
