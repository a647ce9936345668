//! Renames in place and managers, on every backend: renaming a role, a user, a group, an RLS
//! filter and a schedule in the manifests updates the same rows (same ids), keeps the members
//! and chart ownerships the manifests do not declare, and every output shows the renames; the
//! ledger rows written before steward recorded identities get them on the next apply; a pass
//! refuses to change another manager's objects (naming it) and, on a shared manager, to change
//! or prune what that manager wrote from another manifest source. The same renames on the real
//! Superset 6.1, read back through its REST API.

use crate::reconcile::{edited_examples, init_demo, path_str};
use crate::services::{Db, env, psql, steward, steward_ok};
use crate::superset_api::{Superset, clean_start, exclusive, names};

/// The renames the tests make, as (kind, old Superset name, new Superset name).
pub(crate) const RENAMES: [(&str, &str, &str); 5] = [
    ("SupersetUser", "ana.alves", "ana.silva"),
    ("SupersetRole", "Finance Analyst", "Finance Analysts"),
    ("SupersetGroup", "finance-team", "Finance team"),
    (
        "RowLevelSecurityFilter",
        "Finance EU rows",
        "Finance EU rows v2",
    ),
    (
        "ReportSchedule",
        "Weekly finance overview",
        "Weekly finance overview v2",
    ),
];

/// `examples/org` with the five [`RENAMES`] made in the manifests: each resource keeps its
/// `metadata.name` and changes its Superset name, and the references follow.
pub(crate) fn renamed_examples() -> tempfile::TempDir {
    edited_examples(|file, text| {
        let text = text.replace("Finance Analyst", "Finance Analysts");
        match file {
            "users.yaml" => text.replacen(
                "      name: ana.alves\n    spec:\n",
                "      name: ana.alves\n    spec:\n      username: ana.silva\n",
                1,
            ),
            "groups.yaml" => text
                .replacen(
                    "  name: finance-team\nspec:\n",
                    "  name: finance-team\nspec:\n  name: Finance team\n",
                    1,
                )
                .replace("[ana.alves, ", "[ana.silva, "),
            "rls.yaml" => text.replacen("name: Finance EU rows\n", "name: Finance EU rows v2\n", 1),
            "schedules.yaml" => text
                .replacen(
                    "name: Weekly finance overview\n",
                    "name: Weekly finance overview v2\n",
                    1,
                )
                .replace(", ana.alves]", ", ana.silva]"),
            _ => text,
        }
    })
}

/// The table and name column of a kind.
pub(crate) fn table_of(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "SupersetRole" => ("ab_role", "name"),
        "SupersetUser" => ("ab_user", "username"),
        "SupersetGroup" => ("ab_group", "name"),
        "RowLevelSecurityFilter" => ("row_level_security_filters", "name"),
        _ => ("report_schedule", "name"),
    }
}

fn one(db: &Db, sql: &str) -> String {
    db.sql(sql).trim().to_owned()
}

/// The id of the `kind` object named `name` (empty when there is none).
fn id_of(db: &Db, kind: &str, name: &str) -> String {
    let (table, column) = table_of(kind);
    one(
        db,
        &format!(
            "SELECT id FROM {table} WHERE {column} = '{}'",
            name.replace('\'', "''")
        ),
    )
}

/// Adds, straight in the database as Superset's UI would, a user the manifests do not declare
/// (`outsider`) to the role, and (where the schema has chart owners) makes
/// `ana.alves` an owner of a chart. Returns the chart owner row's id, if any.
fn add_undeclared_links(db: &Db) -> Option<String> {
    let next = |table: &str| format!("(SELECT COALESCE(MAX(id), 0) + 1 FROM {table})");
    db.sql(&format!(
        "INSERT INTO ab_user (id, first_name, last_name, username, email, active, created_on, changed_on) VALUES ({}, 'Out', 'Sider', 'outsider', 'outsider@corp.example.com', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        next("ab_user")
    ));
    db.sql(&format!(
        "INSERT INTO ab_user_role (id, user_id, role_id) VALUES ({}, (SELECT id FROM ab_user WHERE username = 'outsider'), (SELECT id FROM ab_role WHERE name = 'Finance Analyst'))",
        next("ab_user_role")
    ));
    if db.label() == "sqlite" {
        // steward's own SQLite schema has no chart owners table.
        return None;
    }
    db.sql(&format!(
        "INSERT INTO slice_user (id, user_id, slice_id) VALUES ({}, (SELECT id FROM ab_user WHERE username = 'ana.alves'), (SELECT MIN(id) FROM slices))",
        next("slice_user")
    ));
    Some(one(
        db,
        "SELECT MAX(id) FROM slice_user WHERE user_id = (SELECT id FROM ab_user WHERE username = 'ana.alves')",
    ))
}

