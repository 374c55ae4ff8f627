//! Values a component shows: literals, state vars, fields of a `foreach` item, route
//! parameters, the logged-in user — evaluated by the browser runtime, kept live.

use std::sync::atomic::{AtomicUsize, Ordering};

use duet_state::State;
use serde::Serialize;
use serde_json::Value;

/// A value computed in the browser. Serialized into the app spec with a `k` (kind) tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "k", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Expr {
    /// A constant.
    Lit {
        /// The value.
        v: Value,
    },
    /// A client var of a state: `states[s][v]`, updated by every delta that changes it.
    Var {
        /// The state's name.
        s: String,
        /// The var's name.
        v: String,
    },
    /// A field of the current item of the enclosing [`foreach`](crate::foreach) named `n`
    /// (the whole item when `f` is empty).
    Item {
        /// The loop's name.
        n: String,
        /// The field's path (`["customer", "name"]`); empty for the item itself.
        f: Vec<String>,
    },
    /// A parameter of the current route (`id` for `/orders/{id}`).
    Param {
        /// The parameter's name.
        p: String,
    },
    /// A field of the logged-in user (`id`, `username`, …); `null` when anonymous.
    User {
        /// The field.
        f: String,
    },
    /// The parts, shown one after the other as a string.
    Concat {
        /// The parts.
        parts: Vec<Expr>,
    },
    /// Whether two values are equal (as JSON, numbers and their decimal strings alike).
    Eq {
        /// One side.
        a: Box<Expr>,
        /// The other.
        b: Box<Expr>,
    },
    /// The opposite of a value's truthiness (`null`, `false`, `0`, `""` and `[]` are false).
    Not {
        /// The value.
        e: Box<Expr>,
    },
    /// A field of an object value (`errors.total`); `null` when absent.
    Get {
        /// The object.
        e: Box<Expr>,
        /// The field's path.
        f: Vec<String>,
    },
    /// The length of a list or string.
    Len {
        /// The list or string.
        e: Box<Expr>,
    },
    /// The sum of two numbers (numeric strings count as numbers): `page + 1`.
    Add {
        /// One side.
        a: Box<Expr>,
        /// The other.
        b: Box<Expr>,
    },
    /// Whether one number is less than another: `page.lt(pages)`.
    Lt {
        /// The smaller one, if true.
        a: Box<Expr>,
        /// The larger one, if true.
        b: Box<Expr>,
    },
}

impl Expr {
    /// A constant.
    pub fn lit(value: impl Into<Value>) -> Expr {
        Expr::Lit { v: value.into() }
    }

    /// `self == other`.
    pub fn eq(self, other: impl Into<Expr>) -> Expr {
        Expr::Eq {
            a: Box::new(self),
            b: Box::new(other.into()),
        }
    }

    /// Whether `self < other`, as numbers (a pagination's "is there a next page").
    pub fn lt(self, other: impl Into<Expr>) -> Expr {
        Expr::Lt {
            a: Box::new(self),
            b: Box::new(other.into()),
        }
    }

    /// The length of `self` (a list or a string).
    pub fn len(self) -> Expr {
        Expr::Len { e: Box::new(self) }
    }

    /// The field `path` of `self` (an object); dots reach into nested objects:
    /// `var::<Orders>("errors").get("total")`.
    pub fn get(self, path: &str) -> Expr {
        Expr::Get {
            e: Box::new(self),
            f: path.split('.').map(str::to_owned).collect(),
        }
    }

    /// The parts one after the other, as a string.
    pub fn concat(parts: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Concat {
            parts: parts.into_iter().collect(),
        }
    }

    /// Calls `f` on every state var this expression reads.
    pub(crate) fn visit_vars(&self, f: &mut dyn FnMut(&str, &str)) {
        match self {
            Expr::Var { s, v } => f(s, v),
            Expr::Concat { parts } => parts.iter().for_each(|p| p.visit_vars(f)),
            Expr::Eq { a, b } | Expr::Add { a, b } | Expr::Lt { a, b } => {
                a.visit_vars(f);
                b.visit_vars(f);
            }
            Expr::Not { e } | Expr::Len { e } | Expr::Get { e, .. } => e.visit_vars(f),
            Expr::Lit { .. } | Expr::Item { .. } | Expr::Param { .. } | Expr::User { .. } => {}
        }
    }
}

/// `!expr`: the opposite of its truthiness.
impl std::ops::Not for Expr {
    type Output = Expr;

    fn not(self) -> Expr {
        Expr::Not { e: Box::new(self) }
    }
}

/// `a + b`, as numbers: `var::<Orders>("page") + 1`.
impl<T: Into<Expr>> std::ops::Add<T> for Expr {
    type Output = Expr;

    fn add(self, other: T) -> Expr {
        Expr::Add {
            a: Box::new(self),
            b: Box::new(other.into()),
        }
    }
}

impl From<&str> for Expr {
    fn from(text: &str) -> Expr {
        Expr::lit(text)
    }
}

impl From<String> for Expr {
    fn from(text: String) -> Expr {
        Expr::lit(text)
    }
}

impl From<i64> for Expr {
    fn from(n: i64) -> Expr {
        Expr::lit(n)
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Expr {
        Expr::lit(b)
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Expr {
        Expr::Lit { v }
    }
}

/// The client var `var` of state `S`, e.g. `var::<CounterState>("count")`. The state's
/// name comes from its type; the var's name is checked when the app starts.
pub fn var<S: State>(var: &str) -> Expr {
    Expr::Var {
        s: S::NAME.to_owned(),
        v: var.to_owned(),
    }
}

/// The route parameter `name` of the current page (`param("id")` on `/orders/{id}`).
pub fn param(name: &str) -> Expr {
    Expr::Param { p: name.to_owned() }
}

/// The logged-in user's `field` (`"username"`, `"id"`), or `null` for anonymous visitors.
pub fn user(field: &str) -> Expr {
    Expr::User { f: field.to_owned() }
}

/// The current item of a [`foreach`](crate::foreach) loop, handed to its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    name: String,
}

impl Item {
    pub(crate) fn fresh() -> Item {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Item {
            name: format!("i{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The item's `field` (`o.field("status")`); dots reach into nested objects.
    pub fn field(&self, field: &str) -> Expr {
        Expr::Item {
            n: self.name.clone(),
            f: field.split('.').map(str::to_owned).collect(),
        }
    }

    /// The item itself (for lists of scalars).
    pub fn value(&self) -> Expr {
        Expr::Item {
            n: self.name.clone(),
            f: Vec::new(),
        }
    }
}

/// `text!(a, " — ", b)`: a [`text`](crate::text) node showing its parts one after the other.
#[macro_export]
macro_rules! text {
    ($($part:expr),+ $(,)?) => {
        $crate::text($crate::Expr::concat([$($crate::Expr::from($part)),+]))
    };
}
