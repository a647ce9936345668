//! The naming scheme of the synthetic organisation: how generated manifests name Superset
//! content (databases, schemas, datasets, charts, dashboards) that steward references but does
//! not manage, so a demo seed can create exactly that content.
//!
//! | content   | name                                   | count at scale 1 |
//! |-----------|----------------------------------------|------------------|
//! | database  | `warehouse_DD`                         | 10               |
//! | schema    | `warehouse_DD.schema_SS`               | 5 per database   |
//! | dataset   | `warehouse_DD.schema_SS.table_TTT`     | 40 per schema    |
//! | chart     | name `Chart CCCC` (`slices.slice_name`)| 1,000            |
//! | dashboard | slug `dashboard-BBBB`                  | 200              |
//!
//! Numbers are zero-padded and start at 0. Every chart `Chart CCCC` reads dataset number
//! `CCCC mod (datasets)` in the order databases → schemas → tables.

/// How much content exists at a given scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentSize {
    /// Number of databases.
    pub databases: usize,
    /// Schemas per database.
    pub schemas_per_database: usize,
    /// Tables per schema.
    pub tables_per_schema: usize,
    /// Number of charts.
    pub charts: usize,
    /// Number of dashboards.
    pub dashboards: usize,
}

impl ContentSize {
    /// Total datasets.
    pub fn datasets(&self) -> usize {
        self.databases * self.schemas_per_database * self.tables_per_schema
    }
}

/// Name of database `d`.
pub fn database(d: usize) -> String {
    format!("warehouse_{d:02}")
}

/// Name of schema `s` (within a database).
pub fn schema(s: usize) -> String {
    format!("schema_{s:02}")
}

/// Name of table `t` (within a schema).
pub fn table(d: usize, s: usize, t: usize) -> String {
    format!("table_{d:02}_{s:02}_{t:03}")
}

/// `database.schema` of schema `s` of database `d`.
pub fn schema_ref(d: usize, s: usize) -> String {
    format!("{}.{}", database(d), schema(s))
}

/// `database.schema.table` of the `n`-th dataset in scheme order.
pub fn dataset_ref(size: &ContentSize, n: usize) -> String {
    let n = n % size.datasets();
    let t = n % size.tables_per_schema;
    let s = (n / size.tables_per_schema) % size.schemas_per_database;
    let d = n / (size.tables_per_schema * size.schemas_per_database);
    format!("{}.{}.{}", database(d), schema(s), table(d, s, t))
}

/// Name of chart `c`.
pub fn chart(c: usize) -> String {
    format!("Chart {c:04}")
}

/// Slug of dashboard `b`.
pub fn dashboard_slug(b: usize) -> String {
    format!("dashboard-{b:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_enumerate_databases_schemas_tables() {
        let size = ContentSize {
            databases: 2,
            schemas_per_database: 2,
            tables_per_schema: 3,
            charts: 1,
            dashboards: 1,
        };
        assert_eq!(
            dataset_ref(&size, 0),
            "warehouse_00.schema_00.table_00_00_000"
        );
        assert_eq!(
            dataset_ref(&size, 4),
            "warehouse_00.schema_01.table_00_01_001"
        );
        assert_eq!(
            dataset_ref(&size, 11),
            "warehouse_01.schema_01.table_01_01_002"
        );
        assert_eq!(
            dataset_ref(&size, 12),
            "warehouse_00.schema_00.table_00_00_000"
        );
    }
}
