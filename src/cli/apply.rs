//! `steward apply`: one reconciliation pass inside the write lock, then the plan written in the
//! same transaction. With `--plan-file` the reviewed plan (paths, options, database identity,
//! manifest digest, fingerprint, changes) is checked first; with `--output json` the outcome is
//! one JSON document listing every object with the Superset id it has after the apply.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::database::{DatabaseArgs, ReconcileArgs, block_on, store_failure};
use super::plan_files::{read_plan_file, reviewed_targets};
use super::progress::showing_progress;
use super::reconcile::report_blockers;
use super::{EXIT_INVALID, EXIT_OK, EXIT_USAGE, Output};
use crate::engine::{
    Applied, Declared, EngineError, Mode, Observe, Outcome, PassInput, PassOptions, Verdict,
    Written,
};
use crate::manifests::ManifestCache;
use crate::plan::PlanOptions;
use crate::plan::plan_file::{PlanFile, RecordedOptions};
use crate::render::render_text as render_plan;
use crate::resources::identity::ResourceId;

/// Version of `apply --output json`.
pub const APPLY_REPORT_VERSION: u32 = 1;

/// The outcome of `apply --output json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplyJson<'a> {
    schema_version: u32,
    /// The database, password removed.
    database: String,
    /// Whether the changes were committed (false: refused or nothing to do).
    applied: bool,
    /// Link rows (permissions, memberships, recipients…) inserted or deleted.
    links: usize,
    objects: Vec<ObjectOutcome<'a>>,
}

#[derive(Serialize)]
struct ObjectOutcome<'a> {
    kind: crate::resources::Kind,
    name: &'a str,
    action: crate::plan::Action,
    /// The Superset id after the apply (null for deletions and the configuration).
    id: Option<i64>,
    /// The resource that declares it (null for a deletion).
    resource: Option<&'a ResourceId>,
    /// The natural key it had before this apply renamed it in place.
    #[serde(rename = "renamedFrom", skip_serializing_if = "Option::is_none")]
    renamed_from: Option<&'a str>,
}

pub(super) fn apply(
    reconcile: &ReconcileArgs,
    plan_file: Option<&Path>,
    output: Output,
    cache: ManifestCache,
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
    let plan = match &reviewed {
        Some(reviewed) => PlanOptions {
            targets: reviewed_targets(&args.targets, &reviewed.targets)?,
            ..reviewed.options.apply_to(args.options())
        },
        None => args.options(),
    };
    let options = PassOptions {
        plan,
        mode: Mode::Apply,
        expected: reviewed,
    };
    let declared = Declared::Paths {
        paths: paths.clone(),
        cache,
    };
    let url = database.url();
    let outcome = showing_progress(|| {
        block_on(async {
            let store = database.connect(false).await?;
            let input = PassInput {
                declared,
                observe: Observe::Database(&store),
                options,
            };
            let outcome = crate::engine::run(input).await;
            store.close().await;
            outcome
        })
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(EngineError::Store(e)) => return Ok(store_failure(&e)),
        Err(other) => {
            errln!("error: {}", crate::escape::terminal(&other.to_string()));
            if output == Output::Json {
                dataln!("{}", render_json(&url.to_string(), None));
            }
            return Ok(EXIT_INVALID);
        }
    };
    let code = report(&outcome, &url.to_string(), output, *verbose, started);
    exit_without_freeing(outcome);
    Ok(code)
}

/// Prints an apply's outcome; its exit code.
fn report(outcome: &Outcome, url: &str, output: Output, verbose: bool, started: Instant) -> u8 {
    let planned = &outcome.planned;
    report_blockers(planned);
    let applied = match &outcome.verdict {
        Verdict::Applied(applied) => Some(applied),
        Verdict::Stale(mismatch) => {
            errln!(
                "error: {}; run `steward diff --out-plan` again and review the new plan",
                crate::escape::terminal(&mismatch.to_string())
            );
            None
        }
        Verdict::Blocked | Verdict::Planned => None,
    };
    if output == Output::Text && applied.is_some() {
        out!("{}", render_plan(&planned.plan, verbose));
    }
    let written = applied.filter(|a| !a.objects.is_empty());
    match output {
        Output::Json => dataln!("{}", render_json(url, written)),
        Output::Text => {
            if let Some(applied) = written {
                outln!(
                    "Applied {} change(s) ({} permission/membership/recipient rows) to {url} in {:.2} s.",
                    applied.objects.len(),
                    applied.links,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    match applied {
        Some(_) => EXIT_OK,
        None => EXIT_INVALID,
    }
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

fn render_json(database: &str, applied: Option<&Applied>) -> String {
    let objects = applied
        .map(|a| a.objects.iter().map(outcome_of).collect())
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

fn outcome_of(written: &Written) -> ObjectOutcome<'_> {
    ObjectOutcome {
        kind: written.key.kind,
        name: &written.key.key,
        action: written.action,
        id: written.id,
        resource: written.resource.as_ref(),
        renamed_from: written.renamed_from.as_deref(),
    }
}

/// The process ends right after a command: freeing a pass's millions of small allocations
/// one by one would only delay the exit.
fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}
