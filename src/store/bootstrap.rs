//! Making sure the database is a Superset metadata database. A new, empty SQLite file (the
//! embedded default) gets Superset 6.1's tables, permission catalogue and built-in roles, as
//! `superset db upgrade` + `superset init` would create them. Anything else that lacks
//! Superset's tables is refused; an existing Superset database is never altered here.

use super::StoreError;
use super::sql::{Dialect, Tx, Ty, Value};

/// Superset 6.1's metadata tables steward uses, as Superset creates them on SQLite.
pub const SQLITE_SCHEMA: &str = include_str!("schema/sqlite-superset-6.1.sql");

/// Superset 6.1's built-in roles and their permission pairs (`role\tpermission\tview`).
pub const BUILTIN_ROLES: &str = include_str!("seed/superset-6.1-roles.tsv");

/// The view menus Superset 6.1's `init` makes with no permission on them, one per line.
pub const BARE_VIEW_MENUS: &str = include_str!("seed/superset-6.1-bare-view-menus.txt");

/// Tables whose absence means "not a Superset metadata database".
const REQUIRED: [&str; 6] = [
    "ab_role",
    "ab_user",
    "ab_permission_view",
    "row_level_security_filters",
    "report_schedule",
    "tables",
];

/// What [`ensure_superset`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// The database already held Superset's tables.
    Existing,
    /// An empty SQLite database was given Superset's tables and catalogue.
    Created,
}

/// Checks for Superset's tables; creates them in an empty SQLite database when `create` is set.
pub async fn ensure_superset(tx: &mut Tx, create: bool) -> Result<Bootstrap, StoreError> {
    let mut missing = Vec::new();
    for table in REQUIRED {
        if !tx.has_table(table).await? {
            missing.push(table);
        }
    }
    if missing.is_empty() {
        return Ok(Bootstrap::Existing);
    }
    let empty = missing.len() == REQUIRED.len() && table_count(tx).await? == 0;
    if tx.dialect() == Dialect::Sqlite && empty && create {
        create_sqlite_superset(tx).await?;
        return Ok(Bootstrap::Created);
    }
    let advice = match (tx.dialect(), empty) {
        (Dialect::Sqlite, true) => {
            "the SQLite file is empty; create Superset's tables in it with `steward init --database sqlite://FILE`"
        }
        (Dialect::Postgres, true) => {
            "run `superset db upgrade` and `superset init` against it first (steward creates Superset's tables only in an empty SQLite file)"
        }
        _ => "point --database at Superset's metadata database",
    };
    Err(StoreError::NotSuperset(format!(
        "not a Superset metadata database: table(s) {} missing; {advice}",
        missing.join(", ")
    )))
}

async fn table_count(tx: &mut Tx) -> Result<i64, StoreError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let rows = tx.fetch(sql, &[], &[Ty::Int]).await?;
    Ok(rows.first().and_then(|r| r[0].as_int()).unwrap_or(0))
}

async fn create_sqlite_superset(tx: &mut Tx) -> Result<(), StoreError> {
    for statement in sql_statements(SQLITE_SCHEMA) {
        tx.execute(&statement, &[]).await?;
    }
    seed_builtin_roles(tx).await
}

/// Splits a schema file into statements (no `;` occurs inside our DDL).
pub fn sql_statements(text: &str) -> Vec<String> {
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    body.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The lines of a seed file that are data (not blank, not `#` comments).
fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// `(role, permission, view)` triples of a roles file (`role\tpermission\tview` lines).
pub fn role_grants(tsv: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    data_lines(tsv).filter_map(|l| {
        let mut parts = l.split('\t');
        Some((parts.next()?, parts.next()?, parts.next()?))
    })
}

/// Superset's permission catalogue and built-in roles by name, each list in order of first
/// appearance (a row's id is its position + 1): what the seeder writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Catalogue<'a> {
    /// `ab_permission` names.
    pub permissions: Vec<&'a str>,
    /// `ab_view_menu` names.
    pub view_menus: Vec<&'a str>,
    /// `ab_permission_view`: (permission, view menu).
    pub permission_views: Vec<(&'a str, &'a str)>,
    /// `ab_permission_view_role`: (role, permission, view menu).
    pub grants: Vec<(&'a str, &'a str, &'a str)>,
}

/// The catalogue a roles file (see [`role_grants`]) and a list of bare view menus make.
pub fn catalogue<'a>(roles_tsv: &'a str, bare_view_menus: &'a str) -> Catalogue<'a> {
    fn add<T: PartialEq>(list: &mut Vec<T>, item: T) {
        if !list.contains(&item) {
            list.push(item);
        }
    }
    let mut c = Catalogue::default();
    for (role, permission, view) in role_grants(roles_tsv) {
        add(&mut c.permissions, permission);
        add(&mut c.view_menus, view);
        add(&mut c.permission_views, (permission, view));
        add(&mut c.grants, (role, permission, view));
    }
    for view in data_lines(bare_view_menus) {
        add(&mut c.view_menus, view);
    }
    c
}

/// The catalogue steward seeds into a new SQLite file.
pub fn builtin_catalogue() -> Catalogue<'static> {
    catalogue(BUILTIN_ROLES, BARE_VIEW_MENUS)
}

/// Inserts the permission catalogue and the built-in roles (what `superset init` does).
async fn seed_builtin_roles(tx: &mut Tx) -> Result<(), StoreError> {
    use std::collections::BTreeMap;
    let catalogue = builtin_catalogue();
    let ids = |names: &[&'static str]| -> BTreeMap<&'static str, i64> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| (*name, i as i64 + 1))
            .collect()
    };
    let permissions = ids(&catalogue.permissions);
    let views = ids(&catalogue.view_menus);
    let roles = ids(&crate::resources::BUILTIN_ROLES);
    let pairs: BTreeMap<(&str, &str), i64> = catalogue
        .permission_views
        .iter()
        .enumerate()
        .map(|(i, pv)| (*pv, i as i64 + 1))
        .collect();
    let grants: Vec<(i64, i64)> = catalogue
        .grants
        .iter()
        .map(|(role, permission, view)| (roles[role], pairs[&(*permission, *view)]))
        .collect();
    let named = |m: &BTreeMap<&str, i64>| -> Vec<Vec<Value>> {
        m.iter()
            .map(|(name, id)| vec![Value::int(*id), Value::text(*name)])
            .collect()
    };
    tx.insert_rows("ab_permission", &["id", "name"], named(&permissions))
        .await?;
    tx.insert_rows("ab_view_menu", &["id", "name"], named(&views))
        .await?;
    tx.insert_rows("ab_role", &["id", "name"], named(&roles))
        .await?;
    let pv_rows = pairs
        .iter()
        .map(|((p, v), id)| {
            vec![
                Value::int(*id),
                Value::int(permissions[p]),
                Value::int(views[v]),
            ]
        })
        .collect();
    tx.insert_rows(
        "ab_permission_view",
        &["id", "permission_id", "view_menu_id"],
        pv_rows,
    )
    .await?;
    let grant_rows = grants
        .iter()
        .enumerate()
        .map(|(i, (role, pv))| vec![Value::int(i as i64 + 1), Value::int(*pv), Value::int(*role)])
        .collect();
    tx.insert_rows(
        "ab_permission_view_role",
        &["id", "permission_view_id", "role_id"],
        grant_rows,
    )
    .await?;
    Ok(())
}
