//! steward's own schema changes to a Superset database, versioned and idempotent, applied in
//! the caller's locked transaction: the ownership ledger (and, since version 5, the declaring
//! resource, Superset id and manifest source of each row), SIP-209's run-as columns on
//! `report_schedule` (with its foreign keys, as upstream names them), and the move of the configuration from the `report_config` table of an
//! abandoned SIP-209 draft (which steward created until migration 6) into the `key_value`
//! documents SIP-209 settled on, and steward's table of guest-token policies. Nothing else of Superset's is created, altered or dropped. (sqlx's migrator does not lock on SQLite and runs its own
//! transactions; these run inside the apply's lock, so two first applies cannot race.)

use chrono::Utc;

use super::StoreError;
use super::sql::{Dialect, Tx, Ty, Value};

/// The table recording which of the migrations below ran.
pub const MIGRATIONS_TABLE: &str = "steward_migrations";

/// The ownership ledger table.
pub const LEDGER_TABLE: &str = "steward_ledger";

struct Migration {
    version: i64,
    description: &'static str,
}

/// The table holding this database's steward instance id (see `identity`).
pub const INSTANCE_TABLE: &str = "steward_instance";

const MIGRATIONS: [Migration; 8] = [
    Migration {
        version: 1,
        description: "ownership ledger",
    },
    Migration {
        version: 2,
        description: "SIP-209 run-as columns on report_schedule",
    },
    Migration {
        version: 3,
        description: "SIP-209 report_config table",
    },
    Migration {
        version: 4,
        description: "instance id binding plan files to this database",
    },
    Migration {
        version: 5,
        description: "ledger: declaring resource, Superset id and manifest source",
    },
    Migration {
        version: 6,
        description: "SIP-209 configuration moved from report_config into key_value",
    },
    Migration {
        version: 7,
        description: "SIP-209 run-as foreign keys named as upstream, ON DELETE SET NULL",
    },
    Migration {
        version: 8,
        description: "guest-token policies",
    },
];

/// The name SIP-209's migration gives the foreign key of run-as column `column`.
fn run_as_foreign_key(column: &str) -> String {
    format!("fk_report_schedule_{column}_ab_user")
}

/// PostgreSQL: the run-as foreign keys an earlier migration 2 made (named by PostgreSQL, no
/// `ON DELETE` action) replaced by upstream's. SQLite files keep theirs: SQLite changes a
/// constraint only by rebuilding the table, and new files get upstream's from migration 2.
async fn name_run_as_foreign_keys(tx: &mut Tx) -> Result<(), StoreError> {
    if tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    for column in ["run_as_fk", "run_alert_query_as_fk"] {
        let existing = tx
            .fetch(
                "SELECT con.conname::text, con.confdeltype::text FROM pg_constraint con \
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey) \
                 WHERE con.conrelid = 'report_schedule'::regclass AND con.contype = 'f' AND a.attname = $1",
                &[Value::text(column)],
                &[Ty::Text, Ty::Text],
            )
            .await?;
        let wanted = run_as_foreign_key(column);
        let upstream =
            |r: &Vec<Value>| r[0].as_str() == Some(&wanted) && r[1].as_str() == Some("n");
        if existing.len() == 1 && existing.iter().all(upstream) {
            continue;
        }
        for r in &existing {
            if let Some(name) = r[0].as_str() {
                // Constraint names come from the catalogue; quoted as identifiers.
                let name = name.replace('"', "\"\"");
                tx.execute(
                    &format!("ALTER TABLE report_schedule DROP CONSTRAINT \"{name}\""),
                    &[],
                )
                .await?;
            }
        }
        tx.execute(
            &format!(
                "ALTER TABLE report_schedule ADD CONSTRAINT {wanted} FOREIGN KEY ({column}) REFERENCES ab_user (id) ON DELETE SET NULL"
            ),
            &[],
        )
        .await?;
    }
    Ok(())
}

/// The ledger's columns added by migration 5 (NULL on rows written before it: filled on the
/// next apply that writes the object).
const LEDGER_IDENTITY: [(&str, &str); 5] = [
    ("resource_namespace", "VARCHAR(255)"),
    ("resource_name", "VARCHAR(255)"),
    ("resource_uid", "VARCHAR(64)"),
    ("object_id", "BIGINT"),
    ("source", "VARCHAR(1024)"),
];

