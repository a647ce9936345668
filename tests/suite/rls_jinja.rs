//! Jinja in RLS clauses: every file of the hostile corpus `tests/corpus/hostile/rls-jinja/` ends
//! as its `# expect:` line says ([`corpus`]); the `ok-*` files are the accepted forms.

use steward::diagnostic::Severity;
use steward::validation::validate_paths;

use crate::corpus;
use crate::repo;

#[test]
fn hostile_rls_jinja_corpus() {
    let files = corpus::files("hostile/rls-jinja");
    let accepted = files
        .iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("ok-"))
        .count();
    assert!(files.len() - accepted >= 25, "hostile variants");
    assert!(accepted >= 10, "accepted forms");
    let failures = corpus::mismatches("hostile/rls-jinja");
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
    assert!(
        error.message.contains("not a bare macro call"),
        "{}",
        error.message
    );
}
