//! The app's UI: its pages, a shared layout, the login and not-found pages, compiled at
//! start-up into one JSON app spec checked against the state registry.

use std::sync::Arc;

use duet_state::{Registry, RegistryError};
use serde_json::{Value, json};

use crate::expr::Expr;
use crate::node::{Action, Node, heading, link, paragraph};
use crate::page::Page;

type Layout = Arc<dyn Fn(Node) -> Node + Send + Sync>;

/// Every page of the app.
///
/// ```
/// use duet_ui::{Page, Ui, heading};
///
/// let ui = Ui::new("Shop").page(Page::new("/").title("Home").body(heading(1, "Hello")));
/// let compiled = ui.compile(&duet_state::Registry::new()).expect("a valid UI");
/// assert!(compiled.spec().contains(r#""path":"/""#));
/// assert_eq!(compiled.page_for("/").unwrap().page_title(), "Home");
/// ```
#[derive(Clone)]
pub struct Ui {
    name: String,
    pages: Vec<Page>,
    layout: Option<Layout>,
    login_page: String,
    not_found: Node,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("name", &self.name)
            .field("pages", &self.pages.iter().map(Page::pattern).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why the UI could not be compiled: the message names the page and the component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    /// A component reads a state that is not registered.
    #[error("page {page}: component `{component}` reads state {state:?}, which is not registered")]
    UnknownState {
        /// The page's pattern.
        page: String,
        /// Where in the page (`main > ul > foreach > li > text`).
        component: String,
        /// The state.
        state: String,
    },
    /// A component reads a var the state does not have.
    #[error("page {page}: component `{component}` reads {state}.{var}, which does not exist (vars: {known})")]
    UnknownVar {
        /// The page's pattern.
        page: String,
        /// Where in the page.
        component: String,
        /// The state.
        state: String,
        /// The var.
        var: String,
        /// The state's client vars.
        known: String,
    },
    /// A component other than a `foreach` over it reads a stream var: the browser holds
    /// the stream's items only in that foreach's DOM.
    #[error(
        "page {page}: component `{component}` reads {state}.{var}, a stream: only a foreach (or Table) over it can \
         show it (the server keeps no items to count or compare)"
    )]
    StreamRead {
        /// The page's pattern.
        page: String,
        /// The component's path in the page.
        component: String,
        /// The state.
        state: String,
        /// The stream var.
        var: String,
    },
    /// A component runs a handler the state does not have.
    #[error("page {page}: component `{component}` runs {state}.{handler}, which does not exist (handlers: {known})")]
    UnknownHandler {
        /// The page's pattern.
        page: String,
        /// Where in the page.
        component: String,
        /// The state.
        state: String,
        /// The handler.
        handler: String,
        /// The state's handlers.
        known: String,
    },
    /// Two pages have the same pattern, or a pattern is not an absolute path.
    #[error("page {page}: {problem}")]
    BadPage {
        /// The page's pattern.
        page: String,
        /// What is wrong.
        problem: String,
    },
    /// A page's `on_load` names an unknown state or handler.
    #[error("page {page}: on_load: {source}")]
    OnLoad {
        /// The page's pattern.
        page: String,
        /// The registry's complaint.
        source: RegistryError,
    },
}

impl Ui {
    /// No pages yet; `name` is the title of pages that set none.
    pub fn new(name: &str) -> Ui {
        Ui {
            name: name.to_owned(),
            pages: Vec::new(),
            layout: None,
            login_page: "/login".into(),
            not_found: crate::node::column([
                heading(1, "Page not found"),
                paragraph("There is nothing at this address."),
                link("Go to the home page", "/"),
            ]),
        }
    }

    /// Adds a page.
    pub fn page(mut self, page: Page) -> Ui {
        self.pages.push(page);
        self
    }

    /// Wraps every page's body (and the not-found page) in `layout`: a header, a nav bar.
    pub fn layout(mut self, layout: impl Fn(Node) -> Node + Send + Sync + 'static) -> Ui {
        self.layout = Some(Arc::new(layout));
        self
    }

