//! `steward diff` and `steward apply`: one reconciliation pass against the database; apply then
//! writes the plan in the same locked transaction.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::database::{
    DatabaseArgs, PlanArgs, ReconcileArgs, block_on, read_database, store_failure,
};
use super::{DiffOutput, EXIT_CHANGES, EXIT_INVALID, EXIT_OK};
use crate::diagnostic::render_text;
use crate::plan::PlanOptions;
use crate::plan::plan_file::PlanFile;
use crate::plan::spec_diff::spec_changes;
use crate::plan::target::reviewed_targets;
use crate::policy::report_rules::render_blocking;
use crate::reconcile::{Planned, plan_against, plan_pass_while_loading};
use crate::report::json::render_json;
use crate::report::{
    Against, DiffReport, render_impact, render_markdown, render_text as render_plan,
};
use crate::spec::load::git_revision::sources_at_revision;
use crate::spec::load::{LoadedSet, load_paths, load_sources};
use crate::store::bootstrap::{Bootstrap, ensure_superset};
use crate::store::migrate::migrate;
use crate::store::snapshot_file::{SNAPSHOT_VERSION, SnapshotFile};
use crate::store::{Store, StoreError, apply_plan};
use crate::validation::validate_paths;

/// A steward JSON file (`what`: `snapshot`, `plan file`), with errors that name it.
fn read_json<T: serde::de::DeserializeOwned>(file: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the {what} {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a steward {what}", file.display()))
}

/// Loads manifests on a blocking thread while the database work goes on.
fn load_in_background(paths: &[String]) -> tokio::task::JoinHandle<LoadedSet> {
    let paths = paths.to_vec();
    tokio::task::spawn_blocking(move || load_paths(&paths))
}

fn print_diagnostics(set: &LoadedSet) {
    for d in &set.diagnostics {
        let line = d.location.as_ref().and_then(|l| set.source_line(l));
        eprintln!("{}", render_text(d, line));
    }
}

/// Prints diagnostics and refusals; returns whether the pass may go on.
fn report_blockers(planned: &Planned) -> bool {
    print_diagnostics(&planned.set);
    for refusal in &planned.plan.refusals {
        eprintln!("{}", render_text(refusal, None));
    }
    if !planned.policy.is_empty() {
        eprint!("{}", render_blocking(&planned.policy));
        return false;
    }
    if planned.set.has_errors() {
        let n = planned
            .set
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        eprintln!("invalid: {n} error(s); nothing was planned");
        return false;
    }
    if !planned.plan.refusals.is_empty() {
        anstream::eprint!("{}", render_plan(&planned.plan, false));
        eprintln!(
            "refused: {} problem(s) above; nothing was written",
            planned.plan.refusals.len()
        );
        return false;
    }
    true
}

pub(super) fn diff(
    reconcile: &ReconcileArgs,
    output: DiffOutput,
    out_plan: Option<&Path>,
    show_impact: bool,
    against_snapshot: Option<&Path>,
) -> anyhow::Result<u8> {
    let ReconcileArgs {
        paths,
        database,
        plan: args,
        verbose,
    } = reconcile;
    let (planned, against) = match against_snapshot {
        Some(file) => {
            let snapshot: SnapshotFile = read_json(file, "snapshot")?;
            anyhow::ensure!(
                snapshot.schema_version == SNAPSHOT_VERSION,
                "{} has snapshot format version {}; this steward reads version {SNAPSHOT_VERSION}",
                file.display(),
                snapshot.schema_version
            );
            let against = Against {
                kind: "snapshot",
                name: format!(
                    "{} (of {}, {})",
                    file.display(),
                    snapshot.taken_from,
                    snapshot.taken_at
                ),
            };
            let set = load_paths(paths);
            let options = PlanOptions {
                impact: show_impact,
                ..args.options()
            };
            (
                plan_against(set, snapshot.into_observed(), &options),
                against,
            )
        }
        None => match plan_from_database(paths, database, args, out_plan.is_some(), show_impact) {
            Ok(planned) => (
                planned,
                Against {
                    kind: "database",
                    name: database.url().to_string(),
                },
            ),
            Err(code) => return Ok(code),
        },
    };
    let report = DiffReport {
        against: &against,
        plan: &planned.plan,
        policy: &planned.policy,
        diagnostics: &planned.set.diagnostics,
        impact: planned.impact.as_ref(),
    };
    let blocked = report.blocked();
    if let Some(file) = out_plan
        && !blocked
    {
        let mut plan_file = PlanFile::new(
            database.url().to_string(),
            planned
                .fingerprint
                .clone()
                .expect("asked for with --out-plan"),
            &planned.plan.changes,
        );
        plan_file.targets = args.targets.iter().map(|t| t.as_str().to_owned()).collect();
        std::fs::write(file, serde_json::to_string_pretty(&plan_file)?)
            .with_context(|| format!("writing the plan file {}", file.display()))?;
    }
    match output {
        DiffOutput::Text => {
            if !report_blockers(&planned) {
                return Ok(EXIT_INVALID);
            }
            anstream::print!("{}", render_plan(&planned.plan, *verbose));
            if let Some(impact) = report.impact {
                anstream::print!("{}", render_impact(impact, *verbose));
            }
        }
        DiffOutput::Markdown => print!("{}", render_markdown(&report)),
        DiffOutput::Json => println!("{}", render_json(&report)),
    }
    Ok(if blocked {
        EXIT_INVALID
    } else if planned.plan.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    })
}

