//! SQLite's side of an altered table: `ALTER TABLE` where SQLite can, else the table
//! rebuild its documentation describes.

use super::{column_definition, create_index, create_table, quote};
use crate::autodetect::diff::Alter;
use crate::autodetect::table::Column;
use crate::migrate::Backend;

/// The statements altering the table.
pub(super) fn alter(alter: &Alter) -> Vec<String> {
    if alter.sqlite_rebuild() {
        return rebuild(alter);
    }
    let name = &alter.new.name;
    let table = quote(name);
    let mut out = Vec::new();
    // Before the columns: SQLite refuses to drop an indexed column.
    for index in &alter.dropped_indexes {
        out.push(format!("DROP INDEX {};", quote(&index.name)));
    }
    for column in &alter.dropped {
        out.push(format!("ALTER TABLE {table} DROP COLUMN {};", quote(&column.name)));
    }
    for column in &alter.added {
        let key = alter.new.foreign_key(&column.name);
        out.push(format!(
            "ALTER TABLE {table} ADD COLUMN {};",
            column_definition(column, key, Backend::Sqlite)
        ));
    }
    out.extend(alter.added_indexes.iter().map(|i| create_index(name, i)));
    out
}

/// <https://www.sqlite.org/lang_altertable.html#otheralter>: create the new table, copy the
/// rows, drop the old table, rename the new one, create its indexes. The migration runner
/// turns foreign-key enforcement off around it and checks the keys before committing, so
/// the rows referencing the table survive the drop.
fn rebuild(alter: &Alter) -> Vec<String> {
    let name = &alter.new.name;
    let temporary = format!("new__{name}");
    let copied: Vec<&Column> = alter
        .new
        .columns
        .iter()
        .filter(|c| alter.old.column(&c.name).is_some())
        .collect();
    let targets: Vec<String> = copied.iter().map(|c| quote(&c.name)).collect();
    let values: Vec<String> = copied.iter().map(|c| copied_value(alter, c)).collect();
    let mut out = vec![
        format!("-- SQLite's ALTER TABLE cannot make this change: {name} is rebuilt, keeping its rows."),
        create_table(&alter.new, &temporary, Backend::Sqlite),
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {};",
            quote(&temporary),
            targets.join(", "),
            values.join(", "),
            quote(name)
        ),
        format!("DROP TABLE {};", quote(name)),
        format!("ALTER TABLE {} RENAME TO {};", quote(&temporary), quote(name)),
    ];
    out.extend(alter.new.indexes.iter().map(|i| create_index(name, i)));
    out
}

/// A column's value in the copy: one becoming `NOT NULL` takes its default where it was
/// `NULL`.
fn copied_value(alter: &Alter, column: &Column) -> String {
    let name = quote(&column.name);
    match (&column.default, alter.old.column(&column.name)) {
        (Some(default), Some(before)) if before.nullable && !column.nullable => {
            format!("coalesce({name}, {})", default.sql(Backend::Sqlite))
        }
        _ => name,
    }
}
