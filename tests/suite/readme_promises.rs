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

/// Runs steward with `args`; asserts it exits `code` with `expected` in its standard error.
fn refused(args: &[&str], code: i32, expected: &str) {
    let out = crate::services::steward(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
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

#[test]
fn the_tour_counts_the_example_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let out = steward_in(
        Path::new(&repo_path("")),
        &["validate", "examples/"],
        &[
            ("STEWARD_MANIFEST_CACHE", "off"),
            ("HOME", &dir.path().display().to_string()),
        ],
    );
    let stdout = exits(&out, 0, "validate examples/");
    assert!(stdout.contains("34 objects in 6 files: valid"), "{stdout}");
}

#[test]
fn the_manifest_cache_lives_under_the_home_cache_unless_switched_off() {
    let examples = repo_path("examples");
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().display().to_string();
    let default_dir = home.path().join(".cache/steward/manifests");
    exits(
        &steward_in(
            home.path(),
            &["validate", &examples],
            &[("HOME", &home_str), ("STEWARD_MANIFEST_CACHE", "off")],
        ),
        0,
        "validate with the cache off",
    );
    assert!(!default_dir.exists(), "off writes no cache");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["validate", &examples])
        .env("HOME", &home_str)
        .env_remove("STEWARD_MANIFEST_CACHE")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    exits(&out, 0, "validate with the default cache");
    let entries = std::fs::read_dir(&default_dir)
        .map(|d| d.count())
        .unwrap_or_default();
    assert!(entries > 0, "the default cache directory holds entries");
}

#[test]
fn allow_builtin_roles_changes_a_builtin_role_and_export_includes_them_on_request() {
    use crate::reconcile::init_demo;
    use crate::services::{Db, steward_ok};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gamma.yaml"),
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: gamma\nspec:\n  name: Gamma\n  permissions:\n    - view: Dashboard\n      actions: [read]\n",
    )
    .unwrap();
    let manifests = dir.path().display().to_string();
    let grants = "SELECT count(*) FROM ab_permission_view_role pvr JOIN ab_role r ON r.id = pvr.role_id WHERE r.name = 'Gamma'";
    for db in Db::each_backend("builtin_allowed") {
        init_demo(&db);
        let url = db.url();
        assert_ne!(db.sql(grants).trim(), "1", "{}", db.label());
        steward_ok(
            &[
                "apply",
                &manifests,
                "--database",
                &url,
                "--adopt",
                "--allow-builtin-roles",
            ],
            0,
        );
        assert_eq!(
            db.sql(grants).trim(),
            "1",
            "{}: Gamma holds what the manifest says",
            db.label()
        );
        steward_ok(
            &[
                "diff",
                &manifests,
                "--database",
                &url,
                "--allow-builtin-roles",
            ],
            0,
        );

        // Export leaves the built-in roles out unless asked.
        let role_files = |extra: &[&str]| -> Vec<String> {
            let out = tempfile::tempdir().unwrap();
            let target = out.path().join("export").display().to_string();
            let mut args = vec!["export", target.as_str(), "--database", url.as_str()];
            args.extend_from_slice(extra);
            steward_ok(&args, 0);
            let mut texts: Vec<String> = std::fs::read_dir(out.path().join("export/roles"))
                .map(|d| {
                    d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                        .collect()
                })
                .unwrap_or_default();
            texts.sort();
            texts
        };
        let names = |texts: &[String], role: &str| {
            texts
                .iter()
                .filter(|t| t.contains(&format!("name: {role}\n")))
                .count()
        };
        let without = role_files(&[]);
        let with = role_files(&["--include-builtin-roles"]);
        for role in ["Admin", "Alpha", "Public", "sql_lab"] {
            assert_eq!(names(&without, role), 0, "{}: {role} left out", db.label());
            assert_eq!(names(&with, role), 1, "{}: {role} exported", db.label());
        }
    }
}

