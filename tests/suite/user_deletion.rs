//! Pruning a user, on SQLite and on a clone of a real Superset 6.1 metadata DB (PostgreSQL): the
//! plan says what the deletion detaches (counted from the database), the apply leaves no row
//! pointing at the user and no link row pointing at nothing (ownerships, memberships go; audit
//! columns and request logs are cleared), tables with quoted names (`"ExtPrefs"."OwnerId"`)
//! included, and a user that a schedule runs as, or that is a schedule's only owner, is not
//! pruned (managed schedule or not).

use crate::services::{Db, steward, steward_ok};

const USERS: &str = "\
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata:
  name: stayer
spec:
  firstName: Stay
  lastName: Er
  email: stayer@corp.example.com
  roles: [Gamma]
";

const LEAVER: &str = "\
---
apiVersion: steward.dev/v1alpha1
kind: SupersetUser
metadata:
  name: leaver
spec:
  firstName: Leav
  lastName: Er
  email: leaver@corp.example.com
  roles: [Gamma]
";

/// A directory with `stayer`, and `leaver` when `with_leaver`.
fn manifests(with_leaver: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = if with_leaver {
        format!("{USERS}{LEAVER}")
    } else {
        USERS.to_owned()
    };
    std::fs::write(dir.path().join("users.yaml"), text).unwrap();
    dir
}

fn path(dir: &tempfile::TempDir) -> String {
    dir.path().display().to_string()
}

/// `steward diff DIR --output json` against `url`, expecting changes.
fn diff_json(dir: &tempfile::TempDir, url: &str) -> String {
    steward_ok(
        &["diff", &path(dir), "--database", url, "--output", "json"],
        2,
    )
}

/// `db` with the demo content and both users applied; `leaver`'s id.
fn with_leaver(db: &Db) -> i64 {
    steward_ok(&["init", "--demo", "--database", &db.url()], 0);
    steward_ok(
        &["apply", &path(&manifests(true)), "--database", &db.url()],
        0,
    );
    id_of(db, "leaver")
}

fn id_of(db: &Db, username: &str) -> i64 {
    db.sql(&format!(
        "SELECT id FROM ab_user WHERE username = '{username}'"
    ))
    .trim()
    .parse()
    .unwrap()
}

fn one(db: &Db, sql: &str) -> i64 {
    db.sql(sql).trim().parse().unwrap()
}

/// Tables Superset 6.1 has on PostgreSQL and steward's SQLite schema leaves out, plus tables a
/// deployment added with names that need quoting.
fn extra_tables(db: &Db) {
    let serial = match db {
        Db::Sqlite { .. } => "INTEGER PRIMARY KEY",
        Db::Pg(_) => "SERIAL PRIMARY KEY",
    };
    // Superset's own SQLite file has them already.
    if matches!(
        db,
        Db::Sqlite {
            superset_made: false,
            ..
        }
    ) {
        for sql in [
            "CREATE TABLE dashboard_user (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES ab_user (id) ON DELETE CASCADE, dashboard_id INTEGER REFERENCES dashboards (id) ON DELETE CASCADE)",
            "CREATE TABLE slice_user (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES ab_user (id) ON DELETE CASCADE, slice_id INTEGER REFERENCES slices (id) ON DELETE CASCADE)",
            "CREATE TABLE logs (id INTEGER PRIMARY KEY, action VARCHAR(512), user_id INTEGER REFERENCES ab_user (id), json TEXT)",
        ] {
            db.sql(sql);
        }
    }
    db.sql(&format!(
        "CREATE TABLE \"ExtPrefs\" (\"Id\" {serial}, \"OwnerId\" INTEGER NOT NULL REFERENCES ab_user (id), \"Theme\" VARCHAR(20))"
    ));
    db.sql(&format!(
        "CREATE TABLE \"Ext Notes\" (\"Id\" {serial}, \"Author Id\" INTEGER REFERENCES ab_user (id), \"Text\" VARCHAR(20))"
    ));
}

