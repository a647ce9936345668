//! The rows that refer to users (every foreign key to `ab_user`, found by introspection, so
//! tables a deployment added count too): what deleting a user does to each (the row goes, or
//! the column becomes NULL), counted per user for the plan, and done for the apply. Names from
//! the catalogue are quoted wherever they land in SQL.

use std::collections::{BTreeMap, HashMap};

use super::StoreError;
use super::sql::{Dialect, Tx, Ty, Value, quote_ident};
use crate::plan::user_deletion::{Detached, Removal};

/// One foreign key column referring to `ab_user`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The table as shown (unquoted).
    pub table: String,
    /// The table quoted for SQL (schema-qualified on PostgreSQL).
    pub sql_table: String,
    /// The column, unquoted.
    pub column: String,
    /// What a user's deletion does to the rows.
    pub removal: Removal,
}

/// Columns naming the user a row belongs to, in tables whose rows are the user's own: the row
/// goes with the user (these columns are nullable in Superset 6.1, some without a cascade;
/// nulling them left rows such as `dashboard_user (1, NULL, 1)` pointing at nothing).
const OWN_ROWS: [(&str, &str); 11] = [
    ("ab_user_role", "user_id"),
    ("ab_user_group", "user_id"),
    ("dashboard_user", "user_id"),
    ("slice_user", "user_id"),
    ("sqlatable_user", "user_id"),
    ("report_schedule_user", "user_id"),
    ("favstar", "user_id"),
    ("user_attribute", "user_id"),
    ("user_favorite_tag", "user_id"),
    ("ab_api_key", "user_id"),
    ("database_user_oauth2_tokens", "user_id"),
];

/// What deleting a user does to rows referring to it through `column`: what the foreign key's
/// `ON DELETE` says (`CASCADE`: the row goes; `SET NULL`: cleared); without one, rows that are
/// the user's own go, other nullable columns (audit columns, logs) are cleared, and rows whose
/// column cannot be NULL go.
fn removal(table: &str, column: &str, nullable: bool, on_delete: &str) -> Removal {
    match on_delete.to_ascii_uppercase().as_str() {
        "CASCADE" | "C" => Removal::DeleteRow,
        "SET NULL" | "N" if nullable => Removal::Clear,
        _ if OWN_ROWS.contains(&(table, column)) || !nullable => Removal::DeleteRow,
        _ => Removal::Clear,
    }
}

/// Every foreign key column that refers to `ab_user`.
pub async fn references(tx: &mut Tx) -> Result<Vec<Reference>, StoreError> {
    let dialect = tx.dialect();
    let sql = match dialect {
        Dialect::Postgres => {
            "SELECT n.nspname::text, t.relname::text, a.attname::text, NOT a.attnotnull, c.confdeltype::text \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND c.confrelid = to_regclass($1)"
        }
        Dialect::Sqlite => {
            "SELECT '', m.name, p.\"from\", NOT ti.\"notnull\", p.on_delete FROM sqlite_master m \
             JOIN pragma_foreign_key_list(m.name) p \
             JOIN pragma_table_info(m.name) ti ON ti.name = p.\"from\" \
             WHERE m.type = 'table' AND p.\"table\" = $1"
        }
    };
    let rows = tx
        .fetch(
            sql,
            &[Value::text("ab_user")],
            &[Ty::Text, Ty::Text, Ty::Text, Ty::Bool, Ty::Text],
        )
        .await?;
    let mut refs: Vec<Reference> = rows
        .into_iter()
        .filter_map(|r| {
            let (schema, table, column) = (r[0].as_str()?, r[1].as_str()?, r[2].as_str()?);
            let sql_table = match schema {
                "" => quote_ident(table),
                schema => format!("{}.{}", quote_ident(schema), quote_ident(table)),
            };
            Some(Reference {
                table: table.to_owned(),
                sql_table,
                column: column.to_owned(),
                removal: removal(
                    table,
                    column,
                    r[3].as_bool()?,
                    r[4].as_str().unwrap_or_default(),
                ),
            })
        })
        .collect();
    refs.sort();
    refs.dedup();
    Ok(refs)
}

/// Ids per statement when deleting or clearing.
const CHUNK: usize = 500;

