//! `steward export --snapshot FILE`: what the database holds, as one JSON file for
//! `diff --against-snapshot`.

use std::path::Path;

use anyhow::Context;

use super::EXIT_OK;
use super::database::{DatabaseArgs, block_on, store_failure};
use crate::store::bootstrap::ensure_superset;
use crate::store::snapshot_file::SnapshotFile;
use crate::store::{Observed, Store, StoreError, read_observed};

pub(super) fn snapshot(database: &DatabaseArgs, file: &Path) -> anyhow::Result<u8> {
    let url = database.url();
    let observed: Result<Observed, u8> = block_on(async {
        let store = Store::connect(&url, false)
            .await
            .map_err(|e| store_failure(&e))?;
        let result: Result<Observed, StoreError> = async {
            let mut tx = store.read().await?;
            ensure_superset(&mut tx, false).await?;
            let observed = read_observed(&mut tx).await?;
            tx.rollback().await?;
            Ok(observed)
        }
        .await;
        store.close().await;
        result.map_err(|e| store_failure(&e))
    });
    let observed = match observed {
        Ok(observed) => observed,
        Err(code) => return Ok(code),
    };
    let snapshot = SnapshotFile::of(&observed, url.to_string());
    std::fs::write(file, serde_json::to_string_pretty(&snapshot)?)
        .with_context(|| format!("writing the snapshot {}", file.display()))?;
    println!(
        "Wrote a snapshot of {url} to {}: {} users, {} roles, {} groups, {} RLS filters, {} schedules.",
        file.display(),
        snapshot.state.users.len(),
        snapshot.state.roles.len(),
        snapshot.state.groups.len(),
        snapshot.state.rls_filters.len(),
        snapshot.state.schedules.len()
    );
    Ok(EXIT_OK)
}
