//! A PostgreSQL database's tables, read from `information_schema` and `pg_catalog` (in the
//! connection's current schema).

use diesel::QueryableByName;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::table::{Column, ColumnType, DefaultValue, ForeignKey, OnDelete, Schema, Table, TableIndex};

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default_sql: Option<String>,
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Bool)]
    is_primary: bool,
    #[diesel(sql_type = Bool)]
    is_constraint: bool,
    #[diesel(sql_type = Bool)]
    partial: bool,
    #[diesel(sql_type = Bool)]
    expression: bool,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
}

#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    width: i32,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

const COLUMNS: &str = "SELECT column_name::text AS name, data_type::text AS data_type, \
     (is_nullable = 'YES') AS nullable, column_default::text AS default_sql \
     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 \
     ORDER BY ordinal_position";

const INDEXES: &str = "SELECT i.relname::text AS name, x.indisunique AS is_unique, x.indisprimary AS is_primary, \
     EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype = 'u') AS is_constraint, \
     (x.indpred IS NOT NULL) AS partial, (x.indexprs IS NOT NULL) AS expression, \
     ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns \
     FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
     JOIN pg_namespace s ON s.oid = t.relnamespace \
     WHERE s.nspname = current_schema() AND t.relname = $1 ORDER BY i.relname";

const FOREIGN_KEYS: &str = "SELECT k.conname::text AS name, cardinality(k.conkey) AS width, \
     a.attname::text AS column_name, r.relname::text AS parent, ra.attname::text AS target, \
     k.confdeltype::text AS on_delete \
     FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace s ON s.oid = t.relnamespace \
     JOIN pg_class r ON r.oid = k.confrelid \
     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
     JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1] \
     WHERE k.contype = 'f' AND s.nspname = current_schema() AND t.relname = $1 ORDER BY k.conname";

const CHECKS: &str = "SELECT count(*) AS count FROM pg_constraint k \
     JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace s ON s.oid = t.relnamespace \
     WHERE k.contype = 'c' AND s.nspname = current_schema() AND t.relname = $1";

/// The tables named `names` that exist.
pub(crate) async fn tables(conn: &mut AsyncPgConnection, names: &[String]) -> QueryResult<Schema> {
    let mut schema = Schema::default();
    for name in names {
        if let Some(table) = table(conn, name).await? {
            schema.insert(table);
        }
    }
    Ok(schema)
}

async fn table(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<Table>> {
    let rows: Vec<ColumnRow> = diesel::sql_query(COLUMNS).bind::<Text, _>(name).load(conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let index_rows: Vec<IndexRow> = diesel::sql_query(INDEXES).bind::<Text, _>(name).load(conn).await?;
    let primary: Vec<String> = index_rows
        .iter()
        .filter(|i| i.is_primary)
        .flat_map(|i| i.columns.clone())
        .collect();
    let mut table = Table {
        name: name.to_owned(),
        columns: Vec::new(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        unmodelled: Vec::new(),
    };
    if primary.len() > 1 {
        table.unmodelled.push("a primary key over several columns".to_owned());
    }
    for row in rows {
        let kind = ColumnType::from_postgres(&row.data_type);
        let primary_key = primary.contains(&row.name);
        table.columns.push(Column {
            // The primary key's default is its sequence.
            default: row
                .default_sql
                .filter(|_| !primary_key)
                .map(|sql| DefaultValue::parse(&sql, &kind)),
            name: row.name,
            kind,
            nullable: row.nullable,
            primary_key,
        });
    }
    for row in index_rows.into_iter().filter(|i| !i.is_primary) {
        if row.partial {
            table.unmodelled.push(format!("the partial index {}", row.name));
        } else if row.expression {
            table
                .unmodelled
                .push(format!("the index {} on an expression", row.name));
        } else {
            table.indexes.push(TableIndex {
                name: row.name,
                columns: row.columns,
                unique: row.is_unique,
                constraint: row.is_constraint,
            });
        }
    }
    let foreign_keys: Vec<ForeignKeyRow> = diesel::sql_query(FOREIGN_KEYS).bind::<Text, _>(name).load(conn).await?;
    for row in foreign_keys {
        if row.width > 1 {
            table
                .unmodelled
                .push(format!("the foreign key {} over several columns", row.name));
            continue;
        }
        table.foreign_keys.push(ForeignKey {
            column: row.column_name,
            table: row.parent,
            target: row.target,
            on_delete: OnDelete::from_postgres(&row.on_delete),
        });
    }
    let checks: Count = diesel::sql_query(CHECKS).bind::<Text, _>(name).get_result(conn).await?;
    if checks.count > 0 {
        table.unmodelled.push("CHECK constraints".to_owned());
    }
    Ok(Some(table))
}
