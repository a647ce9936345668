//! A small client for Superset's REST API (as admin, or with a token minted for any user), and
//! the content a seeded Superset holds, read through it. Shared by the tests that run against
//! the real Superset 6.1 started by `scripts/services.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::services::{env, sql_at, steward_ok};

/// Tests that change what the shared Superset holds take this first, so none sees another's
/// objects half made.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static SUPERSET: Mutex<()> = Mutex::new(());
    SUPERSET
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct Superset {
    agent: ureq::Agent,
    base: String,
    pub admin_token: String,
    /// Superset 5.0 has no security REST API of its own: roles are listed through
    /// Flask-AppBuilder's (`FAB_ADD_SECURITY_API`, set by `scripts/services.sh` for 5.0).
    fab_security_api: bool,
}

impl Superset {
    /// The Superset on the PostgreSQL metadata database.
    pub fn connect() -> Superset {
        Superset::connect_to(&env("STEWARD_TEST_SUPERSET_URL"))
    }

    /// The Superset serving at `base`, logged in as admin.
    pub fn connect_to(base: &str) -> Superset {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut ss = Superset {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            admin_token: String::new(),
            fab_security_api: superset_version().starts_with("5."),
        };
        let (status, body) = ss.send(
            "POST",
            "",
            "/api/v1/security/login",
            None,
            Some(&json!({
                "username": env("STEWARD_TEST_SUPERSET_ADMIN"),
                "password": env("STEWARD_TEST_SUPERSET_PASSWORD"),
                "provider": "db",
                "refresh": true,
            })),
        );
        assert_eq!(status, 200, "Superset login as admin: {body}");
        ss.admin_token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in the login answer: {body}"))
            .to_owned();
        ss
    }

    /// Embeds a dashboard (any domain); the embedded uuid guest tokens name.
    pub fn embed(&self, dashboard: i64) -> String {
        let (status, body) = self.send(
            "POST",
            &self.admin_token,
            &format!("/api/v1/dashboard/{dashboard}/embedded"),
            None,
            Some(&json!({"allowed_domains": []})),
        );
        assert_eq!(status, 200, "embedding dashboard {dashboard}: {body}");
        s(&body["result"]["uuid"])
    }

    /// Embeds a dashboard no more; whether it was is not asserted (a clean start or end).
    pub fn unembed(&self, dashboard: i64) {
        let _ = self.send(
            "DELETE",
            &self.admin_token,
            &format!("/api/v1/dashboard/{dashboard}/embedded"),
            None,
            None,
        );
    }

    /// One request; the body parsed as JSON (or, when it is not JSON, as a JSON string).
    pub fn send(
        &self,
        method: &str,
        token: &str,
        path: &str,
        q: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let bearer = format!("Bearer {token}");
        let result = match method {
            "GET" => {
                let mut req = self.agent.get(&url);
                if !token.is_empty() {
                    req = req.header("Authorization", &bearer);
                }
                if let Some(q) = q {
                    req = req.query("q", q);
                }
                req.call()
            }
            "POST" => {
                let mut req = self.agent.post(&url);
                if !token.is_empty() {
                    req = req.header("Authorization", &bearer);
                }
                req.send_json(body.unwrap_or(&Value::Null))
            }
            "DELETE" => {
                let mut req = self.agent.delete(&url);
                if !token.is_empty() {
                    req = req.header("Authorization", &bearer);
                }
                req.call()
            }
            other => panic!("unsupported method {other}"),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// GET as admin, expecting 200.
    pub fn get(&self, path: &str, q: Option<&str>) -> Value {
        let (status, body) = self.send("GET", &self.admin_token, path, q, None);
        assert_eq!(status, 200, "GET {path} q={q:?} answered {status}: {body}");
        body
    }

    /// POST as admin, expecting 201; the new object's id.
    pub fn create(&self, path: &str, payload: &Value) -> i64 {
        let (status, body) = self.send("POST", &self.admin_token, path, None, Some(payload));
        assert_eq!(
            status, 201,
            "POST {path} {payload} answered {status}: {body}"
        );
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("POST {path}: no id in {body}"))
    }

    /// DELETE as admin, expecting 200.
    pub fn delete(&self, path: &str) {
        let (status, body) = self.send("DELETE", &self.admin_token, path, None, None);
        assert_eq!(status, 200, "DELETE {path} answered {status}: {body}");
    }

    /// Every object of a list endpoint, paged and sorted by `order` (stable pages).
    pub fn list(&self, path: &str, order: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for page in 0.. {
            let q = format!("(page:{page},page_size:100,order_column:{order},order_direction:asc)");
            let body = self.get(path, Some(&q));
            let result = body["result"]
                .as_array()
                .unwrap_or_else(|| panic!("GET {path}: no result array in {body}"))
                .clone();
            let count = body["count"].as_u64().unwrap_or(0) as usize;
            let empty = result.is_empty();
            out.extend(result);
            if empty || out.len() >= count {
                break;
            }
        }
        out
    }

    pub fn roles(&self) -> Vec<Value> {
        match self.fab_security_api {
            true => self.list("/api/v1/security/roles/", "name"),
            false => self.list("/api/v1/security/roles/search/", "name"),
        }
    }

    pub fn role_id(&self, name: &str) -> Option<i64> {
        self.roles()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["id"].as_i64().unwrap())
    }

