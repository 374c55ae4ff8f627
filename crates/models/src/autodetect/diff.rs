//! What changes one table into another, and which changes no generated SQL can make.

use super::render::{constraint_name, foreign_key_name};
use super::table::{Column, ColumnType, ForeignKey, Table, TableIndex};

/// PostgreSQL truncates longer names, so a constraint's default name cannot be predicted.
const POSTGRES_NAME_MAX: usize = 63;

/// One table's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A new table.
    Create(Table),
    /// A table to remove (when reverting its creation).
    Drop(Table),
    /// A table altered in place.
    Alter(Box<Alter>),
}

/// What changes in an existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Alter {
    pub(crate) old: Table,
    pub(crate) new: Table,
    pub(crate) added: Vec<Column>,
    pub(crate) dropped: Vec<Column>,
    /// `(old, new)`: the nullability or the default changes.
    pub(crate) altered: Vec<(Column, Column)>,
    /// Foreign keys added to columns the table keeps (an added column brings its own).
    pub(crate) added_keys: Vec<ForeignKey>,
    /// Foreign keys removed from columns the table keeps (a dropped column takes its own).
    pub(crate) dropped_keys: Vec<ForeignKey>,
    pub(crate) added_indexes: Vec<TableIndex>,
    pub(crate) dropped_indexes: Vec<TableIndex>,
}

/// A change `makemigrations` cannot write, to be written by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualChange {
    /// The table.
    pub table: String,
    /// The column, when the change is about one.
    pub column: Option<String>,
    /// Why no SQL is generated for it.
    pub reason: ManualReason,
    /// Whether it is reverting the change (the migration's `down.sql`) that cannot be
    /// generated, rather than making it.
    pub revert: bool,
}

/// Why a change cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManualReason {
    /// A column changes type: converting the values is the app's decision.
    TypeChange {
        /// Its type in the database.
        from: ColumnType,
        /// The type the model wants.
        to: ColumnType,
    },
    /// The primary key changes.
    PrimaryKeyChange,
    /// A `NOT NULL` column without a default cannot be added to a table that may have rows.
    NotNullWithoutDefault,
    /// SQLite must rebuild the table, which would lose what the models do not describe.
    RebuildLoses(Vec<String>),
    /// PostgreSQL's name for a constraint to drop is too long to predict.
    LongConstraintName(String),
}

impl std::fmt::Display for ManualChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(column) => write!(f, "{}.{column}: ", self.table)?,
            None => write!(f, "{}: ", self.table)?,
        }
        match &self.reason {
            ManualReason::TypeChange { from, to } => {
                write!(
                    f,
                    "its type changes from {from} to {to}; converting the values is yours to write"
                )
            }
            ManualReason::PrimaryKeyChange => f.write_str("the primary key changes"),
            ManualReason::NotNullWithoutDefault => f.write_str(
                "a NOT NULL column without a db_default cannot be added to an existing table; \
                 give it a db_default, or make it nullable",
            ),
            ManualReason::RebuildLoses(what) => write!(
                f,
                "SQLite must rebuild the table for this change, which would lose {} (written by hand)",
                what.join(", ")
            ),
            ManualReason::LongConstraintName(name) => write!(
                f,
                "PostgreSQL shortens the constraint name {name} (over {POSTGRES_NAME_MAX} bytes); drop it by its real name"
            ),
        }?;
        if self.revert {
            f.write_str(" (to revert the change, in down.sql)")?;
        }
        Ok(())
    }
}

/// The change from `old` to `new` (either missing), and what of it cannot be generated.
/// `revert`: the change undoes a migration (`down.sql`), where a `NOT NULL` column without
/// a default comes back as it was (failing if the table has rows, as it must).
pub(crate) fn diff(old: Option<&Table>, new: Option<&Table>, revert: bool) -> (Option<Change>, Vec<ManualChange>) {
    match (old, new) {
        (None, None) => (None, Vec::new()),
        (None, Some(new)) => (Some(Change::Create(new.clone())), Vec::new()),
        (Some(old), None) => (Some(Change::Drop(old.clone())), Vec::new()),
        (Some(old), Some(new)) => alter(old, new, revert),
    }
}

