//! `steward apply`: one reconciliation pass inside the write lock, then the plan written in the
//! same transaction. With `--plan-file` the reviewed plan (paths, options, database identity,
//! manifest digest, fingerprint, changes) is checked first; with `--output json` the outcome is
//! one JSON document listing every object with the Superset id it has after the apply.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::database::{DatabaseArgs, ReconcileArgs, block_on, store_failure};
use super::plan_files::{read_plan_file, set_digest};
use super::reconcile::{load_in_background, report_blockers};
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE, Output};
use crate::manifests::LoadedSet;
use crate::model::ObjectKey;
use crate::plan::plan_file::{PlanFile, RecordedOptions};
use crate::plan::target::reviewed_targets;
use crate::plan::{Action, PlanOptions};
use crate::reconcile::plan_pass_while_loading;
use crate::render::render_text as render_plan;
use crate::resources::Kind;
use crate::store::bootstrap::ensure_superset;
use crate::store::failpoint::{Phase, reached};
use crate::store::migrate::migrate;
use crate::store::{
    Ids, Store, StoreError, apply_plan, database_identity, read_observed, record_identities,
};

/// Version of `apply --output json`.
pub const APPLY_REPORT_VERSION: u32 = 1;

/// The outcome of `apply --output json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyJson {
    schema_version: u32,
    /// The database, password removed.
    database: String,
    /// Whether the changes were committed (false: refused or nothing to do).
    applied: bool,
    /// Link rows (permissions, memberships, recipients…) inserted or deleted.
    links: usize,
    objects: Vec<ObjectOutcome>,
}

#[derive(Serialize)]
struct ObjectOutcome {
    kind: Kind,
    name: String,
    action: Action,
    /// The Superset id after the apply (null for deletions and the configuration).
    id: Option<i64>,
    /// The natural key it had before this apply renamed it in place.
    #[serde(rename = "renamedFrom", skip_serializing_if = "Option::is_none")]
    renamed_from: Option<String>,
}

/// What one apply did, for the report.
struct Applied {
    changes: Vec<(ObjectKey, Action, Option<String>)>,
    links: usize,
}

pub(super) fn apply(
    reconcile: &ReconcileArgs,
    plan_file: Option<&Path>,
    output: Output,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let reviewed = plan_file.map(read_plan_file).transpose()?;
    let mut reconcile = reconcile.clone();
    if let Some(reviewed) = &reviewed
        && let Err(message) = take_from_plan(&mut reconcile, reviewed)
    {
        errln!("error: {message}");
        return Ok(EXIT_USAGE);
    }
    if reconcile.paths.is_empty() {
        errln!(
            "error: no manifest paths given: `steward apply PATH…` or `steward apply --plan-file FILE`"
        );
        return Ok(EXIT_USAGE);
    }
    let ReconcileArgs {
        paths,
        database,
        plan: args,
        verbose,
    } = &reconcile;
    let options = match &reviewed {
        Some(reviewed) => PlanOptions {
            targets: reviewed_targets(&args.targets, &reviewed.targets)?,
            ..reviewed.options.apply_to(args.options())
        },
        None => args.options(),
    };
    block_on(async {
        let loading = load_in_background(paths);
        let url = database.url();
        let store = match database.connect(false).await {
            Ok(store) => store,
            Err(e) => return Ok(store_failure(&e)),
        };
        let progress = Progress::new();
        let outcome = run_apply(
            &store,
            loading,
            &options,
            reviewed.as_ref(),
            *verbose && output == Output::Text,
            output,
            &progress,
        )
        .await;
        progress.finish();
        let outcome = match outcome {
            Err(ApplyStop::Store(e)) => Err(ApplyStop::Store(store.explain(e).await)),
            other => other,
        };
        let ids = match (&outcome, output) {
            (Ok(Some(_)), Output::Json) => store_ids(&store).await,
            _ => Ok(Ids::default()),
        };
        store.close().await;
        let ids = match ids {
            Ok(ids) => ids,
            Err(e) => return Ok(store_failure(&e)),
        };
        match outcome {
            Ok(applied) => {
                match output {
                    Output::Json => {
                        dataln!("{}", render_json(&url.to_string(), applied.as_ref(), &ids))
                    }
                    Output::Text => {
                        if let Some(applied) = applied {
                            outln!(
                                "Applied {} change(s) ({} permission/membership/recipient rows) to {url} in {:.2} s.",
                                applied.changes.len(),
                                applied.links,
                                started.elapsed().as_secs_f64()
                            );
                        }
                    }
                }
                Ok(EXIT_OK)
            }
            Err(ApplyStop::Blocked) => {
                if output == Output::Json {
                    dataln!("{}", render_json(&url.to_string(), None, &ids));
                }
                Ok(EXIT_INVALID)
            }
            Err(ApplyStop::Store(e)) => Ok(store_failure(&e)),
        }
    })
}

/// Fills in what `apply --plan-file` takes from the plan: the paths when none are given, the
/// database when none is given and the plan's URL holds no secret; plan flags on the command
/// line must agree with the plan's.
fn take_from_plan(reconcile: &mut ReconcileArgs, reviewed: &PlanFile) -> Result<(), String> {
    if reconcile.paths.is_empty() {
        reconcile.paths = reviewed.manifests.paths.clone();
    }
    let given = RecordedOptions::of(&reconcile.plan.options());
    let default = RecordedOptions::of(&PlanOptions::default());
    if given != default && given != reviewed.options {
        return Err(format!(
            "the plan file was made with other plan options ({}); `apply --plan-file` applies it with them: drop the plan flags",
            describe(&reviewed.options)
        ));
    }
    if reconcile.database.url.is_none() {
        if reviewed.database.contains("***") {
            return Err(format!(
                "the plan was made against {}; give its URL with --database or STEWARD_DATABASE_URL",
                reviewed.database
            ));
        }
        reconcile.database = DatabaseArgs {
            url: Some(reviewed.database.clone()),
            ..reconcile.database.clone()
        };
    }
    Ok(())
}

