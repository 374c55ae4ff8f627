//! A table as the migrations built it and as the models want it, normalised so that the two
//! compare: types by class, uniqueness whatever declared it, defaults as values.

use std::collections::BTreeMap;

use crate::Literal;
use crate::migrate::Backend;

/// A column's type by class: what SQLite's declared types and PostgreSQL's types agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// `INTEGER`, `BIGINT` and the other integers.
    Integer,
    /// `TEXT`, `VARCHAR`, `CHAR`.
    Text,
    /// `BOOLEAN`.
    Bool,
    /// `TIMESTAMP` (without time zone), or SQLite's `DATETIME`.
    Timestamp,
    /// `DATE`.
    Date,
    /// Any other type, as declared (uppercase): models never want it.
    Other(String),
}

impl ColumnType {
    /// The class of an SQLite declared type (`BIGINT`, `VARCHAR(20)`, `TIMESTAMP`).
    pub(crate) fn from_sqlite(declared: &str) -> ColumnType {
        let upper = declared.trim().to_ascii_uppercase();
        let base = upper.split('(').next().unwrap_or_default().trim();
        match base {
            "INTEGER" | "INT" | "BIGINT" | "SMALLINT" | "TINYINT" | "MEDIUMINT" | "INT2" | "INT8" => {
                ColumnType::Integer
            }
            "TEXT" | "VARCHAR" | "CHAR" | "CHARACTER" | "CHARACTER VARYING" | "CLOB" => ColumnType::Text,
            "BOOLEAN" | "BOOL" => ColumnType::Bool,
            "TIMESTAMP" | "DATETIME" => ColumnType::Timestamp,
            "DATE" => ColumnType::Date,
            _ => ColumnType::Other(upper),
        }
    }

    /// The class of a PostgreSQL type as `information_schema.columns.data_type` names it.
    pub(crate) fn from_postgres(data_type: &str) -> ColumnType {
        match data_type {
            "bigint" | "integer" | "smallint" => ColumnType::Integer,
            "text" | "character varying" | "character" => ColumnType::Text,
            "boolean" => ColumnType::Bool,
            "timestamp without time zone" => ColumnType::Timestamp,
            "date" => ColumnType::Date,
            other => ColumnType::Other(other.to_ascii_uppercase()),
        }
    }

    /// The type generated migrations declare for the class, on both backends.
    pub(crate) fn sql(&self) -> &str {
        match self {
            ColumnType::Integer => "BIGINT",
            ColumnType::Text => "TEXT",
            ColumnType::Bool => "BOOLEAN",
            ColumnType::Timestamp => "TIMESTAMP",
            ColumnType::Date => "DATE",
            ColumnType::Other(declared) => declared,
        }
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnType::Integer => f.write_str("integer"),
            ColumnType::Text => f.write_str("text"),
            ColumnType::Bool => f.write_str("boolean"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Other(declared) => f.write_str(declared),
        }
    }
}

/// A column's default, as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    /// An integer.
    Integer(i64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// Anything else (`CURRENT_TIMESTAMP`, a function call), as SQL.
    Expression(String),
}

impl DefaultValue {
    /// Reads a default as the database shows it (`'pending'`, `1`, `TRUE`, `''::text`,
    /// `'-5'::integer`), by the class of its column.
    pub(crate) fn parse(sql: &str, class: &ColumnType) -> DefaultValue {
        let value = strip_casts(sql.trim());
        let text = unquote(value);
        let expression = || DefaultValue::Expression(sql.trim().to_owned());
        match class {
            ColumnType::Integer => text
                .as_deref()
                .unwrap_or(value)
                .parse()
                .map_or_else(|_| expression(), DefaultValue::Integer),
            ColumnType::Bool => match text.as_deref().unwrap_or(value).to_ascii_lowercase().as_str() {
                "1" | "true" | "t" => DefaultValue::Bool(true),
                "0" | "false" | "f" => DefaultValue::Bool(false),
                _ => expression(),
            },
            _ => text.map_or_else(expression, DefaultValue::Text),
        }
    }

