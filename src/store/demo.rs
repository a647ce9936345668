//! Seeding Superset content that steward references but does not manage (databases, datasets,
//! charts, dashboards, with the data-access permissions Superset creates alongside them), the
//! way Superset's REST API creates it: the same rows, view menus and permission views
//! (`tests/suite/demo_content.rs` compares them with a real Superset's). Used by
//! `steward init --demo` for the examples and by benchmarks for the synthetic organisation.
//! Existing content is left alone. Not seeded: what Superset reads from the warehouse itself
//! (columns, metrics), owners, and charts' places on dashboards.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::StoreError;
use super::sql::{Tx, Ty, Value};
use crate::generate::naming;
use crate::model::Catalog;

/// Content to seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoContent {
    /// Databases with their datasets.
    pub databases: Vec<DemoDatabase>,
    /// Charts: name and dataset (`database.schema.table`).
    pub charts: Vec<(String, String)>,
    /// Dashboards: slug and title.
    pub dashboards: Vec<(String, String)>,
}

/// A database to seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoDatabase {
    /// Its name in Superset.
    pub name: String,
    /// Its engine, which shapes what Superset records with it.
    pub engine: Engine,
    /// Its datasets: `(schema, table)`.
    pub datasets: Vec<(String, String)>,
}

/// The engine of a seeded database, as far as it shapes Superset's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file, as `superset load-examples` makes.
    Sqlite,
    /// A PostgreSQL database named like the Superset database, as `scripts/services.sh` makes.
    Postgres,
}

impl Engine {
    /// The SQLAlchemy URI of database `name` (no password: there is none to hide).
    fn uri(self, name: &str) -> String {
        match self {
            Engine::Sqlite => format!("sqlite:///{name}.db"),
            Engine::Postgres => format!("postgresql://superset@localhost:5432/{name}"),
        }
    }

    /// The schemas every database of this engine holds besides its datasets' (the dialect's
    /// `get_schema_names`): Superset grants `schema_access` on each when the database is created.
    fn own_schemas(self) -> &'static [&'static str] {
        match self {
            Engine::Sqlite => &["main"],
            Engine::Postgres => &["information_schema", "public"],
        }
    }
}

/// Superset's default catalog of a database (`get_default_catalog`) from its URI: the database
/// on a PostgreSQL server; none on engines without catalogs.
fn default_catalog(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let backend = scheme.split('+').next()?;
    if !matches!(backend, "postgresql" | "postgres") {
        return None;
    }
    let path = rest.split(['?', '#']).next()?;
    let (_, database) = path.rsplit_once('/')?;
    (!database.is_empty()).then(|| database.to_owned())
}

impl DemoContent {
    /// The content `examples/` refers to: what `scripts/superset_seed.py` creates in a real
    /// Superset through its REST API.
    pub fn examples() -> DemoContent {
        let datasets = [
            ("finance", "invoices"),
            ("finance", "payments"),
            ("sales", "accounts"),
            ("sales", "opportunities"),
            ("audit", "journal_entries"),
        ];
        DemoContent {
            databases: vec![DemoDatabase {
                name: "warehouse".into(),
                engine: Engine::Postgres,
                datasets: datasets
                    .iter()
                    .map(|(s, t)| ((*s).into(), (*t).into()))
                    .collect(),
            }],
            charts: vec![
                (
                    "Revenue by region".into(),
                    "warehouse.finance.invoices".into(),
                ),
                (
                    "Pipeline by stage".into(),
                    "warehouse.sales.opportunities".into(),
                ),
                (
                    "Open invoices by age".into(),
                    "warehouse.finance.invoices".into(),
                ),
            ],
            dashboards: vec![
                ("finance-overview".into(), "Finance overview".into()),
                ("audit-journal".into(), "Audit journal".into()),
            ],
        }
    }

    /// The content a generated organisation of `size` refers to (see `generate::naming`).
    pub fn organisation(size: &naming::ContentSize) -> DemoContent {
        let databases = (0..size.databases)
            .map(|d| DemoDatabase {
                name: naming::database(d),
                engine: Engine::Sqlite,
                datasets: (0..size.schemas_per_database)
                    .flat_map(|s| {
                        (0..size.tables_per_schema)
                            .map(move |t| (naming::schema(s), naming::table(d, s, t)))
                    })
                    .collect(),
            })
            .collect();
        DemoContent {
            databases,
            charts: (0..size.charts)
                .map(|c| (naming::chart(c), naming::dataset_ref(size, c)))
                .collect(),
            dashboards: (0..size.dashboards)
                .map(|b| (naming::dashboard_slug(b), format!("Dashboard {b:04}")))
                .collect(),
        }
    }
}

/// What [`seed`] created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub databases: usize,
    pub datasets: usize,
    pub charts: usize,
    pub dashboards: usize,
}

