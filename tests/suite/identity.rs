//! Typed identity and reasons as codes, end to end: `diff --output json` names each change's
//! Superset object (`{kind, key}`) and the declared resource behind it (`{kind, namespace,
//! name}`), refusals carry a reason code with its data, and the CLI still words them with its
//! flags. On SQLite and PostgreSQL metadata databases that Superset 6.1 made.

use serde_json::{Value, json};

use crate::reconcile::{edited_examples, path_str};
use crate::repo_path;
use crate::services::{Db, steward, steward_ok};

fn diff_json(args: &[&str]) -> Value {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let out = steward(&all);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn change<'a>(report: &'a Value, kind: &str, key: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["object"] == json!({"kind": kind, "key": key}))
        .unwrap_or_else(|| panic!("no change of {kind} {key}: {report:#}"))
}

#[test]
fn changes_name_their_object_and_declaring_resource() {
    for db in Db::superset_content("identity_changes") {
        let url = db.url();
        let report = diff_json(&[&repo_path("examples/org"), "--database", &url]);
        assert_eq!(report["schemaVersion"], 2);
        let role = change(&report, "SupersetRole", "Finance Analyst");
        assert_eq!(role["action"], "create");
        assert_eq!(
            role["resource"],
            json!({"kind": "SupersetRole", "name": "finance-analyst"}),
            "{}",
            db.label()
        );
        let filter = change(&report, "RowLevelSecurityFilter", "Finance EU rows");
        assert_eq!(
            filter["resource"],
            json!({"kind": "RowLevelSecurityFilter", "namespace": "finance", "name": "finance-region-eu"})
        );

        // Applied, then the RLS file is gone: the deletes are of objects no manifest declares.
        steward_ok(
            &["apply", &repo_path("examples/org"), "--database", &url],
            0,
        );
        let without_rls = edited_examples(|_, text| text);
        std::fs::remove_file(without_rls.path().join("rls.yaml")).unwrap();
        let dir = path_str(without_rls.path());
        let report = diff_json(&[&dir, "--database", &url, "--allow-empty-kinds"]);
        let deleted = change(&report, "RowLevelSecurityFilter", "Finance EU rows");
        assert_eq!(deleted["action"], "delete");
        assert!(deleted.get("resource").is_none(), "{deleted}");
    }
}

#[test]
fn refusals_carry_reason_codes_and_the_cli_words_them_with_flags() {
    for db in Db::superset_content("identity_reasons") {
        let url = db.url();
        let examples = repo_path("examples/org");
        steward_ok(
            &[
                "apply",
                &examples,
                "--database",
                &url,
                "--manager",
                "team-a",
            ],
            0,
        );
        let report = diff_json(&[&examples, "--database", &url]);
        assert_eq!(report["blocked"], true);
        let conflict = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["object"] == json!({"kind": "SupersetRole", "key": "Finance Analyst"}))
            .unwrap_or_else(|| panic!("no refusal of the role: {report:#}"));
        assert_eq!(conflict["code"], "conflict");
        assert_eq!(
            conflict["reason"],
            json!({"code": "other-manager", "manager": "team-a", "ours": "cli"})
        );
        assert_eq!(
            conflict["resource"],
            json!({"kind": "SupersetRole", "name": "finance-analyst"})
        );
        assert_eq!(
            conflict["hint"],
            "each manager changes and prunes only its own objects: change it where `team-a` applies (--manager team-a), or pass --adopt to take it over for `cli`"
        );

        // Managed here, then both RLS filters are to go, past a cap of one deletion.
        steward_ok(&["apply", &examples, "--database", &url, "--adopt"], 0);
        let few = edited_examples(|_, text| text);
        std::fs::remove_file(few.path().join("rls.yaml")).unwrap();
        let dir = path_str(few.path());
        let args = [
            dir.as_str(),
            "--database",
            &url,
            "--allow-empty-kinds",
            "--max-deletions",
            "1",
        ];
        let report = diff_json(&args);
        let cap = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["reason"]["code"] == "too-many-deletions")
            .unwrap_or_else(|| panic!("no deletion cap: {report:#}"));
        assert_eq!(cap["code"], "prune-guard");
        assert_eq!(cap["reason"]["max"], 1);
        let deletions = cap["reason"]["deletions"].as_u64().unwrap();
        assert!(deletions > 1, "{cap}");
        assert_eq!(
            cap["message"],
            format!("the plan deletes {deletions} objects, more than --max-deletions 1")
        );
        let mut text_args = vec!["diff"];
        text_args.extend_from_slice(&args);
        let out = steward(&text_args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("= hint: raise --max-deletions if these deletions are intended"),
            "{stderr}"
        );
    }
}
