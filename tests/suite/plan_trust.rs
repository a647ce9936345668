//! Plans you can trust: a schedule that already breaks the Alerts & Reports configuration
//! outside steward (made or edited in Superset's UI) is a warning, not a block, unless the apply
//! introduces the breach (a declared schedule, a configuration change, a user it deactivates);
//! a refused plan still shows its changes, says it is refused, and puts the reasons first, in
//! text, Markdown and JSON.

use crate::diff_outputs::{edit_file, examples_committed};
use crate::policy_change::remove_every_report;
use crate::reconcile::{edited_examples, init_demo, path_str};
use crate::repo_path;
use crate::services::{Db, steward, steward_ok};

/// `text` without the YAML document that holds `marker`.
fn without_document(text: &str, marker: &str) -> String {
    let cut = text.find(marker).expect("marker in the example");
    let start = text[..cut].rfind("---").unwrap_or(0);
    let end = text[cut..].find("\n---").map_or(text.len(), |e| cut + e);
    format!("{}{}", &text[..start], &text[end..])
}

/// The examples applied, then "Weekly finance overview" handed back to Superset (its ledger row
/// gone) and edited there to fire every ten minutes: it now breaks `reportMinimumIntervalSeconds`.
fn with_unmanaged_breach(db: &Db) {
    init_demo(db);
    steward_ok(
        &["apply", &repo_path("examples"), "--database", &db.url()],
        0,
    );
    db.sql("DELETE FROM steward_ledger WHERE object_key = 'Report:Weekly finance overview'");
    db.sql(
        "UPDATE report_schedule SET crontab = '*/10 * * * *' WHERE name = 'Weekly finance overview'",
    );
}

