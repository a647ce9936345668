//! Loader edge cases: `kind: List`, empty documents, standard YAML 1.2 scalars, positions inside
//! lists, scope warnings, `.stewardignore`, symbolic links (a linked manifest is read, so nothing
//! it declares is pruned), input with no manifest in every command, and `diff --against-ref`
//! reading the same file set as the working tree from any directory of the repository.

use crate::diff_outputs::git;
use steward::diagnostic::{Code, Severity};
use steward::manifests::{SourceFile, load_sources};
use steward::resources::{Kind, ResourceId};
use steward::validation::{finish, validate_paths};

fn load(text: &str) -> steward::manifests::LoadedSet {
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
    assert_eq!(
        error.resource,
        Some(ResourceId::new(Kind::SupersetRole, None, "b"))
    );
    assert_eq!(
        error.resource.as_ref().unwrap().to_string(),
        "SupersetRole/b"
    );
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
        duplicates[0].resource,
        Some(ResourceId::new(
            Kind::RowLevelSecurityFilter,
            Some("sales"),
            "eu"
        ))
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

fn steward_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(dir)
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap()
}

fn assert_exit(out: &std::process::Output, code: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A copy of `examples/org` where `linked` files are symbolic links into another directory.
fn org_with_links(linked: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let (org, kept) = (scratch.path().join("org"), scratch.path().join("kept"));
    std::fs::create_dir_all(&org).unwrap();
    std::fs::create_dir_all(&kept).unwrap();
    for entry in std::fs::read_dir(crate::repo().join("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if linked.contains(&name.as_str()) {
            std::fs::copy(&path, kept.join(&name)).unwrap();
            std::os::unix::fs::symlink(format!("../kept/{name}"), org.join(&name)).unwrap();
        } else {
            std::fs::copy(&path, org.join(&name)).unwrap();
        }
    }
    (scratch, org)
}

#[test]
fn a_symlinked_manifest_is_read_so_its_objects_are_not_pruned() {
    for db in crate::services::Db::each_backend("symlinked") {
        let url = db.url();
        crate::services::steward_ok(&["init", "--demo", "--database", &url], 0);
        crate::services::steward_ok(
            &[
                "apply",
                &crate::repo_path("examples/org"),
                "--database",
                &url,
            ],
            0,
        );
        // The RLS filters (the confidential rows) and the users come through links: the
        // database already holds exactly that, so there is nothing to change or delete.
        for linked in [&["rls.yaml"][..], &["rls.yaml", "users.yaml"]] {
            let (_scratch, org) = org_with_links(linked);
            let out =
                crate::services::steward(&["diff", org.to_str().unwrap(), "--database", &url]);
            assert_exit(&out, 0, &format!("{} {linked:?}", db.label()));
        }
        // A linked directory too.
        let scratch = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            crate::repo().join("examples/org"),
            scratch.path().join("org"),
        )
        .unwrap();
        let out = crate::services::steward(&[
            "diff",
            scratch.path().to_str().unwrap(),
            "--database",
            &url,
        ]);
        assert_exit(&out, 0, db.label());
    }
}

