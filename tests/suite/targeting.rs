//! `diff`/`apply --target SELECTOR` against real databases (a new SQLite file and a clone of a
//! real Superset 6.1 metadata DB on PostgreSQL): only the selected objects change, what they need
//! is created with them, nothing outside the selection is pruned, selectors that match nothing
//! fail, and plan files replay their targets.

use crate::reconcile::{edited_examples, init_demo, path_str};
use crate::repo_path;
use crate::services::{Db, steward, steward_ok};

/// `examples/org` applied, then edited: Finance Analyst gains the sales schema (which Finance
/// Controller, including it, gains too), the internal-audit group is removed, ben.chen renamed.
fn applied_then_edited(db: &Db) -> tempfile::TempDir {
    init_demo(db);
    steward_ok(
        &["apply", &repo_path("examples/org"), "--database", &db.url()],
        0,
    );
    edited_examples(|name, text| match name {
        "roles.yaml" => text.replacen(
            "schemas: [warehouse.finance]",
            "schemas: [warehouse.finance, warehouse.sales]",
            1,
        ),
        "users.yaml" => text.replace("lastName: Chen", "lastName: Chen-Wu"),
        "groups.yaml" => {
            let cut = text.find("name: internal-audit").unwrap();
            let start = text[..cut].rfind("---").unwrap();
            let end = text[cut..].find("---").map_or(text.len(), |e| cut + e);
            format!("{}{}", &text[..start], &text[end..])
        }
        _ => text,
    })
}

/// Asserts that `out` holds every one of `lines`.
fn assert_lines(db: &Db, out: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            out.contains(line),
            "{}: {line} missing in {out}",
            db.label()
        );
    }
}

#[test]
fn a_targeted_apply_changes_only_the_selection_and_prunes_nothing_else() {
    for db in Db::each_backend("target_role") {
        let edited = applied_then_edited(&db);
        let (dir, url) = (path_str(edited.path()), db.url());
        let full = steward_ok(&["diff", &dir, "--database", &url], 2);
        assert!(
            full.contains("Plan: 3 to update, 1 to delete."),
            "{}: {full}",
            db.label()
        );
        let target = "SupersetRole/Finance Analyst";
        let diff = steward_ok(&["diff", &dir, "--database", &url, "--target", target], 2);
        assert!(
            diff.starts_with(
                "Targeted plan (--target SupersetRole/Finance Analyst): 3 change(s) of the full plan left out"
            ),
            "{diff}"
        );
        assert!(diff.contains("Plan: 1 to update."), "{diff}");
        assert!(
            diff.contains("~ SupersetRole \"Finance Analyst\""),
            "{diff}"
        );
        assert!(!diff.contains("internal-audit"), "{diff}");

        let diff_as = |output: &str| {
            let args = [
                "diff",
                &dir,
                "--database",
                &url,
                "--target",
                target,
                "--output",
                output,
            ];
            steward_ok(&args, 2)
        };
        let json: serde_json::Value = serde_json::from_str(&diff_as("json")).unwrap();
        assert_eq!(json["targets"], serde_json::json!([target]));
        assert_eq!(json["omittedChanges"], 3);
        assert_eq!(json["changes"].as_array().unwrap().len(), 1);
        let markdown = diff_as("markdown");
        assert!(
            markdown.contains("**Targeted plan** (`SupersetRole/Finance Analyst`): 3 change(s)"),
            "{markdown}"
        );

        let applied = steward_ok(
            &[
                "apply",
                &dir,
                "--database",
                &url,
                "--target",
                "ssrole/Finance Analyst",
            ],
            0,
        );
        assert!(applied.contains("Applied 1 change(s)"), "{applied}");
        assert_eq!(
            db.sql("SELECT count(*) FROM ab_group WHERE name = 'internal-audit'")
                .trim(),
            "1",
            "{}: a group outside the target was pruned",
            db.label()
        );
        // What is left is exactly what the targeted apply left out.
        let again = steward_ok(&["diff", &dir, "--database", &url, "--target", target], 0);
        assert!(
            again.ends_with(
                "3 change(s) of the full plan left out; nothing outside the targets is pruned.\nNo changes for the targeted objects.\n"
            ),
            "{again}"
        );
        let rest = steward_ok(&["diff", &dir, "--database", &url], 2);
        assert!(rest.contains("Plan: 2 to update, 1 to delete."), "{rest}");
        assert_lines(
            &db,
            &rest,
            &[
                "~ SupersetRole \"Finance Controller\"",
                "~ SupersetUser \"ben.chen\"",
                "- SupersetGroup \"internal-audit\"",
            ],
        );
        assert!(!rest.contains("\"Finance Analyst\""), "{rest}");
    }
}

