//! Seeding Superset content that steward references but does not manage (databases, datasets,
//! charts, dashboards, with the data-access permissions Superset creates alongside them), the
//! way `superset load-examples` seeds a fresh Superset. Used by `steward init --demo` for the
//! examples and by benchmarks for the synthetic organisation. Existing content is left alone.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::StoreError;
use super::sql::{Tx, Ty, Value};
use crate::generate::naming;
use crate::model::Catalog;

/// Content to seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoContent {
    /// Databases: name and `(schema, table)` datasets.
    pub databases: Vec<(String, Vec<(String, String)>)>,
    /// Charts: name and dataset (`database.schema.table`).
    pub charts: Vec<(String, String)>,
    /// Dashboards: slug and title.
    pub dashboards: Vec<(String, String)>,
}

impl DemoContent {
    /// The content `examples/` refers to.
    pub fn examples() -> DemoContent {
        let datasets = [
            ("finance", "invoices"),
            ("finance", "payments"),
            ("sales", "accounts"),
            ("sales", "opportunities"),
            ("audit", "journal_entries"),
        ];
        DemoContent {
            databases: vec![(
                "warehouse".into(),
                datasets
                    .iter()
                    .map(|(s, t)| ((*s).into(), (*t).into()))
                    .collect(),
            )],
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
            .map(|d| {
                let datasets = (0..size.schemas_per_database)
                    .flat_map(|s| {
                        (0..size.tables_per_schema)
                            .map(move |t| (naming::schema(s), naming::table(d, s, t)))
                    })
                    .collect();
                (naming::database(d), datasets)
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

/// Creates the content that does not exist yet.
pub async fn seed(tx: &mut Tx, content: &DemoContent) -> Result<Seeded, StoreError> {
    let now = Value::Time(Utc::now().naive_utc());
    let mut seeded = Seeded::default();
    let mut perms = PermissionViews::load(tx).await?;

    let mut databases: HashMap<String, i64> = HashMap::new();
    for r in tx
        .fetch(
            "SELECT id, database_name FROM dbs",
            &[],
            &[Ty::Int, Ty::Text],
        )
        .await?
    {
        if let (Some(id), Some(name)) = (r[0].as_int(), r[1].as_str()) {
            databases.insert(name.to_owned(), id);
        }
    }
    let mut datasets: HashMap<String, (i64, String)> = HashMap::new();
    for r in tx
        .fetch(
            "SELECT t.id, d.database_name, t.schema, t.table_name, t.perm FROM tables t JOIN dbs d ON d.id = t.database_id",
            &[],
            &[Ty::Int, Ty::Text, Ty::Text, Ty::Text, Ty::Text],
        )
        .await?
    {
        let key = format!("{}.{}.{}", r[1].as_str().unwrap_or_default(), r[2].as_str().unwrap_or_default(), r[3].as_str().unwrap_or_default());
        datasets.insert(key, (r[0].as_int().unwrap_or_default(), r[4].as_str().unwrap_or_default().to_owned()));
    }

    for (name, tables) in &content.databases {
        let database_id = match databases.get(name) {
            Some(id) => *id,
            None => {
                let id = tx.allocate_ids("dbs", 1).await?[0];
                tx.execute(
                    "INSERT INTO dbs (id, database_name, sqlalchemy_uri, created_on, changed_on, uuid, expose_in_sqllab, allow_ctas, allow_cvas, allow_dml, allow_run_async, allow_file_upload, is_managed_externally) \
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $7, $7, $7, $7, $7)",
                    &[Value::int(id), Value::text(name), Value::text(format!("sqlite:///{name}.db")), now.clone(), Value::Uuid(uuid::Uuid::new_v4()), Value::Bool(Some(true)), Value::Bool(Some(false))],
                )
                .await?;
                databases.insert(name.clone(), id);
                seeded.databases += 1;
                id
            }
        };
        perms
            .ensure(
                tx,
                "database_access",
                &Catalog::database_view(name, database_id),
            )
            .await?;
        let missing: Vec<&(String, String)> = tables
            .iter()
            .filter(|(schema, table)| !datasets.contains_key(&format!("{name}.{schema}.{table}")))
            .collect();
        let ids = tx.allocate_ids("tables", missing.len()).await?;
        let mut rows = Vec::new();
        for ((schema, table), id) in missing.into_iter().zip(ids) {
            let perm = format!("[{name}].[{table}](id:{id})");
            let schema_perm = format!("[{name}].[{schema}]");
            perms.ensure(tx, "schema_access", &schema_perm).await?;
            perms.ensure(tx, "datasource_access", &perm).await?;
            datasets.insert(format!("{name}.{schema}.{table}"), (id, perm.clone()));
            rows.push(vec![
                Value::int(id),
                now.clone(),
                now.clone(),
                Value::text(table),
                Value::int(database_id),
                Value::text(schema),
                Value::text(perm),
                Value::text(schema_perm),
                Value::Uuid(uuid::Uuid::new_v4()),
                Value::Bool(Some(false)),
            ]);
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
                "perm",
                "schema_perm",
                "uuid",
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
        let (dataset_id, perm) = datasets.get(dataset).cloned().ok_or_else(|| {
            StoreError::Data(format!(
                "chart `{name}`: dataset `{dataset}` does not exist"
            ))
        })?;
        rows.push(vec![
            Value::int(id),
            now.clone(),
            now.clone(),
            Value::text(name),
            Value::text("table"),
            Value::int(dataset_id),
            Value::text("table"),
            Value::text(r#"{"viz_type": "table"}"#),
            Value::text(perm),
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
            "viz_type",
            "params",
            "perm",
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
            Value::text("{}"),
            Value::text("{}"),
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
            "position_json",
            "json_metadata",
            "published",
            "uuid",
            "is_managed_externally",
        ],
        rows,
    )
    .await?;
    Ok(seeded)
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