#[test]
fn pruning_a_user_shows_what_it_detaches_and_leaves_no_orphans() {
    for db in Db::each_backend("userdel") {
        let leaver = with_leaver(&db);
        let stayer = id_of(&db, "stayer");
        extra_tables(&db);
        let chart = one(&db, "SELECT MIN(id) FROM slices");
        let dashboard = one(&db, "SELECT MIN(id) FROM dashboards");
        for sql in [
            format!("INSERT INTO slice_user (user_id, slice_id) VALUES ({leaver}, {chart})"),
            format!("INSERT INTO slice_user (user_id, slice_id) VALUES ({stayer}, {chart})"),
            format!(
                "INSERT INTO dashboard_user (user_id, dashboard_id) VALUES ({leaver}, {dashboard})"
            ),
            format!(
                "UPDATE slices SET created_by_fk = {leaver}, changed_by_fk = {leaver} WHERE id = {chart}"
            ),
            format!(
                "INSERT INTO logs (action, user_id) VALUES ('a', {leaver}), ('b', {leaver}), ('c', {leaver}), ('d', {stayer})"
            ),
            format!("INSERT INTO \"ExtPrefs\" (\"OwnerId\", \"Theme\") VALUES ({leaver}, 'dark')"),
            format!(
                "INSERT INTO \"Ext Notes\" (\"Author Id\", \"Text\") VALUES ({leaver}, 'x'), ({leaver}, 'y')"
            ),
        ] {
            db.sql(&sql);
        }
        let url = db.url();
        let without = manifests(false);
        let diff = steward_ok(&["diff", &path(&without), "--database", &url], 2);
        for part in [
            "- SupersetUser \"leaver\"",
            "owner of 1 chart, 1 dashboard",
            "author of 1 chart, 3 log rows, 2 rows of table Ext Notes",
            "deletes 1 row of table ExtPrefs",
        ] {
            assert!(diff.contains(part), "{}: `{part}` in\n{diff}", db.label());
        }
        let json = diff_json(&without, &url);
        assert!(json.contains("owner of 1 chart, 1 dashboard"), "{json}");

        steward_ok(&["apply", &path(&without), "--database", &url], 0);
        let count = |sql: &str| one(&db, sql);
        assert_eq!(
            count("SELECT COUNT(*) FROM ab_user WHERE username = 'leaver'"),
            0
        );
        // Link rows went; nothing points at the deleted id; no link row points at nothing.
        for (table, column) in [
            ("slice_user", "user_id"),
            ("dashboard_user", "user_id"),
            ("ab_user_role", "user_id"),
            ("ab_user_group", "user_id"),
            ("report_schedule_user", "user_id"),
        ] {
            assert_eq!(
                count(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE {column} IS NULL OR {column} = {leaver}"
                )),
                0,
                "{}: {table}",
                db.label()
            );
        }
        assert_eq!(
            count("SELECT COUNT(*) FROM slice_user"),
            1,
            "{}",
            db.label()
        );
        // Audit columns and request logs are kept, cleared.
        assert_eq!(
            count(&format!(
                "SELECT COUNT(*) FROM slices WHERE id = {chart} AND created_by_fk IS NULL AND changed_by_fk IS NULL"
            )),
            1
        );
        assert_eq!(count("SELECT COUNT(*) FROM logs WHERE user_id IS NULL"), 3);
        assert_eq!(
            count(&format!(
                "SELECT COUNT(*) FROM logs WHERE user_id = {stayer}"
            )),
            1
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM \"ExtPrefs\""),
            0,
            "{}",
            db.label()
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM \"Ext Notes\" WHERE \"Author Id\" IS NULL"),
            2
        );
        let again = steward_ok(&["diff", &path(&without), "--database", &url], 0);
        assert!(again.contains("No changes"), "{again}");
    }
}

