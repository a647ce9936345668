//! Facts about Superset content steward reads but does not manage: databases, datasets,
//! charts, dashboards, and the permission catalogue (`ab_permission` × `ab_view_menu`). Desired
//! state is resolved against them (a dataset reference becomes its permission pair, a chart name
//! its uuid).

use std::collections::{BTreeMap, BTreeSet};

use crate::fast_hash::FastMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A permission on a view menu, e.g. `can_read` on `Dashboard`. The names are shared: org-100k
/// holds 366,000 grants of 21,000 pairs, so a grant is a pair cloned from the catalogue (two
/// reference counts), not two new strings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PermissionPair {
    pub permission: Arc<str>,
    pub view: Arc<str>,
}

impl PermissionPair {
    /// A pair.
    pub fn new(permission: impl Into<Arc<str>>, view: impl Into<Arc<str>>) -> PermissionPair {
        PermissionPair {
            permission: permission.into(),
            view: view.into(),
        }
    }
}

impl std::fmt::Display for PermissionPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.permission, self.view)
    }
}

/// A dataset (`tables` row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    pub id: i64,
    pub uuid: Option<String>,
    pub database: String,
    pub schema: Option<String>,
    pub table: String,
    /// `tables.perm`, e.g. `[warehouse].[invoices](id:3)`.
    pub perm: Option<String>,
}

impl Dataset {
    /// `database.schema.table` (schema left empty when the dataset has none).
    pub fn key(&self) -> String {
        format!(
            "{}.{}.{}",
            self.database,
            self.schema.as_deref().unwrap_or_default(),
            self.table
        )
    }
}

/// A chart (`slices` row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    pub id: i64,
    pub uuid: String,
    pub name: String,
}

/// A dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub id: i64,
    pub uuid: String,
    pub slug: Option<String>,
    pub title: Option<String>,
}

/// Everything desired state is resolved against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Database name → id.
    pub databases: BTreeMap<String, i64>,
    /// Database name → SQLAlchemy backend (`postgresql`, `mysql` …), from its URI's scheme.
    pub database_backends: BTreeMap<String, String>,
    /// Datasets by `database.schema.table`.
    pub datasets: BTreeMap<String, Dataset>,
    /// Charts, in id order.
    pub charts: Vec<Chart>,
    /// Dashboards, in id order.
    pub dashboards: Vec<Dashboard>,
    /// Every existing permission pair.
    pub permissions: BTreeSet<PermissionPair>,
}

impl Catalog {
    /// The `database_access` view menu of a database, as Superset names it.
    pub fn database_view(name: &str, id: i64) -> String {
        format!("[{name}].(id:{id})")
    }

    /// Every `schema_access` view menu by `(database, schema)`, as this Superset names them:
    /// `[db].[schema]`, or `[db].[catalog].[schema]` on databases with catalogs (PostgreSQL
    /// since Superset 4.1).
    pub fn schema_views(&self) -> FastMap<(String, String), String> {
        let mut views = FastMap::default();
        for pair in self
            .permissions
            .iter()
            .filter(|p| &*p.permission == "schema_access")
        {
            let parts: Vec<&str> = pair
                .view
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .map(|v| v.split("].[").collect())
                .unwrap_or_default();
            let (database, schema) = match parts.as_slice() {
                [database, schema] | [database, _, schema] => (*database, *schema),
                _ => continue,
            };
            views
                .entry((database.to_owned(), schema.to_owned()))
                .or_insert_with(|| pair.view.to_string());
        }
        views
    }

    /// The `datasource_access` view menu of a dataset.
    pub fn dataset_view(dataset: &Dataset) -> String {
        dataset.perm.clone().unwrap_or_else(|| {
            format!(
                "[{}].[{}](id:{})",
                dataset.database, dataset.table, dataset.id
            )
        })
    }
}