/// Every backend with the demo content and `examples/` applied.
fn with_examples(label: &str) -> Vec<Db> {
    let dbs = Db::each_backend(label);
    for db in &dbs {
        init_demo(db);
        let examples = crate::repo_path("examples");
        steward_ok(&["apply", &examples, "--database", &db.url()], 0);
    }
    dbs
}

#[test]
fn renames_update_the_same_rows_and_keep_what_the_manifests_do_not_declare() {
    let renamed = renamed_examples();
    let renamed = path_str(renamed.path());
    for db in with_examples("renames") {
        let (url, label) = (db.url(), db.label());
        let chart_owner = add_undeclared_links(&db);
        let ids: Vec<String> = RENAMES
            .iter()
            .map(|(kind, old, _)| id_of(&db, kind, old))
            .collect();
        assert!(ids.iter().all(|id| !id.is_empty()), "{label}: {ids:?}");

        let text = steward_ok(&["diff", &renamed, "--database", &url], 2);
        for expected in [
            "~ SupersetRole \"Finance Analyst\" → \"Finance Analysts\"",
            "~ SupersetUser \"ana.alves\" → \"ana.silva\"",
            "~ SupersetGroup \"finance-team\" → \"Finance team\"",
            "~ RowLevelSecurityFilter \"Finance EU rows\" → \"Finance EU rows v2\"",
            "~ ReportSchedule \"Weekly finance overview\" (Report) → \"Weekly finance overview v2\" (Report)",
        ] {
            assert!(
                text.contains(expected),
                "{label}: no `{expected}` in:\n{text}"
            );
        }
        assert!(
            !text.contains("to create") && !text.contains("to delete"),
            "{label}: a rename is neither a create nor a delete:\n{text}"
        );
        let markdown = steward_ok(
            &["diff", &renamed, "--database", &url, "--output", "markdown"],
            2,
        );
        assert!(
            markdown.contains("`Finance Analyst` → `Finance Analysts`"),
            "{label}: {markdown}"
        );
        let json = steward_ok(
            &["diff", &renamed, "--database", &url, "--output", "json"],
            2,
        );
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let renames: Vec<(String, String, String)> = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c.get("renamedFrom").is_some())
            .map(|c| {
                let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
                (s(&c["kind"]), s(&c["renamedFrom"]), s(&c["name"]))
            })
            .collect();
        let expected: Vec<(String, String, String)> = RENAMES
            .iter()
            .map(|(kind, old, new)| {
                let key = |name: &str| match *kind {
                    "ReportSchedule" => format!("Report:{name}"),
                    _ => name.to_owned(),
                };
                (kind.to_string(), key(old), key(new))
            })
            .collect();
        assert_eq!(renames, expected, "{label}");

        let owners_sql = format!(
            "SELECT user_id FROM report_schedule_user WHERE report_schedule_id = {} ORDER BY user_id",
            ids[4]
        );
        let owners = one(&db, &owners_sql);
        let links_sql = format!(
            "SELECT id FROM ab_group_role WHERE group_id = {} AND role_id = {} UNION ALL SELECT id FROM ab_user_group WHERE group_id = {} AND user_id = {}",
            ids[2], ids[1], ids[2], ids[0]
        );
        let links = one(&db, &links_sql);
        assert_eq!(links.lines().count(), 2, "{label}: {links}");
        assert!(!owners.is_empty(), "{label}");
        let applied = steward_ok(
            &["apply", &renamed, "--database", &url, "--output", "json"],
            0,
        );
        let applied: serde_json::Value = serde_json::from_str(&applied).unwrap();
        let outcomes: Vec<(String, String, String)> = applied["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                (s(&o["renamedFrom"]), s(&o["name"]), o["id"].to_string())
            })
            .collect();
        for ((_, old, new), (id, (_, renamed_from, name))) in
            RENAMES.iter().zip(ids.iter().zip(&expected))
        {
            assert!(
                outcomes.contains(&(renamed_from.clone(), name.clone(), id.clone())),
                "{label}: {old} → {new} with id {id} in {outcomes:?}"
            );
        }
        for ((kind, old, new), id) in RENAMES.iter().zip(&ids) {
            assert_eq!(
                &id_of(&db, kind, new),
                id,
                "{label}: {kind} {new} keeps its id"
            );
            assert_eq!(
                id_of(&db, kind, old),
                "",
                "{label}: no {kind} is left named {old}"
            );
        }
        let outsider = "(SELECT id FROM ab_user WHERE username = 'outsider')";
        assert_eq!(
            one(
                &db,
                &format!("SELECT role_id FROM ab_user_role WHERE user_id = {outsider}")
            ),
            ids[1],
            "{label}: the undeclared member keeps the renamed role"
        );
        assert_eq!(
            one(&db, &links_sql),
            links,
            "{label}: links between renamed objects are the same rows"
        );
        if let Some(row) = chart_owner {
            assert_eq!(
                one(
                    &db,
                    &format!("SELECT user_id FROM slice_user WHERE id = {row}")
                ),
                ids[0],
                "{label}: the renamed user still owns the chart"
            );
        }
        assert_eq!(
            one(&db, &owners_sql),
            owners,
            "{label}: the renamed schedule keeps its owners"
        );
        let again = steward_ok(&["diff", &renamed, "--database", &url], 0);
        assert!(again.contains("No changes"), "{label}: {again}");
        let ledger = one(
            &db,
            "SELECT resource_name, object_id FROM steward_ledger WHERE kind = 'SupersetRole' AND object_key = 'Finance Analysts'",
        );
        assert_eq!(ledger, format!("finance-analyst|{}", ids[1]), "{label}");
    }
}

