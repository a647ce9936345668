//! `steward init`: prepare a metadata database: Superset's tables in a new SQLite file, steward's
//! migrations, and with `--demo` the content the examples refer to.

use super::EXIT_OK;
use super::database::{DatabaseArgs, block_on, store_failure};
use crate::generate::OrgSize;
use crate::store::bootstrap::{Bootstrap, ensure_superset};
use crate::store::demo::{DemoContent, seed};
use crate::store::migrate::migrate;
use crate::store::{Store, StoreError};

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
        let store = match Store::connect(&url, true).await {
            Ok(store) => store,
            Err(e) => return Ok(store_failure(&e)),
        };
        let result: Result<(), StoreError> = async {
            let mut tx = store
                .write(|| eprintln!("waiting for lock: another steward apply is writing to {url}"))
                .await?;
            if ensure_superset(&mut tx, true).await? == Bootstrap::Created {
                println!("created Superset 6.1's metadata tables, permission catalogue and built-in roles");
            }
            let migrated = migrate(&mut tx).await?;
            if !migrated.is_empty() {
                println!("ran steward migrations {migrated:?}");
            }
            if let Some(set) = demo {
                let content = match set {
                    DemoSet::Examples => DemoContent::examples(),
                    DemoSet::Org => DemoContent::organisation(&OrgSize::scaled(scale).content),
                };
                let seeded = seed(&mut tx, &content).await?;
                println!(
                    "demo content: {} database(s), {} dataset(s), {} chart(s), {} dashboard(s) created",
                    seeded.databases, seeded.datasets, seeded.charts, seeded.dashboards
                );
            }
            tx.commit().await
        }
        .await;
        store.close().await;
        match result {
            Ok(()) => {
                println!("{url} is ready");
                Ok(EXIT_OK)
            }
            Err(e) => Ok(store_failure(&e)),
        }
    })
}