    /// A role's permission/view pairs.
    pub fn role_permissions(&self, id: i64) -> BTreeSet<(String, String)> {
        let body = self.get(&format!("/api/v1/security/roles/{id}/permissions/"), None);
        body["result"]
            .as_array()
            .unwrap_or_else(|| panic!("permissions of role {id}: {body}"))
            .iter()
            .map(|p| (s(&p["permission_name"]), s(&p["view_menu_name"])))
            .collect()
    }

    pub fn groups(&self) -> Vec<Value> {
        self.list("/api/v1/security/groups/", "name")
    }

    pub fn users(&self) -> Vec<Value> {
        self.list("/api/v1/security/users/", "username")
    }

    pub fn rls_filters(&self) -> Vec<Value> {
        self.list("/api/v1/rowlevelsecurity/", "name")
    }

    /// Every report schedule, in full (`GET /api/v1/report/<id>`).
    pub fn reports(&self) -> Vec<Value> {
        self.list("/api/v1/report/", "name")
            .iter()
            .map(|r| {
                let id = r["id"].as_i64().unwrap();
                self.get(&format!("/api/v1/report/{id}"), None)["result"].clone()
            })
            .collect()
    }

    /// The SQL Superset would run for `user`'s token on a dataset (`result_type: query`).
    pub fn query_sql(&self, token: &str, dataset_id: i64, who: &str) -> String {
        self.query_sql_if_allowed(token, dataset_id, who)
            .unwrap_or_else(|| panic!("{who} may not query dataset {dataset_id}"))
    }

    /// [`Superset::query_sql`], or none when Superset refuses the user the dataset (403).
    pub fn query_sql_if_allowed(&self, token: &str, dataset_id: i64, who: &str) -> Option<String> {
        let payload = json!({
            "datasource": {"id": dataset_id, "type": "table"},
            "queries": [{"columns": ["region"], "metrics": [], "row_limit": 10}],
            "result_type": "query",
            "result_format": "json",
        });
        let (status, body) = self.send("POST", token, "/api/v1/chart/data", None, Some(&payload));
        if status == 403 {
            return None;
        }
        assert_eq!(
            status, 200,
            "chart data (query) of dataset {dataset_id} as {who} answered {status}: {body}"
        );
        let sql = body["result"][0]["query"]
            .as_str()
            .unwrap_or_else(|| panic!("no result[0].query for {who}: {body}"));
        Some(sql.to_owned())
    }
}

/// The Superset release the services run (`scripts/services.sh`; 6.1.0 in env files that
/// predate the version matrix).
pub fn superset_version() -> String {
    std::env::var("STEWARD_TEST_SUPERSET_VERSION").unwrap_or_else(|_| "6.1.0".to_owned())
}

/// A JSON string's text (empty for anything else).
pub fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The `key` strings of an array of objects, as a set.
pub fn names(v: &Value, key: &str) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| s(&x[key])).collect())
        .unwrap_or_default()
}

/// A string array field of a spec, as a set.
pub fn str_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default()
}

