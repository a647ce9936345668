//! Loader edge cases: `kind: List`, empty documents, standard YAML 1.2 scalars, positions inside
//! lists, scope warnings, and `.stewardignore`.

use steward::diagnostic::{Code, Severity};
use steward::spec::load::{SourceFile, load_sources};
use steward::validation::{finish, validate_paths};

fn load(text: &str) -> steward::spec::load::LoadedSet {
    let mut set = load_sources(vec![SourceFile {
        name: "mem.yaml".into(),
        text: text.into(),
    }]);
    finish(&mut set);
    set
}

const ROLE: &str =
    "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: r\nspec: {}\n";

#[test]
fn lists_and_empty_documents() {
    let text = format!(
        "---\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: steward.dev/v1alpha1\n    kind: SupersetRole\n    metadata: {{name: a}}\n    spec: {{}}\n  - apiVersion: steward.dev/v1alpha1\n    kind: SupersetRole\n    metadata: {{name: b}}\n    spec: {{includes: 3}}\n---\n{ROLE}"
    );
    let set = load(&text);
    assert_eq!(set.documents, 3);
    assert_eq!(set.objects.len(), 2);
    let error = &set.diagnostics[0];
    assert_eq!(error.code, Code::WrongType);
    let location = error.location.as_ref().unwrap();
    assert_eq!((location.line, location.column), (13, 22));
    assert_eq!(error.resource.as_deref(), Some("SupersetRole/b"));
}

#[test]
fn yes_is_a_string_not_a_boolean() {
    let set = load(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata: {name: u}\nspec: {firstName: A, lastName: B, email: a@x.io, active: yes}\n",
    );
    assert_eq!(set.diagnostics.len(), 1);
    assert_eq!(set.diagnostics[0].code, Code::WrongType);
    assert_eq!(
        set.diagnostics[0].hint.as_deref(),
        Some("write true or false, unquoted")
    );
}

#[test]
fn namespace_on_a_cluster_scoped_kind_is_a_warning() {
    let set = load(
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata: {name: r, namespace: finance}\nspec: {}\n",
    );
    assert_eq!(set.objects.len(), 1);
    assert_eq!(set.diagnostics.len(), 1);
    assert_eq!(set.diagnostics[0].severity, Severity::Warning);
    assert_eq!(
        set.diagnostics[0].field.as_deref(),
        Some("metadata.namespace")
    );
}

#[test]
fn namespaced_duplicates_are_told_apart_by_namespace_but_not_by_superset_name() {
    let filter = |ns: &str| {
        format!(
            "apiVersion: steward.dev/v1alpha1\nkind: RowLevelSecurityFilter\nmetadata: {{name: eu, namespace: {ns}}}\nspec: {{filterType: Base, datasets: [a.b.c], clause: \"x = 1\"}}\n"
        )
    };
    let set = load(&format!("{}---\n{}", filter("finance"), filter("sales")));
    let duplicates: Vec<_> = set
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::Duplicate)
        .collect();
    assert_eq!(duplicates.len(), 1, "{:#?}", set.diagnostics);
    assert!(
        duplicates[0]
            .message
            .contains("RowLevelSecurityFilter `eu`")
    );
    assert_eq!(
        duplicates[0].resource.as_deref(),
        Some("RowLevelSecurityFilter/sales/eu")
    );
}

#[test]
fn stewardignore_keeps_files_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("role.yaml"), ROLE).unwrap();
    std::fs::create_dir(dir.path().join("other")).unwrap();
    std::fs::write(
        dir.path().join("other/deployment.yml"),
        "apiVersion: apps/v1\nkind: Deployment\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml").unwrap();
    let set = validate_paths(&[dir.path().display().to_string()]);
    assert_eq!(
        set.diagnostics.len(),
        1,
        "the Deployment is not a steward kind"
    );
    assert_eq!(set.diagnostics[0].code, Code::UnknownKind);
    std::fs::write(dir.path().join(".stewardignore"), "other/\n").unwrap();
    let set = validate_paths(&[dir.path().display().to_string()]);
    assert!(set.diagnostics.is_empty(), "{:#?}", set.diagnostics);
    assert_eq!(set.objects.len(), 1);
}
