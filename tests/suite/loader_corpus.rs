//! The loader's corpora: first-use mistakes (`tests/corpus/first-use/`: encodings, duplicate
//! keys, one broken document among several, user names, input with no manifest) and hostile
//! layouts (`tests/corpus/hostile/symlinks/`: links, loops, dangling links, ConfigMap mounts).
//! Every case of a class is run and its outcome compared with what its `.expect` file (or, for
//! layouts, its `expect` lines) says. `STEWARD_BLESS_CORPUS=1` writes missing `.expect` files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use steward::diagnostic::Severity;
use steward::validation::validate_paths;

use crate::repo;

/// The outcome of validating `path`: every diagnostic (severity, code, line:column, message,
/// hint) and the number of objects, with `path` written as `CASE`.
fn outcome(path: &Path) -> String {
    let shown = path.display().to_string();
    let set = validate_paths(std::slice::from_ref(&shown));
    let mut out = String::new();
    for d in &set.diagnostics {
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let at = d
            .location
            .as_ref()
            .map_or("-".to_owned(), |l| format!("{}:{}", l.line, l.column));
        let _ = writeln!(out, "{severity} {} {at} {}", d.code.as_str(), d.message);
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "  hint: {hint}");
        }
    }
    let _ = writeln!(out, "objects {}", set.objects.len());
    out.replace(&shown, "CASE")
}

/// The cases of a class: its entries other than `.expect` files, sorted.
fn cases(class: &str) -> Vec<PathBuf> {
    let dir = repo().join("tests/corpus").join(class);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "expect"))
        .collect();
    cases.sort();
    cases
}

fn expect_file(case: &Path) -> PathBuf {
    let mut name = case.file_name().unwrap().to_os_string();
    name.push(".expect");
    case.with_file_name(name)
}

/// Runs every case of `class` against its `.expect` file; `extra` adds cases made at run time.
fn run_class(class: &str, at_least: usize, extra: &[(&str, PathBuf)]) {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut all: Vec<(PathBuf, PathBuf)> = cases(class)
        .into_iter()
        .map(|case| (expect_file(&case), case))
        .collect();
    for (name, path) in extra {
        let expect = repo()
            .join("tests/corpus")
            .join(class)
            .join(format!("{name}.expect"));
        all.push((expect, path.clone()));
    }
    for (expect, case) in all {
        let actual = outcome(&case);
        let expected = match std::fs::read_to_string(&expect) {
            Ok(text) => text,
            Err(_) if std::env::var_os("STEWARD_BLESS_CORPUS").is_some() => {
                std::fs::write(&expect, &actual).unwrap();
                actual.clone()
            }
            Err(e) => panic!("{}: {e}", expect.display()),
        };
        if actual != expected {
            failures.push(format!(
                "{}\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= at_least, "{class}: only {checked} cases");
}

#[test]
fn first_use_encodings() {
    run_class("first-use/encoding", 8, &[]);
}

#[test]
fn first_use_duplicate_keys() {
    run_class("first-use/duplicate-keys", 7, &[]);
    // No library advice leaks into what users read.
    for case in cases("first-use/duplicate-keys") {
        assert!(
            !outcome(&case).contains("DuplicateKeyPolicy"),
            "{}",
            case.display()
        );
    }
}

#[test]
fn first_use_broken_documents() {
    run_class("first-use/broken-document", 6, &[]);
}

#[test]
fn first_use_user_names() {
    run_class("first-use/user-name", 4, &[]);
}

#[test]
fn first_use_no_manifests() {
    // Git keeps no empty directory: that case is made here.
    let empty = tempfile::tempdir().unwrap();
    run_class(
        "first-use/no-manifests",
        9,
        &[
            ("empty-directory", empty.path().to_path_buf()),
            ("missing-path", empty.path().join("manifests/*.yaml")),
        ],
    );
}

/// Builds a `.layout` file's tree under `dir`; returns the path to validate and the
/// expectations (`objects N`, `error CODE TEXT`).
fn build_layout(text: &str, dir: &Path) -> (PathBuf, Vec<String>) {
    let mut root = dir.to_path_buf();
    let mut expect = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (verb, rest) = line.split_once(' ').unwrap();
        match verb {
            "file" => {
                let (path, what) = rest.split_once(' ').unwrap();
                let name = what.strip_prefix("role ").unwrap();
                let at = dir.join(path);
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                std::fs::write(
                    at,
                    format!("apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: {name}\nspec: {{}}\n"),
                )
                .unwrap();
            }
            "link" => {
                let (path, target) = rest.split_once(" -> ").unwrap();
                let at = dir.join(path);
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(target, at).unwrap();
            }
            "root" => root = dir.join(rest),
            "expect" => expect.push(rest.to_owned()),
            other => panic!("unknown layout line `{other}`"),
        }
    }
    (root, expect)
}

#[test]
fn hostile_symlink_layouts() {
    let layouts = cases("hostile/symlinks");
    assert!(layouts.len() >= 10, "{} layouts", layouts.len());
    for layout in layouts {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("case");
        std::fs::create_dir(&dir).unwrap();
        let (root, expect) = build_layout(&std::fs::read_to_string(&layout).unwrap(), &dir);
        let set = validate_paths(&[root.display().to_string()]);
        let shown = |s: &str| s.replace(&dir.display().to_string(), "CASE");
        let errors: Vec<String> = set
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{} {}", d.code.as_str(), shown(&d.message)))
            .collect();
        let wanted: Vec<&str> = expect
            .iter()
            .filter_map(|e| e.strip_prefix("error "))
            .collect();
        assert_eq!(
            errors.len(),
            wanted.len(),
            "{}: {errors:#?}",
            layout.display()
        );
        for (error, want) in errors.iter().zip(&wanted) {
            assert!(
                error.starts_with(want),
                "{}: `{error}` is not `{want}…`",
                layout.display()
            );
        }
        let objects = expect
            .iter()
            .find_map(|e| e.strip_prefix("objects "))
            .unwrap_or_else(|| panic!("{}: no `expect objects`", layout.display()));
        assert_eq!(
            set.objects.len().to_string(),
            objects,
            "{}: {:#?}",
            layout.display(),
            set.diagnostics
        );
        // Every manifest is read once: no source is read twice under two names of one file.
        let mut names: Vec<_> = set.sources.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), set.sources.len(), "{}", layout.display());
    }
}
