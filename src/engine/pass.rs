//! The pass itself: load (or receive) the declared resources → validate → (lock) → ensure
//! Superset + migrate → observe → plan → blocker check → (apply + commit). One `tracing` span
//! per phase; the caller renders. The one place where a plan is written, and where a blocked
//! plan is refused.

use tracing::{Instrument, info_span};

use super::error::EngineError;
use super::input::{Declared, Mode, Observe, PassInput};
use super::outcome::{Applied, Outcome, Verdict};
use super::planning::{Planned, plan_against};
use super::written::written;
use crate::diagnostic::{Code, Diagnostic};
use crate::manifests::{LoadedSet, load_paths_with};
use crate::plan::Action;
use crate::plan::PlanOptions;
use crate::plan::plan_file::PlanFile;
use crate::plan::user_deletion::show_detached;
use crate::policy::check_set_alone;
use crate::resources::Kind;
use crate::store::bootstrap::ensure_superset;
use crate::store::failpoint::{Phase, reached};
use crate::store::migrate::migrate;
use crate::store::superset_version::{Access, SchemaVersion, detect};
use crate::store::{
    Observed, Store, StoreError, Tx, apply_plan, database_identity, read_observed,
    record_identities, user_references_of,
};

/// Runs one pass. A dry run plans in a read transaction; an apply plans under the write lock
/// and writes the plan in the same transaction unless it is blocked (errors, refusals, policy
/// breaches) or, with a reviewed plan file, stale.
pub async fn run(input: PassInput<'_>) -> Result<Outcome, EngineError> {
    let PassInput {
        declared,
        observe,
        options,
    } = input;
    let plan_options = PlanOptions {
        fingerprint: options.plan.fingerprint || options.expected.is_some(),
        ..options.plan
    };
    match (observe, options.mode) {
        (Observe::Snapshot(_), Mode::Apply) => Err(EngineError::ApplyToSnapshot),
        (Observe::Snapshot(observed), Mode::DryRun) => {
            let set = Loading::start(declared).finish().await;
            Ok(dry_outcome(plan(set, *observed, &plan_options), None))
        }
        (Observe::Database(store), Mode::DryRun) => {
            let loading = Loading::start(declared);
            let (observed, identity, version) = explained(store, read(store)).await?;
            let set = loading.finish().await;
            let mut planned = plan(set, observed, &plan_options);
            if let SchemaVersion::Unknown(why) = version {
                let warning = Diagnostic::warning(Code::SupersetVersion, why).hint(
                    "a read goes on while the tables steward reads are there; apply refuses this database",
                );
                planned.set.diagnostics.push(warning);
                crate::diagnostic::sort(&mut planned.set.diagnostics);
            }
            let deleted = deleted_users(&planned);
            if !deleted.is_empty() {
                explained(store, async {
                    let mut tx = store.read().await?;
                    show_user_references(&mut tx, &mut planned, &deleted).await?;
                    tx.rollback().await?;
                    Ok(())
                })
                .await?;
            }
            Ok(dry_outcome(planned, Some(identity)))
        }
        (Observe::Database(store), Mode::Apply) => {
            let loading = Loading::start(declared);
            let expected = options.expected.as_ref();
            explained(store, apply(store, loading, &plan_options, expected)).await
        }
    }
}

fn dry_outcome(planned: Planned, identity: Option<String>) -> Outcome {
    let verdict = match planned.is_blocked() {
        true => Verdict::Blocked,
        false => Verdict::Planned,
    };
    Outcome {
        planned,
        identity,
        verdict,
    }
}

/// A store error with what the store can add (which lock, which table).
async fn explained<T>(
    store: &Store,
    work: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    match work.await {
        Err(EngineError::Store(e)) => Err(EngineError::Store(store.explain(e).await)),
        other => other,
    }
}

fn plan(set: LoadedSet, observed: Observed, options: &PlanOptions) -> Planned {
    let _plan = info_span!("plan").entered();
    plan_against(set, observed, options)
}

/// What the database holds, its identity and its Superset schema, in a read transaction (no
/// lock).
async fn read(store: &Store) -> Result<(Observed, String, SchemaVersion), EngineError> {
    async {
        let mut tx = store.read().await?;
        ensure_superset(&mut tx, false).await?;
        let version = detect(&mut tx, Access::Read).await?;
        let file = store.url().sqlite_file();
        let identity = database_identity(&mut tx, file.as_deref()).await?;
        let observed = read_observed(&mut tx).await?;
        tx.rollback().await?;
        Ok((observed, identity, version))
    }
    .instrument(info_span!("observe"))
    .await
}