/// For each user of `users` (username → id), the rows of each table that refer to it, by what
/// the deletion does to them. Tables with no such row are left out. One grouped query per
/// table: the database returns one row per distinct combination of referring ids.
pub async fn count_references(
    tx: &mut Tx,
    users: &HashMap<String, i64>,
) -> Result<BTreeMap<String, Vec<Detached>>, StoreError> {
    let mut found: BTreeMap<String, Vec<Detached>> = BTreeMap::new();
    if users.is_empty() {
        return Ok(found);
    }
    let names: HashMap<i64, &str> = users.iter().map(|(n, id)| (*id, n.as_str())).collect();
    // A row naming the user in two columns counts once.
    let mut columns: BTreeMap<(&str, &str, Removal), Vec<&str>> = BTreeMap::new();
    let refs = references(tx).await?;
    for r in &refs {
        columns
            .entry((&r.table, &r.sql_table, r.removal))
            .or_default()
            .push(&r.column);
    }
    for ((table, sql_table, removal), columns) in columns {
        let quoted: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let sql = format!(
            "SELECT {cols}, COUNT(*) FROM {sql_table} WHERE {cond} GROUP BY {cols}",
            cols = quoted.join(", "),
            cond = quoted
                .iter()
                .map(|c| format!("{c} IS NOT NULL"))
                .collect::<Vec<_>>()
                .join(" OR ")
        );
        let types = vec![Ty::Int; columns.len() + 1];
        let mut per_user: BTreeMap<&str, u64> = BTreeMap::new();
        for row in tx.fetch(&sql, &[], &types).await? {
            let rows = row[columns.len()].as_int().unwrap_or(0) as u64;
            let mut named: Vec<&str> = row[..columns.len()]
                .iter()
                .filter_map(|id| names.get(&id.as_int()?).copied())
                .collect();
            named.sort_unstable();
            named.dedup();
            for user in named {
                *per_user.entry(user).or_default() += rows;
            }
        }
        for (user, rows) in per_user {
            found.entry(user.to_owned()).or_default().push(Detached {
                table: table.to_owned(),
                removal,
                rows,
            });
        }
    }
    Ok(found)
}

/// Detaches the users with `ids` from every row that refers to them (deleting or clearing, as
/// [`Reference::removal`] says); the number of rows deleted.
pub async fn detach_users(tx: &mut Tx, ids: &[i64]) -> Result<u64, StoreError> {
    let mut deleted = 0;
    if ids.is_empty() {
        return Ok(0);
    }
    for r in references(tx).await? {
        let column = quote_ident(&r.column);
        for chunk in ids.chunks(CHUNK) {
            let list = id_list(chunk);
            let sql = match r.removal {
                Removal::DeleteRow => {
                    format!("DELETE FROM {} WHERE {column} IN ({list})", r.sql_table)
                }
                Removal::Clear => format!(
                    "UPDATE {} SET {column} = NULL WHERE {column} IN ({list})",
                    r.sql_table
                ),
            };
            let n = tx.execute(&sql, &[]).await?;
            if r.removal == Removal::DeleteRow {
                deleted += n;
            }
        }
    }
    Ok(deleted)
}

/// Integer ids as a SQL list (integers only: nothing to escape).
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_follows_the_foreign_key_then_what_the_row_is() {
        // Superset 6.1 on PostgreSQL: owners cascade; logs and audit columns have no action.
        assert_eq!(
            removal("dashboard_user", "user_id", true, "c"),
            Removal::DeleteRow
        );
        assert_eq!(removal("logs", "user_id", true, "a"), Removal::Clear);
        assert_eq!(
            removal("slices", "created_by_fk", true, "a"),
            Removal::Clear
        );
        assert_eq!(removal("tasks", "user_id", true, "n"), Removal::Clear);
        // A link table without a cascade still loses its rows.
        assert_eq!(
            removal("slice_user", "user_id", true, "NO ACTION"),
            Removal::DeleteRow
        );
        assert_eq!(removal("favstar", "user_id", true, "a"), Removal::DeleteRow);
        // A column that cannot be NULL: the row goes.
        assert_eq!(
            removal("ExtPrefs", "OwnerId", false, "NO ACTION"),
            Removal::DeleteRow
        );
        assert_eq!(
            removal("Ext Notes", "Author Id", true, "NO ACTION"),
            Removal::Clear
        );
    }
}