fn describe(options: &RecordedOptions) -> String {
    let mut flags = vec![format!("--manager {}", options.manager)];
    let mut flag = |on: bool, name: &str| on.then(|| flags.push(name.to_owned()));
    flag(!options.prune, "--no-prune");
    flag(options.adopt, "--adopt");
    flag(options.allow_builtin_roles, "--allow-builtin-roles");
    flag(options.allow_empty_kinds, "--allow-empty-kinds");
    if let Some(n) = options.max_deletions {
        flags.push(format!("--max-deletions {n}"));
    }
    flags.join(" ")
}

pub(super) enum ApplyStop {
    Blocked,
    Store(StoreError),
}

impl From<StoreError> for ApplyStop {
    fn from(e: StoreError) -> Self {
        ApplyStop::Store(e)
    }
}

async fn run_apply(
    store: &Store,
    loading: tokio::task::JoinHandle<LoadedSet>,
    options: &PlanOptions,
    reviewed: Option<&PlanFile>,
    verbose: bool,
    output: Output,
    progress: &Progress,
) -> Result<Option<Applied>, ApplyStop> {
    progress.say("waiting for the database lock");
    let mut tx = store
        .write(|| {
            errln!(
                "waiting for lock: another steward apply is writing to {}",
                store.url()
            )
        })
        .await?;
    ensure_superset(&mut tx, false).await?;
    if let Some(reviewed) = reviewed {
        let file = store.url().sqlite_file();
        let identity = database_identity(&mut tx, file.as_deref()).await?;
        if let Err(other) = reviewed.same_database(&store.url().to_string(), &identity) {
            errln!("error: {other}");
            tx.rollback().await?;
            return Err(ApplyStop::Blocked);
        }
    }
    let migrated = migrate(&mut tx).await?;
    progress.say("reading Superset's state");
    let options = PlanOptions {
        fingerprint: reviewed.is_some(),
        ..options.clone()
    };
    let planned = plan_pass_while_loading(&mut tx, loading, &options).await?;
    progress.clear();
    if !report_blockers(&planned) {
        tx.rollback().await?;
        return Err(ApplyStop::Blocked);
    }
    if let Some(reviewed) = reviewed
        && let Err(mismatch) = reviewed.matches(
            planned.fingerprint.as_deref().unwrap_or_default(),
            &set_digest(&planned.set),
            &planned.plan.changes,
        )
    {
        errln!(
            "error: {}; run `steward diff --out-plan` again and review the new plan",
            crate::escape::terminal(&mismatch.to_string())
        );
        tx.rollback().await?;
        return Err(ApplyStop::Blocked);
    }
    if output == Output::Text {
        out!("{}", render_plan(&planned.plan, verbose));
    }
    if planned.plan.is_empty() {
        let recorded =
            record_identities(&mut tx, &planned.observed, &planned.plan, &options.manager).await?;
        match migrated.is_empty() && recorded == 0 {
            true => tx.rollback().await?,
            false => tx.commit().await?,
        }
        exit_without_freeing(planned);
        return Ok(None);
    }
    let mut step = |message: &str| progress.say(message);
    let report = apply_plan(
        &mut tx,
        &planned.observed,
        &planned.desired,
        &planned.plan,
        &options.manager,
        &mut step,
    )
    .await?;
    progress.say("committing");
    reached(Phase::BeforeCommit);
    tx.commit().await?;
    reached(Phase::AfterCommit);
    let changes = planned
        .plan
        .changes
        .iter()
        .map(|c| (c.key.clone(), c.action, c.renamed_from.clone()))
        .collect();
    exit_without_freeing(planned);
    Ok(Some(Applied {
        changes,
        links: report.links,
    }))
}

/// The Superset ids after the apply, read back in a new read transaction.
async fn store_ids(store: &Store) -> Result<Ids, StoreError> {
    let mut tx = store.read().await?;
    let observed = read_observed(&mut tx).await?;
    tx.rollback().await?;
    Ok(observed.ids)
}

fn render_json(database: &str, applied: Option<&Applied>, ids: &Ids) -> String {
    let id_of = |key: &ObjectKey| ids.id_of(key);
    let objects = applied
        .map(|a| {
            a.changes
                .iter()
                .map(|(key, action, renamed_from)| ObjectOutcome {
                    kind: key.kind,
                    name: key.key.clone(),
                    action: *action,
                    id: match action {
                        Action::Delete | Action::Forget => None,
                        _ => id_of(key),
                    },
                    renamed_from: renamed_from.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let report = ApplyJson {
        schema_version: APPLY_REPORT_VERSION,
        database: database.to_owned(),
        applied: applied.is_some(),
        links: applied.map_or(0, |a| a.links),
        objects,
    };
    serde_json::to_string_pretty(&report).expect("the report serialises")
}

/// The process ends right after a command: freeing a pass's millions of small allocations
/// one by one would only delay the exit.
fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}

/// A spinner on standard error, shown only on a terminal.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new() -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn say(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_owned());
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.0 {
            bar.set_message(String::new());
            bar.disable_steady_tick();
            bar.finish_and_clear();
        }
    }

    fn finish(&self) {
        self.clear();
    }
}
