//! `steward init --demo` seeds what Superset itself makes for the same content: the live
//! Superset 6.1 of `scripts/services.sh`, seeded through its REST API with the examples' content
//! (`scripts/superset_seed.py`), is the reference. Compared, on both metadata backends: the view
//! menus and permission views created for the content (and any role granted one), the rows of
//! the database, datasets, charts and dashboards (the columns Superset fills without looking
//! into the warehouse). Not compared: what Superset reads from the warehouse (columns,
//! metrics), owners (the user who called the API), and which charts sit on which dashboard
//! (`dashboard_slices` is not in steward's SQLite schema, and steward reads none of these).
//! Ids differ between the two databases: each `(id:N)` is replaced by the name of the object
//! that owns the id.

use std::collections::BTreeSet;

use steward::store::demo::DemoContent;

use crate::services::{Db, env, psql, steward_ok};

/// `col` as `true`, `false` or `null` on both backends.
fn flag(col: &str) -> String {
    format!("CASE WHEN {col} IS NULL THEN 'null' WHEN {col} THEN 'true' ELSE 'false' END")
}

/// `col` as text, `null` for NULL, on both backends.
fn text(col: &str) -> String {
    format!("COALESCE({col}, 'null')")
}

/// The rows a query returns, split into columns (`|`-separated on both backends).
fn rows(sql: &dyn Fn(&str) -> String, query: &str) -> Vec<Vec<String>> {
    sql(query)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

/// Replaces each `(id:N)` of a content view-menu name with the name of its owner.
struct Ids {
    /// `(what Superset writes, what it is replaced with)`.
    views: Vec<(String, String)>,
}

impl Ids {
    fn read(sql: &dyn Fn(&str) -> String, databases: &[String]) -> Ids {
        let names = quoted(databases);
        let mut views = Vec::new();
        for r in rows(
            sql,
            &format!("SELECT id, database_name FROM dbs WHERE database_name IN ({names})"),
        ) {
            views.push((
                format!("[{}].(id:{})", r[1], r[0]),
                format!("[{}].(id:<database {}>)", r[1], r[1]),
            ));
        }
        for r in rows(
            sql,
            &format!(
                "SELECT t.id, d.database_name, t.schema, t.table_name FROM tables t \
                 JOIN dbs d ON d.id = t.database_id WHERE d.database_name IN ({names})"
            ),
        ) {
            views.push((
                format!("[{}].[{}](id:{})", r[1], r[3], r[0]),
                format!(
                    "[{}].[{}](id:<dataset {}.{}.{}>)",
                    r[1], r[3], r[1], r[2], r[3]
                ),
            ));
        }
        // Longest first: `[db].[t](id:1)` before a shorter name it contains.
        views.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Ids { views }
    }

    fn normalise(&self, line: &str) -> String {
        let mut out = line.to_owned();
        for (from, to) in &self.views {
            out = out.replace(from, to);
        }
        out
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one metadata database holds for the examples' content, one fact a line, ids replaced.
fn content_facts(sql: &dyn Fn(&str) -> String) -> BTreeSet<String> {
    let content = DemoContent::examples();
    let databases: Vec<String> = content.databases.iter().map(|d| d.name.clone()).collect();
    let slugs: Vec<String> = content.dashboards.iter().map(|d| d.0.clone()).collect();
    let (names, slugs) = (quoted(&databases), quoted(&slugs));
    let ids = Ids::read(sql, &databases);
    // The view menus of the content: `[database].…`.
    let content_view = databases
        .iter()
        .map(|d| format!("v.name LIKE '[{}].%'", d.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" OR ");
    let dataset = "d.database_name || '.' || t.schema || '.' || t.table_name";
    let queries = [
        (
            "view menu",
            format!("SELECT v.name FROM ab_view_menu v WHERE {content_view}"),
        ),
        (
            "permission view",
            format!(
                "SELECT p.name, v.name FROM ab_permission_view pv \
                 JOIN ab_permission p ON p.id = pv.permission_id \
                 JOIN ab_view_menu v ON v.id = pv.view_menu_id WHERE {content_view}"
            ),
        ),
        (
            "granted",
            format!(
                "SELECT r.name, p.name, v.name FROM ab_permission_view_role pvr \
                 JOIN ab_role r ON r.id = pvr.role_id \
                 JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id \
                 JOIN ab_permission p ON p.id = pv.permission_id \
                 JOIN ab_view_menu v ON v.id = pv.view_menu_id WHERE {content_view}"
            ),
        ),
        (
            "database",
            format!(
                "SELECT database_name, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM dbs \
                 WHERE database_name IN ({names})",
                flag("expose_in_sqllab"),
                flag("allow_ctas"),
                flag("allow_cvas"),
                flag("allow_dml"),
                flag("allow_run_async"),
                flag("allow_file_upload"),
                flag("select_as_create_table_as"),
                flag("impersonate_user"),
                flag("is_managed_externally"),
                text("configuration_method"),
                text("verbose_name"),
            ),
        ),
        (
            "dataset",
            format!(
                "SELECT {dataset}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} FROM tables t \
                 JOIN dbs d ON d.id = t.database_id WHERE d.database_name IN ({names})",
                text("t.perm"),
                text("t.schema_perm"),
                text("t.catalog"),
                text("t.catalog_perm"),
                text("t.sql"),
                flag("t.is_sqllab_view"),
                flag("t.filter_select_enabled"),
                flag("t.normalize_columns"),
                flag("t.always_filter_main_dttm"),
                flag("t.is_managed_externally"),
            ),
        ),
        (
            "chart",
            format!(
                // Not `query_context`: the test seed saves one as the chart editor does (the
                // executor's tests compute CSVs from it); steward's demo charts have none.
                "SELECT s.slice_name, {dataset}, {}, {}, {}, {}, {}, {} FROM slices s \
                 JOIN tables t ON t.id = s.datasource_id AND s.datasource_type = 'table' \
                 JOIN dbs d ON d.id = t.database_id WHERE d.database_name IN ({names})",
                text("s.viz_type"),
                text("s.datasource_name"),
                text("s.perm"),
                text("s.schema_perm"),
                text("s.catalog_perm"),
                flag("s.is_managed_externally"),
            ),
        ),
        (
            "dashboard",
            format!(
                "SELECT slug, {}, {}, {}, {}, {} FROM dashboards WHERE slug IN ({slugs})",
                text("dashboard_title"),
                flag("published"),
                text("position_json"),
                text("json_metadata"),
                flag("is_managed_externally"),
            ),
        ),
    ];
    let mut facts = BTreeSet::new();
    for (what, query) in queries {
        for row in rows(sql, &query) {
            facts.insert(ids.normalise(&format!("{what}: {}", row.join(" | "))));
        }
    }
    // The database's engine and its database on the server (host, port and user differ).
    for r in rows(
        sql,
        &format!("SELECT database_name, sqlalchemy_uri FROM dbs WHERE database_name IN ({names})"),
    ) {
        let (scheme, rest) = r[1].split_once("://").unwrap_or((&r[1], ""));
        let path = rest.rsplit_once('/').map_or("", |(_, p)| p);
        facts.insert(format!("database uri: {} | {scheme} | {path}", r[0]));
    }
    // `dbs.extra` as JSON (Superset writes it over several lines).
    for database in &databases {
        let extra = sql(&format!(
            "SELECT {} FROM dbs WHERE database_name = {}",
            text("extra"),
            quoted(std::slice::from_ref(database))
        ));
        facts.insert(format!(
            "database extra: {database} | {}",
            json_text(extra.trim())
        ));
    }
    facts
}

/// A JSON text in one canonical form; anything else as it is.
fn json_text(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map_or_else(|_| text.to_owned(), |v| v.to_string())
}

#[test]
fn init_demo_seeds_what_superset_makes_for_the_same_content() {
    // The reference: the live Superset's metadata DB, seeded through its REST API.
    let superset_db = env("STEWARD_TEST_SUPERSET_DB_URL");
    let superset = content_facts(&|q: &str| psql(&superset_db, q));
    // The reference holds the content, and every id in it was named.
    for what in [
        "view menu",
        "permission view",
        "dataset",
        "chart",
        "dashboard",
    ] {
        assert!(
            superset.iter().any(|f| f.starts_with(&format!("{what}: "))),
            "Superset holds no {what} for the examples' content:\n{superset:#?}"
        );
    }
    let unnamed: Vec<&String> = superset
        .iter()
        .filter(|f| f.contains("(id:") && !f.contains("(id:<"))
        .collect();
    assert!(unnamed.is_empty(), "ids without an owner: {unnamed:#?}");

    // The same content made by Superset on SQLite (and the PostgreSQL copy the suite uses) is
    // the same, and so is steward's seed on every backend.
    let made_by_superset = Db::superset_content("demo_reference");
    let seeded_by_steward = Db::each_backend("demo_content");
    for db in &seeded_by_steward {
        steward_ok(&["init", "--demo", "--database", &db.url()], 0);
    }
    for (who, db) in made_by_superset
        .iter()
        .map(|db| ("Superset's content in", db))
        .chain(seeded_by_steward.iter().map(|db| ("`init --demo` on", db)))
    {
        let facts = content_facts(&|q: &str| db.sql(q));
        let missing: Vec<&String> = superset.difference(&facts).collect();
        let extra: Vec<&String> = facts.difference(&superset).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{who} {} differs from what Superset made for the same content\n\
             only in Superset:\n{missing:#?}\nonly in {}:\n{extra:#?}",
            db.label(),
            db.label()
        );
    }
}

/// The permission catalogue as lines (permissions, view menus, permission views, and the roles
/// granted each), ids replaced as in [`content_facts`].
fn permission_catalogue(sql: &dyn Fn(&str) -> String) -> BTreeSet<String> {
    let databases: Vec<String> = DemoContent::examples()
        .databases
        .into_iter()
        .map(|d| d.name)
        .collect();
    let ids = Ids::read(sql, &databases);
    let pair = "FROM ab_permission_view pv JOIN ab_permission p ON p.id = pv.permission_id \
                JOIN ab_view_menu v ON v.id = pv.view_menu_id";
    let queries = [
        ("permission", "SELECT name FROM ab_permission".to_owned()),
        ("view menu", "SELECT name FROM ab_view_menu".to_owned()),
        ("permission view", format!("SELECT p.name, v.name {pair}")),
        (
            "granted",
            format!(
                "SELECT r.name, p.name, v.name {pair} \
                 JOIN ab_permission_view_role pvr ON pvr.permission_view_id = pv.id \
                 JOIN ab_role r ON r.id = pvr.role_id"
            ),
        ),
    ];
    let mut lines = BTreeSet::new();
    for (what, query) in queries {
        for row in rows(sql, &query) {
            lines.insert(ids.normalise(&format!("{what}: {}", row.join(" | "))));
        }
    }
    lines
}

/// What the content added to the permission catalogue: `after` less `before`.
fn added(before: &Db, after: &Db) -> BTreeSet<String> {
    let before = permission_catalogue(&|q: &str| before.sql(q));
    permission_catalogue(&|q: &str| after.sql(q))
        .difference(&before)
        .cloned()
        .collect()
}

#[test]
fn init_demo_adds_to_the_permission_catalogue_what_superset_adds() {
    // Superset: its metadata DBs before and after the REST API made the content.
    let content = Db::superset_content("demo_catalogue");
    let by_superset = added(&Db::pg("demo_pristine"), &content[1]);
    assert!(
        by_superset
            .iter()
            .any(|l| l.starts_with("permission view: catalog_access | ")),
        "{by_superset:#?}"
    );
    let on_sqlite = added(&Db::sqlite_superset(), &content[0]);
    assert_eq!(
        on_sqlite, by_superset,
        "Superset adds the same on SQLite and PostgreSQL"
    );
    // steward: every backend, before and after `init --demo`.
    for db in Db::each_backend("demo_catalogue") {
        steward_ok(&["init", "--database", &db.url()], 0);
        let before = db.copy("demo_before");
        steward_ok(&["init", "--demo", "--database", &db.url()], 0);
        let by_steward = added(&before, &db);
        let missing: Vec<&String> = by_superset.difference(&by_steward).collect();
        let extra: Vec<&String> = by_steward.difference(&by_superset).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: `init --demo` adds to the permission catalogue not what Superset adds\n\
             only Superset's:\n{missing:#?}\nonly steward's:\n{extra:#?}",
            db.label()
        );
    }
}