/// On every backend with `examples/` applied and `setup` run: applying the renames fails with
/// `message` (exit `code`) and writes nothing.
fn renaming_fails(label: &str, setup: &str, code: i32, message: &str) {
    let renamed = renamed_examples();
    let renamed = path_str(renamed.path());
    for db in with_examples(label) {
        let (url, label) = (db.url(), db.label());
        db.sql(setup);
        let before = db.dump();
        let out = steward(&["apply", &renamed, "--database", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{label}: {stderr}");
        assert!(stderr.contains(message), "{label}: {stderr}");
        assert!(before == db.dump(), "{label}: a failed apply wrote");
    }
}

#[test]
fn a_rename_onto_a_name_another_object_holds_is_refused() {
    renaming_fails(
        "rename_onto",
        "INSERT INTO ab_role (id, name) VALUES ((SELECT MAX(id) + 1 FROM ab_role), 'Finance Analysts')",
        1,
        "SupersetRole/finance-analyst renames SupersetRole \"Finance Analyst\" to SupersetRole \"Finance Analysts\", but another object in Superset already has that name",
    );
}

#[test]
fn a_rename_whose_recorded_row_is_gone_writes_nothing() {
    // The ledger's id of the role points at no row any more.
    renaming_fails(
        "rename_gone",
        "UPDATE steward_ledger SET object_id = 999999 WHERE kind = 'SupersetRole' AND object_key = 'Finance Analyst'",
        1,
        "SupersetRole \"Finance Analysts\" is renamed from `Finance Analyst`, but Superset no longer has the row (id 999999) the ledger recorded for it",
    );
}

#[test]
fn ledger_rows_from_before_identities_get_them_on_the_next_apply() {
    let renamed = renamed_examples();
    let renamed = path_str(renamed.path());
    for db in Db::each_backend("ledger_fill") {
        let (url, label) = (db.url(), db.label());
        init_demo(&db);
        let examples = crate::repo_path("examples/org");
        steward_ok(&["apply", &examples, "--database", &url], 0);
        // As steward left them before it recorded identities.
        db.sql("UPDATE steward_ledger SET resource_namespace = NULL, resource_name = NULL, resource_uid = NULL, object_id = NULL, source = NULL");
        let out = steward_ok(&["apply", &examples, "--database", &url], 0);
        assert!(out.contains("No changes"), "{label}: {out}");
        assert_eq!(
            one(
                &db,
                "SELECT COUNT(*) FROM steward_ledger WHERE resource_name IS NULL"
            ),
            "0",
            "{label}: every row has its resource again"
        );
        let out = steward_ok(&["apply", &renamed, "--database", &url], 0);
        assert!(
            out.contains("\"Finance Analyst\" → \"Finance Analysts\""),
            "{label}: {out}"
        );
    }
}

#[test]
fn a_pass_does_not_change_or_prune_another_managers_objects() {
    for db in Db::each_backend("managers") {
        let (url, label) = (db.url(), db.label());
        init_demo(&db);
        let examples = crate::repo_path("examples/org");
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
        // Another manager declaring the same role with other permissions: a conflict naming
        // `team-a`.
        let other = edited_examples(|file, text| match file {
            "roles.yaml" => text,
            _ => String::new(),
        });
        let other = path_str(other.path());
        let out = steward(&["apply", &other, "--database", &url, "--manager", "team-b"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{label}: {stderr}");
        assert!(
            stderr.contains("is managed by `team-a`, not by this pass's manager `team-b`")
                && stderr.contains("--manager team-a"),
            "{label}: {stderr}"
        );
        // With nothing declared, `team-b` prunes nothing of `team-a`'s.
        let empty = tempfile::tempdir().unwrap();
        let out = steward_ok(
            &[
                "apply",
                &path_str(empty.path()),
                "--database",
                &url,
                "--manager",
                "team-b",
                "--allow-empty-kinds",
            ],
            0,
        );
        assert!(out.contains("No changes"), "{label}: {out}");
    }
}

const TEAM_B: &str = "\
apiVersion: steward.dev/v1alpha1
kind: SupersetRole
metadata:
  name: team-b-viewer
spec:
  name: Team B viewer
  includes: [Gamma]
";

#[test]
fn a_second_manifest_set_on_the_same_manager_is_refused() {
    for db in Db::each_backend("second_team") {
        let (url, label) = (db.url(), db.label());
        init_demo(&db);
        let team_a = edited_examples(|_, text| text);
        let a = path_str(team_a.path());
        steward_ok(&["apply", &a, "--database", &url], 0);
        // A second team, with manifests of its own, also on the default manager `cli`: its pass
        // would prune everything team A applied.
        let team_b = tempfile::tempdir().unwrap();
        std::fs::write(team_b.path().join("roles.yaml"), TEAM_B).unwrap();
        let b = path_str(team_b.path());
        let before = db.dump();
        let out = steward(&["apply", &b, "--database", &url, "--allow-empty-kinds"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{label}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "these manifests (`{b}`) declare none of the 34 objects manager `cli` manages (written from `{a}`), yet applying them would delete"
            )),
            "{label}: {stderr}"
        );
        assert!(stderr.contains("its own --manager"), "{label}: {stderr}");
        assert!(before == db.dump(), "{label}: a refused apply wrote");
        // With a manager of its own, team B adds its role and leaves team A's objects alone.
        let out = steward_ok(&["apply", &b, "--database", &url, "--manager", "team-b"], 0);
        assert!(out.contains("Plan: 1 to create."), "{label}: {out}");
        let diff = steward_ok(&["diff", &a, "--database", &url], 0);
        assert!(diff.contains("No changes"), "{label}: {diff}");
        // Team A's manifests moved elsewhere, with one object fewer: still its objects.
        let moved = edited_examples(|file, text| match file {
            "rls.yaml" => String::new(),
            _ => text,
        });
        let moved = path_str(moved.path());
        let out = steward_ok(
            &["apply", &moved, "--database", &url, "--allow-empty-kinds"],
            0,
        );
        assert!(out.contains("to delete"), "{label}: {out}");
    }
}

/// The id Superset's REST API gives the `kind` object named `name`.
fn api_id(ss: &Superset, kind: &str, name: &str) -> Option<i64> {
    let (list, field) = match kind {
        "SupersetRole" => (ss.roles(), "name"),
        "SupersetUser" => (ss.users(), "username"),
        "SupersetGroup" => (ss.groups(), "name"),
        "RowLevelSecurityFilter" => (ss.rls_filters(), "name"),
        _ => (ss.list("/api/v1/report/", "name"), "name"),
    };
    list.iter()
        .find(|o| o[field] == name)
        .and_then(|o| o["id"].as_i64())
}

#[test]
fn renames_on_a_real_superset_keep_ids_members_and_ownerships() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    // An undeclared user some earlier run may have left.
    let forget_outsider = "DELETE FROM ab_user_role WHERE user_id IN (SELECT id FROM ab_user WHERE username = 'outsider'); DELETE FROM ab_user WHERE username = 'outsider'";
    psql(&url, forget_outsider);
    steward_ok(
        &[
            "apply",
            &crate::repo_path("examples/org"),
            "--database",
            &url,
        ],
        0,
    );
    let ss = Superset::connect();
    let ids: Vec<i64> = RENAMES
        .iter()
        .map(|(kind, old, _)| api_id(&ss, kind, old).unwrap_or_else(|| panic!("{kind} {old}")))
        .collect();
    // What Superset's UI would do: a user the manifests do not declare gets the role, and the
    // user to be renamed becomes an owner of a chart.
    psql(
        &url,
        &format!(
            "INSERT INTO ab_user (id, first_name, last_name, username, email, active, created_on, changed_on) VALUES (nextval('ab_user_id_seq'), 'Out', 'Sider', 'outsider', 'outsider@corp.example.com', true, now(), now()); \
             INSERT INTO ab_user_role (id, user_id, role_id) VALUES (nextval('ab_user_role_id_seq'), (SELECT id FROM ab_user WHERE username = 'outsider'), {}); \
             INSERT INTO slice_user (user_id, slice_id) SELECT {}, MIN(id) FROM slices",
            ids[1], ids[0]
        ),
    );
    let chart = psql(&url, "SELECT MIN(id) FROM slices").trim().to_owned();
    let renamed = renamed_examples();
    let renamed = path_str(renamed.path());
    let out = steward_ok(&["apply", &renamed, "--database", &url], 0);
    assert!(
        out.contains("~ SupersetRole \"Finance Analyst\" → \"Finance Analysts\""),
        "{out}"
    );
    for ((kind, old, new), id) in RENAMES.iter().zip(&ids) {
        assert_eq!(
            api_id(&ss, kind, new),
            Some(*id),
            "{kind} {new} keeps its id"
        );
        assert_eq!(
            api_id(&ss, kind, old),
            None,
            "no {kind} is left named {old}"
        );
    }
    let outsider = ss
        .users()
        .into_iter()
        .find(|u| u["username"] == "outsider")
        .expect("the undeclared user");
    assert!(
        names(&outsider["roles"], "name").contains("Finance Analysts"),
        "the undeclared member keeps the renamed role: {outsider}"
    );
    let owners = ss.get(&format!("/api/v1/chart/{chart}"), None)["result"]["owners"].clone();
    assert!(
        owners
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"].as_i64() == Some(ids[0])),
        "the renamed user still owns the chart: {owners}"
    );
    let group = ss
        .groups()
        .into_iter()
        .find(|g| g["name"] == "Finance team")
        .unwrap();
    assert!(
        names(&group["roles"], "name").contains("Finance Analysts"),
        "{group}"
    );
    let again = steward_ok(&["diff", &renamed, "--database", &url], 0);
    assert!(again.contains("No changes"), "{again}");
    psql(&url, forget_outsider);
    clean_start(&url);
}
