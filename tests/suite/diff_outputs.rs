//! `steward diff` in its three formats, as golden files, for a change touching every kind: the
//! text plan, the Markdown PR comment (rendered by a real Markdown renderer, within budget even
//! for an org-10k-sized change) and the versioned JSON. The examples' content is the one
//! Superset made through its REST API (in the SQLite metadata DB it made); the org-10k content,
//! which no Superset holds, is steward's `init --demo org`.

use std::path::{Path, PathBuf};

use pulldown_cmark::{Options, Parser, html};

use crate::repo;
use crate::services::{Db, steward, steward_ok};

/// The examples with one change to every kind: a user renamed, one created and one deleted, a
/// permission dropped, a group member removed, an RLS clause and an alert's SQL rewritten, the
/// configuration relaxed.
pub fn changed_examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let edit = |text: String, from: &str, to: &str| {
            assert!(text.contains(from), "{name}: {from:?}");
            text.replacen(from, to, 1)
        };
        let text = match name.as_str() {
            "users.yaml" => {
                let text = edit(text, "lastName: Chen", "lastName: Chen-Wu");
                let cut = text.find("  - apiVersion: steward.dev/v1alpha1\n    kind: SupersetUser\n    metadata:\n      name: former.employee").unwrap();
                format!(
                    "{}---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: new.hire\nspec:\n  firstName: New\n  lastName: Hire\n  email: new.hire@finance.corp.example.com\n",
                    &text[..cut]
                )
            }
            "roles.yaml" => edit(text, "      - warehouse.sales.opportunities\n", ""),
            "groups.yaml" => edit(
                text,
                "users: [ana.alves, dmitri.brandt]",
                "users: [ana.alves]",
            ),
            "rls.yaml" => edit(
                text,
                "clause: region = 'EU'",
                "clause: region = 'EU' OR (region = 'UK' AND reporting_entity = 'EU-branch' AND fiscal_year >= 2020)",
            ),
            "schedules.yaml" => edit(
                text,
                "WHERE status = 'failed' AND",
                "WHERE status IN ('failed', 'reversed') AND",
            ),
            "config.yaml" => edit(
                text,
                "reportMinimumIntervalSeconds: 3600",
                "reportMinimumIntervalSeconds: 1800",
            ),
            _ => text,
        };
        std::fs::write(dir.path().join(&name), text).unwrap();
    }
    dir
}

fn golden(name: &str) -> PathBuf {
    repo().join("tests/golden").join(name)
}

