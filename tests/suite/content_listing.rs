//! `steward references`: the content manifests may refer to, listed from the metadata database,
//! compared with what Superset itself holds (its REST API on the real Superset 6.1 on
//! PostgreSQL; the tables read independently on a SQLite database from `init --demo`), and names
//! carrying terminal control sequences shown escaped.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::services::{ScratchPg, env, psql, python, steward_ok};
use crate::superset_api::{Superset, exclusive, s};

/// The permissions a role's `dataAccess` grants: listed as databases, schemas and datasets.
const DATA_ACCESS: [&str; 5] = [
    "database_access",
    "schema_access",
    "datasource_access",
    "all_database_access",
    "all_datasource_access",
];

/// What a listing names, as sets comparable with another source.
#[derive(Debug, PartialEq, Default)]
struct Listed {
    databases: BTreeSet<String>,
    schemas: BTreeSet<String>,
    datasets: BTreeSet<(String, String)>,
    charts: BTreeSet<(String, String)>,
    dashboards: BTreeSet<(String, String, String)>,
    permissions: BTreeSet<(String, String)>,
}

fn opt(v: &Value) -> String {
    v.as_str().unwrap_or("-").to_owned()
}

fn listed(url: &str) -> Listed {
    let json: Value = serde_json::from_str(&steward_ok(
        &["references", "--database", url, "-o", "json"],
        0,
    ))
    .unwrap();
    assert_eq!(json["schemaVersion"], 1);
    let rows = |key: &str| json[key].as_array().unwrap().clone();
    let mut out = Listed {
        databases: rows("databases").iter().map(|d| s(&d["name"])).collect(),
        schemas: rows("schemas").iter().map(|d| s(&d["reference"])).collect(),
        datasets: rows("datasets")
            .iter()
            .map(|d| (s(&d["reference"]), opt(&d["uuid"])))
            .collect(),
        charts: rows("charts")
            .iter()
            .map(|c| (s(&c["uuid"]), s(&c["name"])))
            .collect(),
        dashboards: rows("dashboards")
            .iter()
            .map(|d| (s(&d["uuid"]), opt(&d["slug"]), opt(&d["title"])))
            .collect(),
        permissions: rows("rawPermissions")
            .iter()
            .map(|p| (s(&p["permission"]), s(&p["view"])))
            .collect(),
    };
    for view in rows("viewPermissions") {
        for action in view["actions"].as_array().unwrap() {
            out.permissions
                .insert((format!("can_{}", s(action)), s(&view["view"])));
        }
    }
    // Counts match the sets: nothing listed twice.
    for (key, n) in [
        ("databases", out.databases.len()),
        ("datasets", out.datasets.len()),
        ("charts", out.charts.len()),
        ("dashboards", out.dashboards.len()),
    ] {
        assert_eq!(rows(key).len(), n, "{key} listed twice");
    }
    out
}

#[test]
fn lists_exactly_what_the_real_superset_holds() {
    let _superset = exclusive();
    let ss = Superset::connect();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    let listed = listed(&url);
    let mut rest = Listed::default();
    for db in ss.list("/api/v1/database/", "database_name") {
        rest.databases.insert(s(&db["database_name"]));
        let id = db["id"].as_i64().unwrap();
        let schemas = ss.get(&format!("/api/v1/database/{id}/schemas/"), None);
        for schema in schemas["result"].as_array().unwrap() {
            rest.schemas
                .insert(format!("{}.{}", s(&db["database_name"]), s(schema)));
        }
    }
    for ds in ss.list("/api/v1/dataset/", "table_name") {
        let reference = format!(
            "{}.{}.{}",
            s(&ds["database"]["database_name"]),
            s(&ds["schema"]),
            s(&ds["table_name"])
        );
        rest.datasets.insert((reference, s(&ds["uuid"])));
    }
    for chart in ss.list("/api/v1/chart/", "slice_name") {
        rest.charts
            .insert((s(&chart["uuid"]), s(&chart["slice_name"])));
    }
    for dash in ss.list("/api/v1/dashboard/", "dashboard_title") {
        rest.dashboards.insert((
            s(&dash["uuid"]),
            opt(&dash["slug"]),
            opt(&dash["dashboard_title"]),
        ));
    }
    for pair in ss.list("/api/v1/security/permissions-resources/", "id") {
        let permission = s(&pair["permission"]["name"]);
        if !DATA_ACCESS.contains(&permission.as_str()) {
            rest.permissions
                .insert((permission, s(&pair["view_menu"]["name"])));
        }
    }
    assert!(
        !rest.datasets.is_empty() && !rest.charts.is_empty() && !rest.dashboards.is_empty(),
        "the seeded Superset holds content: {rest:?}"
    );
    assert_eq!(listed, rest);
    // The text listing names the same things.
    let text = steward_ok(&["references", "--database", &url], 0);
    for (uuid, name) in &rest.charts {
        assert!(
            text.contains(uuid) && text.contains(name.as_str()),
            "{text}"
        );
    }
    for (reference, uuid) in &rest.datasets {
        assert!(text.contains(reference) && text.contains(uuid), "{text}");
    }
}

