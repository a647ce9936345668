//! A role's exact permission pairs as a role manifest: a built-in role whose pairs it holds in
//! full as `includes` (as people write `includes: [Gamma]`), the rest with `can_read`/`can_write`
//! as SIP-19 `{view, actions}`, data access (`database_access`, `schema_access`,
//! `datasource_access`, `all_*`) by database, schema and dataset names, and every other pair
//! raw.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::model::{Catalog, PermissionPair, Role, State};
use crate::resources::BUILTIN_ROLES;

/// Built-in roles a role may include: never Admin (it holds everything there is).
const INCLUDABLE: [&str; 4] = ["Alpha", "Gamma", "sql_lab", "Public"];

pub(super) fn spec(role: &Role, catalog: &Catalog, state: &State) -> Value {
    let mut pairs: BTreeSet<&PermissionPair> = role.permissions.iter().collect();
    let mut includes = Vec::new();
    if !BUILTIN_ROLES.contains(&role.name.as_str()) {
        // Largest first, so a role built on Alpha is not written as Gamma plus Alpha's extras.
        let mut candidates: Vec<&Role> = INCLUDABLE
            .iter()
            .filter_map(|name| state.roles.get(*name))
            .filter(|b| !b.permissions.is_empty())
            .collect();
        candidates.sort_by_key(|b| std::cmp::Reverse(b.permissions.len()));
        for builtin in candidates {
            if builtin.permissions.iter().all(|p| pairs.contains(p)) {
                includes.push(builtin.name.as_str());
                for p in &builtin.permissions {
                    pairs.remove(p);
                }
            }
        }
    }
    let databases_by_view: BTreeMap<String, &str> = catalog
        .databases
        .iter()
        .map(|(name, id)| (Catalog::database_view(name, *id), name.as_str()))
        .collect();
    let schemas_by_view: BTreeMap<String, String> = catalog
        .schema_views()
        .into_iter()
        .map(|((database, schema), view)| (view, format!("{database}.{schema}")))
        .collect();
    let datasets_by_view: BTreeMap<String, &str> = catalog
        .datasets
        .iter()
        .map(|(key, dataset)| (Catalog::dataset_view(dataset), key.as_str()))
        .collect();
    let mut actions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut raw = Vec::new();
    let mut access = Map::new();
    let mut list = |field: &str, item: &str| {
        access
            .entry(field)
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("a list")
            .push(json!(item));
    };
    let mut all = Vec::new();
    for pair in pairs {
        let (permission, view) = (&*pair.permission, &*pair.view);
        match permission {
            "can_read" => actions.entry(view).or_default().push("read"),
            "can_write" => actions.entry(view).or_default().push("write"),
            "all_database_access" if view == "all_database_access" => all.push("allDatabases"),
            "all_datasource_access" if view == "all_datasource_access" => all.push("allDatasets"),
            "database_access" if databases_by_view.contains_key(view) => {
                list("databases", databases_by_view[view])
            }
            "schema_access" if schemas_by_view.contains_key(view) => {
                list("schemas", &schemas_by_view[view])
            }
            "datasource_access" if datasets_by_view.contains_key(view) => {
                list("datasets", datasets_by_view[view])
            }
            _ => raw.push(json!({"permission": permission, "view": view})),
        }
    }
    for field in all {
        access.insert(field.into(), json!(true));
    }
    let mut spec = Map::new();
    if !includes.is_empty() {
        includes.sort_unstable();
        spec.insert("includes".into(), json!(includes));
    }
    if !actions.is_empty() {
        let permissions: Vec<Value> = actions
            .into_iter()
            .map(|(view, actions)| json!({"view": view, "actions": actions}))
            .collect();
        spec.insert("permissions".into(), json!(permissions));
    }
    if !raw.is_empty() {
        spec.insert("rawPermissions".into(), json!(raw));
    }
    if !access.is_empty() {
        spec.insert("dataAccess".into(), Value::Object(access));
    }
    Value::Object(spec)
}
