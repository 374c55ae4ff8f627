//! PostgreSQL's side of an altered table: `ALTER TABLE` does it all.

use super::{column_definition, constraint_name, create_index, foreign_key_name, quote, references};
use crate::autodetect::diff::Alter;
use crate::migrate::Backend;

/// The statements altering the table.
pub(super) fn alter(alter: &Alter) -> Vec<String> {
    let name = &alter.new.name;
    let table = quote(name);
    let mut out = Vec::new();
    // Indexes and keys of dropped columns go with them.
    for index in alter
        .dropped_indexes
        .iter()
        .filter(|i| !i.columns.iter().any(|c| alter.drops(c)))
    {
        out.push(match index.constraint {
            true => format!(
                "ALTER TABLE {table} DROP CONSTRAINT {};",
                quote(&constraint_name(name, &index.columns))
            ),
            false => format!("DROP INDEX {};", quote(&index.name)),
        });
    }
    for key in &alter.dropped_keys {
        out.push(format!(
            "ALTER TABLE {table} DROP CONSTRAINT {};",
            quote(&foreign_key_name(name, &key.column))
        ));
    }
    for column in &alter.dropped {
        out.push(format!("ALTER TABLE {table} DROP COLUMN {};", quote(&column.name)));
    }
    for column in &alter.added {
        let key = alter.new.foreign_key(&column.name);
        out.push(format!(
            "ALTER TABLE {table} ADD COLUMN {};",
            column_definition(column, key, Backend::Postgres)
        ));
    }
    for (before, after) in &alter.altered {
        let column = quote(&after.name);
        if before.default != after.default {
            out.push(match &after.default {
                Some(value) => format!(
                    "ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {};",
                    value.sql(Backend::Postgres)
                ),
                None => format!("ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT;"),
            });
        }
        if before.nullable != after.nullable {
            if after.nullable {
                out.push(format!("ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL;"));
            } else {
                if let Some(value) = &after.default {
                    out.push(format!(
                        "UPDATE {table} SET {column} = {} WHERE {column} IS NULL;",
                        value.sql(Backend::Postgres)
                    ));
                }
                out.push(format!("ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL;"));
            }
        }
    }
    for key in &alter.added_keys {
        out.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} FOREIGN KEY ({}) {};",
            quote(&foreign_key_name(name, &key.column)),
            quote(&key.column),
            references(key)
        ));
    }
    out.extend(alter.added_indexes.iter().map(|i| create_index(name, i)));
    out
}