#[test]
fn no_manifests_fails_every_command() {
    let empty = tempfile::tempdir().unwrap();
    let here = empty.path();
    let db = crate::services::Db::sqlite();
    let url = db.url();
    crate::services::steward_ok(&["init", "--demo", "--database", &url], 0);
    for args in [
        vec!["validate", "."],
        vec!["validate", "--output", "json", "."],
        vec!["render-config", "."],
        vec!["diff", ".", "--database", &url],
        vec!["diff", ".", "--database", &url, "--output", "json"],
        vec!["apply", ".", "--database", &url],
    ] {
        let out = steward_in(here, &args);
        let stderr = assert_exit(&out, 1, &format!("{args:?}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stderr.contains("no manifests found in .")
                || stdout.contains("no manifests found in ."),
            "{args:?}: {stderr}{stdout}"
        );
    }
    // Emptying everything on purpose is still possible, and says what it means.
    let out = steward_in(
        here,
        &["diff", ".", "--database", &url, "--allow-empty-kinds"],
    );
    let stderr = assert_exit(
        &out,
        0,
        "diff --allow-empty-kinds on an empty demo database",
    );
    assert!(stderr.contains("warning[no-manifests]"), "{stderr}");
    let out = steward_in(
        here,
        &["apply", ".", "--database", &url, "--allow-empty-kinds"],
    );
    assert_exit(
        &out,
        0,
        "apply --allow-empty-kinds on an empty demo database",
    );
}

/// A git repository holding a copy of `examples/` (with its `.stewardignore`, its error
/// catalogue and CI files), committed.
fn repository_with_examples() -> tempfile::TempDir {
    let repo_dir = tempfile::tempdir().unwrap();
    copy_tree(
        &crate::repo().join("examples"),
        &repo_dir.path().join("examples"),
    );
    git(repo_dir.path(), &["init", "-q", "-b", "main"]);
    git(repo_dir.path(), &["add", "."]);
    git(repo_dir.path(), &["commit", "-q", "-m", "base"]);
    repo_dir
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// `diff PATH --against-ref REV --output json` run in `dir`: exit code and the summary.
fn against_ref(dir: &std::path::Path, path: &str, revision: &str) -> (i32, serde_json::Value) {
    let out = steward_in(
        dir,
        &["diff", path, "--against-ref", revision, "--output", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report["summary"].clone())
}

#[test]
fn against_ref_reads_what_the_working_tree_reads_from_any_directory() {
    let repo_dir = repository_with_examples();
    let root = repo_dir.path();
    let examples = root.join("examples");
    let none = serde_json::json!({"adopt": 0, "create": 0, "delete": 0, "forget": 0, "update": 0});
    // The README's own commands: nothing changed, so no change, from the root and from inside.
    for (dir, path) in [
        (root, "examples/"),
        (root, "examples"),
        (examples.as_path(), "."),
        (examples.as_path(), "./"),
        (&examples.join("org"), ".."),
        (&examples.join("org"), "."),
        (&examples.join("org"), "../org"),
    ] {
        let out = steward_in(dir, &["diff", path, "--against-ref", "HEAD"]);
        assert_exit(&out, 0, &format!("{} {path}", dir.display()));
        assert_eq!(against_ref(dir, path, "HEAD"), (0, none.clone()), "{path}");
    }
    // A real change is seen from a subdirectory as from the root.
    let roles = examples.join("org/roles.yaml");
    let text = std::fs::read_to_string(&roles).unwrap();
    std::fs::write(&roles, format!("{text}---\n{ROLE}")).unwrap();
    for (dir, path) in [
        (root, "examples"),
        (examples.as_path(), "."),
        (&examples.join("org"), "."),
    ] {
        let (code, summary) = against_ref(dir, path, "HEAD");
        assert_eq!(
            (code, &summary["create"]),
            (2, &serde_json::json!(1)),
            "{path}: {summary}"
        );
    }
}

#[test]
fn against_ref_follows_stewardignore_and_symlinks_at_the_revision() {
    let repo_dir = repository_with_examples();
    let root = repo_dir.path();
    // Committed: the org's users through a ConfigMap-style link, and an ignored directory of
    // things that are not manifests.
    let org = root.join("examples/org");
    std::fs::create_dir_all(root.join("shared/..2026_11_29")).unwrap();
    std::fs::rename(
        org.join("users.yaml"),
        root.join("shared/..2026_11_29/users.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("..2026_11_29", root.join("shared/..data")).unwrap();
    std::os::unix::fs::symlink("../../shared/..data/users.yaml", org.join("users.yaml")).unwrap();
    std::fs::create_dir_all(org.join("deploy")).unwrap();
    std::fs::write(
        org.join("deploy/app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\n",
    )
    .unwrap();
    std::fs::write(org.join(".stewardignore"), "deploy/\n").unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "links"]);
    let none = serde_json::json!({"adopt": 0, "create": 0, "delete": 0, "forget": 0, "update": 0});
    assert_eq!(against_ref(root, "examples", "HEAD"), (0, none.clone()));
    assert_eq!(against_ref(&org, ".", "HEAD"), (0, none.clone()));
    // Against the commit before: the same objects, only moved and linked.
    assert_eq!(against_ref(&org, ".", "HEAD~1"), (0, none));
    // A path outside the repository is refused by name.
    let outside = tempfile::tempdir().unwrap();
    let out = steward_in(
        root,
        &[
            "diff",
            outside.path().to_str().unwrap(),
            "--against-ref",
            "HEAD",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside the git repository"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
