//! Who may query a dataset at all, as Superset 6.1 decides it (`raise_for_access` on a
//! datasource): one of the user's effective roles holds `all_datasource_access`,
//! `all_database_access`, `database_access` on the dataset's database, `catalog_access` on its
//! catalog, `schema_access` on its schema, or `datasource_access` on the dataset itself (Admin
//! holds `all_database_access`). Ownership of a dataset, which also grants access, is not read.

use std::collections::{BTreeMap, BTreeSet};

use crate::fast_hash::FastMap;

use super::regrants::Regrant;

use crate::model::{Catalog, PermissionPair, StateView};

/// The permission pairs that give access to a dataset.
pub(super) struct Grants {
    schema_views: FastMap<(String, String), String>,
}

impl Grants {
    pub(super) fn new(catalog: &Catalog) -> Grants {
        Grants {
            schema_views: catalog.schema_views(),
        }
    }

    /// The pairs granting `dataset` (`database.schema.table`); `None` when the catalogue does
    /// not know it (its access cannot be told).
    pub(super) fn of(&self, catalog: &Catalog, dataset: &str) -> Option<BTreeSet<PermissionPair>> {
        let found = catalog.datasets.get(dataset)?;
        let mut pairs = BTreeSet::from([
            PermissionPair::new("all_datasource_access", "all_datasource_access"),
            PermissionPair::new("all_database_access", "all_database_access"),
            PermissionPair::new("datasource_access", Catalog::dataset_view(found)),
        ]);
        if let Some(id) = catalog.databases.get(&found.database) {
            pairs.insert(PermissionPair::new(
                "database_access",
                Catalog::database_view(&found.database, *id),
            ));
        }
        if let Some(schema) = &found.schema {
            let key = (found.database.clone(), schema.clone());
            let view = self
                .schema_views
                .get(&key)
                .cloned()
                .unwrap_or_else(|| format!("[{}].[{schema}]", found.database));
            // `[db].[catalog].[schema]`: the catalog's own permission grants it too.
            let parts: Vec<&str> = view.trim_matches(['[', ']']).split("].[").collect();
            if let [database, catalog, _] = parts.as_slice() {
                pairs.insert(PermissionPair::new(
                    "catalog_access",
                    format!("[{database}].[{catalog}]"),
                ));
            }
            pairs.insert(PermissionPair::new("schema_access", view));
        }
        Some(pairs)
    }
}

/// Data-access permissions, by the roles of one state holding each.
pub(super) struct Holders<'a> {
    by_pair: FastMap<&'a PermissionPair, Vec<&'a str>>,
}

/// The permissions that can grant a dataset.
const DATA_ACCESS: [&str; 6] = [
    "all_datasource_access",
    "all_database_access",
    "database_access",
    "catalog_access",
    "schema_access",
    "datasource_access",
];

/// Whether `pair` is one of the data-access permissions.
pub(super) fn is_data_access(pair: &PermissionPair) -> bool {
    // Most pairs are `can_…`: one suffix test passes over them.
    pair.permission.ends_with("_access") && DATA_ACCESS.contains(&&*pair.permission)
}

impl<'a> Holders<'a> {
    pub(super) fn new(state: &StateView<'a>) -> Holders<'a> {
        let mut by_pair: FastMap<&PermissionPair, Vec<&str>> = FastMap::default();
        for role in state.roles.values() {
            for pair in &role.permissions {
                if is_data_access(pair) {
                    by_pair.entry(pair).or_default().push(&role.name);
                }
            }
        }
        Holders { by_pair }
    }

    /// The holders once `regrants` are made: the other state's, without reading all its
    /// roles again.
    pub(super) fn after(&self, regrants: &BTreeMap<&'a str, Regrant<'a>>) -> Holders<'a> {
        let mut by_pair = self.by_pair.clone();
        for (role, regrant) in regrants {
            for pair in regrant.removed.iter().filter(|p| is_data_access(p)) {
                if let Some(roles) = by_pair.get_mut(*pair) {
                    roles.retain(|r| r != role);
                }
            }
            for pair in regrant.added.iter().filter(|p| is_data_access(p)) {
                by_pair.entry(*pair).or_default().push(role);
            }
        }
        Holders { by_pair }
    }

    /// The roles holding one of `grants`.
    pub(super) fn granting(&self, grants: &BTreeSet<PermissionPair>) -> BTreeSet<&'a str> {
        grants
            .iter()
            .filter_map(|p| self.by_pair.get(p))
            .flatten()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dataset, Role, State};

    #[test]
    fn every_kind_of_data_access_grants_the_dataset() {
        let mut catalog = Catalog::default();
        catalog.databases.insert("wh".into(), 1);
        catalog.datasets.insert(
            "wh.fin.inv".into(),
            Dataset {
                id: 7,
                uuid: None,
                database: "wh".into(),
                schema: Some("fin".into()),
                table: "inv".into(),
                perm: None,
            },
        );
        catalog
            .permissions
            .insert(PermissionPair::new("schema_access", "[wh].[main].[fin]"));
        let grants = Grants::new(&catalog).of(&catalog, "wh.fin.inv").unwrap();
        let mut state = State::default();
        for (name, permission, view) in [
            ("table", "datasource_access", "[wh].[inv](id:7)"),
            ("schema", "schema_access", "[wh].[main].[fin]"),
            ("catalog", "catalog_access", "[wh].[main]"),
            ("database", "database_access", "[wh].(id:1)"),
            ("all", "all_datasource_access", "all_datasource_access"),
            ("admin", "all_database_access", "all_database_access"),
            ("other-table", "datasource_access", "[wh].[pay](id:8)"),
            ("other-schema", "schema_access", "[wh].[main].[sales]"),
            ("no-data", "can_read", "Chart"),
        ] {
            state.roles.insert(
                name.into(),
                Role {
                    name: name.into(),
                    permissions: BTreeSet::from([PermissionPair::new(permission, view)]),
                },
            );
        }
        assert_eq!(
            Holders::new(&state.view()).granting(&grants),
            BTreeSet::from(["admin", "all", "catalog", "database", "schema", "table"])
        );
        assert!(
            Grants::new(&catalog)
                .of(&catalog, "wh.fin.unknown")
                .is_none()
        );
    }
}
