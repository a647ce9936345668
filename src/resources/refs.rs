//! Natural-key references to Superset content steward does not manage: databases, schemas
//! (`database.schema`) and datasets (`database.schema.table` or a uuid).

use std::fmt;

/// A schema, as `database.schema`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaRef {
    /// Database name (`dbs.database_name`).
    pub database: String,
    /// Schema name.
    pub schema: String,
}

/// A dataset, by `database.schema.table` or by uuid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetRef {
    /// `database.schema.table`.
    Name {
        /// Database name (`dbs.database_name`).
        database: String,
        /// Schema name (`tables.schema`).
        schema: String,
        /// Table name (`tables.table_name`).
        table: String,
    },
    /// Dataset uuid (`tables.uuid`).
    Uuid(uuid::Uuid),
}

impl SchemaRef {
    /// Parses `database.schema`.
    pub fn parse(text: &str) -> Result<SchemaRef, String> {
        match split_parts(text).as_slice() {
            [database, schema] => Ok(SchemaRef {
                database: database.clone(),
                schema: schema.clone(),
            }),
            _ => Err(format!("`{text}` is not `database.schema`")),
        }
    }
}

impl DatasetRef {
    /// Parses `database.schema.table` or a uuid.
    pub fn parse(text: &str) -> Result<DatasetRef, String> {
        if let Ok(id) = uuid::Uuid::parse_str(text) {
            return Ok(DatasetRef::Uuid(id));
        }
        match split_parts(text).as_slice() {
            [database, schema, table] => Ok(DatasetRef::Name {
                database: database.clone(),
                schema: schema.clone(),
                table: table.clone(),
            }),
            _ => Err(format!(
                "`{text}` is neither `database.schema.table` nor a dataset uuid"
            )),
        }
    }
}

/// Splits on dots; every part must be non-empty and not padded with spaces.
fn split_parts(text: &str) -> Vec<String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.iter().any(|p| p.is_empty() || p.trim() != *p) {
        return Vec::new();
    }
    parts.into_iter().map(str::to_owned).collect()
}

impl fmt::Display for SchemaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.schema)
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetRef::Name {
                database,
                schema,
                table,
            } => write!(f, "{database}.{schema}.{table}"),
            DatasetRef::Uuid(id) => write!(f, "{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dataset_and_schema_references() {
        assert_eq!(
            DatasetRef::parse("warehouse.finance.invoices")
                .unwrap()
                .to_string(),
            "warehouse.finance.invoices"
        );
        assert!(matches!(
            DatasetRef::parse("6f1c2a8e-0b7d-4c1e-9a55-2f3b4c5d6e7f"),
            Ok(DatasetRef::Uuid(_))
        ));
        assert!(DatasetRef::parse("warehouse.invoices").is_err());
        assert!(DatasetRef::parse("warehouse..invoices").is_err());
        assert_eq!(
            SchemaRef::parse("warehouse.finance").unwrap().schema,
            "finance"
        );
        assert!(SchemaRef::parse("warehouse").is_err());
    }
}