    /// The default as SQL: booleans as `1`/`0` on SQLite (as the hand-written migrations
    /// have them) and `TRUE`/`FALSE` on PostgreSQL.
    pub(crate) fn sql(&self, backend: Backend) -> String {
        match self {
            DefaultValue::Integer(n) => n.to_string(),
            DefaultValue::Text(text) => format!("'{}'", text.replace('\'', "''")),
            DefaultValue::Bool(b) => match (backend, b) {
                (Backend::Postgres, true) => "TRUE".into(),
                (Backend::Postgres, false) => "FALSE".into(),
                (Backend::Sqlite, true) => "1".into(),
                (Backend::Sqlite, false) => "0".into(),
            },
            DefaultValue::Expression(sql) => sql.clone(),
        }
    }
}

impl std::fmt::Display for DefaultValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefaultValue::Bool(b) => write!(f, "{b}"),
            other => f.write_str(&other.sql(Backend::Postgres)),
        }
    }
}

impl From<Literal> for DefaultValue {
    fn from(literal: Literal) -> Self {
        match literal {
            Literal::Integer(n) => DefaultValue::Integer(n),
            Literal::Text(text) => DefaultValue::Text(text.to_owned()),
            Literal::Bool(b) => DefaultValue::Bool(b),
        }
    }
}

/// `'x'::text` → `'x'`; `('-5'::integer)` → `'-5'`.
fn strip_casts(sql: &str) -> &str {
    let mut value = sql;
    loop {
        let inner = value.strip_prefix('(').and_then(|v| v.strip_suffix(')')).map(str::trim);
        let uncast = match value.rfind("::") {
            // Only a cast after the value: not `::` inside a quoted string.
            Some(at) if !value[at..].contains('\'') => Some(value[..at].trim()),
            _ => None,
        };
        match inner.or(uncast) {
            Some(next) => value = next,
            None => return value,
        }
    }
}

/// The text of a quoted SQL string (`'it''s'` → `it's`), or `None` when it is not one.
fn unquote(sql: &str) -> Option<String> {
    let inner = sql.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type, by class.
    pub kind: ColumnType,
    /// Whether it accepts `NULL` (never for the primary key).
    pub nullable: bool,
    /// Whether it is the table's primary key (an auto-incremented integer).
    pub primary_key: bool,
    /// Its default (never for the primary key, whose default is its sequence).
    pub default: Option<DefaultValue>,
}

/// An index, or a unique constraint (which both backends keep as an index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableIndex {
    /// Its name (for a constraint on SQLite, the `sqlite_autoindex_…` SQLite chose).
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Whether no two rows may share its values.
    pub unique: bool,
    /// Declared as a `UNIQUE` constraint in `CREATE TABLE` rather than by `CREATE INDEX`:
    /// SQLite drops it only by rebuilding the table, PostgreSQL with `DROP CONSTRAINT`.
    pub constraint: bool,
}

impl TableIndex {
    /// Whether `other` indexes the same columns with the same uniqueness, whatever its name
    /// and however it was declared.
    pub fn same_as(&self, other: &TableIndex) -> bool {
        self.columns == other.columns && self.unique == other.unique
    }
}

/// What happens to a row when the row it references is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// It is deleted too (what models want).
    Cascade,
    /// Its reference becomes `NULL`.
    SetNull,
    /// Its reference becomes the column's default.
    SetDefault,
    /// The delete is refused.
    Restrict,
    /// The delete is refused when the transaction ends.
    NoAction,
}

impl OnDelete {
    /// Reads SQLite's `on_delete` (`CASCADE`, `NO ACTION`, …).
    pub(crate) fn from_sqlite(action: &str) -> OnDelete {
        match action.to_ascii_uppercase().as_str() {
            "CASCADE" => OnDelete::Cascade,
            "SET NULL" => OnDelete::SetNull,
            "SET DEFAULT" => OnDelete::SetDefault,
            "RESTRICT" => OnDelete::Restrict,
            _ => OnDelete::NoAction,
        }
    }

    /// Reads PostgreSQL's `pg_constraint.confdeltype` (`c`, `n`, `d`, `r`, `a`).
    pub(crate) fn from_postgres(code: &str) -> OnDelete {
        match code {
            "c" => OnDelete::Cascade,
            "n" => OnDelete::SetNull,
            "d" => OnDelete::SetDefault,
            "r" => OnDelete::Restrict,
            _ => OnDelete::NoAction,
        }
    }

    /// The action as SQL.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            OnDelete::SetDefault => "SET DEFAULT",
            OnDelete::Restrict => "RESTRICT",
            OnDelete::NoAction => "NO ACTION",
        }
    }
}

