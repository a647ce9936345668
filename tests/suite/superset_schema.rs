//! steward's embedded copy of Superset 6.1's SQLite schema and built-in catalogue, compared with
//! what Superset itself makes (`scripts/services.sh` runs Superset's own `db upgrade` +
//! `fab create-admin` + `init` on a SQLite file, then seeds a copy through its REST API).

use crate::services::Db;

/// Names of the content Superset made through its REST API, as `kind: name` lines, sorted.
fn superset_made_content(db: &Db) -> Vec<String> {
    let mut names: Vec<String> = [
        ("database", "SELECT database_name FROM dbs"),
        ("dataset", "SELECT schema || '.' || table_name FROM tables"),
        ("chart", "SELECT slice_name FROM slices"),
        (
            "dashboard",
            "SELECT slug || ' ' || dashboard_title FROM dashboards",
        ),
    ]
    .iter()
    .flat_map(|(kind, sql)| {
        db.sql(sql)
            .lines()
            .map(|name| format!("{kind}: {name}"))
            .collect::<Vec<_>>()
    })
    .collect();
    names.sort();
    names
}

#[test]
fn superset_made_the_same_content_on_sqlite_and_postgres() {
    let dbs = Db::superset_content("content_names");
    let [sqlite, pg] = [&dbs[0], &dbs[1]].map(superset_made_content);
    assert_eq!(sqlite, pg, "{} vs {}", dbs[0].label(), dbs[1].label());
    for kind in ["database", "dataset", "chart", "dashboard"] {
        assert!(
            sqlite.iter().any(|n| n.starts_with(&format!("{kind}: "))),
            "no {kind} in Superset's content: {sqlite:?}"
        );
    }
}