#[test]
fn targeting_a_new_group_creates_the_roles_and_users_it_needs() {
    for db in Db::each_backend("target_group") {
        init_demo(&db);
        let url = db.url();
        steward_ok(
            &["apply", &repo_path("examples/org"), "--database", &url],
            0,
        );
        let more = edited_examples(|_, text| text);
        let role = |name: &str| {
            format!(
                "apiVersion: steward.dev/v1alpha1\nkind: SupersetRole\nmetadata:\n  name: {}\nspec:\n  name: {name}\n  permissions:\n    - view: Dashboard\n      actions: [read]\n---\n",
                name.to_lowercase().replace(' ', "-")
            )
        };
        let new = format!(
            "{}{}{}apiVersion: steward.dev/v1alpha1\nkind: SupersetUser\nmetadata:\n  name: nora.new\nspec:\n  firstName: Nora\n  lastName: New\n  email: nora.new@corp.example.com\n  roles: [Helper Role]\n---\napiVersion: steward.dev/v1alpha1\nkind: SupersetGroup\nmetadata:\n  name: new-team\nspec:\n  roles: [Team Role, Finance Analyst]\n  users: [nora.new, ana.alves]\n",
            role("Team Role"),
            role("Helper Role"),
            role("Spare Role"),
        );
        std::fs::write(more.path().join("new.yaml"), new).unwrap();
        let dir = path_str(more.path());
        let out = steward_ok(
            &[
                "apply",
                &dir,
                "--database",
                &url,
                "--target",
                "groups/new-*",
            ],
            0,
        );
        assert!(out.contains("Plan: 4 to create."), "{}: {out}", db.label());
        assert_lines(
            &db,
            &out,
            &[
                "+ SupersetUser \"nora.new\"",
                "+ SupersetRole \"Team Role\"",
                "+ SupersetRole \"Helper Role\"",
                "+ SupersetGroup \"new-team\"",
            ],
        );
        let rest = steward_ok(&["diff", &dir, "--database", &url], 2);
        assert!(rest.contains("Plan: 1 to create."), "{rest}");
        assert!(rest.contains("+ SupersetRole \"Spare Role\""), "{rest}");
        assert_eq!(
            db.sql(
                "SELECT count(*) FROM ab_user_group ug JOIN ab_group g ON g.id = ug.group_id WHERE g.name = 'new-team'"
            )
            .trim(),
            "2"
        );
    }
}

