//! A model's table as plain data: the description `#[derive(Model)]` writes, readable
//! without the model's type, and the [`Table`] it asks for.

use super::table::{Column, ColumnType, DefaultValue, ForeignKey, OnDelete, Table, TableIndex};
use crate::{Error, Field, FieldKind, Index, Model, Result};

/// A model's name, table, fields and indexes: what `makemigrations` and the start-up check
/// compare with the database. [`ModelSchema::of`] reads it from a [`Model`]; tests build it
/// by hand.
///
/// Generated tables follow one convention: the primary key is an auto-incremented integer;
/// a foreign key references the other table's `id`, `ON DELETE CASCADE`; a field's
/// [`index`](Field::index) is the index `{table}_{column}`; its [`unique`](Field::unique) is
/// the unique index `{table}_{column}_key`; [`Model::indexes`] are created as named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSchema {
    /// The model's name (`"order"`).
    pub name: &'static str,
    /// Its table (`"orders"`).
    pub table: &'static str,
    /// Its fields, in declaration order.
    pub fields: &'static [Field],
    /// Its indexes over several columns.
    pub indexes: &'static [Index],
}

/// Why a model's description cannot be a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelProblem {
    /// No field is the primary key.
    NoPrimaryKey,
    /// Several fields are (composite keys are not generated).
    SeveralPrimaryKeys(Vec<&'static str>),
    /// The primary key is not an integer.
    PrimaryKeyNotInteger(&'static str),
    /// Two fields name the same column.
    DuplicateColumn(&'static str),
    /// An index has no columns.
    EmptyIndex(&'static str),
    /// An index names a column no field has.
    UnknownIndexColumn {
        /// The index.
        index: &'static str,
        /// The column.
        column: &'static str,
    },
    /// A field's `db_default` is not a value of its kind (text for an integer…).
    DefaultMismatch(&'static str),
    /// Another model has the same table.
    DuplicateTable(&'static str),
    /// A foreign key references a table neither the migrations nor the models create.
    UnknownTable {
        /// The field.
        field: &'static str,
        /// The table it references.
        table: &'static str,
    },
}

impl std::fmt::Display for ModelProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelProblem::NoPrimaryKey => f.write_str("no field is its primary key (`primary_key`)"),
            ModelProblem::SeveralPrimaryKeys(fields) => write!(
                f,
                "several fields are its primary key ({}); migrations are generated for one integer primary key",
                fields.join(", ")
            ),
            ModelProblem::PrimaryKeyNotInteger(field) => write!(
                f,
                "its primary key {field} is not an integer; migrations are generated for an auto-incremented integer key"
            ),
            ModelProblem::DuplicateColumn(column) => write!(f, "two fields have the column {column}"),
            ModelProblem::EmptyIndex(index) => write!(f, "index {index} has no columns"),
            ModelProblem::UnknownIndexColumn { index, column } => {
                write!(f, "index {index} names the column {column}, which no field has")
            }
            ModelProblem::DefaultMismatch(field) => write!(f, "the db_default of {field} is not a value of its kind"),
            ModelProblem::DuplicateTable(table) => write!(f, "another model has the table {table}"),
            ModelProblem::UnknownTable { field, table } => write!(
                f,
                "{field} references the table {table}, which neither the migrations nor the models create"
            ),
        }
    }
}

impl ModelSchema {
    /// The description of model `M`.
    pub fn of<M: Model>() -> ModelSchema {
        ModelSchema {
            name: M::NAME,
            table: M::TABLE,
            fields: M::fields(),
            indexes: M::indexes(),
        }
    }

    /// The table the model asks for, or [`Error::InvalidModel`] naming what cannot be one.
    pub fn table(&self) -> Result<Table> {
        let invalid = |problem| Error::InvalidModel {
            model: self.name,
            problem,
        };
        let keys: Vec<&Field> = self.fields.iter().filter(|f| f.primary_key).collect();
        match keys.as_slice() {
            [] => return Err(invalid(ModelProblem::NoPrimaryKey)),
            [key] if key.kind != FieldKind::Integer => {
                return Err(invalid(ModelProblem::PrimaryKeyNotInteger(key.name)));
            }
            [_] => {}
            several => {
                return Err(invalid(ModelProblem::SeveralPrimaryKeys(
                    several.iter().map(|f| f.name).collect(),
                )));
            }
        }
        let mut table = Table {
            name: self.table.to_owned(),
            columns: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            unmodelled: Vec::new(),
        };
        for field in self.fields {
            if table.column(field.column).is_some() {
                return Err(invalid(ModelProblem::DuplicateColumn(field.column)));
            }
            let kind = column_type(field.kind);
            let default = match field.db_default.filter(|_| !field.primary_key) {
                Some(literal) => Some(
                    default_of(literal.into(), &kind)
                        .ok_or_else(|| invalid(ModelProblem::DefaultMismatch(field.name)))?,
                ),
                None => None,
            };
            table.columns.push(Column {
                name: field.column.to_owned(),
                kind,
                nullable: field.nullable && !field.primary_key,
                primary_key: field.primary_key,
                default,
            });
            if field.primary_key {
                continue;
            }
            if field.unique || field.index {
                let suffix = if field.unique { "_key" } else { "" };
                table.indexes.push(TableIndex {
                    name: format!("{}_{}{suffix}", self.table, field.column),
                    columns: vec![field.column.to_owned()],
                    unique: field.unique,
                    constraint: false,
                });
            }
            if let FieldKind::ForeignKey { table: target, .. } = field.kind {
                table.foreign_keys.push(ForeignKey {
                    column: field.column.to_owned(),
                    table: target.to_owned(),
                    target: "id".to_owned(),
                    on_delete: OnDelete::Cascade,
                });
            }
        }
        for index in self.indexes {
            if index.columns.is_empty() {
                return Err(invalid(ModelProblem::EmptyIndex(index.name)));
            }
            if let Some(column) = index.columns.iter().find(|c| table.column(c).is_none()) {
                return Err(invalid(ModelProblem::UnknownIndexColumn {
                    index: index.name,
                    column,
                }));
            }
            table.indexes.push(TableIndex {
                name: index.name.to_owned(),
                columns: index.columns.iter().map(|c| (*c).to_owned()).collect(),
                unique: index.unique,
                constraint: false,
            });
        }
        Ok(table)
    }
}

/// The column type of a field kind: integers for money, decimals and keys; text for choices
/// and JSON.
fn column_type(kind: FieldKind) -> ColumnType {
    match kind {
        FieldKind::Integer | FieldKind::Money | FieldKind::Decimal { .. } | FieldKind::ForeignKey { .. } => {
            ColumnType::Integer
        }
        FieldKind::Text | FieldKind::Choice(_) | FieldKind::Json => ColumnType::Text,
        FieldKind::Bool => ColumnType::Bool,
        FieldKind::DateTime => ColumnType::Timestamp,
        FieldKind::Date => ColumnType::Date,
    }
}

/// `value` if it suits a column of `kind` (text also for timestamps and dates).
fn default_of(value: DefaultValue, kind: &ColumnType) -> Option<DefaultValue> {
    let fits = matches!(
        (&value, kind),
        (DefaultValue::Integer(_), ColumnType::Integer)
            | (DefaultValue::Bool(_), ColumnType::Bool)
            | (
                DefaultValue::Text(_),
                ColumnType::Text | ColumnType::Timestamp | ColumnType::Date
            )
    );
    fits.then_some(value)
}
