//! `steward apply` and `steward diff` against real databases: metadata DBs whose content
//! (database, datasets, charts, dashboards, their permissions) Superset 6.1 made itself through
//! its REST API, on SQLite and PostgreSQL, and a new SQLite file from `steward init --demo`
//! (steward's embedded schema). Idempotence, updates and prune, guardrails, conflicts and
//! adoption, built-in roles, clear errors, exit codes.

use std::path::Path;

use crate::repo_path;
use crate::services::{Db, dump_difference, steward, steward_ok};

pub(crate) fn init_demo(db: &Db) {
    steward_ok(&["init", "--demo", "--database", &db.url()], 0);
}

/// Metadata databases holding the examples' content: made by Superset through its REST API
/// (a SQLite file and a PostgreSQL database, as they are: steward has written nothing to them
/// yet), and a new SQLite file from `steward init --demo`, whose content is what Superset makes
/// (`demo_content.rs`) and whose schema is steward's embedded one.
pub(crate) fn with_content(label: &str) -> Vec<Db> {
    let own = Db::sqlite();
    init_demo(&own);
    let mut dbs = Db::superset_content(label);
    dbs.push(own);
    dbs
}

/// A copy of the SQLite metadata DB Superset made and seeded through its REST API.
fn superset_sqlite_with_content() -> Db {
    Db::superset_content("sqlite_only").remove(0)
}

/// A copy of `examples/org` in a temporary directory, with `edit` applied to each file's text.
pub(crate) fn edited_examples(edit: impl Fn(&str, String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo_path("examples/org")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(dir.path().join(&name), edit(&name, text)).unwrap();
    }
    dir
}

pub(crate) fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn apply_is_idempotent_and_diff_is_empty_after() {
    for db in with_content("idem") {
        let url = db.url();
        let out = steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        assert!(out.contains("Plan: 34 to create."), "{}: {out}", db.label());
        let diff = steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
        assert!(diff.contains("No changes"), "{}: {diff}", db.label());
        let before = db.dump();
        let again = steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        assert!(again.contains("No changes"), "{}: {again}", db.label());
        let after = db.dump();
        assert!(
            before == after,
            "{}: a no-op apply wrote:\n{}",
            db.label(),
            dump_difference(&before, &after)
        );
    }
}

#[test]
fn changes_update_in_place_and_removed_objects_are_pruned() {
    for db in with_content("change") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let changed = edited_examples(|name, text| match name {
            "schedules.yaml" => text.replace("crontab: \"0 6 * * *\"", "crontab: \"30 6 * * *\""),
            "groups.yaml" => {
                text.replace("users: [ana.alves, dmitri.brandt]", "users: [ana.alves]")
            }
            "rls.yaml" => {
                let cut = text
                    .find("name: hide-confidential")
                    .expect("rls example has hide-confidential");
                let start = text[..cut].rfind("---").unwrap();
                let end = text[cut..].find("---").map_or(text.len(), |e| cut + e);
                format!("{}{}", &text[..start], &text[end..])
            }
            _ => text,
        });
        let diff = steward_ok(&["diff", &path_str(changed.path()), "--database", &url], 2);
        assert!(
            diff.contains("- RowLevelSecurityFilter \"Hide confidential journal entries\""),
            "{diff}"
        );
        assert!(
            diff.contains("crontab: \"0 6 * * *\" → \"30 6 * * *\""),
            "{diff}"
        );
        assert!(diff.contains("      - dmitri.brandt"), "{diff}");
        assert!(diff.contains("Plan: 2 to update, 1 to delete."), "{diff}");
        let applied = steward_ok(&["apply", &path_str(changed.path()), "--database", &url], 0);
        assert!(applied.contains("1 to delete"), "{applied}");
        steward_ok(&["diff", &path_str(changed.path()), "--database", &url], 0);
        // Back to the examples: the filter comes back, the crontab and member are restored.
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
    }
}