#[test]
fn selectors_that_match_nothing_fail_and_write_nothing() {
    for db in Db::each_backend("target_none") {
        let edited = applied_then_edited(&db);
        let (dir, url) = (path_str(edited.path()), db.url());
        let before = db.dump();
        for (selector, hint) in [
            (
                "SupersetRole/Finance Analyts",
                "did you mean `SupersetRole/Finance Analyst`?",
            ),
            (
                "SupersetRole/finance analyst",
                "did you mean `SupersetRole/Finance Analyst`?",
            ),
            ("rls/nothing-*", "names are Superset names"),
        ] {
            for command in ["diff", "apply"] {
                let out = steward(&[
                    command,
                    &dir,
                    "--database",
                    &url,
                    "--target",
                    "SupersetUser/ben.chen",
                    "--target",
                    selector,
                ]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{command} {selector}: {stderr}");
                assert!(
                    stderr.contains(&format!("--target `{selector}` matches no object")),
                    "{stderr}"
                );
                assert!(stderr.contains(hint), "{stderr}");
            }
        }
        let out = steward(&[
            "diff",
            &dir,
            "--database",
            &url,
            "--target",
            "SupersetRol/x",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("did you mean `SupersetRole`?"), "{stderr}");
        assert!(
            before == db.dump(),
            "{}: a failed targeted run wrote",
            db.label()
        );
    }
}

#[test]
fn plan_files_record_and_replay_their_targets() {
    for db in Db::each_backend("target_plan") {
        let edited = applied_then_edited(&db);
        let (dir, url) = (path_str(edited.path()), db.url());
        let file = tempfile::NamedTempFile::new().unwrap();
        let plan = file.path().to_str().unwrap().to_owned();
        let target = "SupersetGroup/internal-audit";
        steward_ok(
            &[
                "diff",
                &dir,
                "--database",
                &url,
                "--target",
                target,
                "--out-plan",
                &plan,
            ],
            2,
        );
        let reviewed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
        assert_eq!(reviewed["targets"], serde_json::json!([target]));

        // Other targets than the reviewed ones: refused, nothing written.
        let before = db.dump();
        let out = steward(&[
            "apply",
            &dir,
            "--database",
            &url,
            "--plan-file",
            &plan,
            "--target",
            "SupersetUser/ben.chen",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("the plan file was made with --target `SupersetGroup/internal-audit`"),
            "{stderr}"
        );
        assert!(before == db.dump(), "{}: a refused apply wrote", db.label());

        // Without --target, the plan file's targets apply: only the reviewed deletion lands.
        let out = steward_ok(
            &["apply", &dir, "--database", &url, "--plan-file", &plan],
            0,
        );
        assert!(out.contains("- SupersetGroup \"internal-audit\""), "{out}");
        assert!(out.contains("Plan: 1 to delete."), "{out}");
        let rest = steward_ok(&["diff", &dir, "--database", &url], 2);
        assert!(
            rest.contains("Plan: 3 to update."),
            "{}: {rest}",
            db.label()
        );
    }
}

#[test]
fn the_configuration_and_schedules_bring_the_users_and_groups_they_need() {
    for db in Db::each_backend("target_sched") {
        init_demo(&db);
        let (examples, url) = (repo_path("examples"), db.url());
        let config = steward_ok(
            &[
                "apply",
                &examples,
                "--database",
                &url,
                "--target",
                "rconfig",
            ],
            0,
        );
        assert_lines(
            &db,
            &config,
            &[
                "+ ReportConfiguration",
                "+ SupersetGroup \"report-service-accounts\"",
                "+ SupersetUser \"svc-finance-reports\"",
                "+ SupersetRole \"report-runner-finance\"",
            ],
        );
        assert!(!config.contains("ReportSchedule"), "{config}");
        // The configuration limits recipients to users: the schedules bring the users they
        // mail (ben.chen is only a recipient), and the policy holds after the targeted apply.
        let schedules = steward_ok(
            &[
                "apply",
                &examples,
                "--database",
                &url,
                "--target",
                "rsched/*",
            ],
            0,
        );
        assert_lines(
            &db,
            &schedules,
            &[
                "+ ReportSchedule \"Daily pipeline by stage\" (Report)",
                "+ SupersetUser \"ben.chen\"",
            ],
        );
        assert!(!schedules.contains("SupersetGroup"), "{schedules}");
        let rest = steward_ok(
            &["diff", &examples, "--database", &url, "--impact", "off"],
            2,
        );
        assert!(!rest.contains("ReportSchedule"), "{rest}");
        assert!(!rest.contains("ReportConfiguration"), "{rest}");
        assert!(rest.contains("+ SupersetGroup \"finance-team\""), "{rest}");
    }
}