fn alter(old: &Table, new: &Table, revert: bool) -> (Option<Change>, Vec<ManualChange>) {
    let mut manual = Vec::new();
    let mut note = |column: &str, reason: ManualReason| {
        // Reverting a type or key change is that change again: it is reported once.
        if revert && matches!(reason, ManualReason::TypeChange { .. } | ManualReason::PrimaryKeyChange) {
            return;
        }
        manual.push(ManualChange {
            table: new.name.clone(),
            column: Some(column.to_owned()),
            reason,
            revert,
        });
    };
    let mut change = Alter {
        old: old.clone(),
        new: new.clone(),
        added: Vec::new(),
        dropped: Vec::new(),
        altered: Vec::new(),
        added_keys: Vec::new(),
        dropped_keys: Vec::new(),
        added_indexes: Vec::new(),
        dropped_indexes: Vec::new(),
    };
    for column in &new.columns {
        match old.column(&column.name) {
            None if column.primary_key => note(&column.name, ManualReason::PrimaryKeyChange),
            None if !column.nullable && column.default.is_none() && !revert => {
                note(&column.name, ManualReason::NotNullWithoutDefault);
            }
            None => change.added.push(column.clone()),
            Some(before) if before.primary_key != column.primary_key => {
                note(&column.name, ManualReason::PrimaryKeyChange);
            }
            Some(before) if before.kind != column.kind => note(
                &column.name,
                ManualReason::TypeChange {
                    from: before.kind.clone(),
                    to: column.kind.clone(),
                },
            ),
            Some(before) if before.nullable != column.nullable || before.default != column.default => {
                change.altered.push((before.clone(), column.clone()));
            }
            Some(_) => {}
        }
    }
    for column in old.columns.iter().filter(|c| new.column(&c.name).is_none()) {
        if column.primary_key {
            note(&column.name, ManualReason::PrimaryKeyChange);
        } else {
            change.dropped.push(column.clone());
        }
    }
    let kept = |column: &str| old.column(column).is_some() && new.column(column).is_some();
    for key in new.foreign_keys.iter().filter(|k| kept(&k.column)) {
        if old.foreign_key(&key.column) != Some(key) {
            change.added_keys.push(key.clone());
        }
    }
    for key in old.foreign_keys.iter().filter(|k| kept(&k.column)) {
        if new.foreign_key(&key.column) != Some(key) {
            change.dropped_keys.push(key.clone());
        }
    }
    change.added_indexes = new.indexes.iter().filter(|i| !old.has_index_like(i)).cloned().collect();
    change.dropped_indexes = old.indexes.iter().filter(|i| !new.has_index_like(i)).cloned().collect();

    if change.sqlite_rebuild() && !old.unmodelled.is_empty() {
        manual.push(ManualChange {
            table: new.name.clone(),
            column: None,
            reason: ManualReason::RebuildLoses(old.unmodelled.clone()),
            revert,
        });
    }
    manual.extend(change.long_postgres_names().into_iter().map(|name| ManualChange {
        table: new.name.clone(),
        column: None,
        reason: ManualReason::LongConstraintName(name),
        revert,
    }));
    let unchanged = change.added.is_empty()
        && change.dropped.is_empty()
        && change.altered.is_empty()
        && change.added_keys.is_empty()
        && change.dropped_keys.is_empty()
        && change.added_indexes.is_empty()
        && change.dropped_indexes.is_empty();
    (
        if unchanged {
            None
        } else {
            Some(Change::Alter(Box::new(change)))
        },
        manual,
    )
}

