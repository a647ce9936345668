//! Reading and writing plan files at the command line (the format and its checks are
//! `plan::plan_file`): written whole or not at all (temporary file, then rename).

use std::path::Path;

use anyhow::Context;

use crate::manifests::LoadedSet;
use crate::plan::plan_file::{Computed, Manifests, PlanFile, RecordedOptions, manifest_digest};
use crate::plan::{Change, PlanOptions};

/// Reads a plan file written by `diff --out-plan`.
pub fn read_plan_file(file: &Path) -> anyhow::Result<PlanFile> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the plan file {}", file.display()))?;
    PlanFile::parse(&text).map_err(|problem| {
        anyhow::anyhow!("{} is not a steward plan file: {problem}", file.display())
    })
}

/// The digest of the manifests a set was loaded from.
pub fn set_digest(set: &LoadedSet) -> String {
    manifest_digest(
        set.sources
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str())),
    )
}

/// Writes the plan file for `changes`, computed from `set` (loaded from `paths`) with
/// `options` against `database`.
pub fn write_plan_file(
    file: &Path,
    database: Computed,
    paths: &[String],
    set: &LoadedSet,
    options: &PlanOptions,
    changes: &[Change],
) -> anyhow::Result<()> {
    let manifests = Manifests {
        paths: paths.to_vec(),
        digest: set_digest(set),
    };
    let mut plan = PlanFile::new(database, manifests, RecordedOptions::of(options), changes);
    plan.targets = options
        .targets
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    let text = serde_json::to_string_pretty(&plan)?;
    crate::safe_write::write_atomically(file, text.as_bytes())
        .with_context(|| format!("writing the plan file {}", file.display()))?;
    Ok(())
}