/// The examples without the unmanaged schedule, with `edit` on top.
fn examples_without_it(edit: impl Fn(&str, String) -> String) -> tempfile::TempDir {
    edited_examples(move |name, text| {
        let text = match name {
            "schedules.yaml" => without_document(&text, "name: weekly-finance-overview"),
            _ => text,
        };
        edit(name, text)
    })
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = steward(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_schedule_broken_outside_steward_warns_and_does_not_block_an_unrelated_apply() {
    for db in Db::each_backend("trust_warn") {
        with_unmanaged_breach(&db);
        let url = db.url();
        let renamed = examples_without_it(|name, text| match name {
            "users.yaml" => text.replacen("lastName: Reports", "lastName: Reporting", 1),
            _ => text,
        });
        let dir = path_str(renamed.path());
        let (code, stdout, stderr) = run(&["diff", &dir, "--database", &url]);
        assert_eq!(code, 2, "{}: {stdout}{stderr}", db.label());
        assert!(
            stderr.contains("warning[policy-violation]: ReportSchedule \"Weekly finance overview\" (Report): frequency: `*/10 * * * *` in Europe/Berlin fires 10 min apart"),
            "{}: {stderr}",
            db.label()
        );
        assert!(
            stderr.contains("the schedule broke the configuration before this apply, which neither declares nor changes it, so it does not block; to end the breach: make the crontab fire at most once every 1 h, or lower reportMinimumIntervalSeconds"),
            "{stderr}"
        );
        assert!(!stderr.contains("blocked by"), "{stderr}");
        assert!(stdout.contains("Plan: 1 to update."), "{stdout}");
        let (code, stdout, stderr) = run(&["apply", &dir, "--database", &url]);
        assert_eq!(code, 0, "{}: {stdout}{stderr}", db.label());
        assert!(stderr.contains("warning[policy-violation]"), "{stderr}");
        assert_eq!(
            db.sql("SELECT last_name FROM ab_user WHERE username = 'svc-finance-reports'")
                .trim(),
            "Reporting"
        );
        // The JSON and Markdown reports: not blocked, the breach among the warnings.
        let (code, json, _) = run(&["diff", &dir, "--database", &url, "--output", "json"]);
        assert_eq!(code, 0, "{json}");
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["blocked"], false);
        assert_eq!(json["policy"], serde_json::json!([]));
        assert_eq!(json["warnings"][0]["code"], "policy-violation", "{json:#}");
    }
}

#[test]
fn breaches_the_apply_introduces_still_block() {
    for db in Db::each_backend("trust_block") {
        with_unmanaged_breach(&db);
        let url = db.url();
        // A configuration change: the unmanaged schedule breaks a new rule (the recipient
        // domains lose `*.corp.example.com`).
        let stricter = examples_without_it(|name, text| match name {
            "config.yaml" => text.replace("    - \"*.corp.example.com\"\n", ""),
            _ => text,
        });
        let (code, _, stderr) = run(&["diff", &path_str(stricter.path()), "--database", &url]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("blocked by the Alerts & Reports configuration"),
            "{stderr}"
        );
        assert!(
            stderr.contains("error[policy-violation]: ReportSchedule \"Weekly finance overview\" (Report): recipient: `ana.alves@finance.corp.example.com` is not in an allowed e-mail domain"),
            "{stderr}"
        );
        // A user the apply deactivates is a recipient of the unmanaged schedule.
        let deactivated = examples_without_it(|name, text| match name {
            "users.yaml" => text.replacen(
                "      email: ana.alves@finance.corp.example.com\n",
                "      email: ana.alves@finance.corp.example.com\n      active: false\n",
                1,
            ),
            _ => text,
        });
        let (code, _, stderr) = run(&["diff", &path_str(deactivated.path()), "--database", &url]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("error[policy-violation]: ReportSchedule \"Weekly finance overview\" (Report): recipient: `ana.alves@finance.corp.example.com` is not the e-mail of an active user"),
            "{stderr}"
        );
        // Declaring the schedule as it is: a declared schedule's breach blocks.
        let declared = edited_examples(|name, text| match name {
            "schedules.yaml" => text.replace("crontab: \"0 7 * * 1\"", "crontab: \"*/10 * * * *\""),
            _ => text,
        });
        let (code, _, stderr) = run(&[
            "diff",
            &path_str(declared.path()),
            "--database",
            &url,
            "--adopt",
        ]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("error[policy-violation]: ReportSchedule \"Weekly finance overview\" (Report): frequency"),
            "{stderr}"
        );
    }
}

#[test]
fn a_refused_plan_shows_its_changes_and_says_it_is_refused() {
    for db in Db::each_backend("trust_refused") {
        init_demo(&db);
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        // A policy breach next to an unrelated change: the change is shown, under a refusal.
        let breach = edited_examples(|name, text| match name {
            "schedules.yaml" => text.replace("crontab: \"0 7 * * 1\"", "crontab: \"*/10 * * * *\""),
            "users.yaml" => text.replacen("lastName: Reports", "lastName: Reporting", 1),
            _ => text,
        });
        let dir = path_str(breach.path());
        let (code, stdout, stderr) = run(&["diff", &dir, "--database", &url]);
        assert_eq!(code, 1, "{}: {stdout}{stderr}", db.label());
        assert!(
            !stdout.contains("No changes") && !stderr.contains("No changes"),
            "{stdout}{stderr}"
        );
        let reasons = stderr
            .find("blocked by the Alerts & Reports configuration")
            .expect(&stderr);
        let plan = stderr
            .find("Refused plan, not applied: 2 to update.")
            .expect(&stderr);
        assert!(reasons < plan, "reasons first: {stderr}");
        assert!(
            stderr.contains("~ SupersetUser \"svc-finance-reports\""),
            "{stderr}"
        );
        assert!(
            stderr.contains("~ ReportSchedule \"Weekly finance overview\" (Report)"),
            "{stderr}"
        );
        assert!(
            stderr
                .trim_end()
                .ends_with("refused: 1 problem(s) above; nothing was written"),
            "{stderr}"
        );
        let (_, markdown, _) = run(&["diff", &dir, "--database", &url, "--output", "markdown"]);
        assert!(
            markdown.starts_with("### steward diff: refused, 1 problem; would 2 to update\n"),
            "{markdown}"
        );
        let breaches = markdown
            .find("#### Blocked by the Alerts & Reports configuration")
            .unwrap();
        let table = markdown.find("| Kind | Create |").expect(&markdown);
        assert!(breaches < table, "{markdown}");
        let (code, json, _) = run(&["diff", &dir, "--database", &url, "--output", "json"]);
        assert_eq!(code, 1);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["blocked"], true);
        assert_eq!(json["planned"], true);
        assert_eq!(json["summary"]["update"], 2, "{json:#}");
        assert_eq!(json["changes"].as_array().unwrap().len(), 2);

        // A guardrail refusal (more deletions than allowed): the deletions are shown.
        let fewer = examples_without_it(|_, text| text);
        let (code, _, stderr) = run(&[
            "diff",
            &path_str(fewer.path()),
            "--database",
            &url,
            "--max-deletions",
            "0",
        ]);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("more than --max-deletions 0"), "{stderr}");
        assert!(
            stderr.contains("Refused plan, not applied: 1 to delete."),
            "{stderr}"
        );
        assert!(
            stderr.contains("- ReportSchedule \"Weekly finance overview\" (Report)"),
            "{stderr}"
        );
        let (_, json, _) = run(&[
            "diff",
            &path_str(fewer.path()),
            "--database",
            &url,
            "--max-deletions",
            "0",
            "--output",
            "json",
        ]);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["summary"]["delete"], 1, "{json:#}");
        let (_, markdown, _) = run(&[
            "diff",
            &path_str(fewer.path()),
            "--database",
            &url,
            "--max-deletions",
            "0",
            "--output",
            "markdown",
        ]);
        assert!(
            markdown.starts_with("### steward diff: refused, 1 problem; would 1 to delete\n"),
            "{markdown}"
        );

        // A conflict alone: nothing else would change, and the title says it is refused.
        let other = tempfile::tempdir().unwrap();
        std::fs::write(
            other.path().join("admin.yaml"),
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: svc-finance-reports\nspec:\n  firstName: Finance\n  lastName: Reports\n  email: svc-finance-reports@corp.example.com\n  roles: [report-runner-finance]\n",
        )
        .unwrap();
        let (code, _, stderr) = run(&[
            "diff",
            &path_str(other.path()),
            "--database",
            &url,
            "--manager",
            "team-b",
            "--no-prune",
        ]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("Refused: besides what is refused above, the plan changes nothing."),
            "{stderr}"
        );
        assert!(!stderr.contains("No changes"), "{stderr}");
    }
}

