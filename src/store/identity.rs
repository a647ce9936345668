//! Which database this is, for binding plan files to it: a digest (no secrets, no host names)
//! of steward's instance id (a uuid the migrations write once) and of the database itself
//! (PostgreSQL: the cluster's system identifier when readable, the database's name and oid;
//! SQLite: the file's canonical path). A copy, a restore or another cluster gets another
//! identity, so a plan reviewed against one database is refused by every other.

use sha2::Digest;

use super::StoreError;
use super::migrate::INSTANCE_TABLE;
use super::sql::{Dialect, Tx, Ty};

/// The identity of the database `tx` reads (`sha256:` and 64 hex digits). `sqlite_file` is the
/// file of a SQLite URL.
pub async fn database_identity(
    tx: &mut Tx,
    sqlite_file: Option<&std::path::Path>,
) -> Result<String, StoreError> {
    let mut parts: Vec<String> = Vec::new();
    if tx.has_table(INSTANCE_TABLE).await? {
        let sql = format!("SELECT id FROM {INSTANCE_TABLE} ORDER BY id");
        parts.extend(texts(tx, &sql).await?);
    }
    match tx.dialect() {
        Dialect::Sqlite => {
            let file = sqlite_file.map(|f| std::fs::canonicalize(f).unwrap_or(f.to_path_buf()));
            parts.push(format!("sqlite:{}", file.unwrap_or_default().display()));
        }
        Dialect::Postgres => {
            let readable = tx
                .fetch(
                    "SELECT has_function_privilege('pg_control_system()', 'EXECUTE')",
                    &[],
                    &[Ty::Bool],
                )
                .await?;
            if readable.first().and_then(|r| r[0].as_bool()) == Some(true) {
                let sql = "SELECT system_identifier::text FROM pg_control_system()";
                parts.extend(texts(tx, sql).await?);
            }
            let rows = tx
                .fetch(
                    "SELECT datname::text, oid::bigint FROM pg_database WHERE datname = current_database()",
                    &[],
                    &[Ty::Text, Ty::Int],
                )
                .await?;
            for row in rows {
                parts.push(format!(
                    "postgres:{}:{}",
                    row[0].as_str().unwrap_or_default(),
                    row[1].as_int().unwrap_or_default()
                ));
            }
        }
    }
    let mut hash = sha2::Sha256::new();
    for part in &parts {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    Ok(format!("sha256:{}", crate::model::hex(&hash.finalize())))
}

/// The text values of a one-column query.
async fn texts(tx: &mut Tx, sql: &str) -> Result<Vec<String>, StoreError> {
    let rows = tx.fetch(sql, &[], &[Ty::Text]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut r| r.remove(0).into_text())
        .collect())
}
