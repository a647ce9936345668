//! Reading and writing plan files at the command line (the format and its checks are
//! `plan::plan_file`): written whole or not at all (temporary file, then rename); and the
//! `--target` flags of `apply --plan-file` checked against the reviewed plan's.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;

use crate::manifests::LoadedSet;
use crate::plan::plan_file::{Computed, Manifests, PlanFile, RecordedOptions, manifest_digest};
use crate::plan::target::{Selector, SelectorError};
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

/// Why `apply --plan-file` cannot use the reviewed plan's selectors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewedTargetsError {
    #[error(
        "the plan file was made with {reviewed}, but this apply has {given}: nothing was written"
    )]
    Differ { reviewed: String, given: String },
    #[error("the plan file's --target {0:?} cannot be read: {1}")]
    Unreadable(String, SelectorError),
}

/// The selectors `apply --plan-file` plans with: those the reviewed plan recorded. `--target`
/// flags given to the apply must name the same ones (in any order).
pub fn reviewed_targets(
    given: &[Selector],
    recorded: &[String],
) -> Result<Vec<Selector>, ReviewedTargetsError> {
    let describe = |targets: &BTreeSet<&str>| match targets.is_empty() {
        true => "no --target".to_owned(),
        false => {
            let all: Vec<String> = targets.iter().map(|t| format!("--target `{t}`")).collect();
            all.join(", ")
        }
    };
    let parsed = recorded
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e| ReviewedTargetsError::Unreadable(t.clone(), e))
        })
        .collect::<Result<Vec<Selector>, _>>()?;
    let reviewed: BTreeSet<&str> = recorded.iter().map(String::as_str).collect();
    let flags: BTreeSet<&str> = given.iter().map(Selector::as_str).collect();
    if !given.is_empty() && flags != reviewed {
        return Err(ReviewedTargetsError::Differ {
            reviewed: describe(&reviewed),
            given: describe(&flags),
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(text: &str) -> Selector {
        text.parse().unwrap()
    }

    #[test]
    fn plan_files_replay_their_targets() {
        let recorded = vec!["ssrole/A".to_owned(), "SupersetGroup/G".to_owned()];
        let replayed = reviewed_targets(&[], &recorded).unwrap();
        let texts: Vec<&str> = replayed.iter().map(Selector::as_str).collect();
        assert_eq!(texts, ["ssrole/A", "SupersetGroup/G"]);
        let same = [selector("SupersetGroup/G"), selector("ssrole/A")];
        assert_eq!(reviewed_targets(&same, &recorded).unwrap().len(), 2);
        let other = reviewed_targets(&[selector("ssrole/B")], &recorded).unwrap_err();
        assert_eq!(
            other.to_string(),
            "the plan file was made with --target `SupersetGroup/G`, --target `ssrole/A`, but this apply has --target `ssrole/B`: nothing was written"
        );
        assert!(matches!(
            reviewed_targets(&[selector("ssrole/B")], &[]),
            Err(ReviewedTargetsError::Differ { reviewed, .. }) if reviewed == "no --target"
        ));
        assert!(matches!(
            reviewed_targets(&[], &["nokind/x".to_owned()]),
            Err(ReviewedTargetsError::Unreadable(..))
        ));
    }
}
