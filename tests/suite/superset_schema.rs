//! steward against SQLite metadata databases Superset 6.1 made itself (`scripts/services.sh` runs
//! Superset's own `db upgrade` + `fab create-admin` + `init` on a SQLite file, then seeds a copy
//! through its REST API): the embedded schema and built-in catalogue compared with Superset's
//! (and shown to notice any line or row removed), values stored as Superset stores them, and
//! Superset's content read alike on SQLite and PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use steward::store::bootstrap;

use crate::repo_path;
use crate::services::{Db, env, python, steward_ok};

/// The content Superset made through its REST API, read from its tables: `kind name uuid`
/// lines (uuid as 32 lowercase hex digits).
fn content_rows(db: &Db) -> BTreeSet<String> {
    let hex = |table: &str| match db {
        Db::Sqlite { .. } => format!("lower(hex({table}.uuid))"),
        Db::Pg(_) => format!("replace({table}.uuid::text, '-', '')"),
    };
    let queries = [
        (
            "dataset",
            format!(
                "SELECT d.database_name || '.' || t.schema || '.' || t.table_name || ' ' || {} \
                 FROM tables t JOIN dbs d ON d.id = t.database_id",
                hex("t")
            ),
        ),
        (
            "chart",
            format!("SELECT s.slice_name || ' ' || {} FROM slices s", hex("s")),
        ),
        (
            "dashboard",
            format!(
                "SELECT d.slug || ' ' || d.dashboard_title || ' ' || {} FROM dashboards d",
                hex("d")
            ),
        ),
    ];
    queries
        .iter()
        .flat_map(|(kind, sql)| {
            db.sql(sql)
                .lines()
                .map(|row| format!("{kind} {row}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The same content as `steward references` lists it.
fn content_listed(db: &Db) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(&steward_ok(
        &["references", "--database", &db.url(), "-o", "json"],
        0,
    ))
    .unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().replace('-', "");
    let items = |key: &str| json[key].as_array().unwrap().clone();
    let mut out = BTreeSet::new();
    for d in items("datasets") {
        out.insert(format!(
            "dataset {} {}",
            d["reference"].as_str().unwrap(),
            text(&d["uuid"])
        ));
    }
    for c in items("charts") {
        out.insert(format!(
            "chart {} {}",
            c["name"].as_str().unwrap(),
            text(&c["uuid"])
        ));
    }
    for d in items("dashboards") {
        out.insert(format!(
            "dashboard {} {} {}",
            d["slug"].as_str().unwrap(),
            d["title"].as_str().unwrap(),
            text(&d["uuid"])
        ));
    }
    out
}

/// The content Superset made is the same on both backends, and steward lists it as Superset's
/// tables hold it (uuids stored by Superset as 16 bytes on SQLite, as `uuid` on PostgreSQL).
#[test]
fn steward_reads_the_content_superset_made_on_either_backend() {
    let dbs = Db::superset_content("content_names");
    let names = |rows: &BTreeSet<String>| -> BTreeSet<String> {
        rows.iter()
            .map(|r| r.rsplit_once(' ').unwrap().0.to_owned())
            .collect()
    };
    let rows: Vec<BTreeSet<String>> = dbs.iter().map(content_rows).collect();
    assert_eq!(
        names(&rows[0]),
        names(&rows[1]),
        "sqlite-superset vs postgres"
    );
    for kind in ["dataset", "chart", "dashboard"] {
        assert!(
            rows[0].iter().any(|n| n.starts_with(&format!("{kind} "))),
            "no {kind} in Superset's content: {:?}",
            rows[0]
        );
    }
    for (db, rows) in dbs.iter().zip(&rows) {
        assert_eq!(&content_listed(db), rows, "{}", db.label());
    }
}

/// Superset 6.1's tables that steward's embedded schema leaves out: it creates only the tables it
/// reads and writes (`store/schema/sqlite-superset-6.1.sql`), and finds the rows referring to a
/// user by introspection, so these need not exist in its own file. A table Superset adds, or one
/// it drops, fails the comparison until this list or the schema follows.
const NOT_EMBEDDED: [&str; 30] = [
    "ab_api_key",
    "ab_register_user",
    "alembic_version",
    "annotation",
    "annotation_layer",
    "cache_keys",
    "css_templates",
    "dashboard_slices",
    "dashboard_user",
    "database_user_oauth2_tokens",
    "dynamic_plugin",
    "embedded_dashboards",
    "favstar",
    "keyvalue",
    "logs",
    "query",
    "saved_query",
    "slice_user",
    "sql_metrics",
    "sqlatable_user",
    "ssh_tunnels",
    "tab_state",
    "table_columns",
    "table_schema",
    "tag",
    "tagged_object",
    "task_subscribers",
    "tasks",
    "user_attribute",
    "user_favorite_tag",
];

/// Rows Superset's own set-up writes that steward's does not: `fab create-admin`'s `admin` (and
/// its role), and the two system themes Superset's `init` syncs from its config (steward never
/// reads or writes themes; `dashboards.theme_id` may be NULL).
const NOT_SEEDED: [&str; 3] = ["ab_user", "ab_user_role", "themes"];

/// Runs `superset_schema.py` in `mode`; its output lines.
fn describe(mode: &str, args: &[&str]) -> Vec<String> {
    python(
        include_str!("superset_schema.py"),
        &[&[mode], args].concat(),
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The SQLite file Superset 6.1 made (`db upgrade`, `fab create-admin`, `init`).
fn superset_made() -> String {
    env("STEWARD_TEST_SUPERSET_SQLITE")
}

/// A new SQLite file with what steward creates in an empty one (Superset's tables and
/// catalogue; not steward's own migrations, which are not Superset's).
fn steward_made() -> (tempfile::TempDir, String) {
    use steward::store::{DatabaseUrl, Store};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("steward.db").display().to_string();
    let url = DatabaseUrl::new(format!("sqlite://{file}"));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = Store::connect(&url, true).await.unwrap();
            let mut tx = store.write(|| {}).await.unwrap();
            let made = bootstrap::ensure_superset(&mut tx, true).await.unwrap();
            assert_eq!(made, bootstrap::Bootstrap::Created);
            tx.commit().await.unwrap();
            store.close().await;
        });
    (dir, file)
}

#[test]
fn the_embedded_schema_is_what_superset_makes_on_sqlite() {
    let (_dir, ours) = steward_made();
    let difference = describe(
        "schema",
        &[&ours, &superset_made(), &NOT_EMBEDDED.join(",")],
    );
    assert!(
        difference.is_empty(),
        "steward's embedded schema (src/store/schema/sqlite-superset-6.1.sql) differs from the \
         SQLite schema Superset's `db upgrade` made:\n{}",
        difference.join("\n")
    );
}

#[test]
fn removing_any_line_of_the_embedded_schema_is_noticed() {
    let schema = repo_path("src/store/schema/sqlite-superset-6.1.sql");
    assert_eq!(
        std::fs::read_to_string(&schema).unwrap(),
        bootstrap::SQLITE_SCHEMA
    );
    let unnoticed = describe(
        "sensitivity",
        &[&schema, &superset_made(), &NOT_EMBEDDED.join(",")],
    );
    assert!(
        unnoticed.is_empty(),
        "the schema comparison does not notice these lines removed:\n{}",
        unnoticed.join("\n")
    );
}

/// The catalogue as `superset_schema.py catalogue` prints it.
fn catalogue_lines(c: &bootstrap::Catalogue) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = c
        .permissions
        .iter()
        .map(|p| format!("permission\t{p}"))
        .collect();
    out.extend(c.view_menus.iter().map(|v| format!("view_menu\t{v}")));
    out.extend(
        c.permission_views
            .iter()
            .map(|(p, v)| format!("permission_view\t{p}\t{v}")),
    );
    out.extend(
        c.grants
            .iter()
            .map(|(r, p, v)| format!("grant\t{r}\t{p}\t{v}")),
    );
    out.extend(
        steward::resources::BUILTIN_ROLES
            .iter()
            .map(|r| format!("role\t{r}")),
    );
    out
}

/// What is in one set and not the other, for assertion messages.
fn set_difference(superset: &BTreeSet<String>, steward: &BTreeSet<String>) -> String {
    let mut lines: Vec<String> = superset
        .difference(steward)
        .take(20)
        .map(|l| format!("- superset: {l}"))
        .collect();
    lines.extend(
        steward
            .difference(superset)
            .take(20)
            .map(|l| format!("+ steward:  {l}")),
    );
    lines.join("\n")
}

fn superset_catalogue() -> BTreeSet<String> {
    let lines: BTreeSet<String> = describe("catalogue", &[&superset_made()])
        .into_iter()
        .collect();
    for kind in [
        "permission",
        "view_menu",
        "permission_view",
        "grant",
        "role",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{kind}\t"))),
            "no {kind} in Superset's catalogue"
        );
    }
    lines
}

#[test]
fn the_builtin_catalogue_is_what_superset_init_makes_on_sqlite() {
    let superset = superset_catalogue();
    let (_dir, ours) = steward_made();
    let seeded: BTreeSet<String> = describe("catalogue", &[&ours]).into_iter().collect();
    assert!(
        superset == seeded,
        "the catalogue steward seeds (src/store/seed/) differs from what Superset's `init` made \
         (every permission, view menu, permission view, role and (role, permission, view)):\n{}",
        set_difference(&superset, &seeded)
    );
    assert_eq!(
        catalogue_lines(&bootstrap::builtin_catalogue()),
        seeded,
        "the seeder wrote what the catalogue says"
    );
    // Nor any other row, except what `create-admin` and the themes make.
    let counts = |file: &str| -> BTreeSet<String> {
        describe("counts", &[file])
            .into_iter()
            .filter(|l| !NOT_SEEDED.contains(&l.split('\t').next().unwrap()))
            .collect()
    };
    let ours_counts = counts(&ours);
    let theirs: BTreeSet<String> = counts(&superset_made())
        .into_iter()
        .filter(|l| !NOT_EMBEDDED.contains(&l.split('\t').next().unwrap()))
        .collect();
    assert!(
        theirs == ours_counts,
        "rows per table differ:\n{}",
        set_difference(&theirs, &ours_counts)
    );
}

#[test]
fn removing_any_row_of_the_builtin_catalogue_is_noticed() {
    let superset = superset_catalogue();
    let roles = bootstrap::BUILTIN_ROLES;
    let bare = bootstrap::BARE_VIEW_MENUS;
    assert_eq!(
        catalogue_lines(&bootstrap::catalogue(roles, bare)),
        superset,
        "the unchanged catalogue already differs"
    );
    let without = |text: &str, i: usize| -> String {
        let lines: Vec<&str> = text.lines().collect();
        [&lines[..i], &lines[i + 1..]].concat().join("\n")
    };
    let data = |text: &'static str| {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    let mut unnoticed = Vec::new();
    for i in data(roles) {
        let edited = without(roles, i);
        if catalogue_lines(&bootstrap::catalogue(&edited, bare)) == superset {
            unnoticed.push(format!("roles line {}", i + 1));
        }
    }
    for i in data(bare) {
        let edited = without(bare, i);
        if catalogue_lines(&bootstrap::catalogue(roles, &edited)) == superset {
            unnoticed.push(format!("bare view menus line {}", i + 1));
        }
    }
    assert!(unnoticed.is_empty(), "not noticed: {unnoticed:?}");
    assert!(!data(roles).is_empty() && !data(bare).is_empty());
}

/// `(type family, shape)` → columns, of every non-NULL value in a SQLite file.
fn value_shapes(file: &str) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in describe("shapes", &[file]) {
        let mut parts = line.split('\t').map(str::to_owned);
        let (Some(family), Some(shape), Some(column)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("shapes: {line}")
        };
        out.entry((family, shape)).or_default().insert(column);
    }
    out
}

/// Values steward wrote are stored as Superset's SQLAlchemy stores values of the same declared
/// type on SQLite (datetimes as `YYYY-MM-DD HH:MM:SS.ffffff` text, booleans as 0/1, uuids as 16
/// bytes): Superset reads, sorts and compares them as it does its own.
#[test]
fn steward_stores_values_as_superset_does_on_sqlite() {
    let theirs = value_shapes(&env("STEWARD_TEST_SUPERSET_SQLITE_CONTENT"));
    let families: BTreeSet<&str> = theirs.keys().map(|(f, _)| f.as_str()).collect();
    for family in ["datetime", "boolean", "uuid"] {
        assert!(
            families.contains(family),
            "Superset wrote no {family}: {theirs:?}"
        );
    }
    let superset_content = Db::sqlite_superset_content();
    let steward_made = Db::sqlite();
    steward_ok(&["init", "--demo", "--database", &steward_made.url()], 0);
    for db in [superset_content, steward_made] {
        steward_ok(
            &["apply", &repo_path("examples"), "--database", &db.url()],
            0,
        );
        let Db::Sqlite { file, .. } = &db else {
            unreachable!()
        };
        let ours = value_shapes(&file.display().to_string());
        let unlike: Vec<String> = ours
            .iter()
            .filter(|((family, _), _)| families.contains(family.as_str()))
            .filter(|(key, _)| !theirs.contains_key(*key))
            .map(|((family, shape), columns)| {
                let superset: Vec<&str> = theirs
                    .keys()
                    .filter(|(f, _)| f == family)
                    .map(|(_, s)| s.as_str())
                    .collect();
                format!("{family} stored as {shape} (Superset: {superset:?}) in {columns:?}")
            })
            .collect();
        assert!(
            unlike.is_empty(),
            "{}: steward stores values unlike Superset:\n{}",
            db.label(),
            unlike.join("\n")
        );
        assert!(
            ours.iter()
                .any(|((family, _), columns)| family == "datetime"
                    && columns.contains("report_schedule.changed_on")),
            "{}: steward wrote no datetime to compare",
            db.label()
        );
    }
}
