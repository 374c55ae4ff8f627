//! Form controls beyond the text input (select, checkbox, date inputs), pagination and
//! confirmation: composed from the nodes the runtime knows, bound to state vars like
//! [`input`](crate::input), labelled with [`field`](crate::field).

use serde_json::Value;

use crate::expr::Expr;
use crate::node::{Action, Component, Event, HandlerRef, Node, button, cond, el, foreach, input_kind, text};

/// A `<select name=…>` with constant options, `(value, label)` in order. Bind it like an
/// input, `.bind(var, setter)`: it shows the var's value and runs the setter with the chosen
/// value (a string) as soon as the choice changes, by mouse or keyboard.
///
/// ```
/// use duet_ui::{field, select};
///
/// let status = field("Status", select("status", [("", "All"), ("paid", "Paid"), ("shipped", "Shipped")]));
/// let spec = serde_json::to_string(&status).unwrap();
/// assert!(spec.contains(r#""tag":"select""#) && spec.contains("Shipped"));
/// ```
pub fn select<V: Into<Value>, L: Into<String>>(name: &str, options: impl IntoIterator<Item = (V, L)>) -> Node {
    el("select")
        .attr("name", name)
        .children(options.into_iter().map(|(value, label)| {
            let label: String = label.into();
            el("option").attr("value", Expr::lit(value)).child(text(label))
        }))
}

/// A `<select name=…>` whose options come from a list var: one per item, its `value` and
/// `label` fields (`select_from("tag", var::<Tags>("tags"), "id", "name")`). Constant options
/// can come first: `select("tag", [("", "Any")])` then `.child(...)` is the same shape.
pub fn select_from(name: &str, list: Expr, value: &str, label: &str) -> Node {
    el("select").attr("name", name).child(foreach(list, |item| {
        el("option")
            .attr("value", item.field(value))
            .child(text(item.field(label)))
    }))
}

/// An `<input type=checkbox name=…>`; `.bind(var, setter)` shows a boolean var and runs the
/// setter with `true`/`false` when toggled (a click, or Space).
pub fn checkbox(name: &str) -> Node {
    input_kind(name, "checkbox")
}

/// An `<input type=date name=…>`: the browser's date picker, its value `YYYY-MM-DD` (`""`
/// when empty). Bind it to a string var.
pub fn date_input(name: &str) -> Node {
    input_kind(name, "date")
}

/// An `<input type=datetime-local name=…>`, its value `YYYY-MM-DDTHH:MM` (local time, no
/// zone). Bind it to a string var.
pub fn datetime_input(name: &str) -> Node {
    input_kind(name, "datetime-local")
}

/// Asks `message` in a modal dialog before running `action`: the runtime opens a native
/// `<dialog>` (role `alertdialog`, `aria-modal`), moves the focus to its Cancel button and
/// back afterwards; Escape or Cancel run nothing. Label the buttons with [`Confirm::yes`]
/// (default `Confirm`) and [`Confirm::no`] (default `Cancel`).
///
/// ```
/// use duet_ui::{button, confirm, navigate};
///
/// let leave = button("Leave").on_click(confirm("Leave this page?", navigate("/")).yes("Leave"));
/// let spec = serde_json::to_value(&leave).unwrap();
/// assert_eq!(spec["on"]["click"]["do"], "confirm");
/// assert_eq!(spec["on"]["click"]["then"]["do"], "navigate");
/// ```
pub fn confirm(message: impl Into<Expr>, action: impl Into<Action>) -> Confirm {
    Confirm {
        message: message.into(),
        yes: None,
        no: None,
        then: action.into(),
    }
}

/// An [`Action::Confirm`] being built by [`confirm`]: only a confirmation has buttons to
/// label.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a confirmation does nothing until an element runs it (`on_click`, …)"]
pub struct Confirm {
    message: Expr,
    yes: Option<String>,
    no: Option<String>,
    then: Action,
}

