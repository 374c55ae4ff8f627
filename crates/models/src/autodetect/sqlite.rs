//! An SQLite database's tables, read through its PRAGMAs (`table_info`, `index_list`,
//! `index_info`, `foreign_key_list`).

use diesel::sql_types::{Integer, Nullable, Text};
use diesel::{QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

use super::table::{Column, ColumnType, DefaultValue, ForeignKey, OnDelete, Schema, Table, TableIndex};

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Definition {
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text, column_name = "type")]
    declared: String,
    #[diesel(sql_type = Integer, column_name = "notnull")]
    not_null: i32,
    #[diesel(sql_type = Nullable<Text>)]
    dflt_value: Option<String>,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer, column_name = "unique")]
    unique: i32,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = Integer)]
    partial: i32,
}

#[derive(QueryableByName)]
struct IndexColumn {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text, column_name = "table")]
    parent: String,
    #[diesel(sql_type = Text, column_name = "from")]
    column: String,
    #[diesel(sql_type = Nullable<Text>, column_name = "to")]
    target: Option<String>,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

/// Every table of the database, but SQLite's own and diesel's migration log.
pub(crate) fn schema(conn: &mut SqliteConnection) -> QueryResult<Schema> {
    let names: Vec<String> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
    .load::<Name>(conn)?
    .into_iter()
    .map(|n| n.name)
    .collect();
    tables(conn, &names)
}

/// The tables named `names` that exist.
pub(crate) fn tables(conn: &mut SqliteConnection, names: &[String]) -> QueryResult<Schema> {
    let mut schema = Schema::default();
    for name in names {
        if let Some(table) = table(conn, name)? {
            schema.insert(table);
        }
    }
    Ok(schema)
}

fn table(conn: &mut SqliteConnection, name: &str) -> QueryResult<Option<Table>> {
    let definition = diesel::sql_query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind::<Text, _>(name)
        .load::<Definition>(conn)?;
    let Some(definition) = definition.into_iter().next() else {
        return Ok(None);
    };
    let mut table = Table {
        name: name.to_owned(),
        columns: Vec::new(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        unmodelled: Vec::new(),
    };
    if definition.sql.as_deref().is_some_and(has_check_constraint) {
        table.unmodelled.push("CHECK constraints".to_owned());
    }
    let rows = diesel::sql_query(r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)"#)
        .bind::<Text, _>(name)
        .load::<ColumnRow>(conn)?;
    if rows.iter().filter(|r| r.pk > 0).count() > 1 {
        table.unmodelled.push("a primary key over several columns".to_owned());
    }
    for row in rows {
        let kind = ColumnType::from_sqlite(&row.declared);
        let primary_key = row.pk > 0;
        table.columns.push(Column {
            name: row.name,
            default: row
                .dflt_value
                .filter(|_| !primary_key)
                .map(|sql| DefaultValue::parse(&sql, &kind)),
            kind,
            nullable: row.not_null == 0 && !primary_key,
            primary_key,
        });
    }
    indexes(conn, &mut table)?;
    foreign_keys(conn, &mut table)?;
    let triggers = diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?")
        .bind::<Text, _>(name)
        .load::<Name>(conn)?;
    table
        .unmodelled
        .extend(triggers.into_iter().map(|t| format!("the trigger {}", t.name)));
    Ok(Some(table))
}

fn indexes(conn: &mut SqliteConnection, table: &mut Table) -> QueryResult<()> {
    let rows = diesel::sql_query(r#"SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name"#)
        .bind::<Text, _>(&table.name)
        .load::<IndexRow>(conn)?;
    for row in rows.into_iter().filter(|r| r.origin != "pk") {
        let columns: Option<Vec<String>> = diesel::sql_query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
            .bind::<Text, _>(&row.name)
            .load::<IndexColumn>(conn)?
            .into_iter()
            .map(|c| c.name)
            .collect();
        match columns {
            _ if row.partial != 0 => table.unmodelled.push(format!("the partial index {}", row.name)),
            None => table
                .unmodelled
                .push(format!("the index {} on an expression", row.name)),
            Some(columns) => table.indexes.push(TableIndex {
                name: row.name,
                columns,
                unique: row.unique != 0,
                constraint: row.origin == "u",
            }),
        }
    }
    Ok(())
}

fn foreign_keys(conn: &mut SqliteConnection, table: &mut Table) -> QueryResult<()> {
    let rows = diesel::sql_query(
        r#"SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq"#,
    )
    .bind::<Text, _>(&table.name)
    .load::<ForeignKeyRow>(conn)?;
    for row in &rows {
        if rows.iter().filter(|r| r.id == row.id).count() > 1 {
            let unmodelled = format!("a foreign key over several columns to {}", row.parent);
            if !table.unmodelled.contains(&unmodelled) {
                table.unmodelled.push(unmodelled);
            }
            continue;
        }
        table.foreign_keys.push(ForeignKey {
            column: row.column.clone(),
            table: row.parent.clone(),
            // No column named: the parent's primary key, which generated tables call `id`.
            target: row.target.clone().unwrap_or_else(|| "id".to_owned()),
            on_delete: OnDelete::from_sqlite(&row.on_delete),
        });
    }
    Ok(())
}

/// Whether a `CREATE TABLE` statement declares a `CHECK` constraint: the keyword outside
/// quoted strings, quoted names and comments.
fn has_check_constraint(sql: &str) -> bool {
    let mut chars = sql.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                for (_, next) in chars.by_ref() {
                    if next == close {
                        break;
                    }
                }
            }
            '-' if sql[at..].starts_with("--") => {
                for (_, next) in chars.by_ref() {
                    if next == '\n' {
                        break;
                    }
                }
            }
            '/' if sql[at..].starts_with("/*") => {
                let end = sql[at + 2..].find("*/").map_or(sql.len(), |e| at + 2 + e + 2);
                while chars.next_if(|(i, _)| *i < end).is_some() {}
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = at + c.len_utf8();
                while let Some((i, next)) = chars.next_if(|(_, n)| n.is_ascii_alphanumeric() || *n == '_') {
                    end = i + next.len_utf8();
                }
                if sql[at..end].eq_ignore_ascii_case("check") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::has_check_constraint;

    #[test]
    fn check_constraints_are_found_as_a_keyword_only() {
        for (sql, expected) in [
            ("CREATE TABLE t (a TEXT CHECK (length(a) = 3))", true),
            ("CREATE TABLE t (a TEXT, CONSTRAINT c check (a <> ''))", true),
            ("CREATE TABLE t (a TEXT DEFAULT 'check')", false),
            (
                "CREATE TABLE t (\"check\" TEXT, checked BOOLEAN, rechecks INTEGER)",
                false,
            ),
            ("CREATE TABLE t (a TEXT -- check this\n)", false),
            ("CREATE TABLE t (a TEXT /* CHECK */)", false),
            ("CREATE TABLE t ([check] TEXT, `check` TEXT)", false),
        ] {
            assert_eq!(has_check_constraint(sql), expected, "{sql}");
        }
    }
}