/// `diff --against-ref`: the manifests against themselves at a git revision, no database.
pub(super) fn diff_against_revision(
    reconcile: &ReconcileArgs,
    output: DiffOutput,
    revision: &str,
) -> anyhow::Result<u8> {
    let new = validate_paths(&reconcile.paths);
    let old = load_sources(
        sources_at_revision(revision, &reconcile.paths)
            .with_context(|| format!("reading the manifests at {revision}"))?,
    );
    let plan = spec_changes(&old, &new);
    let against = Against {
        kind: "git revision",
        name: revision.to_owned(),
    };
    let report = DiffReport {
        against: &against,
        plan: &plan,
        policy: &[],
        diagnostics: &new.diagnostics,
        impact: None,
    };
    match output {
        DiffOutput::Text => {
            for d in &new.diagnostics {
                let line = d.location.as_ref().and_then(|l| new.source_line(l));
                eprintln!("{}", render_text(d, line));
            }
            if report.blocked() {
                eprintln!("invalid: the manifests have errors");
                return Ok(EXIT_INVALID);
            }
            anstream::print!("{}", render_plan(&plan, reconcile.verbose));
        }
        DiffOutput::Markdown => print!("{}", render_markdown(&report)),
        DiffOutput::Json => println!("{}", render_json(&report)),
    }
    Ok(if report.blocked() {
        EXIT_INVALID
    } else if plan.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    })
}

/// Plans against the database in a read-only transaction; the exit code when it cannot be read.
fn plan_from_database(
    paths: &[String],
    database: &DatabaseArgs,
    args: &PlanArgs,
    fingerprint: bool,
    impact: bool,
) -> Result<Planned, u8> {
    let options = PlanOptions {
        fingerprint,
        impact,
        ..args.options()
    };
    // The manifests load on another thread while the database is read.
    let owned = paths.to_vec();
    let loading = std::thread::spawn(move || load_paths(&owned));
    let observed = read_database(&database.url())?;
    let set = loading.join().expect("manifest loading does not panic");
    Ok(plan_against(set, observed, &options))
}

pub(super) fn apply(reconcile: &ReconcileArgs, plan_file: Option<&Path>) -> anyhow::Result<u8> {
    let ReconcileArgs {
        paths,
        database,
        plan: args,
        verbose,
    } = reconcile;
    let verbose = *verbose;
    let started = Instant::now();
    let reviewed = plan_file
        .map(|file| read_json::<PlanFile>(file, "plan file"))
        .transpose()?;
    let mut args = args.clone();
    if let Some(reviewed) = &reviewed {
        args.targets = reviewed_targets(&args.targets, &reviewed.targets)?;
    }
    let args = &args;
    block_on(async {
        let loading = load_in_background(paths);
        let url = database.url();
        let store = match Store::connect(&url, true).await {
            Ok(store) => store,
            Err(e) => return Ok(store_failure(&e)),
        };
        let progress = Progress::new();
        let outcome = run_apply(&store, loading, args, reviewed.as_ref(), verbose, &progress).await;
        progress.finish();
        store.close().await;
        match outcome {
            Ok(Some(report)) => {
                println!(
                    "Applied {} change(s) ({} permission/membership/recipient rows) to {url} in {:.2} s.",
                    report.objects,
                    report.links,
                    started.elapsed().as_secs_f64()
                );
                Ok(EXIT_OK)
            }
            Ok(None) => Ok(EXIT_OK),
            Err(ApplyStop::Blocked) => Ok(EXIT_INVALID),
            Err(ApplyStop::Store(e)) => Ok(store_failure(&e)),
        }
    })
}

enum ApplyStop {
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
    args: &PlanArgs,
    reviewed: Option<&PlanFile>,
    verbose: bool,
    progress: &Progress,
) -> Result<Option<crate::store::ApplyReport>, ApplyStop> {
    progress.say("waiting for the database lock");
    let mut tx = store
        .write(|| {
            eprintln!(
                "waiting for lock: another steward apply is writing to {}",
                store.url()
            )
        })
        .await?;
    let created = ensure_superset(&mut tx, true).await? == Bootstrap::Created;
    if created {
        eprintln!("created Superset 6.1's metadata tables in {}", store.url());
    }
    let migrated = migrate(&mut tx).await?;
    progress.say("reading Superset's state");
    let options = PlanOptions {
        fingerprint: reviewed.is_some(),
        ..args.options()
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
            &planned.plan.changes,
        )
    {
        eprintln!("error: {mismatch}; run `steward diff --out-plan` again and review the new plan");
        tx.rollback().await?;
        return Err(ApplyStop::Blocked);
    }
    anstream::print!("{}", render_plan(&planned.plan, verbose));
    if planned.plan.is_empty() {
        if created || !migrated.is_empty() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
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
        &args.manager,
        &mut step,
    )
    .await?;
    progress.say("committing");
    tx.commit().await?;
    Ok(Some(report))
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
