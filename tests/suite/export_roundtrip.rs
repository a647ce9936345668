//! `steward export` on a database populated through the real Superset 6.1's REST API:
//! `diff --adopt` against that database only adopts (no field changes); applied with
//! `--adopt` to a fresh Superset (a copy taken before the objects were made) and exported again,
//! they come back identical; adopted where they were made, a diff shows no changes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::services::{ScratchPg, env, steward, steward_ok};
use crate::superset_api::{Content, Superset, clean_start, exclusive};

/// Every manifest under `dir`, by relative path, without the header line that names the
/// database (the export's hidden record of what it wrote is left out).
pub(crate) fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kind in std::fs::read_dir(dir).unwrap() {
        let kind = kind.unwrap().path();
        if !kind.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&kind).unwrap() {
            let file = file.unwrap().path();
            let text = std::fs::read_to_string(&file).unwrap();
            let body: Vec<&str> = text.lines().skip(1).collect();
            out.insert(
                file.strip_prefix(dir).unwrap().display().to_string(),
                body.join("\n"),
            );
        }
    }
    out
}

fn export(url: &str, dir: &Path) {
    steward_ok(
        &[
            "export",
            dir.to_str().unwrap(),
            "--database",
            url,
            "--selector",
            "rt-*",
        ],
        0,
    );
}

#[test]
fn export_adopt_export_round_trip_on_a_superset_made_database() {
    let _superset = exclusive();
    let live = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&live);
    let ss = Superset::connect();
    remove_made_objects(&ss);
    // The fresh Superset: this one's copy before the objects are made.
    let fresh = ScratchPg::dumped_from("fresh", &live);

    // Objects made through Superset's REST API.
    let content = Content::read(&ss);
    let pairs = ss.list("/api/v1/security/permissions-resources/", "id");
    let pair_id = |permission: &str, view: &str| -> i64 {
        pairs
            .iter()
            .find(|p| p["permission"]["name"] == permission && p["view_menu"]["name"] == view)
            .and_then(|p| p["id"].as_i64())
            .unwrap_or_else(|| panic!("no pair {permission} on {view}"))
    };
    let (accounts, _) = content.dataset("warehouse.sales.accounts");
    let accounts_view = pairs
        .iter()
        .filter(|p| p["permission"]["name"] == "datasource_access")
        .map(|p| {
            p["view_menu"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .find(|v| v.ends_with(&format!("(id:{accounts})")))
        .expect("the accounts dataset's datasource_access view");
    let role = ss.create("/api/v1/security/roles/", &json!({"name": "rt-analysts"}));
    let ids = vec![
        pair_id("can_read", "Chart"),
        pair_id("can_read", "Dashboard"),
        pair_id("can_csv", "Superset"),
        pair_id("datasource_access", &accounts_view),
    ];
    let (status, body) = ss.send(
        "POST",
        &ss.admin_token,
        &format!("/api/v1/security/roles/{role}/permissions"),
        None,
        Some(&json!({"permission_view_menu_ids": ids})),
    );
    assert!(
        status == 200 || status == 201,
        "role permissions: {status} {body}"
    );
    ss.create(
        "/api/v1/security/users/",
        &json!({
            "username": "rt-viewer",
            "first_name": "Round",
            "last_name": "Trip",
            "email": "rt-viewer@corp.example.com",
            "password": "rt-viewer-password-1",
            "active": true,
            "roles": [role],
        }),
    );
    let filter = ss.create(
        "/api/v1/rowlevelsecurity/",
        &json!({
            "name": "rt-filter",
            "filter_type": "Regular",
            "tables": [accounts],
            "roles": [role],
            "clause": "region = 'EU'",
            "group_key": "region",
        }),
    );
    let admin_id = ss
        .users()
        .iter()
        .find(|u| u["username"] == env("STEWARD_TEST_SUPERSET_ADMIN").as_str())
        .and_then(|u| u["id"].as_i64())
        .unwrap();
    let report = ss.create(
        "/api/v1/report/",
        &json!({
            "type": "Report",
            "name": "rt-weekly",
            "description": "made through Superset's REST API",
            "crontab": "0 8 * * 1",
            "timezone": "Europe/Berlin",
            "chart": content.chart_ids["Revenue by region"],
            "owners": [admin_id],
            "recipients": [{"type": "Email", "recipient_config_json": {"target": "rt-viewer@corp.example.com"}}],
            "report_format": "PNG",
            "active": true,
            "creation_method": "alerts_reports",
        }),
    );

    // Export; the diff against the same database only adopts (it also resolves what the
    // selection left out, such as the report's owner `admin`).
    let first = tempfile::tempdir().unwrap();
    export(&live, first.path());
    let exported = files(first.path());
    assert_eq!(
        exported.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "rls/rt-filter.yaml",
            "roles/rt-analysts.yaml",
            "schedules/rt-weekly.yaml",
            "users/rt-viewer.yaml"
        ]
    );
    let out = steward(&[
        "diff",
        first.path().to_str().unwrap(),
        "--database",
        &live,
        "--adopt",
        "--no-prune",
        "--output",
        "json",
    ]);
    let diff: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{diff:#}");
    for change in diff["changes"].as_array().unwrap() {
        assert_eq!(change["action"], "adopt", "{change:#}");
        assert_eq!(change["fields"], json!([]), "{change:#}");
    }

    // Applied to the fresh Superset and exported again: the same files.
    steward_ok(
        &[
            "apply",
            first.path().to_str().unwrap(),
            "--database",
            &fresh.url,
            "--adopt",
        ],
        0,
    );
    let second = tempfile::tempdir().unwrap();
    export(&fresh.url, second.path());
    assert_eq!(exported, files(second.path()));

    // Adopted where they were made: nothing left to change.
    steward_ok(
        &[
            "apply",
            first.path().to_str().unwrap(),
            "--database",
            &live,
            "--adopt",
            "--no-prune",
        ],
        0,
    );
    steward_ok(
        &[
            "diff",
            first.path().to_str().unwrap(),
            "--database",
            &live,
            "--no-prune",
        ],
        0,
    );

    // Leave Superset as this test found it: steward now manages the objects, so pruning
    // removes them.
    clean_start(&live);
    let _ = (filter, report);
    remove_made_objects(&ss);
}

/// Deletes, through REST, what an earlier (failed) run made and left.
fn remove_made_objects(ss: &Superset) {
    let made = |v: &Value, key: &str| v[key].as_str().is_some_and(|n| n.starts_with("rt-"));
    for r in ss.list("/api/v1/report/", "name") {
        if made(&r, "name") {
            ss.delete(&format!("/api/v1/report/{}", r["id"]));
        }
    }
    for f in ss.rls_filters() {
        if made(&f, "name") {
            ss.delete(&format!("/api/v1/rowlevelsecurity/{}", f["id"]));
        }
    }
    for u in ss.users() {
        if made(&u, "username") {
            ss.delete(&format!("/api/v1/security/users/{}", u["id"]));
        }
    }
    for r in ss.roles() {
        if made(&r, "name") {
            ss.delete(&format!("/api/v1/security/roles/{}", r["id"]));
        }
    }
}
