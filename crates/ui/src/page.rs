//! A page: a route pattern, a title, its `on_load` handlers, whether it needs a login, and
//! its component tree.

use std::collections::BTreeMap;

use crate::node::{HandlerRef, Node, column};

/// One page of the app.
///
/// ```
/// use duet_ui::{Page, heading};
///
/// let page = Page::new("/orders/{id}").title("Order").login_required().body(heading(1, "Order"));
/// assert_eq!(page.matches("/orders/7").unwrap()["id"], "7");
/// assert!(page.matches("/orders").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Page {
    pub(crate) pattern: String,
    pub(crate) title: String,
    pub(crate) login_required: bool,
    pub(crate) on_load: Vec<HandlerRef>,
    pub(crate) body: Node,
}

impl Page {
    /// A page at `pattern`: a path whose segments may be parameters, `/orders/{id}`.
    pub fn new(pattern: &str) -> Page {
        Page {
            pattern: pattern.to_owned(),
            title: String::new(),
            login_required: false,
            on_load: Vec::new(),
            body: column(Vec::<Node>::new()),
        }
    }

    /// The document's title while the page shows (the app's name when unset).
    pub fn title(mut self, title: &str) -> Page {
        self.title = title.to_owned();
        self
    }

    /// Runs `handler` whenever a tab shows this page: on load, on reload and after
    /// client-side navigation. Registered with the state registry's `on_load`.
    pub fn on_load(mut self, handler: HandlerRef) -> Page {
        self.on_load.push(handler);
        self
    }

    /// Anonymous visitors are sent to the login page (with `?next=` back here).
    pub fn login_required(mut self) -> Page {
        self.login_required = true;
        self
    }

    /// The page's component tree.
    pub fn body(mut self, body: impl Into<Node>) -> Page {
        self.body = body.into();
        self
    }

    /// The route pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether anonymous visitors are sent to the login page.
    pub fn requires_login(&self) -> bool {
        self.login_required
    }

    /// The page's title.
    pub fn page_title(&self) -> &str {
        &self.title
    }

    /// The parameters `path` gives this page's pattern, or `None` when it does not match.
    /// A `{name}` segment matches one non-empty segment; a trailing slash is not ignored.
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        match_pattern(&self.pattern, path)
    }
}

/// Matches `path` against `pattern` segment by segment (the runtime does the same).
pub(crate) fn match_pattern(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    if pattern.len() != path.len() {
        return None;
    }
    for (want, got) in pattern.iter().zip(&path) {
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) if !got.is_empty() => {
                params.insert(name.to_owned(), (*got).to_owned());
            }
            Some(_) => return None,
            None if want == got => {}
            None => return None,
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::match_pattern;

    #[test]
    fn patterns_match_segment_by_segment() {
        let check = |pattern: &str, path: &str, expected: Option<&[(&str, &str)]>| {
            let got = match_pattern(pattern, path);
            let expected =
                expected.map(|pairs| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
            assert_eq!(got, expected, "{pattern} vs {path}");
        };
        check("/", "/", Some(&[]));
        check("/", "/x", None);
        check("/orders", "/orders", Some(&[]));
        check("/orders", "/orders/", None);
        check("/orders/{id}", "/orders/7", Some(&[("id", "7")]));
        check("/orders/{id}", "/orders/", None);
        check("/orders/{id}", "/orders/7/x", None);
        check("/a/{x}/b/{y}", "/a/1/b/2", Some(&[("x", "1"), ("y", "2")]));
    }
}
