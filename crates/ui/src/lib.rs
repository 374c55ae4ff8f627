//! duet-ui describes an app's pages in Rust and runs them in the browser.
//!
//! - **Pages** ([`Page`]): a route pattern (`/orders/{id}`), a title, `on_load` handlers
//!   (registered with the state registry), whether a login is needed, and a tree of
//!   components.
//! - **Components** ([`Node`]): [`text`], [`heading`], [`link`] (client-side navigation),
//!   [`button`] with [`Node::on_click`], [`input`] with two-way binding ([`Node::bind`]),
//!   [`form`] with [`Node::on_submit`] (the payload is the form's fields), keyed
//!   [`foreach`], [`cond`], [`Table`], [`image`], layout containers ([`column`], [`row`],
//!   [`el`]), attributes and classes. Controls: [`select`]/[`select_from`], [`checkbox`],
//!   [`date_input`]/[`datetime_input`] (bound like inputs), [`Pagination`], and
//!   [`confirm`] (an action asking first, in a modal dialog). Handlers show toasts with
//!   [`EventCtx::toast`](duet_state::EventCtx::toast). Values ([`Expr`]) are state vars ([`var`]), fields of
//!   a loop's item, route parameters ([`param`]), the user ([`user`]) or constants. An app
//!   adds its own components by implementing [`Component`].
//! - **The app spec** ([`Ui::compile`]): every page as one JSON document, checked against
//!   the [`Registry`](duet_state::Registry) at start-up — a component that reads an
//!   unknown var or runs an unknown handler is an error naming the page and the component.
//! - **The runtime** ([`RUNTIME_JS`]): one hand-written ES module, embedded here and served
//!   by duet-mount under `/_duet/`, that speaks the event-state protocol (docs/protocol.md)
//!   and keeps the DOM in step with the server's deltas. No build step.
//!
//! duet-ui knows the state registry (to check names) and nothing about HTTP: serving the
//! spec, the runtime and the SPA shell is duet-mount's job. See `docs/ui.md`.
//!
//! ```
//! use duet_state::{EventCtx, EventResult, Registry, State, events};
//! use duet_ui::{Page, Ui, button, event, heading, text, var, column};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Default, Serialize, Deserialize, State)]
//! #[state(name = "counter")]
//! struct CounterState { count: i64 }
//!
//! #[events]
//! impl CounterState {
//!     async fn increment(&mut self, _ctx: &mut EventCtx) -> EventResult {
//!         self.count += 1;
//!         Ok(())
//!     }
//! }
//!
//! let mut registry = Registry::new();
//! registry.register::<CounterState>().unwrap();
//! let home = Page::new("/").title("Counter").body(column([
//!     heading(1, "Counter"),
//!     text(var::<CounterState>("count")),
//!     button("+1").on_click(event::<CounterState>("increment")),
//! ]));
//! let ui = Ui::new("demo").page(home);
//! assert!(ui.compile(&registry).is_ok());
//!
//! // A typo is caught at start-up, naming the page and the component.
//! let typo = Ui::new("demo").page(Page::new("/").body(text(var::<CounterState>("cuont"))));
//! let error = typo.compile(&registry).unwrap_err().to_string();
//! assert_eq!(error, "page /: component `text` reads counter.cuont, which does not exist (vars: count)");
//! ```

mod app;
mod controls;
mod expr;
mod model_form;
mod node;
mod page;

pub use app::{CompiledUi, Ui, UiError};
pub use controls::{Confirm, Pagination, checkbox, confirm, date_input, datetime_input, select, select_from};
pub use expr::{Expr, Item, param, user, var};
pub use model_form::ModelForm;
pub use node::{
    Action, Component, Element, Event, HandlerRef, Node, Payload, Post, Table, button, column, cond, el, event, field,
    foreach, form, handler, heading, image, input, input_kind, link, navigate, paragraph, row, submit, text,
};
pub use page::Page;

// The state layer's types that this crate's public signatures use.
pub use duet_state::{Registry, State};

/// The browser runtime: one ES module, served by duet-mount as `/_duet/duet.{hash}.js`.
pub const RUNTIME_JS: &str = include_str!("../runtime/duet.js");

/// The runtime's stylesheet (its status and error boxes), served by duet-mount as
/// `/_duet/duet.{hash}.css`: a file, so that pages need no inline style under a
/// Content-Security-Policy.
pub const RUNTIME_CSS: &str = include_str!("../runtime/duet.css");

/// An action that logs in with the form's `username` and `password` fields.
pub fn login() -> Action {
    Action::Login
}

/// An action that posts the form's fields to the backend path `to` (see [`Action::Post`]).
pub fn post(to: &str) -> Post {
    Post::new(to)
}

/// An action that logs out, then shows `to`.
pub fn logout(to: &str) -> Action {
    Action::Logout { to: to.to_owned() }
}

#[cfg(test)]
mod tests;