/// An unmanaged schedule made outside steward, on the demo's first chart, owned by `owners`.
/// `column` of the schedule row is set to the first owner.
fn schedule_outside_steward(db: &Db, name: &str, kind: &str, column: &str, owners: &[i64]) {
    let chart = one(db, "SELECT MIN(id) FROM slices");
    let id = one(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM report_schedule");
    let database = match kind {
        "Alert" => one(db, "SELECT MIN(id) FROM dbs").to_string(),
        _ => "NULL".to_owned(),
    };
    let sql = match kind {
        "Alert" => "'SELECT 1'",
        _ => "NULL",
    };
    db.sql(&format!(
        "INSERT INTO report_schedule (id, type, name, crontab, chart_id, database_id, sql, extra_json, timezone, active, {column}) \
         VALUES ({id}, '{kind}', '{name}', '0 8 * * *', {chart}, {database}, {sql}, '{{}}', 'UTC', true, {})",
        owners[0]
    ));
    for owner in owners {
        let link = one(
            db,
            "SELECT COALESCE(MAX(id), 0) + 1 FROM report_schedule_user",
        );
        db.sql(&format!(
            "INSERT INTO report_schedule_user (id, user_id, report_schedule_id) VALUES ({link}, {owner}, {id})"
        ));
    }
}

#[test]
fn a_user_a_schedule_runs_as_or_that_solely_owns_one_is_not_pruned() {
    // (what the schedule's row says, whether pruning `leaver` is refused)
    let cases: [(&str, &str, &str, bool); 4] = [
        ("Runs as leaver", "Report", "run_as_fk", true),
        ("Queries as leaver", "Alert", "run_alert_query_as_fk", true),
        ("Owned by leaver alone", "Report", "created_by_fk", true),
        (
            "Owned by leaver and stayer",
            "Report",
            "created_by_fk",
            false,
        ),
    ];
    for db in Db::each_backend("userdel_sched") {
        let leaver = with_leaver(&db);
        let stayer = id_of(&db, "stayer");
        for (name, kind, column, refused) in cases {
            let case = db.copy("userdel_case");
            // Another owner besides leaver, except where leaver is to be the only one.
            let owners = match (column, refused) {
                ("created_by_fk", true) => vec![leaver],
                _ => vec![leaver, stayer],
            };
            schedule_outside_steward(&case, name, kind, column, &owners);
            let before = case.dump();
            let url = case.url();
            let out = steward(&["apply", &path(&manifests(false)), "--database", &url]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if refused {
                assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
                // Run-as users are also checked by the Alerts & Reports rules, which stop
                // the plan first; a sole owner only by the prune guard.
                assert!(
                    stderr.contains("leaver") && stderr.contains(name),
                    "{}: {name}: {stderr}",
                    db.label()
                );
                assert_eq!(case.dump(), before, "{name}: nothing written");
            } else {
                assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
                assert_eq!(
                    one(
                        &case,
                        "SELECT COUNT(*) FROM report_schedule_user WHERE user_id IS NULL"
                    ),
                    0
                );
            }
        }
    }
}

/// A user made through Superset's REST API, owning a chart and a dashboard made through it,
/// adopted and then pruned by steward: Superset still serves the chart and the dashboard, and
/// no row is left pointing at the user or at nothing.
#[test]
fn a_user_made_in_superset_is_pruned_cleanly() {
    use crate::services::env;
    use crate::superset_api::{Content, Superset, clean_start, exclusive};
    use serde_json::json;

    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    let ss = Superset::connect();
    let gamma = ss.role_id("Gamma").expect("Superset has Gamma");
    let user = ss.create(
        "/api/v1/security/users/",
        &json!({
            "username": "api-leaver", "first_name": "Api", "last_name": "Leaver",
            "email": "api-leaver@corp.example.com", "password": "not-used-9X!",
            "active": true, "roles": [gamma],
        }),
    );
    let content = Content::read(&ss);
    let (dataset, _) = content.dataset("warehouse.finance.invoices");
    let chart = ss.create(
        "/api/v1/chart/",
        &json!({
            "slice_name": "Owned by api-leaver", "viz_type": "table",
            "datasource_id": dataset, "datasource_type": "table",
            "params": "{}", "owners": [user],
        }),
    );
    let dashboard = ss.create(
        "/api/v1/dashboard/",
        &json!({"dashboard_title": "Owned by api-leaver", "owners": [user]}),
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("users.yaml"),
        LEAVER
            .trim_start_matches("---\n")
            .replace("name: leaver", "name: api-leaver")
            .replace("leaver@corp", "api-leaver@corp")
            .replace("firstName: Leav", "firstName: Api")
            .replace("lastName: Er", "lastName: Leaver"),
    )
    .unwrap();
    steward_ok(&["apply", &path(&dir), "--database", &url, "--adopt"], 0);
    let empty = tempfile::tempdir().unwrap();
    let prune = [
        "apply",
        empty.path().to_str().unwrap(),
        "--database",
        &url,
        "--allow-empty-kinds",
    ];
    let mut diff = prune;
    diff[0] = "diff";
    let shown = steward_ok(&diff, 2);
    assert!(
        shown.contains("- SupersetUser \"api-leaver\"")
            && shown.contains("owner of 1 chart, 1 dashboard"),
        "{shown}"
    );
    steward_ok(&prune, 0);

    // Superset still serves both (a dangling owner would answer 500).
    for path in [
        format!("/api/v1/chart/{chart}"),
        format!("/api/v1/dashboard/{dashboard}"),
    ] {
        let body = ss.get(&path, None);
        assert_eq!(body["result"]["owners"], json!([]), "{path}: {body}");
    }
    ss.list("/api/v1/chart/", "slice_name");
    ss.list("/api/v1/dashboard/", "dashboard_title");
    ss.users();
    let orphans = crate::services::psql(
        &url,
        &format!(
            "SELECT (SELECT COUNT(*) FROM dashboard_user WHERE user_id IS NULL OR user_id = {user}) \
             + (SELECT COUNT(*) FROM slice_user WHERE user_id IS NULL OR user_id = {user}) \
             + (SELECT COUNT(*) FROM ab_user_role WHERE user_id IS NULL OR user_id = {user}) \
             + (SELECT COUNT(*) FROM slices WHERE created_by_fk = {user} OR changed_by_fk = {user}) \
             + (SELECT COUNT(*) FROM logs WHERE user_id = {user})"
        ),
    );
    assert_eq!(orphans.trim(), "0");
    ss.delete(&format!("/api/v1/chart/{chart}"));
    ss.delete(&format!("/api/v1/dashboard/{dashboard}"));
    clean_start(&url);
}

/// An identifier quoted for SQL.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal for SQL.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Every table of `tests/corpus/hostile/introspected-names`, made on both backends with a row
/// referring to `leaver`: pruning the user clears nullable columns and deletes rows whose
/// column cannot be NULL, whatever the names, and says so in the plan.
#[test]
fn tables_with_hostile_names_referring_to_a_user_are_detached() {
    let dir = crate::repo().join("tests/corpus/hostile/introspected-names");
    let mut cases: Vec<(String, String, String, bool)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "names"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let [table, column, constraint] = lines[..] else {
                panic!("{}: table, column, null|not null", p.display());
            };
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                file,
                table.to_owned(),
                column.to_owned(),
                constraint == "not null",
            )
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 6, "{cases:?}");
    for db in Db::each_backend("userdel_names") {
        let leaver = with_leaver(&db);
        for (_, table, column, not_null) in &cases {
            let constraint = if *not_null { "NOT NULL" } else { "" };
            db.sql(&format!(
                "CREATE TABLE {} (note VARCHAR(20), {} INTEGER {constraint} REFERENCES ab_user (id))",
                quoted(table),
                quoted(column)
            ));
            db.sql(&format!(
                "INSERT INTO {} (note, {}) VALUES ('kept', {leaver})",
                quoted(table),
                quoted(column)
            ));
        }
        let url = db.url();
        let without = manifests(false);
        let diff = diff_json(&without, &url);
        let report: serde_json::Value = serde_json::from_str(&diff).unwrap();
        let detaches = report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["fields"].as_array().unwrap())
            .find(|f| f["field"] == "detaches")
            .and_then(|f| f["before"].as_str())
            .unwrap_or_else(|| panic!("no detaches line: {report:#}"))
            .to_owned();
        steward_ok(&["apply", &path(&without), "--database", &url], 0);
        assert_eq!(
            one(
                &db,
                "SELECT COUNT(*) FROM ab_user WHERE username = 'leaver'"
            ),
            0
        );
        for (file, table, column, not_null) in &cases {
            assert!(
                detaches.contains(&format!("1 row of table {table}")),
                "{} {file}: {detaches}",
                db.label()
            );
            let left = one(&db, &format!("SELECT COUNT(*) FROM {}", quoted(table)));
            let cleared = one(
                &db,
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE {} IS NULL AND note = {}",
                    quoted(table),
                    quoted(column),
                    literal("kept")
                ),
            );
            let expected = if *not_null { (0, 0) } else { (1, 1) };
            assert_eq!((left, cleared), expected, "{} {file}", db.label());
        }
    }
}