/// Every `*.yaml` of `tests/corpus/first-use/<class>/` fails `steward <command> FILE <extra>`
/// with exit 1, and its stderr holds each line of the sibling `.expect` file (compared without
/// leading spaces), once.
pub fn first_use_class(class: &str, command: &str, extra: &[&str]) {
    let dir = crate::repo().join("tests/corpus/first-use").join(class);
    let files = crate::yaml_files(&dir);
    assert!(files.len() >= 3, "{class}: several variants, not one");
    for file in files {
        let expect = std::fs::read_to_string(file.with_extension("expect"))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut args = vec![command, file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 1, "{}: {stderr}", file.display());
        let lines: Vec<&str> = stderr.lines().map(str::trim_start).collect();
        for wanted in expect.lines().filter(|l| !l.trim().is_empty()) {
            let found = lines.iter().filter(|l| **l == wanted.trim_start()).count();
            assert_eq!(found, 1, "{}: `{wanted}` in:\n{stderr}", file.display());
        }
    }
}

#[test]
fn validate_applies_every_rule_the_declared_set_decides() {
    first_use_class("run-as-declared-unusable", "validate", &[]);
}

const SUPERSET_CONFIG: &str = "apiVersion: steward.dev/v1alpha1\nkind: ReportConfiguration\nmetadata:\n  name: policy\nspec:\n  allowedEmailDomains: [x.io]\n";

const SUPERSET_USER: &str = "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: plan-trust.user\nspec:\n  firstName: Plan\n  lastName: Trust\n  email: plan-trust.user@x.io\n";