async fn apply(
    store: &Store,
    loading: Loading,
    options: &PlanOptions,
    expected: Option<&PlanFile>,
) -> Result<Outcome, EngineError> {
    let url = store.url();
    let waiting = || tracing::warn!("waiting for lock: another steward apply is writing to {url}");
    let mut tx = store.write(waiting).instrument(info_span!("lock")).await?;
    ensure_superset(&mut tx, false).await?;
    // Nothing is written to a schema steward does not know (the transaction rolls back).
    detect(&mut tx, Access::Write).await?;
    let mut identity = None;
    if let Some(expected) = expected {
        let file = url.sqlite_file();
        let id = database_identity(&mut tx, file.as_deref()).await?;
        if let Err(other) = expected.same_database(&url.to_string(), &id) {
            tx.rollback().await?;
            return Err(EngineError::OtherDatabase(other));
        }
        identity = Some(id);
    }
    let migrated = migrate(&mut tx).await?;
    let observed = read_observed(&mut tx)
        .instrument(info_span!("observe"))
        .await?;
    let set = loading.finish().await;
    let mut planned = plan(set, observed, options);
    let deleted = deleted_users(&planned);
    if !deleted.is_empty() {
        show_user_references(&mut tx, &mut planned, &deleted).await?;
    }
    let outcome = |planned, verdict| Outcome {
        planned,
        identity,
        verdict,
    };
    if planned.is_blocked() {
        tx.rollback().await?;
        return Ok(outcome(planned, Verdict::Blocked));
    }
    if let Some(expected) = expected {
        let fingerprint = planned.fingerprint.as_deref().unwrap_or_default();
        let digest = planned.set.digest();
        if let Err(stale) = expected.matches(fingerprint, &digest, &planned.plan.changes) {
            tx.rollback().await?;
            return Ok(outcome(planned, Verdict::Stale(stale)));
        }
    }
    if planned.plan.is_empty() {
        // Ledger rows from before resource identities get theirs on this (no-op) apply.
        let recorded =
            record_identities(&mut tx, &planned.observed, &planned.plan, &options.manager).await?;
        match migrated.is_empty() && recorded == 0 {
            true => tx.rollback().await?,
            false => tx.commit().await?,
        }
        return Ok(outcome(planned, Verdict::Applied(Applied::default())));
    }
    let mut step = |message: &str| tracing::info!("{message}");
    let report = apply_plan(
        &mut tx,
        &planned.observed,
        &planned.desired,
        &planned.plan,
        &options.manager,
        &mut step,
    )
    .instrument(info_span!("apply"))
    .await?;
    async {
        reached(Phase::BeforeCommit);
        tx.commit().await?;
        reached(Phase::AfterCommit);
        Ok::<(), StoreError>(())
    }
    .instrument(info_span!("commit"))
    .await?;
    let objects = written(&planned.plan.changes, &report.ids);
    let applied = Applied {
        objects,
        links: report.links,
    };
    Ok(outcome(planned, Verdict::Applied(applied)))
}

/// The users the plan deletes (whose references the plan then shows).
fn deleted_users(planned: &Planned) -> Vec<String> {
    planned
        .plan
        .changes
        .iter()
        .filter(|c| c.key.kind == Kind::SupersetUser && c.action == Action::Delete)
        .map(|c| c.key.key.clone())
        .collect()
}

/// Counts, for each of `deleted`, the rows that refer to it, and shows them on its deletion
/// (read after planning: counting for every managed user scans every table that refers to a
/// user, whatever the plan).
async fn show_user_references(
    tx: &mut Tx,
    planned: &mut Planned,
    deleted: &[String],
) -> Result<(), EngineError> {
    let deleted = deleted.iter().map(String::as_str);
    let references = user_references_of(tx, &planned.observed, deleted).await?;
    show_detached(&mut planned.plan, &references);
    planned.observed.user_references = references;
    Ok(())
}

/// The declared set, ready or being loaded on a blocking thread.
enum Loading {
    Ready(LoadedSet),
    Pending(tokio::task::JoinHandle<LoadedSet>),
}

impl Loading {
    /// Starts loading: files are read and parsed on a blocking thread while the database is
    /// read.
    fn start(declared: Declared) -> Loading {
        match declared {
            Declared::Resources(resources) => Loading::Ready(LoadedSet::from_resources(resources)),
            Declared::Loaded(set) => Loading::Ready(set),
            Declared::Paths { paths, cache } => {
                let span = info_span!("load");
                // The checks of the set alone follow on the same thread: reading Superset
                // usually takes longer than loading, and they leave the planning.
                Loading::Pending(tokio::task::spawn_blocking(move || {
                    span.in_scope(|| {
                        let mut set = load_paths_with(&paths, &cache);
                        check_set_alone(&mut set);
                        set
                    })
                }))
            }
        }
    }

    async fn finish(self) -> LoadedSet {
        match self {
            Loading::Ready(set) => set,
            Loading::Pending(task) => task.await.expect("manifest loading does not panic"),
        }
    }
}
