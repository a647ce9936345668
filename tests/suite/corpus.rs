//! The corpora under `tests/corpus/` (`hostile/<class>/`, `first-use/<class>/`): each file is
//! validated on its own and must end as its `# expect:` lines say: `valid` (no error), or one
//! line per finding, `error|warning <code> <part of the message>`. Every error must have the
//! code of an expected error; every expected finding must be there.

use std::path::{Path, PathBuf};

use steward::diagnostic::Severity;
use steward::validation::validate_paths;

use crate::{repo, yaml_files};

/// The files of corpus class `class` (a path under `tests/corpus/`).
pub fn files(class: &str) -> Vec<PathBuf> {
    yaml_files(&repo().join("tests/corpus").join(class))
}

/// What is wrong with `file`'s outcome, if anything.
pub fn mismatch(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let expects: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .collect();
    assert!(
        !expects.is_empty(),
        "{} has no `# expect:` line",
        file.display()
    );
    let set = validate_paths(&[file.display().to_string()]);
    let found: Vec<String> = set
        .diagnostics
        .iter()
        .map(|d| {
            let severity = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!("{severity} {} {}", d.code.as_str(), d.message)
        })
        .collect();
    let errors = found.iter().filter(|f| f.starts_with("error "));
    let ok = if expects == ["valid"] {
        errors.count() == 0
    } else {
        let heads: Vec<String> = expects
            .iter()
            .map(|e| e.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" "))
            .collect();
        errors
            .into_iter()
            .all(|e| heads.iter().any(|h| e.starts_with(&format!("{h} "))))
            && expects.iter().all(|e| {
                let (head, part) = e.split_at(e.match_indices(' ').nth(1).unwrap().0);
                found
                    .iter()
                    .any(|f| f.starts_with(&format!("{head} ")) && f.contains(part.trim_start()))
            })
    };
    (!ok).then(|| format!("{}: expected {expects:?}, got {found:?}", file.display()))
}

/// The mismatches of every file of `class`.
pub fn mismatches(class: &str) -> Vec<String> {
    files(class).iter().filter_map(|f| mismatch(f)).collect()
}
