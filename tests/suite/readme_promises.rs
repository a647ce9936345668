//! README promises that no other test exercised: the default database `sqlite://steward.db` in
//! the working directory, `STEWARD_DATABASE_URL` in place of `--database`, `crds --out DIR`
//! writing the checked-in CRDs, and `init --demo org --scale F` seeding exactly what
//! `generate --scale F` refers to. Each runs the real binary in a fresh directory.

use std::path::Path;
use std::process::Output;

use crate::repo_path;

/// Runs steward in `dir` with `env` set and `STEWARD_DATABASE_URL` otherwise unset.
fn steward_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_steward"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("STEWARD_DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn exits(out: &Output, code: i32, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn without_database_flags_steward_uses_steward_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let examples = repo_path("examples");
    exits(
        &steward_in(dir.path(), &["init", "--demo"], &[]),
        0,
        "init --demo",
    );
    assert!(dir.path().join("steward.db").is_file());
    exits(
        &steward_in(dir.path(), &["diff", &examples], &[]),
        2,
        "diff against the new default database",
    );
    let applied = exits(
        &steward_in(dir.path(), &["apply", &examples], &[]),
        0,
        "apply",
    );
    assert!(applied.contains("sqlite://steward.db"), "{applied}");
    exits(
        &steward_in(dir.path(), &["diff", &examples], &[]),
        0,
        "diff after apply",
    );
    let entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["steward.db"], "nothing else is written there");
}

#[test]
fn steward_database_url_stands_for_the_database_flag() {
    let dir = tempfile::tempdir().unwrap();
    let examples = repo_path("examples");
    let env = [("STEWARD_DATABASE_URL", "sqlite://from-env.db")];
    exits(
        &steward_in(dir.path(), &["init", "--demo"], &env),
        0,
        "init with the variable",
    );
    assert!(dir.path().join("from-env.db").is_file());
    assert!(!dir.path().join("steward.db").exists());
    exits(
        &steward_in(dir.path(), &["apply", &examples], &env),
        0,
        "apply with the variable",
    );
    exits(
        &steward_in(dir.path(), &["diff", &examples], &env),
        0,
        "diff with the variable",
    );
    // The flag wins over the variable: the default file does not exist, so diff says what to
    // run instead of creating it.
    let out = steward_in(
        dir.path(),
        &["diff", &examples, "--database", "sqlite://steward.db"],
        &env,
    );
    exits(&out, 3, "diff with the flag naming a missing file");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("steward init"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("steward.db").exists());
}

#[test]
fn crds_out_writes_the_checked_in_crds_and_a_kustomization() {
    let dir = tempfile::tempdir().unwrap();
    exits(
        &steward_in(dir.path(), &["crds", "--out", "out"], &[]),
        0,
        "crds --out",
    );
    let checked_in = Path::new(&repo_path("crds")).to_owned();
    let mut written: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = std::fs::read_dir(&checked_in)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    assert!(written.contains(&"kustomization.yaml".to_owned()));
    for name in &written {
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out").join(name)).unwrap(),
            std::fs::read_to_string(checked_in.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn init_demo_org_seeds_what_generate_at_the_same_scale_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let scale = "0.02";
    exits(
        &steward_in(
            dir.path(),
            &["generate", "--out", "org", "--seed", "7", "--scale", scale],
            &[],
        ),
        0,
        "generate",
    );
    let db = ["--database", "sqlite://org.db"];
    let mut init = vec!["init", "--demo", "org", "--scale", scale];
    init.extend(db);
    exits(&steward_in(dir.path(), &init, &[]), 0, "init --demo org");
    let mut apply = vec!["apply", "org"];
    apply.extend(db);
    exits(&steward_in(dir.path(), &apply, &[]), 0, "apply the org");
    let mut diff = vec!["diff", "org"];
    diff.extend(db);
    exits(&steward_in(dir.path(), &diff, &[]), 0, "diff after apply");
}

#[test]
fn a_postgresql_database_without_supersets_tables_is_refused_with_exit_3() {
    use crate::services::{ScratchPg, psql, steward};
    let empty = ScratchPg::from_template("no_superset", "template0");
    let examples = repo_path("examples");
    let tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'";
    let before = psql(&empty.url, tables);
    let export_dir = tempfile::tempdir().unwrap();
    let export_path = export_dir.path().join("out").display().to_string();
    for args in [
        vec!["diff", examples.as_str()],
        vec!["apply", examples.as_str()],
        vec!["export", export_path.as_str()],
        vec!["references"],
    ] {
        let mut args = args.clone();
        args.extend(["--database", empty.url.as_str()]);
        let out = steward(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not a Superset metadata database")
                && stderr.contains("superset db upgrade"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(psql(&empty.url, tables), before, "nothing was created");
    assert!(!export_dir.path().join("out").exists());
}