/// `dbs.extra` as Superset's API writes it for a database created without one.
const DATABASE_EXTRA: &str = "{\n    \"metadata_params\": {},\n    \"engine_params\": {},\n    \"metadata_cache_timeout\": {},\n    \"schemas_allowed_for_file_upload\": []\n}";

/// A dataset, with what its charts copy from it.
#[derive(Clone)]
struct Dataset {
    id: i64,
    /// `schema.table`, the charts' `datasource_name`.
    full_name: String,
    perm: String,
    schema_perm: Option<String>,
    catalog_perm: Option<String>,
}

/// Creates the content that does not exist yet.
pub async fn seed(tx: &mut Tx, content: &DemoContent) -> Result<Seeded, StoreError> {
    let now = Value::Time(Utc::now().naive_utc());
    let mut seeded = Seeded::default();
    let mut perms = PermissionViews::load(tx).await?;

    // Existing databases: id and default catalog.
    let mut databases: HashMap<String, (i64, Option<String>)> = HashMap::new();
    for r in tx
        .fetch(
            "SELECT id, database_name, sqlalchemy_uri FROM dbs",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text],
        )
        .await?
    {
        if let (Some(id), Some(name)) = (r[0].as_int(), r[1].as_str()) {
            let catalog = r[2].as_str().and_then(default_catalog);
            databases.insert(name.to_owned(), (id, catalog));
        }
    }
    let mut datasets: HashMap<String, Dataset> = HashMap::new();
    for r in tx
        .fetch(
            "SELECT t.id, d.database_name, t.schema, t.table_name, t.perm, t.schema_perm, t.catalog_perm FROM tables t JOIN dbs d ON d.id = t.database_id",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?
    {
        let text = |i: usize| r[i].as_str().unwrap_or_default();
        datasets.insert(
            format!("{}.{}.{}", text(1), text(2), text(3)),
            Dataset {
                id: r[0].as_int().unwrap_or_default(),
                full_name: format!("{}.{}", text(2), text(3)),
                perm: text(4).to_owned(),
                schema_perm: r[5].as_str().map(str::to_owned),
                catalog_perm: r[6].as_str().map(str::to_owned),
            },
        );
    }

    for database in &content.databases {
        let name = &database.name;
        let (database_id, catalog) = match databases.get(name) {
            Some(known) => known.clone(),
            None => {
                let id = tx.allocate_ids("dbs", 1).await?[0];
                let uri = database.engine.uri(name);
                tx.execute(
                    "INSERT INTO dbs (id, database_name, sqlalchemy_uri, created_on, changed_on, uuid, expose_in_sqllab, allow_ctas, allow_cvas, allow_dml, allow_run_async, allow_file_upload, select_as_create_table_as, impersonate_user, is_managed_externally, extra, configuration_method) \
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $7, $7, $7, $7, $7, $7, $7, $8, 'sqlalchemy_form')",
                    &[Value::int(id), Value::text(name), Value::text(&uri), now.clone(), Value::Uuid(uuid::Uuid::new_v4()), Value::Bool(Some(true)), Value::Bool(Some(false)), Value::text(DATABASE_EXTRA)],
                )
                .await?;
                let catalog = default_catalog(&uri);
                // What Superset grants on a new database (`add_permissions`), besides
                // `database_access` (below): its catalog and every schema it holds.
                if let Some(catalog) = &catalog {
                    perms
                        .ensure(tx, "catalog_access", &catalog_perm(name, catalog))
                        .await?;
                }
                let mut schemas: Vec<&str> = database.engine.own_schemas().to_vec();
                schemas.extend(database.datasets.iter().map(|(schema, _)| schema.as_str()));
                for schema in schemas {
                    perms
                        .ensure(
                            tx,
                            "schema_access",
                            &schema_perm(name, catalog.as_deref(), schema),
                        )
                        .await?;
                }
                databases.insert(name.clone(), (id, catalog.clone()));
                seeded.databases += 1;
                (id, catalog)
            }
        };
        perms
            .ensure(
                tx,
                "database_access",
                &Catalog::database_view(name, database_id),
            )
            .await?;
        let missing: Vec<&(String, String)> = database
            .datasets
            .iter()
            .filter(|(schema, table)| !datasets.contains_key(&format!("{name}.{schema}.{table}")))
            .collect();
        let ids = tx.allocate_ids("tables", missing.len()).await?;
        let mut rows = Vec::new();
        for ((schema, table), id) in missing.into_iter().zip(ids) {
            // What Superset records with a new dataset (`dataset_after_insert`).
            let dataset = Dataset {
                id,
                full_name: format!("{schema}.{table}"),
                perm: format!("[{name}].[{table}](id:{id})"),
                schema_perm: Some(schema_perm(name, catalog.as_deref(), schema)),
                catalog_perm: catalog.as_deref().map(|c| catalog_perm(name, c)),
            };
            perms.ensure(tx, "datasource_access", &dataset.perm).await?;
            for (permission, view) in [
                ("schema_access", &dataset.schema_perm),
                ("catalog_access", &dataset.catalog_perm),
            ] {
                if let Some(view) = view {
                    perms.ensure(tx, permission, view).await?;
                }
            }
            rows.push(vec![
                Value::int(id),
                now.clone(),
                now.clone(),
                Value::text(table),
                Value::int(database_id),
                Value::text(schema),
                Value::opt_text(catalog.as_deref()),
                Value::text(&dataset.perm),
                Value::opt_text(dataset.schema_perm.as_deref()),
                Value::opt_text(dataset.catalog_perm.as_deref()),
                Value::Uuid(uuid::Uuid::new_v4()),
                Value::Bool(Some(true)),
                Value::Bool(Some(false)),
            ]);
            datasets.insert(format!("{name}.{schema}.{table}"), dataset);
            seeded.datasets += 1;
        }
        tx.insert_rows(
            "tables",
            &[
                "id",
                "created_on",
                "changed_on",
                "table_name",
                "database_id",
                "schema",
                "catalog",
                "perm",
                "schema_perm",
                "catalog_perm",
                "uuid",
                "filter_select_enabled",
                "is_managed_externally",
            ],
            rows,
        )
        .await?;
    }
    perms.flush(tx).await?;

    let existing_charts: HashSet<String> = tx
        .fetch("SELECT slice_name FROM slices", &[], &[Ty::Text])
        .await?
        .into_iter()
        .filter_map(|mut r| r.remove(0).into_text())
        .collect();
    let charts: Vec<&(String, String)> = content
        .charts
        .iter()
        .filter(|(n, _)| !existing_charts.contains(n))
        .collect();
    let ids = tx.allocate_ids("slices", charts.len()).await?;
    let mut rows = Vec::new();
    for ((name, dataset), id) in charts.into_iter().zip(ids) {
        let found = datasets.get(dataset).cloned().ok_or_else(|| {
            StoreError::Data(format!(
                "chart `{name}`: dataset `{dataset}` does not exist"
            ))
        })?;
        // A chart copies its dataset's permissions (Superset's `set_related_perm`).
        rows.push(vec![
            Value::int(id),
            now.clone(),
            now.clone(),
            Value::text(name),
            Value::text("table"),
            Value::int(found.id),
            Value::text(found.full_name),
            Value::text("table"),
            Value::text(r#"{"viz_type": "table"}"#),
            Value::text(found.perm),
            Value::Text(found.schema_perm),
            Value::Text(found.catalog_perm),
            Value::Uuid(uuid::Uuid::new_v4()),
            Value::Bool(Some(false)),
        ]);
        seeded.charts += 1;
    }
    tx.insert_rows(
        "slices",
        &[
            "id",
            "created_on",
            "changed_on",
            "slice_name",
            "datasource_type",
            "datasource_id",
            "datasource_name",
            "viz_type",
            "params",
            "perm",
            "schema_perm",
            "catalog_perm",
            "uuid",
            "is_managed_externally",
        ],
        rows,
    )
    .await?;

    let existing_boards: HashSet<String> = tx
        .fetch(
            "SELECT slug FROM dashboards WHERE slug IS NOT NULL",
            &[],
            &[Ty::Text],
        )
        .await?
        .into_iter()
        .filter_map(|mut r| r.remove(0).into_text())
        .collect();
    let boards: Vec<&(String, String)> = content
        .dashboards
        .iter()
        .filter(|(s, _)| !existing_boards.contains(s))
        .collect();
    let ids = tx.allocate_ids("dashboards", boards.len()).await?;
    let mut rows = Vec::new();
    for ((slug, title), id) in boards.into_iter().zip(ids) {
        rows.push(vec![
            Value::int(id),
            now.clone(),
            now.clone(),
            Value::text(title),
            Value::text(slug),
            Value::Bool(Some(true)),
            Value::Uuid(uuid::Uuid::new_v4()),
            Value::Bool(Some(false)),
        ]);
        seeded.dashboards += 1;
    }
    tx.insert_rows(
        "dashboards",
        &[
            "id",
            "created_on",
            "changed_on",
            "dashboard_title",
            "slug",
            "published",
            "uuid",
            "is_managed_externally",
        ],
        rows,
    )
    .await?;
    Ok(seeded)
}

/// Superset's `catalog_access` view menu (`get_catalog_perm`).
fn catalog_perm(database: &str, catalog: &str) -> String {
    format!("[{database}].[{catalog}]")
}

/// Superset's `schema_access` view menu (`get_schema_perm`): with the catalog when there is one.
fn schema_perm(database: &str, catalog: Option<&str>, schema: &str) -> String {
    match catalog {
        Some(catalog) => format!("[{database}].[{catalog}].[{schema}]"),
        None => format!("[{database}].[{schema}]"),
    }
}

/// The permission catalogue, extended as Superset extends it when content is created.
struct PermissionViews {
    permissions: HashMap<String, i64>,
    views: HashMap<String, i64>,
    pairs: HashSet<(i64, i64)>,
    new_pairs: Vec<(i64, i64)>,
}

impl PermissionViews {
    async fn load(tx: &mut Tx) -> Result<PermissionViews, StoreError> {
        let named = |rows: Vec<Vec<Value>>| -> HashMap<String, i64> {
            rows.into_iter()
                .filter_map(|r| Some((r[1].as_str()?.to_owned(), r[0].as_int()?)))
                .collect()
        };
        let permissions = named(
            tx.fetch(
                "SELECT id, name FROM ab_permission",
                &[],
                &[Ty::Int, Ty::Text],
            )
            .await?,
        );
        let views = named(
            tx.fetch(
                "SELECT id, name FROM ab_view_menu",
                &[],
                &[Ty::Int, Ty::Text],
            )
            .await?,
        );
        let pairs = tx
            .fetch(
                "SELECT permission_id, view_menu_id FROM ab_permission_view",
                &[],
                &[Ty::Int, Ty::Int],
            )
            .await?
            .into_iter()
            .filter_map(|r| Some((r[0].as_int()?, r[1].as_int()?)))
            .collect();
        Ok(PermissionViews {
            permissions,
            views,
            pairs,
            new_pairs: Vec::new(),
        })
    }

    async fn ensure(
        &mut self,
        tx: &mut Tx,
        permission: &str,
        view: &str,
    ) -> Result<(), StoreError> {
        let permission_id = match self.permissions.get(permission) {
            Some(id) => *id,
            None => {
                let id = tx.allocate_ids("ab_permission", 1).await?[0];
                tx.execute(
                    "INSERT INTO ab_permission (id, name) VALUES ($1, $2)",
                    &[Value::int(id), Value::text(permission)],
                )
                .await?;
                self.permissions.insert(permission.to_owned(), id);
                id
            }
        };
        let view_id = match self.views.get(view) {
            Some(id) => *id,
            None => {
                let id = tx.allocate_ids("ab_view_menu", 1).await?[0];
                tx.execute(
                    "INSERT INTO ab_view_menu (id, name) VALUES ($1, $2)",
                    &[Value::int(id), Value::text(view)],
                )
                .await?;
                self.views.insert(view.to_owned(), id);
                id
            }
        };
        if self.pairs.insert((permission_id, view_id)) {
            self.new_pairs.push((permission_id, view_id));
        }
        Ok(())
    }

    async fn flush(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        let pairs = std::mem::take(&mut self.new_pairs);
        let ids = tx.allocate_ids("ab_permission_view", pairs.len()).await?;
        let rows = pairs
            .into_iter()
            .zip(ids)
            .map(|((p, v), id)| vec![Value::int(id), Value::int(p), Value::int(v)])
            .collect();
        tx.insert_rows(
            "ab_permission_view",
            &["id", "permission_id", "view_menu_id"],
            rows,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalog_is_the_postgresql_database_of_the_uri() {
        for (uri, catalog) in [
            (
                "postgresql://superset@localhost:5432/warehouse",
                Some("warehouse"),
            ),
            (
                "postgresql+psycopg2://u:XXXXXXXXXX@db:5432/sales?sslmode=require",
                Some("sales"),
            ),
            ("postgres://u@h/dwh", Some("dwh")),
            ("postgresql://u@h/", None),
            ("sqlite:///warehouse.db", None),
            ("mysql://u@h/warehouse", None),
            ("not a uri", None),
        ] {
            assert_eq!(default_catalog(uri).as_deref(), catalog, "{uri}");
        }
    }

    #[test]
    fn schema_views_name_the_catalog_when_there_is_one() {
        assert_eq!(
            schema_perm("warehouse", Some("warehouse"), "finance"),
            "[warehouse].[warehouse].[finance]"
        );
        assert_eq!(schema_perm("examples", None, "main"), "[examples].[main]");
        assert_eq!(catalog_perm("warehouse", "dwh"), "[warehouse].[dwh]");
    }

    #[test]
    fn each_engine_names_its_own_database() {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            let uri = engine.uri("warehouse");
            assert_eq!(
                default_catalog(&uri).is_some(),
                engine == Engine::Postgres,
                "{uri}"
            );
        }
        let examples = DemoContent::examples();
        assert!(
            examples
                .databases
                .iter()
                .all(|d| d.engine == Engine::Postgres)
        );
    }
}
