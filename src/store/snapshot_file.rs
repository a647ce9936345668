//! Snapshot files: what a metadata database held (managed objects, content and permission
//! catalogue, ownership ledger) as one JSON document, so `diff --against-snapshot` can plan
//! where the database cannot be reached. Passwords are never in it, and webhook URLs (which may
//! carry tokens) only as their SHA-256, matched against the declared URLs when planning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Observed;
use crate::model::{Catalog, ObjectKey, ReleaseFacts, State};
use crate::plan::user_deletion::Detached;
use crate::plan::{LedgerEntry, webhook_digest};

/// Version of the snapshot format.
pub const SNAPSHOT_VERSION: u32 = 1;

/// A snapshot of a metadata database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotFile {
    pub schema_version: u32,
    /// The database it was taken from (password removed).
    pub taken_from: String,
    /// That database's identity (see `store::database_identity`), which binds plan files made
    /// from this snapshot to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<String>,
    /// When, RFC 3339.
    pub taken_at: String,
    pub state: State,
    pub catalog: Catalog,
    pub ledger: Vec<LedgerRow>,
    pub has_run_as: bool,
    pub has_report_config: bool,
    /// What pruning each managed user would detach (absent in older snapshots).
    #[serde(default)]
    pub user_references: BTreeMap<String, Vec<Detached>>,
    /// What the database's Superset release can hold (absent in older snapshots and for a
    /// schema of no supported release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseFacts>,
}

/// One ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub object: ObjectKey,
    #[serde(flatten)]
    pub entry: LedgerEntry,
}

/// `state` with every webhook URL replaced by its digest.
fn without_webhook_urls(state: &State) -> State {
    let mut state = state.clone();
    for schedule in state.schedules.values_mut() {
        schedule.recipients = std::mem::take(&mut schedule.recipients)
            .into_iter()
            .map(|mut r| {
                if r.recipient_type == "Webhook"
                    && let Some(url) = r.config.get_mut("target")
                {
                    *url = webhook_digest(url);
                }
                r
            })
            .collect();
    }
    state
}

impl SnapshotFile {
    /// The snapshot of `observed`, read from `taken_from` (already redacted).
    pub fn of(observed: &Observed, taken_from: String) -> SnapshotFile {
        SnapshotFile {
            schema_version: SNAPSHOT_VERSION,
            taken_from,
            database_id: None,
            taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state: without_webhook_urls(&observed.state),
            catalog: observed.catalog.clone(),
            ledger: observed
                .ledger
                .iter()
                .map(|(object, entry)| LedgerRow {
                    object: object.clone(),
                    entry: entry.clone(),
                })
                .collect(),
            has_run_as: observed.has_run_as,
            has_report_config: observed.has_report_config,
            user_references: observed.user_references.clone(),
            release: observed.release.clone(),
        }
    }

    /// What the planner needs (no database ids: a snapshot is for `diff` only).
    pub fn into_observed(self) -> Observed {
        Observed {
            state: self.state,
            catalog: self.catalog,
            ledger: self
                .ledger
                .into_iter()
                .map(|row| (row.object, row.entry))
                .collect(),
            has_run_as: self.has_run_as,
            has_report_config: self.has_report_config,
            user_references: self.user_references,
            release: self.release,
            ..Observed::default()
        }
    }
}