/// An access token for any active user, signed like Superset's own (HS256, SECRET_KEY).
pub fn mint_token(user_id: i64) -> String {
    let key = std::env::var("STEWARD_TEST_SUPERSET_SECRET_KEY").unwrap_or_else(|_| {
        // Older env files lack the key; the Superset config has it.
        let config = std::fs::read_to_string(env("STEWARD_TEST_SUPERSET_CONFIG")).unwrap();
        config
            .lines()
            .find_map(|l| l.strip_prefix("SECRET_KEY = \""))
            .and_then(|l| l.strip_suffix('"'))
            .expect("SECRET_KEY in the Superset config")
            .to_owned()
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "sub": user_id.to_string(),
        "type": "access",
        "fresh": true,
        "iat": now,
        "nbf": now,
        "jti": format!("steward-e2e-{user_id}-{now}-{}", std::process::id()),
        "exp": now + 600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

/// Superset content the manifests refer to by name, resolved through REST.
pub struct Content {
    pub database_ids: BTreeMap<String, i64>,
    /// `database.schema.table` → (id, catalog).
    pub datasets: BTreeMap<String, (i64, Option<String>)>,
    pub dataset_ids: BTreeMap<i64, String>,
    pub chart_ids: BTreeMap<String, i64>,
    pub chart_datasets: BTreeMap<String, i64>,
    pub dashboard_ids: BTreeMap<String, i64>,
}

impl Content {
    pub fn read(ss: &Superset) -> Content {
        let mut c = Content {
            database_ids: BTreeMap::new(),
            datasets: BTreeMap::new(),
            dataset_ids: BTreeMap::new(),
            chart_ids: BTreeMap::new(),
            chart_datasets: BTreeMap::new(),
            dashboard_ids: BTreeMap::new(),
        };
        for db in ss.list("/api/v1/database/", "database_name") {
            c.database_ids
                .insert(s(&db["database_name"]), db["id"].as_i64().unwrap());
        }
        for ds in ss.list("/api/v1/dataset/", "table_name") {
            let key = format!(
                "{}.{}.{}",
                s(&ds["database"]["database_name"]),
                s(&ds["schema"]),
                s(&ds["table_name"])
            );
            let id = ds["id"].as_i64().unwrap();
            c.dataset_ids.insert(id, key.clone());
            c.datasets
                .insert(key, (id, ds["catalog"].as_str().map(str::to_owned)));
        }
        for chart in ss.list("/api/v1/chart/", "slice_name") {
            let name = s(&chart["slice_name"]);
            c.chart_ids
                .insert(name.clone(), chart["id"].as_i64().unwrap());
            if let Some(ds) = chart["datasource_id"].as_i64() {
                c.chart_datasets.insert(name, ds);
            }
        }
        for dash in ss.list("/api/v1/dashboard/", "dashboard_title") {
            let id = dash["id"].as_i64().unwrap();
            c.dashboard_ids.insert(s(&dash["dashboard_title"]), id);
            if let Some(slug) = dash["slug"].as_str() {
                c.dashboard_ids.insert(slug.to_owned(), id);
            }
        }
        c
    }

    pub fn dataset(&self, reference: &str) -> (i64, Option<String>) {
        self.datasets.get(reference).cloned().unwrap_or_else(|| {
            panic!(
                "dataset {reference} is not in Superset: {:?}",
                self.datasets
            )
        })
    }

    /// The permission/view pairs a role's `dataAccess` stands for, in Superset's view naming.
    pub fn data_access_pairs(&self, access: &Value) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let pair = |p: &str, v: String| (p.to_owned(), v);
        if access["allDatabases"] == true {
            out.insert(pair("all_database_access", "all_database_access".into()));
        }
        if access["allDatasets"] == true {
            out.insert(pair(
                "all_datasource_access",
                "all_datasource_access".into(),
            ));
        }
        for db in str_set(&access["databases"]) {
            let id = self.database_ids[&db];
            out.insert(pair("database_access", format!("[{db}].(id:{id})")));
        }
        for schema in str_set(&access["schemas"]) {
            let (db, name) = schema.split_once('.').unwrap();
            // The catalog of any dataset in that schema (Superset names schema permissions
            // `[db].[catalog].[schema]` when the database has catalogs).
            let prefix = format!("{schema}.");
            let catalog = self
                .datasets
                .iter()
                .find(|(k, _)| k.starts_with(&prefix))
                .and_then(|(_, (_, catalog))| catalog.clone());
            let view = match catalog {
                Some(catalog) => format!("[{db}].[{catalog}].[{name}]"),
                None => format!("[{db}].[{name}]"),
            };
            out.insert(pair("schema_access", view));
        }
        for dataset in str_set(&access["datasets"]) {
            let (id, _) = self.dataset(&dataset);
            let (db, rest) = dataset.split_once('.').unwrap();
            let table = rest.split_once('.').unwrap().1;
            out.insert(pair(
                "datasource_access",
                format!("[{db}].[{table}](id:{id})"),
            ));
        }
        out
    }
}

/// Detaches Superset's request-log rows from every user but admin (`user_id = NULL`, what
/// Superset's own user deletion does): requests made as steward's users leave such rows (in
/// tables left out of dumps), and they keep steward from pruning the users.
pub fn forget_user_activity(url: &str) {
    let admin = env("STEWARD_TEST_SUPERSET_ADMIN").replace('\'', "''");
    sql_at(
        url,
        &format!(
            "UPDATE logs SET user_id = NULL WHERE user_id IN (SELECT id FROM ab_user WHERE username <> '{admin}')"
        ),
    );
}

/// A deterministic start on the shared Superset database: steward's tables in place and nothing
/// steward manages left from an earlier run, under any manager (a test that failed half way
/// leaves its operator's or its team's objects behind; they must not fail the tests after it).
pub fn clean_start(url: &str) {
    steward_ok(&["init", "--database", url], 0);
    forget_user_activity(url);
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap();
    let managers = sql_at(
        url,
        "SELECT DISTINCT manager FROM steward_ledger WHERE manager <> 'cli' ORDER BY manager",
    );
    for manager in managers.lines().map(str::trim).filter(|m| !m.is_empty()) {
        steward_ok(
            &[
                "apply",
                empty,
                "--database",
                url,
                "--allow-empty-kinds",
                "--manager",
                manager,
            ],
            0,
        );
    }
    steward_ok(
        &["apply", empty, "--database", url, "--allow-empty-kinds"],
        0,
    );
}