/// Compares `actual` with the golden file. `STEWARD_UPDATE_GOLDEN=1` rewrites it and prints
/// what changed, for review; it is refused under CI, where the comparison must run.
fn assert_golden(name: &str, actual: &str) {
    let path = golden(name);
    let expected = std::fs::read_to_string(&path);
    let changes = |expected: &str| {
        similar::TextDiff::from_lines(expected, actual)
            .unified_diff()
            .header("golden", "actual")
            .to_string()
    };
    if std::env::var("STEWARD_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        assert!(
            std::env::var_os("CI").is_none(),
            "STEWARD_UPDATE_GOLDEN is refused under CI: the golden files must be compared there"
        );
        match &expected {
            Ok(expected) if expected == actual => {}
            Ok(expected) => eprintln!("updated {}:\n{}", path.display(), changes(expected)),
            Err(_) => eprintln!("wrote {}", path.display()),
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = expected.unwrap_or_else(|e| {
        panic!(
            "{}: {e} (STEWARD_UPDATE_GOLDEN=1 writes it)",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "{name} differs from its golden file:\n{}",
            changes(&expected)
        );
    }
}

fn diff_output(dir: &Path, db: &Db, format: &str) -> String {
    let out = steward(&[
        "diff",
        dir.to_str().unwrap(),
        "--database",
        &db.url(),
        "--output",
        format,
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(&db.url(), "sqlite://<db>")
        .replace(dir.to_str().unwrap(), "<manifests>")
}

/// Markdown rendered to HTML by pulldown-cmark, with GitHub's tables.
fn to_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    out
}

#[test]
fn diff_formats_match_their_golden_files() {
    // Content made by Superset through its REST API, in the SQLite file it made.
    let db = Db::superset_content("golden").remove(0);
    let examples = repo().join("examples/org");
    steward_ok(
        &["apply", examples.to_str().unwrap(), "--database", &db.url()],
        0,
    );
    let changed = changed_examples();

    let text = diff_output(changed.path(), &db, "text");
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
    assert_golden("diff.txt", &text);

    let json = diff_output(changed.path(), &db, "json");
    assert_golden("diff.json", &json);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["schemaVersion"], 2);
    let kinds: std::collections::BTreeSet<&str> = parsed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 6, "every kind changes: {kinds:?}");
    assert!(
        parsed["impact"]["users"]
            .as_array()
            .is_some_and(|u| !u.is_empty())
    );
    let out = steward(&[
        "diff",
        changed.path().to_str().unwrap(),
        "--database",
        &db.url(),
        "--output",
        "json",
        "--impact",
        "off",
    ]);
    let hidden: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(hidden.get("impact").is_none(), "--impact off hides it");

    let markdown = diff_output(changed.path(), &db, "markdown");
    assert_golden("diff.md", &markdown);
    let html = to_html(&markdown);
    // The summary table, the users' access, and one table per dataset whose RLS changes (or
    // that users stop being able to query: the sales reps lose the opportunities).
    assert_eq!(html.matches("<table>").count(), 5, "{html}");
    assert_eq!(
        html.matches("<summary><b>").count(),
        6,
        "a section per kind: {html}"
    );
    assert!(
        html.contains("<code class=\"language-diff\">"),
        "long values as diffs: {html}"
    );
    let summary = html.split("</table>").next().unwrap();
    assert_eq!(
        summary.matches("<tr>").count(),
        8,
        "header, six kinds, total: {summary}"
    );
}

#[test]
fn markdown_of_an_org_10k_change_stays_within_budget() {
    let db = Db::sqlite();
    steward_ok(&["init", "--demo", "org", "--database", &db.url()], 0);
    let org = tempfile::tempdir().unwrap();
    steward_ok(&["generate", "--out", org.path().to_str().unwrap()], 0);
    let markdown = diff_output(org.path(), &db, "markdown");
    let chars = markdown.chars().count();
    assert!(chars <= 60_000, "{chars} characters");
    assert!(chars > 50_000, "the budget is used: {chars}");
    assert!(
        markdown.contains("This comment stops at 60000 characters"),
        "{}",
        &markdown[markdown.len() - 500..]
    );
    assert!(
        markdown.contains("| **Total** | **10301** |"),
        "{}",
        &markdown[..800]
    );
    let html = to_html(&markdown);
    assert_eq!(
        html.matches("<details").count(),
        html.matches("</details>").count()
    );
}

#[test]
fn text_is_coloured_for_terminals_unless_no_color() {
    let db = Db::superset_content("colour").remove(0);
    let changed = changed_examples();
    let run = |env: &[(&str, &str)]| -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .args([
                "diff",
                changed.path().to_str().unwrap(),
                "--database",
                &db.url(),
            ])
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stdout).unwrap()
    };
    // CLICOLOR_FORCE stands in for a terminal; NO_COLOR wins over it.
    let coloured = run(&[("CLICOLOR_FORCE", "1")]);
    assert!(
        coloured.contains("\u{1b}[32m+\u{1b}[0m SupersetUser"),
        "{coloured}"
    );
    let plain = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert_eq!(plain, run(&[]));
}

/// Runs `git args` in `dir` as a fixed author; panics on failure.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@x.io")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@x.io")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new git repository holding `examples/org` as `org/`, committed on `main`: the repository
/// and the `org` directory.
pub(crate) fn examples_committed() -> (tempfile::TempDir, PathBuf) {
    let repo_dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| git(repo_dir.path(), args);
    git(&["init", "-q", "-b", "main"]);
    let org = repo_dir.path().join("org");
    std::fs::create_dir(&org).unwrap();
    for entry in std::fs::read_dir(repo().join("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, org.join(path.file_name().unwrap())).unwrap();
    }
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    (repo_dir, org)
}

/// Replaces the first `from` in `file` with `to`; panics when `from` is not there.
pub(crate) fn edit_file(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn against_a_git_revision_without_a_database() {
    let (repo_dir, org) = examples_committed();
    // The branch: a group loses a member, a filter's clause changes, the audit schedules go.
    let edit = |file: &str, from: &str, to: &str| edit_file(&org.join(file), from, to);
    edit(
        "groups.yaml",
        "users: [ana.alves, dmitri.brandt]",
        "users: [ana.alves]",
    );
    edit(
        "rls.yaml",
        "clause: region = 'US'",
        "clause: region IN ('US', 'CA')",
    );
    let run = |format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["diff", "org", "--against-ref", "main", "--output", format])
            .current_dir(repo_dir.path())
            .env_remove("STEWARD_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run("json");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["against"]["kind"], "git revision");
    assert_eq!(report["against"]["name"], "main");
    let changes: Vec<(String, String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
                c["fields"][0]["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("update".into(), "finance-team".into(), "users".into()),
            ("update".into(), "Finance US rows".into(), "clause".into()),
        ]
    );
    let text = run("text");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("- dmitri.brandt"), "{stdout}");
    // No such revision: a clear error, exit 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["diff", "org", "--against-ref", "no-such-branch"])
        .current_dir(repo_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`no-such-branch` is not a commit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