#[test]
fn deletion_guards_refuse_and_write_nothing() {
    for db in with_content("guard") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let no_rls = edited_examples(|name, text| {
            if name == "rls.yaml" {
                String::new()
            } else {
                text
            }
        });
        let before = db.dump();
        let out = steward(&["apply", &path_str(no_rls.path()), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("no RowLevelSecurityFilter is declared, but steward manages 6"),
            "{stderr}"
        );
        assert!(stderr.contains("--allow-empty-kinds"), "{stderr}");
        let capped = steward(&[
            "apply",
            &path_str(no_rls.path()),
            "--database",
            &url,
            "--allow-empty-kinds",
            "--max-deletions",
            "2",
        ]);
        let stderr = String::from_utf8_lossy(&capped.stderr);
        assert_eq!(capped.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("the plan deletes 6 objects, more than --max-deletions 2"),
            "{stderr}"
        );
        assert!(before == db.dump(), "{}: a refused apply wrote", db.label());
        let kept = steward_ok(
            &[
                "apply",
                &path_str(no_rls.path()),
                "--database",
                &url,
                "--no-prune",
            ],
            0,
        );
        assert!(kept.contains("No changes"), "{kept}");
        let pruned = steward_ok(
            &[
                "apply",
                &path_str(no_rls.path()),
                "--database",
                &url,
                "--allow-empty-kinds",
            ],
            0,
        );
        assert!(pruned.contains("6 to delete"), "{pruned}");
    }
}