    /// Where pages needing a login send anonymous visitors (default `/login`).
    pub fn login_page(mut self, path: &str) -> Ui {
        self.login_page = path.to_owned();
        self
    }

    /// The body shown for paths no page matches (served with HTTP 404).
    pub fn not_found(mut self, body: impl Into<Node>) -> Ui {
        self.not_found = body.into();
        self
    }

    /// The login page's path.
    pub fn login_path(&self) -> &str {
        &self.login_page
    }

    /// Registers every page's `on_load` handlers with `registry` (skipping ones the app
    /// already registered there for the same pattern).
    pub fn register_on_load(&self, registry: &mut Registry) -> Result<(), UiError> {
        for page in &self.pages {
            for h in &page.on_load {
                let (_, existing) = registry.resolve(&page.pattern);
                if existing
                    .iter()
                    .any(|o| o.pattern == page.pattern && o.state == h.state && o.handler == h.handler)
                {
                    continue;
                }
                registry
                    .on_load(&page.pattern, &h.state, &h.handler)
                    .map_err(|source| UiError::OnLoad {
                        page: page.pattern.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// Checks every page against `registry` and builds the app spec.
    pub fn compile(&self, registry: &Registry) -> Result<CompiledUi, UiError> {
        let mut pages = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for page in &self.pages {
            if !page.pattern.starts_with('/') {
                return Err(UiError::BadPage {
                    page: page.pattern.clone(),
                    problem: "a page's pattern is an absolute path such as /orders".into(),
                });
            }
            if !seen.insert(page.pattern.clone()) {
                return Err(UiError::BadPage {
                    page: page.pattern.clone(),
                    problem: "two pages have this pattern".into(),
                });
            }
            let body = self.with_layout(page.body.clone());
            let body = check(&page.pattern, &body, registry)?;
            pages.push(json!({
                "path": page.pattern,
                "title": self.title_of(page),
                "login_required": page.login_required,
                "body": body,
            }));
        }
        let not_found = check("(not found)", &self.with_layout(self.not_found.clone()), registry)?;
        let spec = json!({
            "version": 1,
            "name": self.name,
            "login_page": self.login_page,
            "pages": pages,
            "not_found": {"title": format!("Not found · {}", self.name), "body": not_found},
        });
        Ok(CompiledUi {
            spec: spec.to_string(),
            pages: self
                .pages
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.title = self.title_of(&p);
                    p
                })
                .collect(),
            name: self.name.clone(),
            login_page: self.login_page.clone(),
        })
    }

    fn title_of(&self, page: &Page) -> String {
        if page.title.is_empty() {
            self.name.clone()
        } else {
            page.title.clone()
        }
    }

    fn with_layout(&self, body: Node) -> Node {
        match &self.layout {
            Some(layout) => layout(body),
            None => body,
        }
    }
}

/// The checked UI: the spec's JSON and what the server needs to answer page paths.
#[derive(Debug, Clone)]
pub struct CompiledUi {
    spec: String,
    pages: Vec<Page>,
    name: String,
    login_page: String,
}

impl CompiledUi {
    /// The app spec, as JSON text (the runtime fetches it).
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The page `path` shows, if any.
    pub fn page_for(&self, path: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.matches(path).is_some())
    }

    /// The title of the not-found page.
    pub fn not_found_title(&self) -> String {
        format!("Not found · {}", self.name)
    }

    /// The login page's path.
    pub fn login_page(&self) -> &str {
        &self.login_page
    }

    /// Every page, with its title resolved.
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }
}

/// Checks `node` and returns its JSON, with `foreach` keys filled in from the registry.
fn check(page: &str, node: &Node, registry: &Registry) -> Result<Value, UiError> {
    let mut path = Vec::new();
    let mut node = node.clone();
    walk(page, &mut node, registry, &mut path)?;
    Ok(serde_json::to_value(&node).unwrap_or(Value::Null))
}

fn walk(page: &str, node: &mut Node, registry: &Registry, path: &mut Vec<String>) -> Result<(), UiError> {
    path.push(node.label());
    let here = path.join(" > ");
    let check_expr = |expr: &Expr| -> Result<(), UiError> {
        let mut result = Ok(());
        expr.visit_vars(&mut |state, var| {
            if result.is_err() {
                return;
            }
            result = check_var(page, &here, registry, state, var, false);
        });
        result
    };
    match node {
        Node::Text { v } => check_expr(v)?,
        Node::El(element) => {
            for value in element.attrs.values() {
                check_expr(value)?;
            }
            if let Some(bind) = &element.bind {
                check_expr(bind)?;
            }
            for action in element.on.values() {
                check_action(page, &here, registry, action, &check_expr)?;
            }
            for child in &mut element.children {
                walk(page, child, registry, path)?;
            }
        }
        Node::Foreach {
            list,
            key,
            stream,
            body,
            ..
        } => {
            match list {
                // The one place a stream var may be read: as the list itself.
                Expr::Var { s, v } => {
                    check_var(page, &here, registry, s, v, true)?;
                    let entry = registry.get(s);
                    *stream = entry.is_some_and(|e| e.is_stream(v));
                    if key.is_none() {
                        *key = entry.and_then(|e| e.list_key(v)).map(str::to_owned);
                    }
                }
                other => check_expr(other)?,
            }
            walk(page, body, registry, path)?;
        }
        Node::Cond { test, then, otherwise } => {
            check_expr(test)?;
            walk(page, then, registry, path)?;
            if let Some(otherwise) = otherwise {
                walk(page, otherwise, registry, path)?;
            }
        }
    }
    path.pop();
    Ok(())
}

/// Checks the handler an action runs and the values it reads (through a confirmation too).
fn check_action(
    page: &str,
    component: &str,
    registry: &Registry,
    action: &Action,
    check_expr: &dyn Fn(&Expr) -> Result<(), UiError>,
) -> Result<(), UiError> {
    match action {
        Action::Event {
            state,
            handler,
            payload,
        } => {
            check_handler(page, component, registry, state, handler)?;
            if let crate::node::Payload::Value { v } = payload {
                check_expr(v)?;
            }
            Ok(())
        }
        Action::Navigate { to } => check_expr(to),
        Action::Confirm { message, then, .. } => {
            check_expr(message)?;
            check_action(page, component, registry, then, check_expr)
        }
        Action::Login | Action::Logout { .. } | Action::Post { .. } => Ok(()),
    }
}

/// Checks that `state.var` exists; a stream var only as a `foreach`'s list (`as_list`).
fn check_var(
    page: &str,
    component: &str,
    registry: &Registry,
    state: &str,
    var: &str,
    as_list: bool,
) -> Result<(), UiError> {
    let entry = registry.get(state).ok_or_else(|| UiError::UnknownState {
        page: page.into(),
        component: component.into(),
        state: state.into(),
    })?;
    if entry.is_stream(var) && !as_list {
        return Err(UiError::StreamRead {
            page: page.into(),
            component: component.into(),
            state: state.into(),
            var: var.into(),
        });
    }
    let vars = entry.view(None).client;
    if vars.contains_key(var) {
        return Ok(());
    }
    Err(UiError::UnknownVar {
        page: page.into(),
        component: component.into(),
        state: state.into(),
        var: var.into(),
        known: vars.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

fn check_handler(page: &str, component: &str, registry: &Registry, state: &str, handler: &str) -> Result<(), UiError> {
    let entry = registry.get(state).ok_or_else(|| UiError::UnknownState {
        page: page.into(),
        component: component.into(),
        state: state.into(),
    })?;
    if entry.handler_names().contains(&handler) {
        return Ok(());
    }
    Err(UiError::UnknownHandler {
        page: page.into(),
        component: component.into(),
        state: state.into(),
        handler: handler.into(),
        known: entry.handler_names().join(", "),
    })
}
