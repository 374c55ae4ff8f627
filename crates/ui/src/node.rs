//! The component tree: a few node kinds the runtime knows ([`Node`]), the actions
//! elements trigger ([`Action`]), and the builders an app writes pages with.

use std::collections::BTreeMap;

use duet_state::State;
use serde::Serialize;

use crate::expr::{Expr, Item};

/// One node of a page, as the runtime renders it. Built with the functions of this crate
/// ([`text`], [`button`], [`foreach`], …) or by an app's own [`Component`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Node {
    /// A text node showing a value (kept live).
    Text {
        /// The value.
        v: Expr,
    },
    /// An HTML element.
    El(Element),
    /// One copy of `body` per item of `list`, keyed so that list operations touch only the
    /// rows they change. `body` must render to one element.
    Foreach {
        /// The list.
        list: Expr,
        /// The loop's name (what [`Item`] fields refer to).
        item: String,
        /// The field identifying an item; `None` uses the state's list key, or the position.
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// Whether `list` is a [`Stream`](duet_state::Stream): the items live only in the
        /// DOM, changed by the server's stream ops. Set when the spec is compiled.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        stream: bool,
        /// What each item renders to.
        body: Box<Node>,
    },
    /// `then` while `test` is truthy, else `otherwise` (or nothing).
    Cond {
        /// The condition.
        test: Expr,
        /// Shown while it holds.
        then: Box<Node>,
        /// Shown otherwise.
        #[serde(rename = "else", skip_serializing_if = "Option::is_none")]
        otherwise: Option<Box<Node>>,
    },
}

/// An HTML element: tag, attributes, classes, event actions, children, and optionally the
/// state var an input shows (two-way binding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Element {
    /// The tag name (`div`, `button`, …).
    pub tag: String,
    /// Attributes; values are kept live.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, Expr>,
    /// CSS classes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class: Vec<String>,
    /// DOM event name (`click`, `submit`, `input`) → what it does.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub on: BTreeMap<String, Action>,
    /// The value an input shows; changed by the server, and by the user through `on.input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<Expr>,
    /// Children.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

/// What an element's event does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Sends an `event` frame: runs `state.handler(payload)` on the server.
    Event {
        /// The state's name.
        state: String,
        /// The handler's name.
        handler: String,
        /// What the payload is.
        payload: Payload,
    },
    /// Client-side navigation (history API; the server runs the page's `on_load`).
    Navigate {
        /// The path.
        to: Expr,
    },
    /// Logs in over HTTP with the form's `username` and `password` (and the CSRF token),
    /// reconnects the socket as that user, then goes to `?next=` or `/`.
    Login,
    /// Logs out over HTTP, reconnects as anonymous, then goes to `to`.
    Logout {
        /// Where to go afterwards.
        to: String,
    },
    /// Posts the form's fields (and the named query-string parameters) as JSON with the
    /// CSRF token to a backend path, such as an account flow's. Field errors (400
    /// `{"field": [...]}`) show next to their inputs, a `detail` above the form; on
    /// success the form is cleared and the answer's `detail` shown, a `user` in the answer
    /// becomes the page's user (the socket reconnects), and `then`, if set, is shown.
    Post {
        /// The backend path (`/accounts/signup/`).
        to: String,
        /// Query-string parameters sent with the fields (`token` of `?token=…`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        query: Vec<String>,
        /// Where to go after a success, if anywhere.
        #[serde(skip_serializing_if = "Option::is_none")]
        then: Option<String>,
    },
    /// Asks first, in a modal dialog (see [`confirm`](crate::confirm)): runs `then` only
    /// when the user confirms; cancelling (the Cancel button, Escape) runs nothing.
    Confirm {
        /// The question (`Cancel order #7?`), kept live.
        message: Expr,
        /// The confirming button's label (default `Confirm`).
        #[serde(skip_serializing_if = "Option::is_none")]
        yes: Option<String>,
        /// The cancelling button's label (default `Cancel`).
        #[serde(skip_serializing_if = "Option::is_none")]
        no: Option<String>,
        /// What runs once confirmed.
        then: Box<Action>,
    },
}

/// The payload of an [`Action::Event`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Payload {
    /// What fits the DOM event: the form's fields (an object) on `submit`, the input's
    /// value on `input`/`change` (a number for number inputs), `null` otherwise.
    Default,
    /// A value computed in the browser.
    Value {
        /// The value.
        v: Expr,
    },
    /// One field of the submitted form.
    Field {
        /// The field's name.
        name: String,
    },
}

/// A handler of state `S`: `handler::<OrderState>("refresh")`. The handler's name is
/// checked when the app starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerRef {
    pub(crate) state: String,
    pub(crate) handler: String,
}

