//! steward's own table of guest-token policies (`steward_guest_token_policy`): one row per
//! policy, its normalised model as JSON. Superset never reads it; `steward guest-token` and the
//! operator's minting endpoint do.

use std::collections::BTreeMap;

use super::StoreError;
use super::sql::{Tx, Ty, Value};
use crate::model::GuestPolicy;

/// The table.
pub const GUEST_POLICY_TABLE: &str = "steward_guest_token_policy";

/// The statement creating the table (migration 8).
pub fn create_table(timestamp: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {GUEST_POLICY_TABLE} (\
         name VARCHAR(255) NOT NULL PRIMARY KEY, \
         policy TEXT NOT NULL, \
         changed_on {timestamp} NOT NULL)"
    )
}

/// Every policy, by name; none when the table does not exist yet (a database steward has not
/// migrated).
pub async fn read(tx: &mut Tx) -> Result<BTreeMap<String, GuestPolicy>, StoreError> {
    if !tx.has_table(GUEST_POLICY_TABLE).await? {
        return Ok(BTreeMap::new());
    }
    let rows = tx
        .fetch(
            &format!("SELECT name, policy FROM {GUEST_POLICY_TABLE}"),
            &[],
            &[Ty::Text, Ty::Text],
        )
        .await?;
    let mut policies = BTreeMap::new();
    for mut row in rows {
        let (Some(name), Some(json)) = (row[0].take_text(), row[1].take_text()) else {
            continue;
        };
        let policy: GuestPolicy = serde_json::from_str(&json).map_err(|e| {
            StoreError::Data(format!(
                "the guest-token policy `{name}` in {GUEST_POLICY_TABLE} is not one steward wrote: {e}"
            ))
        })?;
        policies.insert(name, policy);
    }
    Ok(policies)
}

/// Writes (inserts or replaces) `policies`.
pub async fn write(tx: &mut Tx, policies: &[&GuestPolicy], now: &Value) -> Result<(), StoreError> {
    for policy in policies {
        let json = serde_json::to_string(policy).expect("a policy serialises");
        tx.execute(
            &format!("DELETE FROM {GUEST_POLICY_TABLE} WHERE name = $1"),
            &[Value::text(policy.name.clone())],
        )
        .await?;
        tx.execute(
            &format!(
                "INSERT INTO {GUEST_POLICY_TABLE} (name, policy, changed_on) VALUES ($1, $2, $3)"
            ),
            &[
                Value::text(policy.name.clone()),
                Value::text(json),
                now.clone(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Deletes the policies named `names`.
pub async fn delete(tx: &mut Tx, names: &[&str]) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for name in names {
        deleted += tx
            .execute(
                &format!("DELETE FROM {GUEST_POLICY_TABLE} WHERE name = $1"),
                &[Value::text(*name)],
            )
            .await?;
    }
    Ok(deleted)
}

/// Every dashboard with its embedded uuid (`embedded_dashboards`), for minting.
pub async fn dashboards(
    tx: &mut Tx,
) -> Result<Vec<crate::token::guest_policy::AllowedDashboard>, StoreError> {
    let sql = format!(
        "SELECT d.id, {}, d.slug, d.dashboard_title, {} FROM dashboards d \
         LEFT JOIN embedded_dashboards e ON e.dashboard_id = d.id ORDER BY d.id",
        tx.uuid_text("d.uuid"),
        tx.uuid_text("e.uuid")
    );
    let rows = tx
        .fetch(
            &sql,
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?;
    let mut out: Vec<crate::token::guest_policy::AllowedDashboard> = Vec::new();
    for mut r in rows {
        let (Some(id), Some(uuid)) = (
            r[0].as_int(),
            r[1].as_str().and_then(super::snapshot::canonical_uuid),
        ) else {
            continue;
        };
        let embedded_uuid = r[4].as_str().and_then(super::snapshot::canonical_uuid);
        // A dashboard embedded twice (Superset keeps one row per dashboard) keeps its first.
        if out.last().is_some_and(|d| d.id == id) {
            continue;
        }
        let title = r[3].take_text().unwrap_or_default();
        out.push(crate::token::guest_policy::AllowedDashboard {
            declared_as: format!("uuid {uuid}"),
            id,
            uuid,
            slug: r[2].take_text(),
            title,
            embedded_uuid,
        });
    }
    Ok(out)
}

/// Dataset ids by `database.schema.table`, for the RLS rules of a minted token.
pub async fn dataset_ids(tx: &mut Tx) -> Result<BTreeMap<String, i64>, StoreError> {
    let rows = tx
        .fetch(
            "SELECT t.id, d.database_name, t.schema, t.table_name FROM tables t \
             JOIN dbs d ON d.id = t.database_id",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut r| {
            let id = r[0].as_int()?;
            let key = format!(
                "{}.{}.{}",
                r[1].take_text()?,
                r[2].take_text().unwrap_or_default(),
                r[3].take_text()?
            );
            Some((key, id))
        })
        .collect())
}
