//! `steward diff`: one reconciliation pass against the database (or a snapshot, or a git
//! revision), and the blocker reporting `apply` (in `apply`) shares.

use std::path::Path;

use anyhow::Context;

use super::database::{ReconcileArgs, block_on, store_failure};
use super::plan_files::write_plan_file;
use super::{DiffOutput, EXIT_CHANGES, EXIT_INVALID, EXIT_OK, validated};
use crate::diagnostic::render_text;
use crate::engine::{Declared, EngineError, Mode, Observe, PassInput, PassOptions, Planned};
use crate::manifests::git_revision::sources_at_revision;
use crate::manifests::{LoadedSet, ManifestCache, load_sources_with};
use crate::plan::PlanOptions;
use crate::plan::plan_file::Computed;
use crate::plan::spec_diff::spec_changes;
use crate::policy::report_rules::render_blocking;
use crate::render::json::render_json;
use crate::render::{
    Against, DiffReport, render_impact, render_markdown, render_refused, render_text as render_plan,
};
use crate::store::snapshot_file::{SNAPSHOT_VERSION, SnapshotFile};

/// A steward JSON file (`what`: `snapshot`, `plan file`), with errors that name it.
fn read_json<T: serde::de::DeserializeOwned>(file: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the {what} {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a steward {what}", file.display()))
}

fn print_diagnostics(set: &LoadedSet) {
    for d in &set.diagnostics {
        let line = d.location.as_ref().and_then(|l| set.source_line(l));
        errln!("{}", render_text(d, line));
    }
}

/// Prints what blocks the pass first (diagnostics, policy breaches, refusals), then the plan it
/// refuses; returns whether the plan passed (the pass itself refuses a blocked plan).
pub(super) fn report_blockers(planned: &Planned) -> bool {
    print_diagnostics(&planned.set);
    for refusal in &planned.plan.refusals {
        errln!("{}", render_text(refusal, None));
    }
    if !planned.policy.is_empty() {
        err!("{}", render_blocking(&planned.policy));
    }
    if planned.set.has_errors() && planned.policy.is_empty() {
        let n = planned
            .set
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
        errln!("invalid: {n} error(s); nothing was planned");
        return false;
    }
    if !planned.is_blocked() {
        return true;
    }
    err!("{}", render_refused(&planned.plan, false));
    let problems = planned.plan.refusals.len()
        + planned
            .set
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count();
    errln!("refused: {problems} problem(s) above; nothing was written");
    false
}

pub(super) fn diff(
    reconcile: &ReconcileArgs,
    output: DiffOutput,
    out_plan: Option<&Path>,
    show_impact: bool,
    against_snapshot: Option<&Path>,
    cache: ManifestCache,
) -> anyhow::Result<u8> {
    let ReconcileArgs {
        paths,
        database,
        plan: args,
        verbose,
    } = reconcile;
    let (planned, against, (shown, identity)) = match against_snapshot {
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
            let source = (snapshot.taken_from.clone(), snapshot.database_id.clone());
            let observe = Observe::Snapshot(Box::new(snapshot.into_observed()));
            let declared = declared(paths, cache);
            let options = dry_options(args.options(), out_plan, show_impact);
            match block_on(run_dry(declared, observe, options)) {
                Ok((planned, _)) => (planned, against, source),
                Err(e) => return Ok(failure(&e)),
            }
        }
        None => {
            let against = Against {
                kind: "database",
                name: database.url().to_string(),
            };
            let planned = block_on(async {
                let store = database.connect(false).await?;
                let options = dry_options(args.options(), out_plan, show_impact);
                let observe = Observe::Database(&store);
                let planned = run_dry(declared(paths, cache), observe, options).await;
                store.close().await;
                planned
            });
            match planned {
                Ok((planned, identity)) => {
                    let shown = database.url().to_string();
                    (planned, against, (shown, identity))
                }
                Err(e) => return Ok(failure(&e)),
            }
        }
    };
    // The process ends after printing: a state of millions of allocations is not freed
    // one by one first (org-100k: 0.1–0.2 s), on every path out of here.
    let planned = std::mem::ManuallyDrop::new(planned);
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
        let Some(identity) = identity else {
            anyhow::bail!(
                "the snapshot does not record which database it was taken of, so a plan file made from it could be applied anywhere; take it again with `steward export --snapshot`"
            );
        };
        let computed = Computed {
            shown,
            identity,
            fingerprint: planned
                .fingerprint
                .clone()
                .expect("asked for with --out-plan"),
        };
        let options = args.options();
        write_plan_file(
            file,
            computed,
            paths,
            &planned.set,
            &options,
            &planned.plan.changes,
        )?;
    }
    match output {
        DiffOutput::Text => {
            if !report_blockers(&planned) {
                return Ok(EXIT_INVALID);
            }
            out!("{}", render_plan(&planned.plan, *verbose));
            if let Some(impact) = report.impact {
                out!("{}", render_impact(impact, *verbose));
            }
        }
        DiffOutput::Markdown => data!("{}", render_markdown(&report)),
        DiffOutput::Json => dataln!("{}", render_json(&report)),
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
    cache: &ManifestCache,
) -> anyhow::Result<u8> {
    let new = validated(&reconcile.paths, cache);
    let old = load_sources_with(
        sources_at_revision(revision, &reconcile.paths)
            .with_context(|| format!("reading the manifests at {revision}"))?,
        cache,
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
                errln!("{}", render_text(d, line));
            }
            if report.blocked() {
                errln!("invalid: the manifests have errors");
                return Ok(EXIT_INVALID);
            }
            out!("{}", render_plan(&plan, reconcile.verbose));
        }
        DiffOutput::Markdown => data!("{}", render_markdown(&report)),
        DiffOutput::Json => dataln!("{}", render_json(&report)),
    }
    Ok(if report.blocked() {
        EXIT_INVALID
    } else if plan.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    })
}

/// The manifests at `paths`, read with the CLI's manifest cache.
fn declared(paths: &[String], cache: ManifestCache) -> Declared {
    Declared::Paths {
        paths: paths.to_vec(),
        cache,
    }
}

/// The options of `diff`'s dry run.
fn dry_options(plan: PlanOptions, out_plan: Option<&Path>, impact: bool) -> PassOptions {
    PassOptions {
        plan: PlanOptions {
            fingerprint: out_plan.is_some(),
            impact,
            ..plan
        },
        mode: Mode::DryRun,
        expected: None,
    }
}

/// A dry run of the pass: the plan, and the database's identity when one was read.
async fn run_dry(
    declared: Declared,
    observe: Observe<'_>,
    options: PassOptions,
) -> Result<(Planned, Option<String>), EngineError> {
    let input = PassInput {
        declared,
        observe,
        options,
    };
    let outcome = crate::engine::run(input).await?;
    Ok((outcome.planned, outcome.identity))
}

/// Reports why a pass failed; its exit code.
fn failure(error: &EngineError) -> u8 {
    match error {
        EngineError::Store(e) => store_failure(e),
        other => {
            errln!("error: {}", crate::escape::terminal(&other.to_string()));
            EXIT_INVALID
        }
    }
}