/// Runs every migration not yet recorded. Returns the versions applied now.
pub async fn migrate(tx: &mut Tx) -> Result<Vec<i64>, StoreError> {
    let timestamp = match tx.dialect() {
        Dialect::Sqlite => "DATETIME",
        Dialect::Postgres => "TIMESTAMP WITHOUT TIME ZONE",
    };
    tx.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INTEGER NOT NULL PRIMARY KEY, description VARCHAR(255) NOT NULL, applied_on {timestamp} NOT NULL)"
        ),
        &[],
    )
    .await?;
    let done: Vec<i64> = tx
        .fetch(
            &format!("SELECT version FROM {MIGRATIONS_TABLE}"),
            &[],
            &[Ty::Int],
        )
        .await?
        .iter()
        .filter_map(|r| r[0].as_int())
        .collect();
    let mut applied = Vec::new();
    for migration in &MIGRATIONS {
        if done.contains(&migration.version) {
            continue;
        }
        run(tx, migration.version, timestamp).await?;
        tx.execute(
            &format!("INSERT INTO {MIGRATIONS_TABLE} (version, description, applied_on) VALUES ($1, $2, $3)"),
            &[
                Value::int(migration.version),
                Value::text(migration.description),
                Value::Time(Utc::now().naive_utc()),
            ],
        )
        .await?;
        applied.push(migration.version);
    }
    Ok(applied)
}

async fn run(tx: &mut Tx, version: i64, timestamp: &str) -> Result<(), StoreError> {
    match version {
        1 => {
            tx.execute(
                &format!(
                    "CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (\
                     kind VARCHAR(64) NOT NULL, \
                     object_key VARCHAR(512) NOT NULL, \
                     manager VARCHAR(255) NOT NULL, \
                     content_hash VARCHAR(64) NOT NULL, \
                     applied_on {timestamp} NOT NULL, \
                     PRIMARY KEY (kind, object_key))"
                ),
                &[],
            )
            .await?;
        }
        2 => {
            // As SIP-209's own migration adds them (its `add_columns` then skips columns that
            // exist, so a later `superset db upgrade` keeps these): the foreign keys named as
            // upstream names them, set to NULL when the user is deleted.
            let user_key = |column: &str| {
                format!(
                    "INTEGER CONSTRAINT {} REFERENCES ab_user (id) ON DELETE SET NULL",
                    run_as_foreign_key(column)
                )
            };
            for (column, ty) in [
                ("run_as_fk", user_key("run_as_fk")),
                ("run_alert_query_as_fk", user_key("run_alert_query_as_fk")),
                ("run_as_type", "VARCHAR(50)".to_owned()),
                ("run_alert_query_as_type", "VARCHAR(50)".to_owned()),
            ] {
                if !tx.has_column("report_schedule", column).await? {
                    tx.execute(
                        &format!("ALTER TABLE report_schedule ADD COLUMN {column} {ty}"),
                        &[],
                    )
                    .await?;
                }
            }
        }
        3 => {
            // Created the `report_config` table of an abandoned SIP-209 draft; migration 6
            // moves what a database has there into `key_value`. A new database skips it.
        }
        4 => {
            tx.execute(
                &format!("CREATE TABLE IF NOT EXISTS {INSTANCE_TABLE} (id VARCHAR(36) NOT NULL PRIMARY KEY)"),
                &[],
            )
            .await?;
            tx.execute(
                &format!("INSERT INTO {INSTANCE_TABLE} (id) VALUES ($1)"),
                &[Value::text(uuid::Uuid::new_v4().to_string())],
            )
            .await?;
        }
        5 => {
            for (column, ty) in LEDGER_IDENTITY {
                if !tx.has_column(LEDGER_TABLE, column).await? {
                    tx.execute(
                        &format!("ALTER TABLE {LEDGER_TABLE} ADD COLUMN {column} {ty}"),
                        &[],
                    )
                    .await?;
                }
            }
        }
        6 => {
            let now = Value::Time(Utc::now().naive_utc());
            super::config_document::move_from_report_config(tx, &now).await?;
        }
        7 => name_run_as_foreign_keys(tx).await?,
        8 => {
            tx.execute(&super::guest_policy::create_table(timestamp), &[])
                .await?;
        }
        _ => unreachable!("every migration version has a body"),
    }
    Ok(())
}
