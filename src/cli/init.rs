//! `steward init`: prepare a metadata database: Superset's tables in a new SQLite file, steward's
//! migrations, and with `--demo` the content the examples refer to. It is the only command that
//! creates a SQLite file, and it leaves none behind when it fails.

use super::EXIT_OK;
use super::database::{DatabaseArgs, block_on, store_failure};
use crate::generate::OrgSize;
use crate::store::StoreError;
use crate::store::bootstrap::{Bootstrap, ensure_superset};
use crate::store::demo::{DemoContent, seed};
use crate::store::migrate::migrate;
use crate::store::superset_version::Access;

/// Which demo content to seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoSet {
    /// The content `examples/` refers to.
    Examples,
    /// The content a generated organisation refers to.
    Org,
}

pub(super) fn run(
    database: &DatabaseArgs,
    demo: Option<DemoSet>,
    scale: f64,
) -> anyhow::Result<u8> {
    block_on(async {
        let url = database.url();
        // A file this run creates is removed again if the run fails: no debris.
        let new_file = url.sqlite_file().filter(|f| !f.exists());
        let remove_new_file = || {
            if let Some(file) = &new_file {
                for suffix in ["", "-journal", "-wal", "-shm"] {
                    let mut path = file.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
        };
        if let Some(dir) = new_file.as_ref().and_then(|f| f.parent())
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            errln!(
                "error: cannot create {url}: the directory {} does not exist",
                dir.display()
            );
            return Ok(super::EXIT_UNREACHABLE);
        }
        let store = match database.connect(true).await {
            Ok(store) => store,
            Err(e) => {
                remove_new_file();
                return Ok(store_failure(&e));
            }
        };
        let result: Result<(), StoreError> = async {
            let mut tx = store
                .write(|| errln!("waiting for lock: another steward apply is writing to {url}"))
                .await?;
            if ensure_superset(&mut tx, true).await? == Bootstrap::Created {
                outln!("created Superset 6.1's metadata tables, permission catalogue and built-in roles");
            }
            let version = crate::store::superset_version::detect(&mut tx, Access::Write).await?;
            if let Some(release) = version.release() {
                outln!("Superset {release} schema");
            }
            let migrated = migrate(&mut tx).await?;
            if !migrated.is_empty() {
                outln!("ran steward migrations {migrated:?}");
            }
            if let Some(set) = demo {
                let content = match set {
                    DemoSet::Examples => DemoContent::examples(),
                    DemoSet::Org => DemoContent::organisation(&OrgSize::scaled(scale).content),
                };
                let seeded = seed(&mut tx, &content).await?;
                outln!(
                    "demo content: {} database(s), {} dataset(s), {} chart(s), {} dashboard(s) created",
                    seeded.databases, seeded.datasets, seeded.charts, seeded.dashboards
                );
            }
            tx.commit().await
        }
        .await;
        let result = match result {
            Ok(()) => Ok(()),
            Err(e) => Err(store.explain(e).await),
        };
        store.close().await;
        match result {
            Ok(()) => {
                outln!("{url} is ready");
                Ok(EXIT_OK)
            }
            Err(e) => {
                remove_new_file();
                Ok(store_failure(&e))
            }
        }
    })
}
