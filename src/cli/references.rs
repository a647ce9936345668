//! `steward references`: what manifests may refer to, read from the metadata database —
//! databases, schemas, datasets, charts, dashboards and permissions (SIP-19 `read`/`write` views
//! and raw permission/view pairs) — as text for people or JSON for machines. Every name comes
//! from Superset's database and is untrusted: text output escapes control characters.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::database::{DatabaseArgs, read_database};
use super::{EXIT_OK, Output};
use crate::escape::terminal;
use crate::model::{Catalog, PermissionPair};

/// Version of the JSON listing (`steward references --output json`).
pub const REFERENCES_SCHEMA_VERSION: u32 = 1;

/// The permissions a role's `dataAccess` grants; listed as databases, schemas and datasets.
const DATA_ACCESS: [&str; 5] = [
    "database_access",
    "schema_access",
    "datasource_access",
    "all_database_access",
    "all_datasource_access",
];

/// Everything manifests may refer to.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct References {
    schema_version: u32,
    databases: Vec<DatabaseEntry>,
    schemas: Vec<SchemaEntry>,
    datasets: Vec<DatasetEntry>,
    charts: Vec<ChartEntry>,
    dashboards: Vec<DashboardEntry>,
    /// SIP-19 vocabulary: views with `can_read` / `can_write`, as `read` / `write`.
    view_permissions: Vec<ViewEntry>,
    /// Every other permission/view pair (for `rawPermissions`), data access left out.
    raw_permissions: Vec<PermissionPair>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct DatabaseEntry {
    name: String,
    id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct SchemaEntry {
    /// `database.schema`, as `dataAccess.schemas` takes it.
    reference: String,
    database: String,
    schema: String,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct DatasetEntry {
    /// `database.schema.table`, as `dataAccess.datasets` and RLS `datasets` take it.
    reference: String,
    uuid: Option<String>,
    id: i64,
    database: String,
    schema: Option<String>,
    table: String,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct ChartEntry {
    uuid: String,
    name: String,
    id: i64,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct DashboardEntry {
    uuid: String,
    slug: Option<String>,
    title: Option<String>,
    id: i64,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct ViewEntry {
    view: String,
    actions: Vec<&'static str>,
}

impl References {
    /// The listing of a catalogue.
    pub fn of(catalog: &Catalog) -> References {
        let databases = catalog
            .databases
            .iter()
            .map(|(name, id)| DatabaseEntry {
                name: name.clone(),
                id: *id,
                backend: catalog.database_backends.get(name).cloned(),
            })
            .collect();
        // Schemas Superset grants access to, and those datasets live in.
        let mut schemas: BTreeSet<(String, String)> = catalog.schema_views().into_keys().collect();
        schemas.extend(catalog.datasets.values().filter_map(|d| {
            d.schema
                .as_ref()
                .map(|schema| (d.database.clone(), schema.clone()))
        }));
        let schemas = schemas
            .into_iter()
            .map(|(database, schema)| SchemaEntry {
                reference: format!("{database}.{schema}"),
                database,
                schema,
            })
            .collect();
        let datasets = catalog
            .datasets
            .iter()
            .map(|(reference, d)| DatasetEntry {
                reference: reference.clone(),
                uuid: d.uuid.clone(),
                id: d.id,
                database: d.database.clone(),
                schema: d.schema.clone(),
                table: d.table.clone(),
            })
            .collect();
        let charts = catalog
            .charts
            .iter()
            .map(|c| ChartEntry {
                uuid: c.uuid.clone(),
                name: c.name.clone(),
                id: c.id,
            })
            .collect();
        let dashboards = catalog
            .dashboards
            .iter()
            .map(|d| DashboardEntry {
                uuid: d.uuid.clone(),
                slug: d.slug.clone(),
                title: d.title.clone(),
                id: d.id,
            })
            .collect();
        let mut views: BTreeMap<&str, Vec<&'static str>> = BTreeMap::new();
        let mut raw_permissions = Vec::new();
        // Pairs come sorted by permission: `can_read` before `can_write`.
        for pair in &catalog.permissions {
            match &*pair.permission {
                "can_read" => views.entry(&pair.view).or_default().push("read"),
                "can_write" => views.entry(&pair.view).or_default().push("write"),
                p if DATA_ACCESS.contains(&p) => {}
                _ => raw_permissions.push(pair.clone()),
            }
        }
        References {
            schema_version: REFERENCES_SCHEMA_VERSION,
            databases,
            schemas,
            datasets,
            charts,
            dashboards,
            view_permissions: views
                .into_iter()
                .map(|(view, actions)| ViewEntry {
                    view: view.to_owned(),
                    actions,
                })
                .collect(),
            raw_permissions,
        }
    }

    /// The listing for people: one section per kind of content, saying which manifest field
    /// takes it; names escaped for the terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, field: &str, rows: Vec<Vec<&str>>| {
            let _ = writeln!(out, "{title} ({}) — {field}", rows.len());
            let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
                .map(|c| {
                    rows.iter()
                        .map(|r| terminal(r[c]).chars().count())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for row in &rows {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(cell, width)| format!("{:width$}", terminal(cell)))
                    .collect();
                let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
            }
            if rows.is_empty() {
                let _ = writeln!(out, "  (none)");
            }
            let _ = writeln!(out);
        };
        section(
            "Databases",
            "dataAccess.databases",
            self.databases
                .iter()
                .map(|d| vec![d.name.as_str()])
                .collect(),
        );
        section(
            "Schemas",
            "dataAccess.schemas, as database.schema",
            self.schemas
                .iter()
                .map(|s| vec![s.reference.as_str()])
                .collect(),
        );
        section(
            "Datasets",
            "dataAccess.datasets and RowLevelSecurityFilter datasets, as database.schema.table or uuid",
            self.datasets
                .iter()
                .map(|d| vec![d.reference.as_str(), d.uuid.as_deref().unwrap_or("-")])
                .collect(),
        );
        section(
            "Charts",
            "ReportSchedule chart, by uuid or name",
            self.charts
                .iter()
                .map(|c| vec![c.uuid.as_str(), c.name.as_str()])
                .collect(),
        );
        section(
            "Dashboards",
            "ReportSchedule dashboard, by uuid, slug or title",
            self.dashboards
                .iter()
                .map(|d| {
                    vec![
                        d.uuid.as_str(),
                        d.slug.as_deref().unwrap_or("-"),
                        d.title.as_deref().unwrap_or("-"),
                    ]
                })
                .collect(),
        );
        let actions: Vec<String> = self
            .view_permissions
            .iter()
            .map(|v| v.actions.join(", "))
            .collect();
        section(
            "View permissions",
            "SupersetRole permissions (SIP-19): view and actions",
            self.view_permissions
                .iter()
                .zip(&actions)
                .map(|(v, actions)| vec![&*v.view, actions.as_str()])
                .collect(),
        );
        section(
            "Raw permissions",
            "SupersetRole rawPermissions: permission and view",
            self.raw_permissions
                .iter()
                .map(|p| vec![&*p.permission, &*p.view])
                .collect(),
        );
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

pub(super) fn run(database: &DatabaseArgs, output: Output) -> anyhow::Result<u8> {
    let observed = match read_database(database) {
        Ok(observed) => observed,
        Err(code) => return Ok(code),
    };
    let references = References::of(&observed.catalog);
    match output {
        Output::Json => dataln!("{}", serde_json::to_string_pretty(&references)?),
        Output::Text => out!("{}", references.to_text()),
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Chart, Dashboard, Dataset};

    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        catalog.databases.insert("warehouse".into(), 1);
        catalog.datasets.insert(
            "warehouse.sales.orders".into(),
            Dataset {
                id: 7,
                uuid: Some("00000000-0000-0000-0000-000000000007".into()),
                database: "warehouse".into(),
                schema: Some("sales".into()),
                table: "orders".into(),
                perm: None,
            },
        );
        catalog.charts.push(Chart {
            id: 3,
            uuid: "00000000-0000-0000-0000-000000000003".into(),
            name: "ok\u{1b}[2J\u{1b}]0;owned\u{7}\r\nfake: line\u{202e}".into(),
        });
        catalog.dashboards.push(Dashboard {
            id: 4,
            uuid: "00000000-0000-0000-0000-000000000004".into(),
            slug: None,
            title: Some("Sales\tboard".into()),
        });
        for (p, v) in [
            ("can_write", "Chart"),
            ("can_read", "Chart"),
            ("can_read", "Dashboard"),
            ("can_csv", "Superset"),
            ("schema_access", "[warehouse].[finance]"),
            ("datasource_access", "[warehouse].[orders](id:7)"),
            ("all_datasource_access", "all_datasource_access"),
        ] {
            catalog.permissions.insert(PermissionPair::new(p, v));
        }
        catalog
    }

    #[test]
    fn lists_every_kind_with_sip19_actions_and_schemas_from_both_sources() {
        let refs = References::of(&catalog());
        let schemas: Vec<_> = refs.schemas.iter().map(|s| s.reference.as_str()).collect();
        assert_eq!(schemas, ["warehouse.finance", "warehouse.sales"]);
        let views: Vec<_> = refs
            .view_permissions
            .iter()
            .map(|v| (&*v.view, v.actions.clone()))
            .collect();
        assert_eq!(
            views,
            [
                ("Chart", vec!["read", "write"]),
                ("Dashboard", vec!["read"])
            ]
        );
        assert_eq!(
            refs.raw_permissions,
            [PermissionPair::new("can_csv", "Superset")]
        );
        assert_eq!(refs.datasets[0].reference, "warehouse.sales.orders");
    }

    #[test]
    fn text_escapes_control_characters_and_json_keeps_names_exact() {
        let refs = References::of(&catalog());
        let text = refs.to_text();
        for forbidden in ['\u{1b}', '\u{7}', '\r', '\t', '\u{202e}'] {
            assert!(!text.contains(forbidden), "{forbidden:?} in {text}");
        }
        assert!(text.contains("ok\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\r\\nfake: line\\u{202e}"));
        assert!(text.contains("Sales\\tboard"));
        assert!(!text.lines().any(|l| l.starts_with("fake")), "{text}");
        let json = serde_json::to_value(&refs).unwrap();
        assert_eq!(json["charts"][0]["name"], refs.charts[0].name.as_str());
    }

    #[test]
    fn an_empty_catalogue_says_none() {
        let text = References::of(&Catalog::default()).to_text();
        assert!(text.starts_with("Databases (0)"), "{text}");
        assert_eq!(text.matches("(none)").count(), 7, "{text}");
    }
}