/// The demo database's content read with Python's sqlite3, independently of steward.
fn sqlite_content(file: &std::path::Path) -> Listed {
    let script = r#"
import sqlite3, sys, uuid, json
c = sqlite3.connect(sys.argv[1])
def u(v):
    return str(uuid.UUID(bytes=v)) if isinstance(v, bytes) else str(uuid.UUID(v))
dbs = dict(c.execute("select id, database_name from dbs"))
out = {
 "databases": sorted(dbs.values()),
 "datasets": [[f"{dbs[d]}.{s or ''}.{t}", u(x)] for d, s, t, x in c.execute("select database_id, schema, table_name, uuid from tables")],
 "charts": [[u(x), n] for x, n in c.execute("select uuid, slice_name from slices")],
 "dashboards": [[u(x), s or '-', t or '-'] for x, s, t in c.execute("select uuid, slug, dashboard_title from dashboards")],
 "permissions": [[p, v] for p, v in c.execute("select p.name, v.name from ab_permission_view pv join ab_permission p on p.id = pv.permission_id join ab_view_menu v on v.id = pv.view_menu_id")],
 "schemas": sorted({f"{dbs[d]}.{s}" for d, s in c.execute("select database_id, schema from tables") if s}),
}
print(json.dumps(out))
"#;
    let v: Value = serde_json::from_str(&python(script, &[file.to_str().unwrap()])).unwrap();
    let pairs = |key: &str| -> BTreeSet<(String, String)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (s(&p[0]), s(&p[1])))
            .filter(|(p, _)| key != "permissions" || !DATA_ACCESS.contains(&p.as_str()))
            .collect()
    };
    Listed {
        databases: v["databases"].as_array().unwrap().iter().map(s).collect(),
        schemas: v["schemas"].as_array().unwrap().iter().map(s).collect(),
        datasets: pairs("datasets"),
        charts: pairs("charts"),
        dashboards: v["dashboards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (s(&d[0]), s(&d[1]), s(&d[2])))
            .collect(),
        permissions: pairs("permissions"),
    }
}

fn demo_database() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.db");
    let url = format!("sqlite://{}", file.display());
    steward_ok(&["init", "--demo", "--database", &url], 0);
    (dir, file, url)
}

#[test]
fn lists_exactly_what_a_demo_sqlite_database_holds() {
    let (_dir, file, url) = demo_database();
    let listed = listed(&url);
    let expected = sqlite_content(&file);
    assert!(!expected.charts.is_empty(), "{expected:?}");
    // Schemas: those of the datasets, and any granted by a schema_access permission.
    assert!(listed.schemas.is_superset(&expected.schemas));
    assert_eq!(
        Listed {
            schemas: expected.schemas.clone(),
            ..listed
        },
        expected
    );
}

/// Names a Superset user can give content, with escape sequences, line breaks and direction
/// overrides: (table, column, name, how the text listing shows it).
const HOSTILE: [(&str, &str, &str, &str); 4] = [
    (
        "slices",
        "slice_name",
        "Revenue\u{1b}[2J\u{1b}]0;owned\u{7}",
        "Revenue\\u{1b}[2J\\u{1b}]0;owned\\u{7}",
    ),
    (
        "dashboards",
        "dashboard_title",
        "Audit\r\nSchemas (0) — forged",
        "Audit\\r\\nSchemas (0) — forged",
    ),
    (
        "dashboards",
        "slug",
        "slug\u{9b}31m\u{202e}txt.exe",
        "slug\\u{9b}31m\\u{202e}txt.exe",
    ),
    (
        "tables",
        "table_name",
        "orders\u{8}\u{8}\u{8}\u{7f}x",
        "orders\\u{8}\\u{8}\\u{8}\\u{7f}x",
    ),
];

/// Lists `url`, whose content was given the [`HOSTILE`] names, and checks both outputs.
fn check_hostile_names(url: &str) {
    let text = steward_ok(&["references", "--database", url], 0);
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{text:?}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("Schemas (0)")),
        "{text}"
    );
    for (_, _, _, shown) in HOSTILE {
        assert!(text.contains(shown), "{shown} not in {text}");
    }
    let listed = listed(url);
    for (_, _, value, _) in HOSTILE {
        let found = listed.charts.iter().any(|(_, n)| n == value)
            || listed
                .dashboards
                .iter()
                .any(|(_, slug, title)| slug == value || title == value)
            || listed.datasets.iter().any(|(r, _)| r.ends_with(value));
        assert!(found, "{value:?} not listed exactly in JSON");
    }
}

#[test]
fn hostile_names_are_escaped_in_text_and_exact_in_json_sqlite() {
    let (_dir, file, url) = demo_database();
    for (table, column, value, _) in HOSTILE {
        python(
            &format!(
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('update {table} set {column} = ? where id = (select min(id) from {table})', (sys.argv[2],)); c.commit()"
            ),
            &[file.to_str().unwrap(), value],
        );
    }
    check_hostile_names(&url);
}

#[test]
fn hostile_names_are_escaped_in_text_and_exact_in_json_postgres() {
    // A copy of the real Superset's database, its content renamed as a hostile user could.
    let pg = {
        let _superset = exclusive();
        ScratchPg::dumped_from("references", &env("STEWARD_TEST_SUPERSET_DB_URL"))
    };
    for (table, column, value, _) in HOSTILE {
        let literal: String = value
            .chars()
            .map(|c| format!("\\{:04X}", c as u32))
            .collect();
        psql(
            &pg.url,
            &format!(
                "UPDATE {table} SET {column} = U&'{literal}' WHERE id = (SELECT min(id) FROM {table})"
            ),
        );
    }
    check_hostile_names(&pg.url);
}

#[test]
fn an_unreachable_database_exits_3() {
    let out = crate::services::steward(&[
        "references",
        "--database",
        "postgres://nobody@127.0.0.1:1/nothing",
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(out.stdout.is_empty());
}