#[test]
fn a_schedule_made_in_supersets_ui_does_not_block_an_unrelated_apply() {
    use crate::services::env;
    use crate::superset_api::{Content, Superset, clean_start, exclusive};
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let ss = Superset::connect();
    remove_every_report(&ss);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), SUPERSET_CONFIG).unwrap();
    let dir_str = path_str(dir.path());
    steward_ok(&["apply", &dir_str, "--database", &url], 0);
    // Someone adds a report in Superset's UI that e-mails outside the allowed domains.
    let content = Content::read(&ss);
    let made = ss.create(
        "/api/v1/report/",
        &serde_json::json!({
            "type": "Report",
            "name": "plan-trust: made in the UI",
            "crontab": "0 9 * * 1",
            "timezone": "UTC",
            "chart": content.chart_ids["Revenue by region"],
            "recipients": [{"type": "Email", "recipient_config_json": {"target": "partner@gmail.com"}}],
            "report_format": "PNG",
            "active": true,
            "creation_method": "alerts_reports",
        }),
    );
    // An unrelated change applies, with the breach as a warning.
    std::fs::write(dir.path().join("user.yaml"), SUPERSET_USER).unwrap();
    let (code, stdout, stderr) = run(&["diff", &dir_str, "--database", &url]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("warning[policy-violation]: ReportSchedule \"plan-trust: made in the UI\" (Report): recipient: `partner@gmail.com` is not in an allowed e-mail domain"),
        "{stderr}"
    );
    let (code, stdout, stderr) = run(&["apply", &dir_str, "--database", &url]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("+ SupersetUser \"plan-trust.user\""),
        "{stdout}"
    );
    assert!(
        ss.users()
            .iter()
            .any(|u| u["username"] == "plan-trust.user")
    );
    // A configuration change that breaks it in a new way still blocks, and lists it.
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("{SUPERSET_CONFIG}  limitRecipientsToUsers: true\n"),
    )
    .unwrap();
    let (code, _, stderr) = run(&["apply", &dir_str, "--database", &url]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error[policy-violation]: ReportSchedule \"plan-trust: made in the UI\" (Report): recipient: `partner@gmail.com` is not the e-mail of an active user"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Refused plan, not applied: 1 to update."),
        "{stderr}"
    );

    ss.delete(&format!("/api/v1/report/{made}"));
    clean_start(&url);
}

#[test]
fn what_the_database_would_refuse_is_caught_before_it() {
    first_use_class("database-would-refuse", "validate", &[]);
    for db in Db::each_backend("trust_refuse") {
        init_demo(&db);
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let before = db.dump();
        // A NUL: diff and apply stop at the manifest, before the database sees it.
        let nul = examples_without_it(|name, text| match name {
            "users.yaml" => text.replacen("lastName: Reports", "lastName: \"Rep\\0orts\"", 1),
            _ => text,
        });
        for command in ["diff", "apply"] {
            let (code, _, stderr) = run(&[command, &path_str(nul.path()), "--database", &url]);
            assert_eq!(code, 1, "{}: {command}: {stderr}", db.label());
            assert!(
                // In a name, a NUL is a control character (reported once, by that check).
                stderr.contains("error[control-character]: `Rep\\u{0}orts` holds the control"),
                "{stderr}"
            );
            assert!(stderr.contains("users.yaml:9:3"), "{stderr}");
            assert!(!stderr.contains("at line"), "{stderr}");
        }
        // A new user with the e-mail of a user steward does not manage.
        db.sql("DELETE FROM steward_ledger WHERE object_key = 'greta.dubois'");
        let taken = edited_examples(|name, text| match name {
            "users.yaml" => text.replace("      name: greta.dubois\n", "      name: greta.d\n"),
            _ => text.replace("greta.dubois]", "greta.d]"),
        });
        for command in ["diff", "apply"] {
            let (code, _, stderr) = run(&[command, &path_str(taken.path()), "--database", &url]);
            assert_eq!(code, 1, "{}: {command}: {stderr}", db.label());
            assert!(
                stderr.contains("error[duplicate]: the e-mail `greta.dubois@sales.corp.example.com` already belongs to user `greta.dubois` in Superset, and Superset's e-mails are unique"),
                "{stderr}"
            );
            assert!(stderr.contains("= field: spec.email"), "{stderr}");
            assert!(stderr.contains("Refused plan, not applied:"), "{stderr}");
            assert!(!stderr.contains("refused it"), "{stderr}");
        }
        // The holder is managed and deleted by the same apply: steward writes the new user
        // first, so the e-mail is still taken then.
        let moved = edited_examples(|name, text| match name {
            "users.yaml" => text.replace("      name: ben.chen\n", "      name: ben.c\n"),
            _ => text.replace("[ben.chen,", "[ben.c,"),
        });
        let (code, _, stderr) = run(&["apply", &path_str(moved.path()), "--database", &url]);
        assert_eq!(code, 1, "{}: {stderr}", db.label());
        assert!(
            stderr.contains("error[duplicate]: the e-mail `ben.chen@sales.corp.example.com` still belongs to user `ben.chen` when steward writes `ben.c`"),
            "{stderr}"
        );
        let mut after = db.dump();
        let mut expected = before.clone();
        after.retain(|r| !r.starts_with("steward_ledger"));
        expected.retain(|r| !r.starts_with("steward_ledger"));
        assert!(expected == after, "{}: a refused apply wrote", db.label());
    }
}