impl Confirm {
    /// The same confirmation with `label` on its confirming button (`"Cancel order"`).
    pub fn yes(self, label: &str) -> Confirm {
        Confirm {
            yes: Some(label.to_owned()),
            ..self
        }
    }

    /// The same confirmation with `label` on its cancelling button (`"Keep it"`).
    pub fn no(self, label: &str) -> Confirm {
        Confirm {
            no: Some(label.to_owned()),
            ..self
        }
    }
}

impl From<Confirm> for Action {
    fn from(c: Confirm) -> Action {
        Action::Confirm {
            message: c.message,
            yes: c.yes,
            no: c.no,
            then: Box::new(c.then),
        }
    }
}

/// Previous/next and page-number buttons over a 1-based page var and a page-count var,
/// in a `<nav>` landmark: each button runs `go` with the page it shows (an integer). The
/// ends are disabled, the current page carries `aria-current="page"`, and up to two pages
/// either side of it are offered.
///
/// ```
/// use duet_ui::{Expr, Node, Pagination, handler};
/// # use duet_state::{EventCtx, EventResult, events};
/// # #[derive(Debug, Default, serde::Serialize, serde::Deserialize, duet_state::State)]
/// # struct History { page: i64, pages: i64 }
/// # #[events]
/// # impl History {
/// #     async fn go(&mut self, _ctx: &mut EventCtx, page: i64) -> EventResult { self.page = page; Ok(()) }
/// # }
/// use duet_ui::var;
///
/// let pages: Node = Pagination::new(var::<History>("page"), var::<History>("pages"), handler::<History>("go"))
///     .label("Order pages")
///     .into();
/// let spec = serde_json::to_string(&pages).unwrap();
/// assert!(spec.contains(r#""tag":"nav""#) && spec.contains("aria-current"));
/// ```
#[derive(Debug, Clone)]
pub struct Pagination {
    page: Expr,
    pages: Expr,
    go: HandlerRef,
    label: String,
}

impl Pagination {
    /// Pages `1..=pages`, `page` the current one, `go` the handler changing it.
    pub fn new(page: Expr, pages: Expr, go: HandlerRef) -> Pagination {
        Pagination {
            page,
            pages,
            go,
            label: "Pagination".into(),
        }
    }

    /// The landmark's accessible name (default `Pagination`); set one per pagination when
    /// a page has several.
    pub fn label(mut self, label: &str) -> Pagination {
        self.label = label.to_owned();
        self
    }

    fn go(&self, page: Expr) -> Action {
        Event::from(self.go.clone()).with(page).into()
    }

    /// The button for the page `offset` away from the current one, shown when that page
    /// exists.
    fn number(&self, offset: i64) -> Node {
        let page = self.page.clone() + offset;
        let label = Expr::concat([Expr::lit("Page "), page.clone()]);
        let button = button(page.clone())
            .class("page")
            .attr("aria-label", label)
            .on_click(self.go(page.clone()));
        if offset == 0 {
            return button.attr("aria-current", "page");
        }
        let exists = Expr::lit(0).lt(page.clone());
        cond(exists, cond(page.lt(self.pages.clone() + 1), button, None), None)
    }
}

impl Component for Pagination {
    fn render(self) -> Node {
        let previous = button("Previous")
            .class("previous")
            .attr("disabled", !Expr::lit(1).lt(self.page.clone()))
            .on_click(self.go(self.page.clone() + -1));
        let next = button("Next")
            .class("next")
            .attr("disabled", !self.page.clone().lt(self.pages.clone()))
            .on_click(self.go(self.page.clone() + 1));
        let numbers = (-2..=2).map(|offset| self.number(offset)).collect::<Vec<_>>();
        el("nav")
            .class("pagination")
            .attr("aria-label", self.label.as_str())
            .child(previous)
            .children(numbers)
            .child(next)
    }
}
