//! A model's description: its fields (name, column, kind, constraints, labels) and indexes.
//! `#[derive(Model)]` writes it; the API, the pages, the admin, the OpenAPI schema and
//! `makemigrations` read it.

/// How a field is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// A 64-bit integer (`BIGINT`).
    Integer,
    /// Text (`TEXT`), at most [`Field::max_length`] characters when set.
    Text,
    /// True or false (`BOOLEAN`).
    Bool,
    /// A UTC date and time (`TIMESTAMP`), RFC 3339 in JSON.
    DateTime,
    /// A calendar date (`DATE`), `YYYY-MM-DD` in JSON.
    Date,
    /// Any JSON value, stored as text.
    Json,
    /// A decimal number stored as a scaled integer (`BIGINT`): with `places: 2`, `12.50` is
    /// stored as `1250`. A decimal string in JSON.
    Decimal {
        /// Digits after the decimal point.
        places: u8,
    },
    /// An amount of money in minor units (cents, `BIGINT`), a decimal string in JSON
    /// (`"12.50"`); the currency, if any, is a field of its own.
    Money,
    /// Text restricted to the listed values (a `Choices` enum).
    Choice(&'static [Choice]),
    /// The id of a row of another model (`BIGINT REFERENCES table (id)`).
    ForeignKey {
        /// The referenced model's name (`"user"`).
        model: &'static str,
        /// The referenced model's table (`"users"`).
        table: &'static str,
    },
}

impl FieldKind {
    /// Whether values of this kind are stored as integers.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            FieldKind::Integer | FieldKind::Decimal { .. } | FieldKind::Money | FieldKind::ForeignKey { .. }
        )
    }
}

/// One allowed value of a choice field, with its label for forms and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The stored and sent value (`"shipped"`).
    pub value: &'static str,
    /// What people read (`"Shipped"`).
    pub label: &'static str,
}

/// A constant value, as a column default in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    /// An integer (also decimals and money, in their stored unit).
    Integer(i64),
    /// Text (also choices).
    Text(&'static str),
    /// A boolean.
    Bool(bool),
}

/// When a timestamp or date sets itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoNow {
    /// Never: the value is given.
    #[default]
    No,
    /// When the row is created (Django's `auto_now_add`).
    OnCreate,
    /// Whenever the row is saved (Django's `auto_now`).
    OnSave,
}

/// One field of a [`Model`](crate::Model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The field's name, as in JSON, query strings and forms (`"customer"`).
    pub name: &'static str,
    /// Its column (`"customer_id"`).
    pub column: &'static str,
    /// How it is stored and shown.
    pub kind: FieldKind,
    /// Whether it may be empty (`NULL`, `None`, JSON `null`).
    pub nullable: bool,
    /// Set by the system (ids, owners, timestamps, generated references), never by a
    /// client: input for it is ignored.
    pub read_only: bool,
    /// The primary key.
    pub primary_key: bool,
    /// Never shown: not in JSON, forms, the admin or the API schema (a password hash).
    pub secret: bool,
    /// No two rows share a value.
    pub unique: bool,
    /// The column has an index of its own.
    pub index: bool,
    /// The longest text allowed, in characters.
    pub max_length: Option<u32>,
    /// Whether empty text is allowed (DRF's `allow_blank`).
    pub blank: bool,
    /// A regular expression text must match, when set.
    pub pattern: Option<&'static str>,
    /// The smallest value allowed (integers; decimals and money in their stored unit).
    pub min: Option<i64>,
    /// The largest value allowed.
    pub max: Option<i64>,
    /// The column's default in SQL, used for rows that exist before the column does.
    pub db_default: Option<Literal>,
    /// Whether it sets itself to the current time.
    pub auto_now: AutoNow,
    /// The label for forms and docs (`"placed at"`).
    pub verbose_name: &'static str,
    /// A sentence for forms and docs.
    pub help_text: &'static str,
}

impl Field {
    /// A writable, required field stored in a column of the same name.
    pub const fn new(name: &'static str, kind: FieldKind) -> Field {
        Field {
            name,
            column: name,
            kind,
            nullable: false,
            read_only: false,
            primary_key: false,
            secret: false,
            unique: false,
            index: false,
            max_length: None,
            blank: false,
            pattern: None,
            min: None,
            max: None,
            db_default: None,
            auto_now: AutoNow::No,
            verbose_name: name,
            help_text: "",
        }
    }

    /// A field clients may read but not write.
    pub const fn read_only(name: &'static str, kind: FieldKind) -> Field {
        let mut field = Field::new(name, kind);
        field.read_only = true;
        field
    }

    /// The field's choices, when it is a choice field.
    pub fn choices(&self) -> Option<&'static [Choice]> {
        match self.kind {
            FieldKind::Choice(choices) => Some(choices),
            _ => None,
        }
    }
}

/// An index over one or more columns (a field's own `index` or `unique` is not listed here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    /// Its name in the database (`"orders_customer_placed"`).
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [&'static str],
    /// Whether it is a unique constraint.
    pub unique: bool,
}

/// A field of model `M`, named at compile time (`Order::STATUS`): what a viewset's or the
/// admin's options take, so a misspelt field is a compile error, not a runtime one.
pub struct FieldRef<M> {
    name: &'static str,
    model: std::marker::PhantomData<fn() -> M>,
}

impl<M> FieldRef<M> {
    /// The field `name` of `M` (written by `#[derive(Model)]`).
    pub const fn new(name: &'static str) -> FieldRef<M> {
        FieldRef {
            name,
            model: std::marker::PhantomData,
        }
    }

    /// The field's name.
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// Sorting by this field, smallest first.
    pub const fn asc(self) -> crate::OrderBy {
        crate::OrderBy {
            field: self.name,
            descending: false,
        }
    }

    /// Sorting by this field, largest first.
    pub const fn desc(self) -> crate::OrderBy {
        crate::OrderBy {
            field: self.name,
            descending: true,
        }
    }
}

impl<M> Clone for FieldRef<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for FieldRef<M> {}

impl<M> std::fmt::Debug for FieldRef<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldRef({})", self.name)
    }
}

impl<M> From<FieldRef<M>> for &'static str {
    fn from(field: FieldRef<M>) -> &'static str {
        field.name
    }
}

impl<M> PartialEq for FieldRef<M> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
