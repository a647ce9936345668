//! Jinja in RLS clauses: every file of the hostile corpus `tests/corpus/hostile/rls-jinja/` is
//! validated and must end as its `# expect:` line says: `valid` (the accepted forms, `ok-*`), or
//! `error <code> <part of the message>`.

use std::path::Path;

use steward::diagnostic::Severity;
use steward::validation::validate_paths;

use crate::{repo, yaml_files};

/// What one corpus file expects, and what validating it gave when that differs.
fn mismatch(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let expect = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()));
    let set = validate_paths(&[file.display().to_string()]);
    let errors: Vec<String> = set
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} {}", d.code.as_str(), d.message))
        .collect();
    let ok = match expect.strip_prefix("error ") {
        None => {
            assert_eq!(expect, "valid", "{}", file.display());
            errors.is_empty()
        }
        Some(wanted) => {
            let (code, part) = wanted.split_once(' ').unwrap();
            !errors.is_empty()
                && errors.iter().all(|e| e.starts_with(code))
                && errors.iter().any(|e| e.contains(part))
        }
    };
    (!ok).then(|| format!("{}: expected {expect}, got {errors:?}", file.display()))
}

#[test]
fn hostile_rls_jinja_corpus() {
    let files = yaml_files(&repo().join("tests/corpus/hostile/rls-jinja"));
    let accepted = files
        .iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("ok-"))
        .count();
    assert!(files.len() - accepted >= 25, "hostile variants");
    assert!(accepted >= 10, "accepted forms");
    let failures: Vec<String> = files.iter().filter_map(|f| mismatch(f)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The example: `~` concatenation inside a macro expression renders `1=1`.
#[test]
fn concatenation_through_a_user_macro_is_refused() {
    let file = repo().join("tests/corpus/hostile/rls-jinja/concat-tilde.yaml");
    let set = validate_paths(&[file.display().to_string()]);
    let error = set
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("the clause is refused");
    assert_eq!(error.code.as_str(), "invalid-rls-clause");
    assert_eq!(error.field.as_deref(), Some("spec.clause"));
    assert!(error.message.contains("not a bare macro call"), "{}", error.message);
}