#[test]
fn existing_unmanaged_objects_conflict_until_adopted() {
    for db in with_content("adopt") {
        let url = db.url();
        // Another manager creates the objects first: to this apply they are not its own.
        steward_ok(
            &[
                "apply",
                &repo_path("examples"),
                "--database",
                &url,
                "--manager",
                "team-a",
            ],
            0,
        );
        let out = steward(&["apply", &repo_path("examples"), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(
                "SupersetRole \"Finance Analyst\" is managed by `team-a`, not by this pass's manager `cli`"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("--adopt"), "{stderr}");
        let adopted = steward_ok(
            &[
                "apply",
                &repo_path("examples"),
                "--database",
                &url,
                "--adopt",
            ],
            0,
        );
        assert!(adopted.contains("34 to adopt"), "{adopted}");
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
    }
}

#[test]
fn builtin_roles_are_never_changed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gamma.yaml"),
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: gamma\nspec:\n  name: Gamma\n  permissions:\n    - view: Dashboard\n      actions: [read]\n",
    )
    .unwrap();
    for db in Db::each_backend("builtin") {
        init_demo(&db);
        let before = db.dump();
        let out = steward(&["apply", &path_str(dir.path()), "--database", &db.url()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("SupersetRole \"Gamma\" is a built-in role"),
            "{stderr}"
        );
        assert!(stderr.contains("--allow-builtin-roles"), "{stderr}");
        assert!(before == db.dump(), "{}: refused apply wrote", db.label());
    }
}

#[test]
fn missing_content_and_permissions_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("role.yaml"),
        "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: r\nspec:\n  permissions:\n    - view: Dashbord\n      actions: [read]\n  dataAccess:\n    datasets: [warehouse.finance.invoice]\n",
    )
    .unwrap();
    for db in with_content("content") {
        let out = steward(&["apply", &path_str(dir.path()), "--database", &db.url()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("role.yaml:7:7"), "{stderr}");
        assert!(
            stderr.contains(
                "permission `can_read` on `Dashbord` does not exist in Superset's catalogue"
            ),
            "{stderr}"
        );
        assert!(
            stderr.contains("did you mean `can_read` on `Dashboard`?"),
            "{stderr}"
        );
        assert!(
            stderr.contains("dataset `warehouse.finance.invoice` does not exist in Superset"),
            "{stderr}"
        );
        assert!(
            stderr.contains("did you mean `warehouse.finance.invoices`?"),
            "{stderr}"
        );
    }
    // Without the demo content, the examples' references fail clearly and nothing is written.
    let bare = Db::sqlite();
    steward_ok(&["init", "--database", &bare.url()], 0);
    let out = steward(&["apply", &repo_path("examples"), "--database", &bare.url()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("chart `Revenue by region` does not exist in Superset"),
        "{stderr}"
    );
    assert!(stderr.contains("steward init --demo"), "{stderr}");
}

#[test]
fn diff_exit_codes_and_unreachable_databases() {
    let db = superset_sqlite_with_content();
    let diff = steward_ok(
        &["diff", &repo_path("examples"), "--database", &db.url()],
        2,
    );
    assert!(diff.contains("Plan: 34 to create."), "{diff}");
    let missing = steward(&[
        "diff",
        &repo_path("examples"),
        "--database",
        "sqlite:///nonexistent/dir/x.db",
    ]);
    assert_eq!(
        missing.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let closed = steward(&[
        "diff",
        &repo_path("examples"),
        "--database",
        "postgres://steward:hunter2@127.0.0.1:1/superset",
    ]);
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(closed.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot reach the database postgres://steward:***@127.0.0.1:1/superset"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
    let invalid = steward(&[
        "diff",
        &repo_path("examples/invalid/unknown-field.yaml"),
        "--database",
        &db.url(),
    ]);
    assert_eq!(invalid.status.code(), Some(1));
}

#[test]
fn superset_runtime_writes_are_not_drift() {
    for db in with_content("runtime") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        // What Superset's scheduler writes when a report runs (SUPERSET.md): never drift.
        let executor = db.sql("SELECT id FROM ab_user WHERE username = 'svc-finance-reports'");
        db.sql(&format!(
            "UPDATE report_schedule SET last_state = 'Success', last_eval_dttm = CURRENT_TIMESTAMP, \
             last_value = 1.0, last_value_row_json = '[1]', changed_on = CURRENT_TIMESTAMP, \
             changed_by_fk = {}",
            executor.trim()
        ));
        let diff = steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
        assert!(diff.contains("No changes"), "{}: {diff}", db.label());
        // A real change made in Superset's UI is drift, and apply puts it back.
        db.sql("UPDATE report_schedule SET crontab = '0 23 * * *' WHERE name = 'Weekly finance overview'");
        let drift = steward_ok(&["diff", &repo_path("examples"), "--database", &url], 2);
        assert!(
            drift.contains("crontab: \"0 23 * * *\" → \"0 7 * * 1\""),
            "{drift}"
        );
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
    }
}

/// The run-as foreign keys of `report_schedule`: `name ON DELETE action` lines (SQLite: the
/// table's SQL names them, `PRAGMA foreign_key_list` gives the action).
fn run_as_foreign_keys(db: &Db) -> Vec<String> {
    match db {
        Db::Pg(_) => db
            .sql(
                "SELECT conname || ' ' || confdeltype::text FROM pg_constraint \
                 WHERE conrelid = 'report_schedule'::regclass AND contype = 'f' \
                 AND conname LIKE '%run%' ORDER BY conname",
            )
            .lines()
            .map(str::to_owned)
            .collect(),
        Db::Sqlite { .. } => {
            let table = db.sql("SELECT sql FROM sqlite_master WHERE name = 'report_schedule'");
            let actions = db.sql(
                "SELECT \"from\" || ' ' || on_delete FROM pragma_foreign_key_list('report_schedule') \
                 WHERE \"from\" LIKE 'run%' ORDER BY \"from\"",
            );
            let mut out: Vec<String> = ["run_alert_query_as_fk", "run_as_fk"]
                .iter()
                .filter(|c| table.contains(&format!("fk_report_schedule_{c}_ab_user")))
                .map(|c| format!("named {c}"))
                .collect();
            out.extend(actions.lines().map(str::to_owned));
            out
        }
    }
}

#[test]
fn run_as_foreign_keys_are_named_and_act_as_sip_209_s() {
    for db in Db::each_backend("run_as_fk") {
        let url = db.url();
        steward_ok(&["init", "--database", &url], 0);
        let upstream = match db {
            Db::Pg(_) => vec![
                "fk_report_schedule_run_alert_query_as_fk_ab_user n".to_owned(),
                "fk_report_schedule_run_as_fk_ab_user n".to_owned(),
            ],
            Db::Sqlite { .. } => vec![
                "named run_alert_query_as_fk".to_owned(),
                "named run_as_fk".to_owned(),
                "run_alert_query_as_fk SET NULL".to_owned(),
                "run_as_fk SET NULL".to_owned(),
            ],
        };
        assert_eq!(run_as_foreign_keys(&db), upstream, "{}", db.label());
        if let Db::Pg(_) = db {
            // As an earlier migration 2 left them: named by PostgreSQL, no ON DELETE action.
            db.sql(
                "ALTER TABLE report_schedule DROP CONSTRAINT fk_report_schedule_run_as_fk_ab_user",
            );
            db.sql("ALTER TABLE report_schedule DROP CONSTRAINT fk_report_schedule_run_alert_query_as_fk_ab_user");
            db.sql(
                "ALTER TABLE report_schedule ADD FOREIGN KEY (run_as_fk) REFERENCES ab_user (id)",
            );
            db.sql("ALTER TABLE report_schedule ADD FOREIGN KEY (run_alert_query_as_fk) REFERENCES ab_user (id)");
            db.sql("DELETE FROM steward_migrations WHERE version = 7");
            let ran = steward_ok(&["init", "--database", &url], 0);
            assert!(ran.contains("ran steward migrations [7]"), "{ran}");
            assert_eq!(run_as_foreign_keys(&db), upstream);
        }
    }
}

#[test]
fn a_run_as_user_deleted_in_superset_is_shown_and_put_back() {
    for db in with_content("run_as_deleted") {
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        // What Superset leaves when the user a schedule runs as is deleted (SIP-209): the id
        // set to NULL by the foreign key, the type kept.
        db.sql(
            "UPDATE report_schedule SET run_as_fk = NULL WHERE name = 'Weekly finance overview'",
        );
        assert_eq!(
            db.sql(
                "SELECT run_as_type FROM report_schedule WHERE name = 'Weekly finance overview'"
            )
            .trim(),
            "fixed_user"
        );
        let drift = steward_ok(&["diff", &repo_path("examples"), "--database", &url], 2);
        assert!(
            drift.contains("runAs: (a deleted user) → svc-finance-reports"),
            "{}: {drift}",
            db.label()
        );
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        steward_ok(&["diff", &repo_path("examples"), "--database", &url], 0);
    }
}

#[test]
fn migrations_are_versioned_and_run_once() {
    for db in Db::each_backend("migrate") {
        let url = db.url();
        let first = steward_ok(&["init", "--database", &url], 0);
        assert!(
            first.contains("ran steward migrations [1, 2, 3, 4, 5, 6, 7, 8]"),
            "{}: {first}",
            db.label()
        );
        let second = steward_ok(&["init", "--database", &url], 0);
        assert!(
            !second.contains("ran steward migrations"),
            "{}: {second}",
            db.label()
        );
        assert_eq!(
            db.sql("SELECT COUNT(*) FROM steward_migrations").trim(),
            "8"
        );
        db.sql("SELECT resource_namespace, resource_name, resource_uid, object_id, source FROM steward_ledger");
        for column in [
            "run_as_fk",
            "run_alert_query_as_fk",
            "run_as_type",
            "run_alert_query_as_type",
        ] {
            db.sql(&format!("SELECT {column} FROM report_schedule"));
        }
        // SIP-209's configuration lives in Superset's key_value table, not a table of its own.
        let tables = db.sql("SELECT COUNT(*) FROM steward_migrations WHERE version = 3");
        assert_eq!(tables.trim(), "1");
        let report_config = match db {
            Db::Sqlite { .. } => "SELECT COUNT(*) FROM sqlite_master WHERE name = 'report_config'",
            Db::Pg(_) => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'report_config'"
            }
        };
        assert_eq!(db.sql(report_config).trim(), "0", "{}", db.label());
    }
}

#[test]
fn report_policy_violations_block_diff_and_apply() {
    for db in with_content("policy") {
        let url = db.url();
        // A declared schedule e-mailing outside the allowed domains, to someone who is no user.
        let outside = edited_examples(|name, text| match name {
            "schedules.yaml" => text.replace(
                "cc: [ben.chen@sales.corp.example.com]",
                "cc: [ben@gmail.com]",
            ),
            _ => text,
        });
        let before = db.dump();
        let out = steward(&["apply", &path_str(outside.path()), "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("error[policy-violation]: ReportSchedule \"Daily pipeline by stage\" (Report): recipient: `ben@gmail.com` is not in an allowed e-mail domain"), "{stderr}");
        assert!(
            stderr.contains("is not the e-mail of an active user"),
            "{stderr}"
        );
        assert!(
            stderr.contains("= field: spec.recipients.email.cc[0]"),
            "{stderr}"
        );
        assert!(before == db.dump(), "{}: a refused apply wrote", db.label());
        // A configuration change that breaks a schedule Superset already holds, not declared
        // any more (kept with --no-prune): it is listed too.
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let stricter = edited_examples(|name, text| match name {
            "config.yaml" => text.replace("    - \"*.corp.example.com\"\n", ""),
            "schedules.yaml" => {
                let cut = text
                    .find("name: weekly-finance-overview")
                    .expect("example schedule");
                let start = text[..cut].rfind("---").unwrap_or(0);
                let end = text[cut..].find("\n---").map_or(text.len(), |e| cut + e);
                format!("{}{}", &text[..start], &text[end..])
            }
            _ => text,
        });
        let out = steward(&[
            "diff",
            &path_str(stricter.path()),
            "--database",
            &url,
            "--no-prune",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(
                "ReportSchedule \"Weekly finance overview\" (Report) (in Superset, not declared)"
            ),
            "{stderr}"
        );
        assert!(
            stderr.contains(
                "`dmitri.brandt@finance.corp.example.com` is not in an allowed e-mail domain"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn rls_clauses_are_parsed_in_their_databases_dialect() {
    // Backticks quote identifiers in MySQL and SQLite, not in PostgreSQL: the same clause is
    // refused while the warehouse is PostgreSQL (as Superset recorded it, password masked) and
    // fine once Superset says it is SQLite.
    let db = superset_sqlite_with_content();
    let url = db.url();
    assert!(
        db.sql("SELECT sqlalchemy_uri FROM dbs WHERE database_name = 'warehouse'")
            .starts_with("postgresql://steward:XXXXXXXXXX@"),
        "Superset masks the warehouse's password"
    );
    let backticks = edited_examples(|name, text| match name {
        "rls.yaml" => text.replace("clause: region = 'EU'", "clause: \"`region` = 'EU'\""),
        _ => text,
    });
    let dir = path_str(backticks.path());
    let out = steward(&["diff", &dir, "--database", &url]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error[invalid-rls-clause]: the clause is not one SQL expression"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(parsed as PostgreSQL, the dialect of database `warehouse`)"),
        "{stderr}"
    );
    assert!(!stderr.contains("XXXXXXXXXX"), "{stderr}");
    db.sql("UPDATE dbs SET sqlalchemy_uri = 'sqlite:////var/lib/superset/warehouse.db' WHERE database_name = 'warehouse'");
    steward_ok(&["diff", &dir, "--database", &url], 2);
}

#[test]
fn plan_files_apply_exactly_the_reviewed_plan() {
    for db in with_content("plan_file") {
        let url = db.url();
        steward_ok(
            &["apply", &repo_path("examples/org"), "--database", &url],
            0,
        );
        let changed = edited_examples(|name, text| match name {
            "users.yaml" => text.replace("lastName: Chen", "lastName: Chen-Wu"),
            _ => text,
        });
        let dir = path_str(changed.path());
        let plan_file = tempfile::NamedTempFile::new().unwrap();
        let plan = plan_file.path().to_str().unwrap().to_owned();

        // Reviewed, then someone changes Superset before the merge: refused, nothing written.
        steward_ok(&["diff", &dir, "--database", &url, "--out-plan", &plan], 2);
        let reviewed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
        assert_eq!(reviewed["schemaVersion"], 2);
        assert!(
            reviewed["fingerprint"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        db.sql("UPDATE ab_user SET first_name = 'Anna' WHERE username = 'ana.alves'");
        let before = db.dump();
        let out = steward(&["apply", &dir, "--database", &url, "--plan-file", &plan]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", db.label());
        assert!(
            stderr.contains("the database changed since the plan was made"),
            "{stderr}"
        );
        assert!(before == db.dump(), "{}: a refused apply wrote", db.label());

        // A plan whose manifests changed after the review: refused too.
        steward_ok(&["diff", &dir, "--database", &url, "--out-plan", &plan], 2);
        let more = edited_examples(|name, text| match name {
            "users.yaml" => text
                .replace("lastName: Chen", "lastName: Chen-Wu")
                .replace("lastName: Iyer", "lastName: Iyer-Rao"),
            _ => text,
        });
        let out = steward(&[
            "apply",
            &path_str(more.path()),
            "--database",
            &url,
            "--plan-file",
            &plan,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("the manifests changed since the plan was made"),
            "{stderr}"
        );

        // Otherwise the reviewed plan lands, exactly.
        let out = steward_ok(
            &["apply", &dir, "--database", &url, "--plan-file", &plan],
            0,
        );
        assert!(out.contains("~ SupersetUser \"ben.chen\""), "{out}");
        assert!(out.contains("~ SupersetUser \"ana.alves\""), "{out}");
        steward_ok(&["diff", &dir, "--database", &url], 0);
        assert_eq!(
            db.sql("SELECT first_name FROM ab_user WHERE username = 'ana.alves'")
                .trim(),
            "Ana"
        );
    }
}

#[test]
fn diff_against_a_snapshot_equals_diff_against_the_database() {
    for db in with_content("snapshot") {
        let url = db.url();
        // A webhook whose URL carries a token: the snapshot must not hold it.
        let with_hook = |text: String| {
            text.replacen(
                "      bcc: [svc-finance-reports@corp.example.com]\n",
                "      bcc: [svc-finance-reports@corp.example.com]\n    webhook:\n      url: https://hooks.example.com/services/T0/B0/SECRETTOKEN\n",
                1,
            )
        };
        let base = edited_examples(|name, text| match name {
            "schedules.yaml" => with_hook(text),
            _ => text,
        });
        steward_ok(&["apply", &path_str(base.path()), "--database", &url], 0);
        let snapshot = tempfile::NamedTempFile::new().unwrap();
        let file = snapshot.path().to_str().unwrap();
        let out = steward_ok(&["export", "--database", &url, "--snapshot", file], 0);
        assert!(out.contains("6 RLS filters, 5 schedules."), "{out}");
        let text = std::fs::read_to_string(file).unwrap();
        if let Some(password) = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .and_then(|(user, _)| user.split_once(':'))
            .map(|(_, password)| password)
        {
            assert!(
                !text.contains(&format!(":{password}@")),
                "{}: the password is in the snapshot",
                db.label()
            );
            assert!(text.contains(":***@"), "{}", db.label());
        }
        assert!(
            !text.contains("SECRETTOKEN"),
            "{}: a webhook token in the snapshot",
            db.label()
        );
        let changed = edited_examples(|name, text| match name {
            "users.yaml" => text.replace("lastName: Chen", "lastName: Chen-Wu"),
            "rls.yaml" => text.replace("clause: region = 'EU'", "clause: region IN ('EU', 'UK')"),
            "schedules.yaml" => with_hook(text),
            _ => text,
        });
        let dir = path_str(changed.path());
        let json = |against: &[&str]| -> serde_json::Value {
            let mut args = vec!["diff", dir.as_str(), "--output", "json"];
            args.extend_from_slice(against);
            let mut report: serde_json::Value =
                serde_json::from_str(&steward_ok(&args, 2)).unwrap();
            report.as_object_mut().unwrap().remove("against");
            report
        };
        let from_db = json(&["--database", &url]);
        let from_snapshot = json(&["--against-snapshot", file]);
        assert_eq!(from_db, from_snapshot, "{}", db.label());
        assert_eq!(from_db["summary"]["update"], 2);
        assert!(!from_db["impact"]["datasets"].as_array().unwrap().is_empty());
    }
}

#[test]
fn an_export_is_what_the_database_holds() {
    for db in with_content("export") {
        let url = db.url();
        steward_ok(
            &["apply", &repo_path("examples/org"), "--database", &url],
            0,
        );
        let dir = tempfile::tempdir().unwrap();
        let out = steward_ok(&["export", &path_str(dir.path()), "--database", &url], 0);
        // The PostgreSQL template also holds Superset's `admin`, which steward does not manage.
        let admin = dir.path().join("users/admin.yaml");
        let expected = if admin.exists() { 35 } else { 34 };
        assert!(
            out.contains(&format!("Exported {expected} object(s)")),
            "{out}"
        );
        let _ = std::fs::remove_file(admin);
        steward_ok(&["validate", &path_str(dir.path())], 0);
        // The database already holds exactly what the export says.
        steward_ok(&["diff", &path_str(dir.path()), "--database", &url], 0);
        let role = std::fs::read_to_string(dir.path().join("roles/finance-analyst.yaml")).unwrap();
        assert!(
            role.contains("  name: Finance Analyst\n  includes:\n  - Gamma\n"),
            "{role}"
        );
        // --kinds and --selector narrow it down.
        let some = tempfile::tempdir().unwrap();
        steward_ok(
            &[
                "export",
                &path_str(some.path()),
                "--database",
                &url,
                "--kinds",
                "roles,groups",
                "--selector",
                "Finance*",
            ],
            0,
        );
        let names: Vec<String> = crate::yaml_files(&some.path().join("roles"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["finance-analyst.yaml", "finance-controller.yaml"]);
        assert!(!some.path().join("users").exists());
        let out = steward(&[
            "export",
            &path_str(some.path()),
            "--database",
            &url,
            "--kinds",
            "people",
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("`people` is not a kind"));
    }
}