#[test]
fn a_git_revision_diff_has_no_access_impact() {
    use crate::diff_outputs::git;
    let repo = tempfile::tempdir().unwrap();
    let org = repo.path().join("org");
    std::fs::create_dir(&org).unwrap();
    for entry in std::fs::read_dir(repo_path("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, org.join(path.file_name().unwrap())).unwrap();
    }
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    // A change that moves access: a group loses a role.
    let groups = org.join("groups.yaml");
    let text = std::fs::read_to_string(&groups).unwrap();
    let changed = text.replacen(
        "roles: [Sales Analyst, Dashboard Viewer]",
        "roles: [Sales Analyst]",
        1,
    );
    assert_ne!(
        changed, text,
        "the example sales team holds Dashboard Viewer"
    );
    std::fs::write(&groups, changed).unwrap();
    let env = [("STEWARD_MANIFEST_CACHE", "off")];
    let json = exits(
        &steward_in(
            repo.path(),
            &["diff", "org", "--against-ref", "HEAD", "--output", "json"],
            &env,
        ),
        2,
        "diff --against-ref --output json",
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json.get("impact").is_none_or(|i| i.is_null()), "{json}");
    let text = exits(
        &steward_in(repo.path(), &["diff", "org", "--against-ref", "HEAD"], &env),
        2,
        "diff --against-ref",
    );
    assert!(!text.contains("Access impact"), "{text}");
    assert!(text.contains("SupersetGroup"), "{text}");
}

#[test]
fn charts_and_dashboards_by_name_or_title_must_be_unambiguous_and_uuids_resolve() {
    use crate::reconcile::init_demo;
    use crate::services::{Db, steward, steward_ok};
    for db in Db::each_backend("ambiguous") {
        init_demo(&db);
        let url = db.url();
        // Two charts named like the one a schedule names, two dashboards with one title.
        db.sql("UPDATE slices SET slice_name = 'Pipeline by stage' WHERE slice_name = 'Revenue by region'");
        db.sql("UPDATE dashboards SET dashboard_title = 'Twin board'");
        let dir = tempfile::tempdir().unwrap();
        let schedule = |name: &str, target: &str| {
            format!(
                "apiVersion: steward.dev/v1alpha1\nkind: ReportSchedule\nmetadata:\n  name: {name}\n  namespace: t\nspec:\n  type: Report\n  crontab: \"0 8 * * 1\"\n  {target}\n  owners: [report-owner]\n  recipients:\n    email:\n      to: [a@example.com]\n"
            )
        };
        let user = "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: report-owner\nspec:\n  firstName: R\n  lastName: O\n  email: report-owner@example.com\n";
        std::fs::write(
            dir.path().join("all.yaml"),
            format!(
                "{user}---\n{}---\n{}",
                schedule("by-name", "chart:\n    name: Pipeline by stage"),
                schedule("by-title", "dashboard:\n    title: Twin board"),
            ),
        )
        .unwrap();
        let out = steward(&[
            "diff",
            &dir.path().display().to_string(),
            "--database",
            &url,
            "--output",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", db.label());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ambiguous: Vec<&serde_json::Value> = json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["code"] == "ambiguous-reference")
            .collect();
        assert_eq!(ambiguous.len(), 2, "{}: {json}", db.label());
        let chart = ambiguous
            .iter()
            .find(|e| e["message"] == "2 charts are named `Pipeline by stage`")
            .unwrap_or_else(|| panic!("{}: {json}", db.label()));
        // The hint lists both charts' uuids, to pick one from.
        let uuids: Vec<String> = chart["hint"]
            .as_str()
            .unwrap()
            .trim_start_matches("reference one by uuid: ")
            .split(", ")
            .map(str::to_owned)
            .collect();
        assert_eq!(uuids.len(), 2, "{json}");
        assert_ne!(uuids[0], uuids[1], "{json}");
        assert!(uuids.iter().all(|u| u.len() == 36), "{json}");
        assert!(
            ambiguous.iter().any(|e| e["message"]
                .as_str()
                .unwrap()
                .contains("dashboards match `Twin board`")),
            "{json}"
        );
        // By uuid, the same chart resolves.
        std::fs::write(
            dir.path().join("all.yaml"),
            format!(
                "{user}---\n{}",
                schedule("by-uuid", &format!("chart:\n    uuid: {}", uuids[0])),
            ),
        )
        .unwrap();
        steward_ok(
            &[
                "diff",
                &dir.path().display().to_string(),
                "--database",
                &url,
            ],
            2,
        );
    }
}

#[test]
fn on_postgresql_superset_can_insert_after_steward_without_id_clashes() {
    use crate::reconcile::init_demo;
    use crate::services::{Db, psql, steward_ok};
    let db = Db::pg("sequences");
    init_demo(&db);
    let url = db.url();
    steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
    // Superset's ab_* tables have no id default: Superset (SQLAlchemy) takes nextval of each
    // table's sequence, so every sequence must be past the ids steward wrote.
    let tables = psql(
        &url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'ab\\_%' ORDER BY 1",
    );
    let mut checked = 0;
    for table in tables.lines().map(str::trim).filter(|t| !t.is_empty()) {
        let sequence = format!("{table}_id_seq");
        let exists = psql(
            &url,
            &format!(
                "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname = '{sequence}'"
            ),
        );
        if exists.trim() != "1" {
            continue;
        }
        let behind = psql(
            &url,
            &format!(
                "SELECT (SELECT coalesce(max(id), 0) FROM {table}) > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence})"
            ),
        );
        assert_eq!(
            behind.trim(),
            "f",
            "{sequence} is behind the ids in {table}"
        );
        checked += 1;
    }
    assert!(checked >= 7, "the ab_* tables with sequences: {tables}");
    // And the insert Superset would make goes through.
    psql(
        &url,
        "INSERT INTO ab_role (id, name) VALUES (nextval('ab_role_id_seq'), 'made after steward')",
    );
    psql(
        &url,
        "INSERT INTO ab_user_role (id, user_id, role_id) SELECT nextval('ab_user_role_id_seq'), u.id, r.id FROM ab_user u, ab_role r WHERE u.username = 'ana.alves' AND r.name = 'made after steward'",
    );
}

#[test]
fn on_postgresql_steward_changes_no_schema_of_supersets_own_but_its_documented_additions() {
    use crate::services::{ScratchPg, psql, steward_ok};
    // A Superset-made metadata database, before steward ever ran on it.
    let db = ScratchPg::new("schema");
    let columns = "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1";
    let constraints = "SELECT table_name || ' ' || constraint_name || ' ' || constraint_type FROM information_schema.table_constraints WHERE table_schema = 'public' ORDER BY 1";
    let indexes = "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1";
    let lines = |sql: &str| -> std::collections::BTreeSet<String> {
        psql(&db.url, sql)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let before = [lines(columns), lines(constraints), lines(indexes)];
    steward_ok(&["init", "--database", &db.url], 0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("role.yaml"),
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: schema-check\nspec:\n  permissions:\n    - view: Dashboard\n      actions: [read]\n",
    )
    .unwrap();
    steward_ok(
        &[
            "apply",
            &dir.path().display().to_string(),
            "--database",
            &db.url,
        ],
        0,
    );
    let after = [lines(columns), lines(constraints), lines(indexes)];
    assert!(
        before[0].len() > 300,
        "Superset's schema was read: {}",
        before[0].len()
    );
    assert!(
        after[0].iter().any(|l| l.starts_with("steward_ledger."))
            && after[0]
                .iter()
                .any(|l| l.starts_with("report_schedule.run_as_fk ")),
        "steward's additions are there"
    );
    // What steward adds: its own tables and SIP-209's run-as columns on report_schedule (the
    // configuration is a row of Superset's key_value table). Nothing of Superset's is removed
    // or changed.
    let documented = |line: &str| {
        line.contains("steward_") || line.contains("run_as") || line.contains("run_alert_query_as")
    };
    for (was, now) in before.iter().zip(&after) {
        let removed: Vec<&String> = was.difference(now).collect();
        assert!(
            removed.is_empty(),
            "steward changed or removed: {removed:#?}"
        );
        let added: Vec<&String> = now.difference(was).filter(|l| !documented(l)).collect();
        assert!(
            added.is_empty(),
            "steward added beyond its documented tables and columns: {added:#?}"
        );
    }
}

#[test]
fn verbose_lists_every_field_of_created_objects() {
    let dir = tempfile::tempdir().unwrap();
    let examples = repo_path("examples");
    let db = ["--database", "sqlite://v.db", "--impact", "off"];
    exits(
        &steward_in(
            dir.path(),
            &["init", "--demo", "--database", "sqlite://v.db"],
            &[],
        ),
        0,
        "init",
    );
    let mut args = vec!["diff", examples.as_str()];
    args.extend(db);
    let short = exits(&steward_in(dir.path(), &args, &[]), 2, "diff");
    args.push("--verbose");
    let long = exits(&steward_in(dir.path(), &args, &[]), 2, "diff --verbose");
    let field = "    email: \"ana.alves@finance.corp.example.com\"";
    assert!(short.contains("+ SupersetUser \"ana.alves\""), "{short}");
    assert!(!short.contains(field), "{short}");
    assert!(long.contains(field), "{long}");
    assert!(long.lines().count() > 10 * short.lines().count(), "{long}");
}

/// Every long flag of every command (from its `--help`) is documented in the README and passed
/// by some test of this suite, so a flag nobody exercises cannot hide.
#[test]
fn every_flag_of_every_command_is_documented_and_exercised() {
    let help = |args: &[&str]| -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect();
    assert!(commands.len() >= 9, "{top}");
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let mut suite = String::new();
    for entry in std::fs::read_dir(repo_path("tests/suite")).unwrap() {
        suite.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let mut missing = Vec::new();
    for command in &commands {
        for line in help(&[command.as_str(), "--help"]).lines() {
            let Some(flag) = line
                .split_whitespace()
                .find(|w| w.starts_with("--"))
                .map(|w| w.trim_end_matches(',').to_owned())
            else {
                continue;
            };
            if !line.trim_start().starts_with('-') || flag == "--help" || flag == "--version" {
                continue;
            }
            if !readme.contains(&format!("steward {command}")) {
                missing.push(format!("{command}: not in the README"));
            }
            if !readme.contains(&flag) {
                missing.push(format!("{command} {flag}: not in the README"));
            }
            if !suite.contains(&format!("\"{flag}\"")) && !suite.contains(&format!("\"{flag}=")) {
                missing.push(format!("{command} {flag}: no test passes it"));
            }
        }
    }
    missing.dedup();
    assert!(missing.is_empty(), "{missing:#?}");
}

/// Datasets (in data access and RLS filters), charts and dashboards referenced by uuid, and a
/// dashboard by its title, resolve to the same content as their natural keys: applied by uuid
/// and title, the manifests written with names and slugs show no changes.
#[test]
fn content_referenced_by_uuid_or_title_is_the_content_named_by_natural_key() {
    use crate::reconcile::{init_demo, path_str};
    use crate::services::{Db, steward_ok};
    let manifests = |invoices: &str, payments: &str, chart: &str, dashboard: &str| {
        format!(
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: by-ref\nspec:\n  name: By Ref\n  dataAccess:\n    datasets: [{invoices}]\n\
             ---\napiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: ref-owner\nspec:\n  firstName: R\n  lastName: O\n  email: ref-owner@example.com\n  roles: [By Ref]\n\
             ---\napiVersion: steward.dev/v1alpha1\nkind: RowLevelSecurityFilter\nmetadata:\n  name: by-ref\n  namespace: t\nspec:\n  filterType: Regular\n  roles: [By Ref]\n  datasets: [{payments}]\n  clause: region = 'EU'\n\
             ---\napiVersion: steward.dev/v1alpha1\nkind: ReportSchedule\nmetadata:\n  name: chart-ref\n  namespace: t\nspec:\n  type: Report\n  crontab: \"0 8 * * 1\"\n  chart:\n    {chart}\n  owners: [ref-owner]\n  recipients:\n    email:\n      to: [ref-owner@example.com]\n\
             ---\napiVersion: steward.dev/v1alpha1\nkind: ReportSchedule\nmetadata:\n  name: dashboard-ref\n  namespace: t\nspec:\n  type: Report\n  crontab: \"0 9 * * 1\"\n  dashboard:\n    {dashboard}\n  owners: [ref-owner]\n  recipients:\n    email:\n      to: [ref-owner@example.com]\n"
        )
    };
    for db in Db::each_backend("by_ref") {
        init_demo(&db);
        let url = db.url();
        let references: serde_json::Value = serde_json::from_str(&steward_ok(
            &["references", "--database", &url, "--output", "json"],
            0,
        ))
        .unwrap();
        let uuid = |section: &str, key: &str, value: &str| {
            crate::export_promises::uuid_of(&references, section, key, value)
        };
        let by_uuid = manifests(
            &uuid("datasets", "reference", "warehouse.finance.invoices"),
            &uuid("datasets", "reference", "warehouse.finance.payments"),
            &format!("uuid: {}", uuid("charts", "name", "Pipeline by stage")),
            "title: Finance overview",
        );
        let by_name = manifests(
            "warehouse.finance.invoices",
            "warehouse.finance.payments",
            "name: Pipeline by stage",
            "slug: finance-overview",
        );
        let by_dashboard_uuid = by_name.replace(
            "slug: finance-overview",
            &format!("uuid: {}", uuid("dashboards", "slug", "finance-overview")),
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("all.yaml");
        std::fs::write(&file, &by_uuid).unwrap();
        steward_ok(&["apply", &path_str(dir.path()), "--database", &url], 0);
        for (what, text) in [("names", &by_name), ("dashboard uuid", &by_dashboard_uuid)] {
            std::fs::write(&file, text).unwrap();
            let out = steward_ok(&["diff", &path_str(dir.path()), "--database", &url], 0);
            assert!(
                out.contains("No changes"),
                "{} by {what}: {out}",
                db.label()
            );
        }
        // And a reference that changes content is a change, so the diffs above compared.
        std::fs::write(
            &file,
            by_name.replace("name: Pipeline by stage", "name: Revenue by region"),
        )
        .unwrap();
        steward_ok(&["diff", &path_str(dir.path()), "--database", &url], 2);
    }
}

/// A plan blocked by a policy breach and an error, in JSON and Markdown as the README shows
/// them: `blocked: true` with the plan still in `summary`/`changes`, `policy[]` entries
/// `{name, type, reason, detail}`, `errors[]` diagnostics; the comment puts the breaches, then
/// the errors, before the table of counts.
#[test]
fn a_blocked_plan_carries_policy_and_errors_in_json_and_markdown() {
    use crate::reconcile::{edited_examples, init_demo, path_str};
    use crate::services::{Db, steward, steward_ok};
    for db in Db::each_backend("blocked_outputs") {
        let label = db.label();
        init_demo(&db);
        let url = db.url();
        steward_ok(
            &["apply", &repo_path("examples/org"), "--database", &url],
            0,
        );
        let dir = edited_examples(|name, text| match name {
            "schedules.yaml" => text.replace("crontab: \"0 7 * * 1\"", "crontab: \"*/10 * * * *\""),
            _ => text,
        });
        std::fs::write(
            dir.path().join("gamma.yaml"),
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: gamma\nspec:\n  name: Gamma\n  permissions:\n  - view: Dashboard\n    actions: [read]\n",
        )
        .unwrap();
        let path = path_str(dir.path());
        let run = |output: &str| {
            let out = steward(&["diff", &path, "--database", &url, "--output", output]);
            assert_eq!(out.status.code(), Some(1), "{label} {output}");
            String::from_utf8(out.stdout).unwrap()
        };
        let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
        assert_eq!(json["blocked"], true, "{label}: {json:#}");
        assert_eq!(json["planned"], true, "{label}");
        assert!(
            json["summary"]["update"].as_u64().unwrap() >= 2,
            "{label}: {json:#}"
        );
        assert!(!json["changes"].as_array().unwrap().is_empty(), "{label}");
        let policy = json["policy"].as_array().unwrap();
        assert_eq!(policy.len(), 1, "{label}: {json:#}");
        assert_eq!(policy[0]["name"], "Weekly finance overview");
        assert_eq!(policy[0]["type"], "Report");
        assert_eq!(policy[0]["reason"], "frequency");
        assert!(
            policy[0]["detail"]
                .as_str()
                .unwrap()
                .contains("reportMinimumIntervalSeconds: 3600"),
            "{label}: {policy:?}"
        );
        let errors = json["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{label}: {json:#}");
        assert_eq!(errors[0]["severity"], "error");
        assert_eq!(errors[0]["code"], "builtin-role");
        assert!(
            errors[0]["hint"]
                .as_str()
                .unwrap()
                .contains("--allow-builtin-roles")
        );

        let markdown = run("markdown");
        assert!(
            markdown.starts_with("### steward diff: refused, 2 problems; would "),
            "{label}: {markdown}"
        );
        let at = |needle: &str| {
            markdown
                .find(needle)
                .unwrap_or_else(|| panic!("{label}: {needle:?} not in {markdown}"))
        };
        let breaches = at("#### Blocked by the Alerts & Reports configuration");
        let row = at("| Report | `Weekly finance overview` | frequency |");
        let errors = at("#### Errors (1)");
        let table = at("| Kind | Create | Adopt | Update | Delete | Forget |");
        assert!(
            breaches < row && row < errors && errors < table,
            "{label}: {markdown}"
        );
    }
}

/// `STEWARD_LOCK_TIMEOUT` stands for `--lock-timeout`, in each documented form (`500ms`, `2m`,
/// plain seconds), and the flag wins over it; while it waits steward says how long it will.
#[test]
fn the_lock_timeout_comes_from_the_flag_or_steward_lock_timeout_in_every_form() {
    use crate::services::Db;
    use crate::store_edge::Holder;
    let db = Db::pg("lock_forms");
    let url = db.url();
    let examples = repo_path("examples/org");
    let holder = Holder::new(&url, "LOCK TABLE ab_role IN ACCESS EXCLUSIVE MODE");
    for (env, flag, shown) in [
        (Some("500ms"), None, "0.5"),
        (Some("1"), None, "1"),
        (Some("2m"), Some("1500ms"), "1.5"),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_steward"));
        command.args(["diff", &examples, "--database", &url]);
        if let Some(flag) = flag {
            command.args(["--lock-timeout", flag]);
        }
        match env {
            Some(value) => command.env("STEWARD_LOCK_TIMEOUT", value),
            None => command.env_remove("STEWARD_LOCK_TIMEOUT"),
        };
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{env:?} {flag:?}: {stderr}");
        assert!(
            stderr.contains(&format!("gave up after waiting {shown} s for")),
            "{env:?} {flag:?}: {stderr}"
        );
    }
    drop(holder);
    // A value that is no duration is a usage error naming the forms.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["diff", &examples, "--database", &url])
        .env("STEWARD_LOCK_TIMEOUT", "soon")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("30s, 2m or 500ms"), "{stderr}");
}

/// The README's warnings, each given and none changing the exit code: alert-only fields on a
/// report, an RLS filter with no datasets, a Regular filter with no roles, a schedule with no
/// recipients, and filters that combine into a condition no row meets (which one `groupKey`,
/// ORing them, ends).
#[test]
fn every_documented_warning_is_given_and_changes_no_exit_code() {
    let file = repo_path("tests/corpus/readme/ineffective-fields.yaml");
    let validate = |path: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["validate", "--output", "json", path])
            .env("STEWARD_MANIFEST_CACHE", "off")
            .output()
            .unwrap();
        let stdout = exits(&out, 0, "validate with warnings only");
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["valid"], true, "{json:#}");
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                assert_eq!(d["severity"], "warning", "{d}");
                (
                    d["code"].as_str().unwrap().to_owned(),
                    format!(
                        "{}/{}/{}",
                        d["resource"]["kind"].as_str().unwrap(),
                        d["resource"]["namespace"].as_str().unwrap(),
                        d["resource"]["name"].as_str().unwrap()
                    ),
                    d["field"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let found = validate(&file);
    let want: Vec<(String, String, String)> = [
        ("ineffective-field", "ReportSchedule/t/weekly", "spec"),
        (
            "ineffective-field",
            "ReportSchedule/t/weekly",
            "spec.runAlertQueryAs",
        ),
        (
            "ineffective-field",
            "ReportSchedule/t/weekly",
            "spec.gracePeriodSeconds",
        ),
        (
            "ineffective-field",
            "ReportSchedule/t/weekly",
            "spec.attachContent",
        ),
        (
            "ineffective-field",
            "RowLevelSecurityFilter/t/nowhere",
            "spec",
        ),
        (
            "ineffective-field",
            "RowLevelSecurityFilter/t/nobody",
            "spec",
        ),
        (
            "empty-rls-combination",
            "RowLevelSecurityFilter/t/client-4",
            "spec.clause",
        ),
    ]
    .iter()
    .map(|(c, r, f)| ((*c).to_owned(), (*r).to_owned(), (*f).to_owned()))
    .collect();
    assert_eq!(found, want);
    // Alternatives under one group key are ORed: no longer a contradiction.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "  clause: client_id = ",
        "  groupKey: client\n  clause: client_id = ",
    );
    let grouped = dir.path().join("grouped.yaml");
    std::fs::write(&grouped, text).unwrap();
    let found = validate(&grouped.display().to_string());
    assert!(
        found
            .iter()
            .all(|(code, ..)| code != "empty-rls-combination"),
        "{found:?}"
    );
    assert_eq!(found.len(), 6, "{found:?}");
}

/// `scripts/demo.sh` does what the README says: validates `examples/`, creates a Superset 6.1
/// metadata database with the content the examples refer to, plans (exit 2), applies, and
/// shows nothing is left to do (exit 0). Run with the suite's own build (`STEWARD_BIN`).
#[test]
fn the_demo_script_validates_seeds_plans_applies_and_ends_clean() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = std::process::Command::new("bash")
        .arg(repo_path("scripts/demo.sh"))
        .env("STEWARD_BIN", env!("CARGO_BIN_EXE_steward"))
        .env("STEWARD_DEMO_DB", &db)
        .env("STEWARD_MANIFEST_CACHE", "off")
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = exits(&out, 0, "scripts/demo.sh");
    for step in [
        "34 objects in 6 files: valid",
        "== steward diff examples/ (exit 2: changes to apply)",
        "Plan: 34 to create.",
        "Applied 34 change(s)",
        "No changes: Superset matches the declared state.",
    ] {
        assert!(stdout.contains(step), "{step:?} not in:\n{stdout}");
    }
    assert!(db.is_file(), "the demo database");
}

/// Apply's spinner shows its progress on a terminal (a pseudo-terminal from util-linux's
/// `script`), and nothing of it reaches standard error that is not one.
#[test]
fn apply_shows_a_spinner_on_a_terminal_only() {
    use crate::services::Db;
    let db = Db::sqlite();
    let url = db.url();
    exits(
        &steward_in(Path::new("/"), &["init", "--demo", "--database", &url], &[]),
        0,
        "init --demo",
    );
    let examples = repo_path("examples/org");
    let binary = env!("CARGO_BIN_EXE_steward");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let command = format!(
        "{} apply {} --database {}",
        quote(binary),
        quote(&examples),
        quote(&url)
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("STEWARD_MANIFEST_CACHE", "off")
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .expect("util-linux `script` runs steward on a pseudo-terminal");
    let terminal = exits(&out, 0, "apply on a terminal");
    assert!(
        terminal.contains("waiting for the database lock")
            || terminal.contains("reading Superset's state"),
        "no spinner on a terminal:\n{terminal}"
    );
    assert!(terminal.contains("Applied 34 change(s)"), "{terminal}");
    // Not a terminal: the same apply (now with nothing to do) prints no spinner.
    let out = steward_in(
        Path::new("/"),
        &["apply", &examples, "--database", &url],
        &[("STEWARD_MANIFEST_CACHE", "off")],
    );
    let stdout = exits(&out, 0, "apply without a terminal");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for text in [&stdout, &stderr.to_string()] {
        assert!(
            !text.contains("reading Superset's state") && !text.contains('\r'),
            "spinner without a terminal: {text}"
        );
    }
}

/// A database error planning cannot foresee (here a deployment's own CHECK constraint or
/// trigger) is shown as the database's message, with the constraint on PostgreSQL, without the
/// server's source location; the apply writes nothing.
#[test]
fn a_database_refusal_is_shown_as_the_database_states_it() {
    use crate::reconcile::path_str;
    use crate::services::{Db, steward, steward_ok};
    let group = "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata:\n  name: refused-team\nspec:\n  label: forbidden label\n  roles: [Gamma]\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("group.yaml"), group).unwrap();
    for db in Db::each_backend("db_refusal") {
        let label = db.label();
        let url = db.url();
        steward_ok(&["init", "--database", &url], 0);
        let expected = match &db {
            Db::Pg(_) => {
                db.sql("ALTER TABLE ab_group ADD CONSTRAINT deployment_label_check CHECK (label <> 'forbidden label')");
                "the database refused it: new row for relation \"ab_group\" violates check constraint \"deployment_label_check\" (constraint `deployment_label_check`)"
            }
            Db::Sqlite { .. } => {
                db.sql("CREATE TRIGGER deployment_label_check BEFORE INSERT ON ab_group WHEN NEW.label = 'forbidden label' BEGIN SELECT RAISE(ABORT, 'labels may not be forbidden'); END");
                "the database refused it: labels may not be forbidden"
            }
        };
        let before = db.dump();
        let out = steward(&["apply", &path_str(dir.path()), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{label}: {stderr}");
        assert!(stderr.contains(expected), "{label}: {stderr}");
        for source in ["routine", ".c:", "line:", "file:"] {
            assert!(!stderr.contains(source), "{label}: {source} in {stderr}");
        }
        assert!(before == db.dump(), "{label}: a refused apply wrote");
    }
}

/// Selector forms the README lists: a kind's short name in any case with a glob, a schedule as
/// `Type:name` (bringing its owner, its run-as user and the declared users it e-mails, and
/// their roles); an unknown kind or a bad glob is a usage error (exit 64) with a hint, and
/// `--target` does not combine with `--against-ref` (nor does `--out-plan`).
#[test]
fn target_selectors_in_every_documented_form() {
    use crate::reconcile::init_demo;
    use crate::services::{Db, steward_ok};
    let db = Db::sqlite();
    init_demo(&db);
    let url = db.url();
    let org = repo_path("examples/org");
    let planned = |selector: &str| -> (Vec<String>, u64) {
        let json: serde_json::Value = serde_json::from_str(&steward_ok(
            &[
                "diff",
                &org,
                "--database",
                &url,
                "--target",
                selector,
                "--output",
                "json",
            ],
            2,
        ))
        .unwrap();
        assert_eq!(json["targets"], serde_json::json!([selector]), "{json:#}");
        let changes = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", s(&c["kind"]), s(&c["name"])))
            .collect();
        (changes, json["omittedChanges"].as_u64().unwrap())
    };
    fn s(v: &serde_json::Value) -> String {
        v.as_str().unwrap_or_default().to_owned()
    }
    let (changes, omitted) = planned("SSROLE/Finance*");
    assert_eq!(
        changes,
        [
            "SupersetRole Finance Analyst",
            "SupersetRole Finance Controller"
        ]
    );
    assert_eq!(omitted, 32);
    let (changes, omitted) = planned("rsched/Report:Weekly finance overview");
    assert_eq!(
        changes,
        [
            "SupersetUser ana.alves",
            "SupersetUser dmitri.brandt",
            "SupersetUser svc-finance-reports",
            "SupersetRole Finance Controller",
            "SupersetRole report-runner-finance",
            "ReportSchedule Report:Weekly finance overview",
        ]
    );
    assert_eq!(omitted, 28);
    for (args, message) in [
        (
            vec!["--target", "SupersetRol/x"],
            "`SupersetRol` is not a steward kind (did you mean `SupersetRole`?)",
        ),
        (vec!["--target", "roles/[Finance"], "is not a valid glob"),
        (
            vec!["--against-ref", "HEAD", "--target", "rsched"],
            "'--against-ref <REV>' cannot be used with '--target <SELECTOR>'",
        ),
        (
            vec!["--against-ref", "HEAD", "--out-plan", "plan.json"],
            "'--against-ref <REV>' cannot be used with '--out-plan <FILE>'",
        ),
    ] {
        let mut all = vec!["diff", org.as_str(), "--database", url.as_str()];
        all.extend(args.iter().copied());
        refused(&all, 64, message);
    }
}

/// `init --demo` (= `--demo examples`) seeds the content `examples/` refers to: database
/// `warehouse`, five datasets, three charts, two dashboards.
#[test]
fn init_demo_examples_seeds_the_content_the_examples_refer_to() {
    use crate::services::{Db, steward_ok};
    let mut listed = Vec::new();
    for demo in [&["--demo"][..], &["--demo", "examples"][..]] {
        let db = Db::sqlite();
        let url = db.url();
        let mut args = vec!["init", "--database", url.as_str()];
        args.extend_from_slice(demo);
        steward_ok(&args, 0);
        let json: serde_json::Value = serde_json::from_str(&steward_ok(
            &["references", "--database", &url, "--output", "json"],
            0,
        ))
        .unwrap();
        let names = |section: &str, key: &str| -> Vec<String> {
            json[section]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i[key].as_str().unwrap().to_owned())
                .collect()
        };
        let content = (
            names("databases", "name"),
            names("datasets", "reference"),
            names("charts", "name"),
            names("dashboards", "slug"),
        );
        assert_eq!(content.0, ["warehouse"], "{demo:?}");
        assert_eq!(content.1.len(), 5, "{demo:?}: {:?}", content.1);
        assert_eq!(content.2.len(), 3, "{demo:?}: {:?}", content.2);
        assert_eq!(content.3.len(), 2, "{demo:?}: {:?}", content.3);
        listed.push(content);
    }
    assert_eq!(listed[0], listed[1], "--demo and --demo examples");
    // And the examples resolve against it.
    let db = Db::sqlite();
    steward_ok(&["init", "--demo", "examples", "--database", &db.url()], 0);
    steward_ok(
        &["diff", &repo_path("examples"), "--database", &db.url()],
        2,
    );
}

/// The codes no file of `examples/invalid/` can show, each given by a real run: `io` (a path
/// that cannot be read), `unknown-content`, `prune-guard`, `target-unmatched` and `conflict`.
#[test]
fn codes_that_need_a_database_or_a_missing_path_are_given() {
    use crate::reconcile::{edited_examples, init_demo, path_str};
    use crate::services::{Db, steward_ok};
    let db = Db::sqlite();
    init_demo(&db);
    let url = db.url();
    let org = repo_path("examples/org");
    steward_ok(&["apply", &org, "--database", &url], 0);
    let empty = tempfile::tempdir().unwrap();
    let misspelt = edited_examples(|_, text| {
        text.replace("name: Pipeline by stage", "name: Pipeline by stag")
    });
    db.sql("INSERT INTO ab_role (id, name) VALUES (999, 'Made Elsewhere')");
    let unmanaged = tempfile::tempdir().unwrap();
    std::fs::write(
        unmanaged.path().join("role.yaml"),
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: made-elsewhere\nspec:\n  name: Made Elsewhere\n",
    )
    .unwrap();
    let unmanaged = path_str(unmanaged.path());
    let missing = empty.path().join("no-such-dir");
    let (missing, empty, misspelt) = (
        path_str(&missing),
        path_str(empty.path()),
        path_str(misspelt.path()),
    );
    for (args, expected) in [
        (
            vec!["validate", missing.as_str()],
            "error[io]: cannot read ",
        ),
        (
            vec!["diff", misspelt.as_str(), "--database", url.as_str()],
            "error[unknown-content]: chart `Pipeline by stag` does not exist in Superset",
        ),
        (
            vec![
                "diff",
                empty.as_str(),
                "--database",
                url.as_str(),
                "--allow-empty-kinds",
                "--max-deletions",
                "1",
            ],
            "error[prune-guard]: the plan deletes 34 objects, more than --max-deletions 1",
        ),
        (
            vec![
                "diff",
                org.as_str(),
                "--database",
                url.as_str(),
                "--target",
                "ssrole/Nope",
            ],
            "error[target-unmatched]: --target `ssrole/Nope` matches no object",
        ),
        (
            vec![
                "diff",
                unmanaged.as_str(),
                "--database",
                url.as_str(),
                "--no-prune",
            ],
            "error[conflict]: SupersetRole \"Made Elsewhere\" already exists in Superset and steward does not manage it",
        ),
    ] {
        refused(&args, 1, expected);
    }
}

/// The README's list of diagnostic codes is every code steward has, and each is shown by an
/// `examples/invalid/` file, a corpus file or a test asserting it.
#[test]
fn every_diagnostic_code_is_documented_and_shown_somewhere() {
    let source = std::fs::read_to_string(repo_path("src/diagnostic.rs")).unwrap();
    let mut codes: Vec<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Code::"))
        .filter_map(|l| l.split_once("=> \""))
        .map(|(_, code)| code.trim_end_matches("\",").to_owned())
        .collect();
    codes.sort();
    assert!(codes.len() >= 30, "{codes:?}");
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let list = readme
        .split_once("Codes: ")
        .and_then(|(_, rest)| rest.split_once(" (a `--target`"))
        .map(|(list, _)| list)
        .expect("the README's list of codes");
    let mut documented: Vec<String> = list
        .split(',')
        .map(|c| c.trim().trim_matches('`').to_owned())
        .collect();
    documented.sort();
    assert_eq!(
        documented, codes,
        "the README's codes against src/diagnostic.rs"
    );
    let mut evidence = String::new();
    let mut read = |dir: &Path| {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    evidence.push_str(&text);
                }
            }
        }
    };
    for dir in ["examples/invalid", "tests/corpus", "tests/suite"] {
        read(Path::new(&repo_path(dir)));
    }
    let missing: Vec<&String> = codes
        .iter()
        .filter(|code| {
            ![
                format!("[{code}]"),
                format!("\"{code}\""),
                format!("error {code} "),
                format!("warning {code} "),
            ]
            .iter()
            .any(|form| evidence.contains(form.as_str()))
        })
        .collect();
    assert!(missing.is_empty(), "codes nothing shows: {missing:?}");
}

/// Each RLS clause is parsed in the dialect of its datasets' database, from the scheme of the
/// SQLAlchemy URI Superset holds, for every backend the README lists; another backend gets the
/// generic dialect.
#[test]
fn rls_clauses_are_parsed_in_every_documented_dialect() {
    use crate::reconcile::{edited_examples, init_demo, path_str};
    use crate::services::{Db, steward};
    let db = Db::sqlite();
    init_demo(&db);
    let url = db.url();
    let broken = edited_examples(|name, text| match name {
        "rls.yaml" => text.replace(
            "clause: region = 'EU'",
            "clause: region = 'EU' region = 'US'",
        ),
        _ => text,
    });
    let dir = path_str(broken.path());
    for (uri, dialect) in [
        (
            "postgresql+psycopg2://u:p@h:5432/warehouse",
            Some("PostgreSQL"),
        ),
        ("mysql+mysqldb://u:p@h/warehouse", Some("MySQL")),
        ("sqlite:////var/lib/warehouse.db", Some("SQLite")),
        ("mssql+pyodbc://u:p@h/warehouse", Some("SQL Server")),
        ("snowflake://u:p@account/warehouse", Some("Snowflake")),
        ("bigquery://project/warehouse", Some("BigQuery")),
        ("redshift+psycopg2://u:p@h:5439/warehouse", Some("Redshift")),
        ("clickhousedb://u:p@h/warehouse", Some("ClickHouse")),
        ("duckdb:////var/lib/warehouse.duckdb", Some("DuckDB")),
        ("hive://u@h:10000/warehouse", Some("Hive")),
        (
            "databricks+connector://token:p@h:443/warehouse",
            Some("Databricks"),
        ),
        ("trino://u@h:8080/warehouse", None),
    ] {
        db.sql(&format!(
            "UPDATE dbs SET sqlalchemy_uri = '{uri}' WHERE database_name = 'warehouse'"
        ));
        let out = steward(&["diff", &dir, "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{uri}: {stderr}");
        assert!(
            stderr.contains("error[invalid-rls-clause]"),
            "{uri}: {stderr}"
        );
        match dialect {
            Some(name) => assert!(
                stderr.contains(&format!(
                    "(parsed as {name}, the dialect of database `warehouse`)"
                )),
                "{uri}: {stderr}"
            ),
            None => assert!(!stderr.contains("(parsed as "), "{uri}: {stderr}"),
        }
    }
}

/// The README's layout: the core modules do no IO (no files, processes, environment, database
/// or async runtime) outside the file edges it names.
#[test]
fn the_pure_modules_do_no_io_outside_the_documented_edges() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = ["generate/mod.rs"];
    let io = [
        "std::fs",
        "std::process",
        "std::env",
        "std::net",
        "sqlx",
        "tokio",
        "File::",
        "Command::new",
    ];
    let mut found = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = [
        "resources",
        "policy",
        "schedule",
        "generate",
        "model",
        "plan",
        "impact",
        "render",
        "export",
    ]
    .iter()
    .map(|d| src.join(d))
    .chain(
        [
            "diagnostic.rs",
            "reason.rs",
            "excerpt.rs",
            "escape.rs",
            "execute/state.rs",
            "execute/validator.rs",
            "execute/notice.rs",
            "execute/recheck.rs",
            "execute/facts.rs",
            "token/access.rs",
        ]
        .iter()
        .map(|f| src.join(f)),
    )
    .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap().display().to_string();
        if edges.iter().any(|e| relative.starts_with(e)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests may use files.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        for token in io {
            if code.contains(token) {
                found.push(format!("src/{relative}: {token}"));
            }
        }
    }
    assert!(found.is_empty(), "IO in the pure modules: {found:#?}");
}

/// The tour's org-10k: `generate --seed 1 --scale 1` writes 10301 objects in 104 files (one
/// directory per kind, 100 objects per file), and they validate.
#[test]
fn the_tour_counts_org_10k() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("org10k");
    let out = out_dir.display().to_string();
    let env = [("STEWARD_MANIFEST_CACHE", "off")];
    exits(
        &steward_in(
            dir.path(),
            &["generate", "--out", &out, "--seed", "1", "--scale", "1"],
            &env,
        ),
        0,
        "generate",
    );
    let validated = exits(
        &steward_in(dir.path(), &["validate", &out], &env),
        0,
        "validate",
    );
    assert!(
        validated.contains("10301 objects in 104 files: valid"),
        "{validated}"
    );
    let mut per_kind: Vec<(String, usize)> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_dir(&path).map_or(0, |d| d.count()),
            )
        })
        .collect();
    per_kind.sort();
    assert_eq!(
        per_kind.iter().map(|(_, n)| n).sum::<usize>(),
        104,
        "{per_kind:?}"
    );
}