impl Alter {
    /// Whether SQLite's `ALTER TABLE` cannot make this change, so that the table is
    /// rebuilt: a column's nullability or default changes; a kept column gains or loses a
    /// foreign key; a dropped column is a foreign key or in a unique constraint; a unique
    /// constraint of `CREATE TABLE` is dropped; an added column is a foreign key that is
    /// `NOT NULL` or has a default, or is `NOT NULL` without a default (when reverting).
    pub(crate) fn sqlite_rebuild(&self) -> bool {
        let in_constraint = |column: &Column| {
            self.old
                .indexes
                .iter()
                .any(|i| i.constraint && i.columns.contains(&column.name))
        };
        let keyed = |table: &Table, column: &Column| table.foreign_key(&column.name).is_some();
        !self.altered.is_empty()
            || !self.added_keys.is_empty()
            || !self.dropped_keys.is_empty()
            || self.dropped_indexes.iter().any(|i| i.constraint)
            || self.dropped.iter().any(|c| keyed(&self.old, c) || in_constraint(c))
            || self.added.iter().any(|c| {
                (!c.nullable && c.default.is_none()) || (keyed(&self.new, c) && (!c.nullable || c.default.is_some()))
            })
    }

    /// Whether the column `column` is dropped.
    pub(crate) fn drops(&self, column: &str) -> bool {
        self.dropped.iter().any(|c| c.name == column)
    }

    /// The constraints PostgreSQL must drop by a predicted name that it would have
    /// shortened.
    fn long_postgres_names(&self) -> Vec<String> {
        let table = &self.old.name;
        let indexes = self
            .dropped_indexes
            .iter()
            .filter(|i| i.constraint && !i.columns.iter().any(|c| self.drops(c)))
            .map(|i| constraint_name(table, &i.columns));
        let keys = self.dropped_keys.iter().map(|k| foreign_key_name(table, &k.column));
        indexes
            .chain(keys)
            .filter(|name| name.len() > POSTGRES_NAME_MAX)
            .collect()
    }
}

impl Change {
    /// The table it is about.
    pub(crate) fn table(&self) -> &str {
        match self {
            Change::Create(table) | Change::Drop(table) => &table.name,
            Change::Alter(alter) => &alter.new.name,
        }
    }

    /// What it does, one line per step, for people.
    pub(crate) fn describe(&self) -> Vec<String> {
        match self {
            Change::Create(table) => vec![format!("create table {}", table.name)],
            Change::Drop(table) => vec![format!("drop table {}", table.name)],
            Change::Alter(alter) => alter.describe(),
        }
    }
}

impl Alter {
    fn describe(&self) -> Vec<String> {
        let t = &self.new.name;
        let mut lines = Vec::new();
        lines.extend(self.added.iter().map(|c| format!("add column {t}.{}", c.name)));
        lines.extend(self.dropped.iter().map(|c| format!("drop column {t}.{}", c.name)));
        for (before, after) in &self.altered {
            let c = &after.name;
            if before.nullable != after.nullable {
                lines.push(match after.nullable {
                    true => format!("make {t}.{c} nullable"),
                    false => format!("make {t}.{c} NOT NULL"),
                });
            }
            if before.default != after.default {
                lines.push(match &after.default {
                    Some(value) => format!("set the default of {t}.{c} to {value}"),
                    None => format!("drop the default of {t}.{c}"),
                });
            }
        }
        for key in &self.dropped_keys {
            lines.push(format!("drop the foreign key {t}.{} → {}", key.column, key.table));
        }
        for key in &self.added_keys {
            lines.push(format!(
                "add the foreign key {t}.{} → {} ({})",
                key.column, key.table, key.target
            ));
        }
        for index in &self.dropped_indexes {
            let kind = if index.unique { "unique index" } else { "index" };
            lines.push(format!("drop the {kind} on {t} ({})", index.columns.join(", ")));
        }
        for index in &self.added_indexes {
            let kind = if index.unique { "unique index" } else { "index" };
            lines.push(format!(
                "add the {kind} {} on {t} ({})",
                index.name,
                index.columns.join(", ")
            ));
        }
        lines
    }
}

impl Table {
    /// What `makemigrations` would change to make this table `wanted`, one line per step
    /// (and per change it cannot make); empty when they agree.
    pub fn differences(&self, wanted: &Table) -> Vec<String> {
        let (change, manual) = diff(Some(self), Some(wanted), false);
        let steps = change.iter().flat_map(Change::describe);
        steps.chain(manual.iter().map(ToString::to_string)).collect()
    }
}