/// Names the handler `name` of state `S`.
pub fn handler<S: State>(name: &str) -> HandlerRef {
    HandlerRef {
        state: S::NAME.to_owned(),
        handler: name.to_owned(),
    }
}

/// An action running `S::name`: by default with the payload the DOM event gives (see
/// [`Payload::Default`]), or another with [`Event::with`] or [`Event::with_field`].
pub fn event<S: State>(name: &str) -> Event {
    handler::<S>(name).into()
}

impl From<HandlerRef> for Action {
    fn from(h: HandlerRef) -> Action {
        Event::from(h).into()
    }
}

/// An [`Action::Event`] being built by [`event`]. Only an event has a payload to choose,
/// and only a post has query parameters and a page to show next: a misuse does not compile.
///
/// ```
/// use duet_state::State;
/// use duet_ui::{Action, event};
/// # #[derive(Debug, Default, serde::Serialize, serde::Deserialize, State)]
/// # #[state(name = "counter")]
/// # struct Counter { count: i64 }
/// # #[duet_state::events]
/// # impl Counter {
/// #     async fn set_to(&mut self, _ctx: &mut duet_state::EventCtx, count: i64) -> duet_state::EventResult {
/// #         self.count = count;
/// #         Ok(())
/// #     }
/// # }
/// let set: Action = event::<Counter>("set_to").with_field("value").into();
/// ```
///
/// ```compile_fail
/// use duet_state::State;
/// use duet_ui::{Action, event};
/// # #[derive(Debug, Default, serde::Serialize, serde::Deserialize, State)]
/// # #[state(name = "counter")]
/// # struct Counter { count: i64 }
/// # #[duet_state::events]
/// # impl Counter {
/// #     async fn set_to(&mut self, _ctx: &mut duet_state::EventCtx, count: i64) -> duet_state::EventResult {
/// #         self.count = count;
/// #         Ok(())
/// #     }
/// # }
/// let set: Action = event::<Counter>("set_to").with_query("token").into();
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an event does nothing until an element runs it (`on_click`, `on_submit`, …)"]
pub struct Event {
    state: String,
    handler: String,
    payload: Payload,
}

impl Event {
    /// The same event with `value` as its payload.
    pub fn with(self, value: impl Into<Expr>) -> Event {
        Event {
            payload: Payload::Value { v: value.into() },
            ..self
        }
    }

    /// The same event with the submitted form's field `name` as its payload.
    pub fn with_field(self, name: &str) -> Event {
        Event {
            payload: Payload::Field { name: name.to_owned() },
            ..self
        }
    }
}

impl From<HandlerRef> for Event {
    fn from(h: HandlerRef) -> Event {
        Event {
            state: h.state,
            handler: h.handler,
            payload: Payload::Default,
        }
    }
}

impl From<Event> for Action {
    fn from(e: Event) -> Action {
        Action::Event {
            state: e.state,
            handler: e.handler,
            payload: e.payload,
        }
    }
}

/// An [`Action::Post`] being built by [`post`](crate::post): the page's query parameters
/// to send and the page to show after a success. A post sends its form's fields; it has no
/// payload to choose, so an event's builders do not compile on it.
///
/// ```
/// use duet_ui::{Action, post};
/// let verify: Action = post("/accounts/verify/").with_query("token").then("/account").into();
/// ```
///
/// ```compile_fail
/// use duet_ui::{Action, post};
/// let verify: Action = post("/accounts/verify/").with_field("token").into();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a post does nothing until a form runs it (`on_submit`)"]
pub struct Post {
    to: String,
    query: Vec<String>,
    then: Option<String>,
}

impl Post {
    /// Posts to the backend path `to`.
    pub(crate) fn new(to: &str) -> Post {
        Post {
            to: to.to_owned(),
            query: Vec::new(),
            then: None,
        }
    }

    /// The same post sending the page's query-string parameter `name` too.
    pub fn with_query(mut self, name: &str) -> Post {
        self.query.push(name.to_owned());
        self
    }

    /// The same post going to `path` after a success.
    pub fn then(self, path: &str) -> Post {
        Post {
            then: Some(path.to_owned()),
            ..self
        }
    }
}

impl From<Post> for Action {
    fn from(p: Post) -> Action {
        Action::Post {
            to: p.to,
            query: p.query,
            then: p.then,
        }
    }
}

/// Navigates to `to` client-side.
pub fn navigate(to: impl Into<Expr>) -> Action {
    Action::Navigate { to: to.into() }
}