/// "read-only access is enough for `diff`": a PostgreSQL role that may only SELECT plans the
/// example organisation (no changes, then a change), while its apply is refused and writes
/// nothing.
#[test]
fn diff_needs_only_read_access() {
    use crate::reconcile::{edited_examples, init_demo, path_str};
    use crate::services::{Db, env, psql, steward, steward_ok};
    let db = Db::pg("read_only");
    init_demo(&db);
    let url = db.url();
    let org = repo_path("examples/org");
    steward_ok(&["apply", &org, "--database", &url], 0);
    let role = format!("steward_reader_{}", std::process::id());
    let password = "reader-pw-7f3a";
    let admin = env("STEWARD_TEST_PG_URL");
    psql(
        &admin,
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
    );
    for grant in [
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"),
    ] {
        db.sql(&grant);
    }
    let (_, host_and_db) = url.rsplit_once('@').unwrap();
    let reader = format!("postgres://{role}:{password}@{host_and_db}");
    let out = steward_ok(&["diff", &org, "--database", &reader], 0);
    assert!(out.contains("No changes"), "{out}");
    let changed = edited_examples(|name, text| match name {
        "users.yaml" => text.replacen("lastName: Reports", "lastName: Reporting", 1),
        _ => text,
    });
    let changed = path_str(changed.path());
    steward_ok(&["diff", &changed, "--database", &reader], 2);
    let before = db.dump();
    let out = steward(&["apply", &changed, "--database", &reader]);
    assert_ne!(out.status.code(), Some(0), "apply with read access only");
    assert!(before == db.dump(), "a read-only apply wrote");
    db.sql(&format!("DROP OWNED BY {role}"));
    drop(db);
    psql(&admin, &format!("DROP ROLE {role}"));
}