/// The `error[…]` headlines of `stderr`, and the count its `invalid:` line gives.
fn errors_and_count(stderr: &str) -> (Vec<&str>, usize) {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error[")).collect();
    let count = stderr
        .lines()
        .find_map(|l| l.strip_prefix("invalid: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr}"));
    (errors, count)
}

#[test]
fn a_file_that_fails_to_load_is_the_only_error_not_its_references() {
    for db in Db::each_backend("trust_root") {
        init_demo(&db);
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let broken = [
            // YAML that does not parse: every user in the file is gone.
            (
                "users.yaml",
                "  email: svc-finance-reports@corp.example.com",
                "  email: [svc-finance-reports@corp.example.com",
                "error[yaml-syntax]",
            ),
            // One document fails its schema: that user is gone.
            (
                "users.yaml",
                "      lastName: Alves\n",
                "",
                "error[missing-field]: missing required field `lastName`",
            ),
            // The group runAsAllowed names is in a file that does not parse.
            (
                "groups.yaml",
                "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup",
                "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\n  bad: [",
                "error[yaml-syntax]",
            ),
        ];
        for (file, from, to, root) in broken {
            let dir = edited_examples(|name, text| match name == file {
                true => text.replacen(from, to, 1),
                false => text,
            });
            let (code, _, stderr) = run(&["diff", &path_str(dir.path()), "--database", &url]);
            assert_eq!(code, 1, "{}: {stderr}", db.label());
            let (errors, count) = errors_and_count(&stderr);
            assert_eq!(errors.len(), count, "{stderr}");
            assert!(
                errors.iter().all(|e| e.starts_with(root)),
                "{}: {stderr}",
                db.label()
            );
            assert!(
                !stderr.contains("neither declared nor in Superset"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn a_reference_to_an_object_about_to_be_pruned_names_the_danger() {
    for db in Db::each_backend("trust_prune") {
        init_demo(&db);
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        // A second team, running without its own --manager, refers to the first team's users
        // and roles.
        let team_b = tempfile::tempdir().unwrap();
        std::fs::write(
            team_b.path().join("group.yaml"),
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata:\n  name: team-b\nspec:\n  roles: [report-runner-sales]\n  users: [ana.alves, ana.alves, nobody]\n",
        )
        .unwrap();
        let dir = path_str(team_b.path());
        let (code, _, stderr) = run(&["diff", &dir, "--database", &url]);
        assert_eq!(code, 1, "{}: {stderr}", db.label());
        assert!(
            stderr.contains("error[unresolved-reference]: user `ana.alves` is not declared in these manifests, so this apply would delete it from Superset, where steward manages it (manager `cli`)"),
            "{stderr}"
        );
        assert!(
            stderr.contains("error[unresolved-reference]: role `report-runner-sales` is not declared in these manifests, so this apply would delete it"),
            "{stderr}"
        );
        assert!(
            stderr.contains("run each set with its own --manager"),
            "{stderr}"
        );
        assert!(
            stderr.contains(
                "error[unresolved-reference]: user `nobody` is neither declared nor in Superset"
            ),
            "{stderr}"
        );
        let (errors, count) = errors_and_count(&stderr);
        assert_eq!(errors.len(), count, "{stderr}");
        // With its own manager, the first team's objects are Superset's to refer to.
        std::fs::write(
            team_b.path().join("group.yaml"),
            "apiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata:\n  name: team-b\nspec:\n  roles: [report-runner-sales]\n  users: [ana.alves]\n",
        )
        .unwrap();
        let (code, stdout, stderr) =
            run(&["diff", &dir, "--database", &url, "--manager", "team-b"]);
        assert_eq!(code, 2, "{}: {stdout}{stderr}", db.label());
        assert!(stdout.contains("+ SupersetGroup \"team-b\""), "{stdout}");
    }
}

/// `(kind name, field, before, after)` of every value change in a JSON diff.
fn value_changes(json: &str) -> std::collections::BTreeSet<(String, String, String, String)> {
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for change in json["changes"].as_array().unwrap() {
        for field in change["fields"].as_array().unwrap() {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
            out.insert((
                format!(
                    "{} {}",
                    change["kind"].as_str().unwrap(),
                    change["name"].as_str().unwrap()
                ),
                text(&field["field"]),
                text(&field["before"]),
                text(&field["after"]),
            ));
        }
    }
    out
}

#[test]
fn the_database_diff_and_the_git_diff_speak_the_manifests_vocabulary() {
    let (repo_dir, org) = examples_committed();
    let edit = |file: &str, from: &str, to: &str| edit_file(&org.join(file), from, to);
    edit(
        "config.yaml",
        "alertMinimumIntervalSeconds: 300",
        "alertMinimumIntervalSeconds: 900",
    );
    edit(
        "config.yaml",
        "limitRecipientsToUsers: true",
        "limitRecipientsToUsers: false",
    );
    edit("users.yaml", "lastName: Reports", "lastName: Reporting");
    edit(
        "schedules.yaml",
        "logRetentionDays: 30",
        "logRetentionDays: 60",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["diff", "org", "--against-ref", "main", "--output", "json"])
        .current_dir(repo_dir.path())
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap();
    let against_ref = value_changes(&String::from_utf8_lossy(&out.stdout));
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["diff", "org", "--against-ref", "main"])
        .current_dir(repo_dir.path())
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("alertMinimumIntervalSeconds: 300 → 900"),
        "{text}"
    );
    assert!(
        text.contains("lastName: \"Reports\" → \"Reporting\""),
        "{text}"
    );
    let expected: std::collections::BTreeSet<(String, String, String, String)> = [
        (
            "ReportConfiguration report_config",
            "alertMinimumIntervalSeconds",
            "300",
            "900",
        ),
        (
            "ReportConfiguration report_config",
            "limitRecipientsToUsers",
            "true",
            "false",
        ),
        (
            "SupersetUser svc-finance-reports",
            "lastName",
            "Reports",
            "Reporting",
        ),
        (
            "ReportSchedule Report:Weekly finance overview",
            "logRetentionDays",
            "30",
            "60",
        ),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect();
    assert_eq!(against_ref, expected);
    for db in Db::each_backend("trust_words") {
        init_demo(&db);
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let (code, json, stderr) = run(&[
            "diff",
            &path_str(&org),
            "--database",
            &url,
            "--output",
            "json",
        ]);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(value_changes(&json), expected, "{}", db.label());
        let (_, text, _) = run(&["diff", &path_str(&org), "--database", &url]);
        assert!(
            text.contains("alertMinimumIntervalSeconds: 300 → 900"),
            "{text}"
        );
        assert!(
            text.contains("limitRecipientsToUsers: true → false"),
            "{text}"
        );
        assert!(
            text.contains("lastName: \"Reports\" → \"Reporting\""),
            "{text}"
        );
    }
}

const SLACK: &str = "apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: owner\nspec:\n  firstName: O\n  lastName: W\n  email: owner@x.io\n---\napiVersion: steward.dev/v1alpha1\nkind: ReportSchedule\nmetadata:\n  name: to-slack\nspec:\n  name: To Slack\n  type: Report\n  crontab: \"0 7 * * 1\"\n  dashboard:\n    slug: finance-overview\n  recipients:\n    slack:\n      channels: [CHANNELS]\n  owners: [owner]\n";

#[test]
fn slack_channels_superset_splits_are_not_drift_after_apply() {
    for channels in ["\"data team\", \"ops;alerts\"", "general, \"a,b\", \" c \""] {
        for db in Db::each_backend("trust_slack") {
            init_demo(&db);
            let url = db.url();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("s.yaml"),
                SLACK.replace("CHANNELS", channels),
            )
            .unwrap();
            let dir = path_str(dir.path());
            steward_ok(&["apply", &dir, "--database", &url], 0);
            let (code, stdout, stderr) = run(&["diff", &dir, "--database", &url]);
            assert_eq!(code, 0, "{}: {channels}: {stdout}{stderr}", db.label());
            assert!(stdout.contains("No changes"), "{stdout}");
            let (code, _, stderr) = run(&["validate", &dir]);
            assert_eq!(code, 0, "{stderr}");
            assert!(
                stderr.contains("warning[bad-value]: Superset splits Slack channel lists at commas, semicolons and spaces"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn a_misspelt_permission_name_gets_a_did_you_mean() {
    for db in Db::each_backend("trust_perm") {
        init_demo(&db);
        first_use_class("misspelt-permission", "diff", &["--database", &db.url()]);
    }
}

#[test]
fn deletions_count_the_link_rows_they_remove() {
    for db in Db::each_backend("trust_links") {
        init_demo(&db);
        let url = db.url();
        steward_ok(&["apply", &repo_path("examples"), "--database", &url], 0);
        let count = |sql: &str| -> usize { db.sql(sql).trim().parse().unwrap() };
        let expected = count(
            "SELECT (SELECT count(*) FROM ab_user_group WHERE group_id = (SELECT id FROM ab_group WHERE name = 'sales-team')) \
             + (SELECT count(*) FROM ab_group_role WHERE group_id = (SELECT id FROM ab_group WHERE name = 'sales-team')) \
             + (SELECT count(*) FROM rls_filter_roles WHERE rls_filter_id = (SELECT id FROM row_level_security_filters WHERE name = 'Hide confidential journal entries')) \
             + (SELECT count(*) FROM rls_filter_tables WHERE rls_filter_id = (SELECT id FROM row_level_security_filters WHERE name = 'Hide confidential journal entries')) \
             + (SELECT count(*) FROM report_recipient WHERE report_schedule_id = (SELECT id FROM report_schedule WHERE name = 'Weekly finance overview')) \
             + (SELECT count(*) FROM report_schedule_user WHERE report_schedule_id = (SELECT id FROM report_schedule WHERE name = 'Weekly finance overview'))",
        );
        assert!(expected >= 9, "{expected}");
        let fewer = examples_without_it(|name, text| match name {
            "groups.yaml" => without_document(&text, "name: sales-team"),
            "rls.yaml" => without_document(&text, "name: hide-confidential"),
            _ => text,
        });
        let out = steward_ok(&["apply", &path_str(fewer.path()), "--database", &url], 0);
        assert!(
            out.contains(&format!(
                "Applied 3 change(s) ({expected} permission/membership/recipient rows)"
            )),
            "{}: {out}",
            db.label()
        );
    }
}

#[test]
fn without_a_database_references_into_a_failed_document_point_back_at_it() {
    first_use_class("reference-into-failed-document", "validate", &[]);
}