/// A piece of UI an app defines once and uses on many pages. Anything implementing it can
/// be a child: `column([nav().into(), …])`.
///
/// ```
/// use duet_ui::{Component, Node, Expr, el, text};
///
/// /// A coloured label for an order's status.
/// struct StatusBadge(Expr);
///
/// impl Component for StatusBadge {
///     fn render(self) -> Node {
///         el("span").class("badge").child(text(self.0))
///     }
/// }
///
/// let node: Node = StatusBadge(Expr::lit("paid")).into();
/// assert!(serde_json::to_string(&node).unwrap().contains("badge"));
/// ```
pub trait Component {
    /// The component as nodes the runtime knows.
    fn render(self) -> Node;
}

impl<C: Component> From<C> for Node {
    fn from(component: C) -> Node {
        component.render()
    }
}

impl Node {
    fn element(self) -> Element {
        match self {
            Node::El(element) => element,
            other => Element {
                tag: "span".into(),
                attrs: BTreeMap::new(),
                class: Vec::new(),
                on: BTreeMap::new(),
                bind: None,
                children: vec![other],
            },
        }
    }

    fn map(self, f: impl FnOnce(&mut Element)) -> Node {
        let mut element = self.element();
        f(&mut element);
        Node::El(element)
    }

    /// Adds CSS classes (space-separated). On a non-element (text, foreach, cond) this wraps
    /// the node in a `<span>` first, as do the other element methods.
    pub fn class(self, classes: &str) -> Node {
        self.map(|e| e.class.extend(classes.split_whitespace().map(str::to_owned)))
    }

    /// Sets an attribute; its value is kept live.
    pub fn attr(self, name: &str, value: impl Into<Expr>) -> Node {
        self.map(|e| {
            e.attrs.insert(name.to_owned(), value.into());
        })
    }

    /// Sets the `id` attribute.
    pub fn id(self, id: &str) -> Node {
        self.attr("id", id)
    }

    /// Runs `action` on the DOM event `event` (`click`, `submit`, `input`, `change`, …).
    pub fn on(self, event: &str, action: impl Into<Action>) -> Node {
        self.map(|e| {
            e.on.insert(event.to_owned(), action.into());
        })
    }

    /// Runs `action` on click.
    pub fn on_click(self, action: impl Into<Action>) -> Node {
        self.on("click", action)
    }

    /// Runs `action` when the form is submitted; by default its payload is the form's
    /// fields, by name.
    pub fn on_submit(self, action: impl Into<Action>) -> Node {
        self.on("submit", action)
    }

    /// Two-way binding: the input shows `value` (a state var) and runs `setter` with the
    /// typed value as the user types.
    pub fn bind(self, value: Expr, setter: impl Into<Action>) -> Node {
        self.map(|e| {
            e.bind = Some(value);
            e.on.insert("input".into(), setter.into());
        })
    }

    /// Appends a child.
    pub fn child(self, child: impl Into<Node>) -> Node {
        self.map(|e| e.children.push(child.into()))
    }

    /// Appends children.
    pub fn children<N: Into<Node>>(self, children: impl IntoIterator<Item = N>) -> Node {
        self.map(|e| e.children.extend(children.into_iter().map(Into::into)))
    }

    /// Sets the key field of a [`foreach`] (no effect on other nodes).
    pub fn key(mut self, field: &str) -> Node {
        if let Node::Foreach { key, .. } = &mut self {
            *key = Some(field.to_owned());
        }
        self
    }

    /// A short description for error messages: `button`, `foreach`, `text`.
    pub(crate) fn label(&self) -> String {
        match self {
            Node::Text { .. } => "text".into(),
            Node::El(e) => match e.attrs.get("name").or_else(|| e.attrs.get("id")) {
                Some(Expr::Lit { v }) => format!("{}[{}]", e.tag, v.as_str().unwrap_or_default()),
                _ => e.tag.clone(),
            },
            Node::Foreach { .. } => "foreach".into(),
            Node::Cond { .. } => "cond".into(),
        }
    }
}

/// An element with tag `tag` (the escape hatch for any HTML element).
pub fn el(tag: &str) -> Node {
    Node::El(Element {
        tag: tag.to_owned(),
        attrs: BTreeMap::new(),
        class: Vec::new(),
        on: BTreeMap::new(),
        bind: None,
        children: Vec::new(),
    })
}

/// Text showing `value`, kept live.
pub fn text(value: impl Into<Expr>) -> Node {
    Node::Text { v: value.into() }
}

/// A heading `<h1>`…`<h6>` (`level` is clamped to 1..=6).
pub fn heading(level: u8, value: impl Into<Expr>) -> Node {
    el(&format!("h{}", level.clamp(1, 6))).child(text(value))
}