/// A column referencing another table's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referencing column.
    pub column: String,
    /// The referenced table.
    pub table: String,
    /// The referenced column (`id`).
    pub target: String,
    /// What deleting the referenced row does.
    pub on_delete: OnDelete,
}

/// A table: columns, indexes and unique constraints, foreign keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Its indexes and unique constraints (not the primary key's).
    pub indexes: Vec<TableIndex>,
    /// Its single-column foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// What the table has that models cannot describe (`CHECK` constraints, triggers,
    /// partial indexes…): kept by `ALTER TABLE`, lost by SQLite's table rebuild, so a
    /// change that needs a rebuild of such a table is left to be written by hand.
    pub unmodelled: Vec<String>,
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The foreign key of column `column`.
    pub fn foreign_key(&self, column: &str) -> Option<&ForeignKey> {
        self.foreign_keys.iter().find(|fk| fk.column == column)
    }

    /// Whether an index like `index` (same columns, same uniqueness) exists.
    pub fn has_index_like(&self, index: &TableIndex) -> bool {
        self.indexes.iter().any(|i| i.same_as(index))
    }
}

/// Every table of a database, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    tables: BTreeMap<String, Table>,
}

impl Schema {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Every table, by name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    pub(crate) fn insert(&mut self, table: Table) {
        self.tables.insert(table.name.clone(), table);
    }
}

#[cfg(test)]
mod tests {
    use super::{ColumnType, DefaultValue};
    use crate::migrate::Backend;

    fn check(sql: &str, class: &ColumnType, expected: &DefaultValue) {
        assert_eq!(&DefaultValue::parse(sql, class), expected, "{sql} as {class}");
    }

    #[test]
    fn defaults_read_as_values_on_both_backends() {
        use DefaultValue::*;
        check("'pending'", &ColumnType::Text, &Text("pending".into()));
        check("'pending'::text", &ColumnType::Text, &Text("pending".into()));
        check("''::text", &ColumnType::Text, &Text(String::new()));
        check("'it''s'", &ColumnType::Text, &Text("it's".into()));
        check("'a::b'::character varying", &ColumnType::Text, &Text("a::b".into()));
        check("1", &ColumnType::Bool, &Bool(true));
        check("0", &ColumnType::Bool, &Bool(false));
        check("TRUE", &ColumnType::Bool, &Bool(true));
        check("false", &ColumnType::Bool, &Bool(false));
        check("0", &ColumnType::Integer, &Integer(0));
        check("'-5'::integer", &ColumnType::Integer, &Integer(-5));
        check("(-5)", &ColumnType::Integer, &Integer(-5));
        check(
            "CURRENT_TIMESTAMP",
            &ColumnType::Timestamp,
            &Expression("CURRENT_TIMESTAMP".into()),
        );
        check("now()", &ColumnType::Timestamp, &Expression("now()".into()));
    }

    #[test]
    fn defaults_render_per_backend() {
        assert_eq!(DefaultValue::Bool(true).sql(Backend::Sqlite), "1");
        assert_eq!(DefaultValue::Bool(true).sql(Backend::Postgres), "TRUE");
        assert_eq!(DefaultValue::Text("it's".into()).sql(Backend::Postgres), "'it''s'");
        assert_eq!(DefaultValue::Integer(-5).sql(Backend::Sqlite), "-5");
    }

    #[test]
    fn types_are_normalised_by_class() {
        for (declared, class) in [
            ("INTEGER", ColumnType::Integer),
            ("BIGINT", ColumnType::Integer),
            ("bigint", ColumnType::Integer),
            ("TEXT", ColumnType::Text),
            ("VARCHAR(20)", ColumnType::Text),
            ("BOOLEAN", ColumnType::Bool),
            ("TIMESTAMP", ColumnType::Timestamp),
            ("DATETIME", ColumnType::Timestamp),
            ("DATE", ColumnType::Date),
            ("BLOB", ColumnType::Other("BLOB".into())),
        ] {
            assert_eq!(ColumnType::from_sqlite(declared), class, "{declared}");
        }
        assert_eq!(ColumnType::from_postgres("bigint"), ColumnType::Integer);
        assert_eq!(
            ColumnType::from_postgres("timestamp without time zone"),
            ColumnType::Timestamp
        );
        assert_eq!(
            ColumnType::from_postgres("timestamp with time zone"),
            ColumnType::Other("TIMESTAMP WITH TIME ZONE".into())
        );
    }
}