/// A paragraph.
pub fn paragraph(value: impl Into<Expr>) -> Node {
    el("p").child(text(value))
}

/// A link navigating client-side to `to` (a plain `<a href>` for new tabs and crawlers).
pub fn link(label: impl Into<Expr>, to: impl Into<Expr>) -> Node {
    let to = to.into();
    el("a")
        .attr("href", to.clone())
        .on_click(navigate(to))
        .child(text(label))
}

/// A button (`type="button"`; inside a form, use [`submit`] to submit it).
pub fn button(label: impl Into<Expr>) -> Node {
    el("button").attr("type", "button").child(text(label))
}

/// A button submitting its form.
pub fn submit(label: impl Into<Expr>) -> Node {
    el("button").attr("type", "submit").child(text(label))
}

/// An `<input name=…>`; see [`Node::bind`] for two-way binding and [`input_kind`] for types.
pub fn input(name: &str) -> Node {
    el("input").attr("name", name)
}

/// An `<input name=… type=…>` (`number`, `password`, `email`, …).
pub fn input_kind(name: &str, kind: &str) -> Node {
    input(name).attr("type", kind)
}

/// A labelled field: `<label>` around a caption and an input.
pub fn field(caption: &str, input: Node) -> Node {
    el("label")
        .class("field")
        .child(el("span").child(text(caption)))
        .child(input)
}

/// A `<form>` with these children; see [`Node::on_submit`].
pub fn form<N: Into<Node>>(children: impl IntoIterator<Item = N>) -> Node {
    el("form").children(children)
}

/// An image.
pub fn image(src: impl Into<Expr>, alt: &str) -> Node {
    el("img").attr("src", src).attr("alt", alt)
}

/// A layout container stacking its children vertically (`<div class="column">`).
pub fn column<N: Into<Node>>(children: impl IntoIterator<Item = N>) -> Node {
    el("div").class("column").children(children)
}

/// A layout container placing its children side by side (`<div class="row">`).
pub fn row<N: Into<Node>>(children: impl IntoIterator<Item = N>) -> Node {
    el("div").class("row").children(children)
}

/// One `body(item)` per item of `list` (a list var), keyed by the state's list key (set
/// another with [`Node::key`]). Over a [`Stream`](duet_state::Stream) var, the items are
/// kept only in the DOM and changed by the server's stream ops (the spec says so once
/// compiled).
pub fn foreach(list: Expr, body: impl FnOnce(&Item) -> Node) -> Node {
    let item = Item::fresh();
    let body = body(&item);
    Node::Foreach {
        list,
        item: item.name().to_owned(),
        key: None,
        stream: false,
        body: Box::new(body),
    }
}

/// `then` while `test` is truthy, else `otherwise`.
pub fn cond(test: Expr, then: impl Into<Node>, otherwise: Option<Node>) -> Node {
    Node::Cond {
        test,
        then: Box::new(then.into()),
        otherwise: otherwise.map(Box::new),
    }
}

/// A table over a list var: one header cell and one cell renderer per column, one keyed
/// row per item.
///
/// ```
/// use duet_ui::{Expr, Table, text};
///
/// # let orders = Expr::lit(serde_json::json!([]));
/// let table = Table::new(orders)
///     .column("Status", |o| text(o.field("status")))
///     .column("Total", |o| text(o.field("total")));
/// let _node: duet_ui::Node = table.into();
/// ```
pub struct Table {
    list: Expr,
    item: Item,
    headers: Vec<String>,
    cells: Vec<Node>,
    row_class: Option<String>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// A table over `list`.
    pub fn new(list: Expr) -> Table {
        Table {
            list,
            item: Item::fresh(),
            headers: Vec::new(),
            cells: Vec::new(),
            row_class: None,
        }
    }

    /// Adds a column.
    pub fn column(mut self, header: &str, cell: impl FnOnce(&Item) -> Node) -> Table {
        self.headers.push(header.to_owned());
        self.cells.push(cell(&self.item));
        self
    }

    /// Sets a class on every row.
    pub fn row_class(mut self, class: &str) -> Table {
        self.row_class = Some(class.to_owned());
        self
    }
}

impl Component for Table {
    fn render(self) -> Node {
        let head = el("thead").child(el("tr").children(self.headers.iter().map(|h| el("th").child(text(h.as_str())))));
        let mut tr = el("tr").children(self.cells.into_iter().map(|c| el("td").child(c)));
        if let Some(class) = &self.row_class {
            tr = tr.class(class);
        }
        let body = el("tbody").child(Node::Foreach {
            list: self.list,
            item: self.item.name().to_owned(),
            key: None,
            stream: false,
            body: Box::new(tr),
        });
        el("table").child(head).child(body)
    }
}
