//! End to end against a real, running Superset 6.1 (started by `scripts/services.sh`): steward
//! writes straight into Superset's metadata database, and everything is read back through
//! Superset's own REST API, the way Superset itself sees it.
//!
//! One sequential test, re-runnable against the same services:
//!  0. clean start: `steward init`, then apply an empty directory (prunes whatever steward
//!     manages from an earlier run);
//!  1. objects Superset owns are created through its REST API (a role, an RLS filter, a
//!     report), unless an earlier run left them there;
//!  2. `steward init`, dump A of the metadata database;
//!  3. apply `examples/org`, diff is clean, every declared object reads back exactly;
//!  4. a changed copy of the organisation (filter, schedule and permission removed, a group
//!     member dropped, a crontab changed) lands exactly;
//!  5. applying an empty directory restores dump A, and the REST-made objects survive;
//!  6. with `examples/org` applied again, chart-data queries of users minted a token for carry
//!     the RLS clauses that apply to them (through groups, directly, Base exemptions, Jinja);
//!  7. those users, now in Superset's request log, can still be pruned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::services::{env, pg_dump_rows, psql, sql_at, steward, steward_ok, superset_python};
use crate::superset_api::{
    Content, Superset, clean_start, exclusive, mint_token, names, s, str_set,
};
use crate::{repo_path, yaml_files};

/// Tables left out of before/after dumps: Superset's request log and key-value cache, steward's
/// own bookkeeping, and `ab_user` (logins touch `last_login`/`login_count`; compared without
/// them by [`users_without_login_columns`]).
pub(crate) const DUMP_SKIP: &[&str] = &[
    "logs",
    "steward_ledger",
    "steward_migrations",
    "steward_instance",
    "key_value",
    "ab_user",
];

const API_ROLE: &str = "API Made Role";
const API_FILTER: &str = "API made filter (steward e2e)";
const API_REPORT: &str = "API made report (steward e2e)";

// ---------------------------------------------------------------------------------------------
// What the manifests declare, read independently of steward (plain YAML → JSON)

#[derive(Default)]
pub(crate) struct Declared {
    pub roles: BTreeMap<String, Value>,
    pub groups: BTreeMap<String, Value>,
    pub users: BTreeMap<String, Value>,
    pub rls: BTreeMap<String, Value>,
    pub schedules: BTreeMap<String, Value>,
}

impl Declared {
    pub(crate) fn load(dir: &Path) -> Declared {
        let mut declared = Declared::default();
        let mut objects = Vec::new();
        for file in yaml_files(dir) {
            let text = std::fs::read_to_string(&file).unwrap();
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for doc in docs {
                if doc["kind"] == "List" {
                    objects.extend(doc["items"].as_array().cloned().unwrap_or_default());
                } else if !doc.is_null() {
                    objects.push(doc);
                }
            }
        }
        for obj in objects {
            let spec = obj["spec"].clone();
            let meta_name = s(&obj["metadata"]["name"]);
            let name = |field: &str| {
                spec[field]
                    .as_str()
                    .map_or(meta_name.clone(), str::to_owned)
            };
            match obj["kind"].as_str().unwrap_or_default() {
                "SupersetRole" => declared.roles.insert(name("name"), spec),
                "SupersetGroup" => declared.groups.insert(name("name"), spec),
                "SupersetUser" => declared.users.insert(name("username"), spec),
                "RowLevelSecurityFilter" => declared.rls.insert(name("name"), spec),
                "ReportSchedule" => declared.schedules.insert(name("name"), spec),
                _ => None,
            };
        }
        assert!(
            !declared.roles.is_empty()
                && !declared.rls.is_empty()
                && !declared.schedules.is_empty(),
            "nothing declared in {}",
            dir.display()
        );
        declared
    }

    /// Every role `user` holds: directly and through the groups it belongs to.
    pub(crate) fn roles_of(&self, user: &str) -> BTreeSet<String> {
        let mut roles = self
            .users
            .get(user)
            .map(|u| str_set(&u["roles"]))
            .unwrap_or_default();
        for group in self.groups.values() {
            if str_set(&group["users"]).contains(user) {
                roles.extend(str_set(&group["roles"]));
            }
        }
        roles
    }
}

/// The exact permission set a declared role should grant: its SIP-19 permissions, raw pairs and
/// data access, plus everything of the roles it includes (declared ones recursively, built-in
/// ones as Superset has them).
fn expected_permissions(
    role: &str,
    declared: &Declared,
    content: &Content,
    builtin: &BTreeMap<String, BTreeSet<(String, String)>>,
) -> BTreeSet<(String, String)> {
    let Some(spec) = declared.roles.get(role) else {
        return builtin
            .get(role)
            .cloned()
            .unwrap_or_else(|| panic!("role {role} is neither declared nor built in"));
    };
    let mut out = BTreeSet::new();
    for p in spec["permissions"].as_array().into_iter().flatten() {
        for action in p["actions"].as_array().into_iter().flatten() {
            out.insert((format!("can_{}", s(action)), s(&p["view"])));
        }
    }
    for p in spec["rawPermissions"].as_array().into_iter().flatten() {
        out.insert((s(&p["permission"]), s(&p["view"])));
    }
    out.extend(content.data_access_pairs(&spec["dataAccess"]));
    for included in str_set(&spec["includes"]) {
        out.extend(expected_permissions(&included, declared, content, builtin));
    }
    out
}

/// `only in A` / `only in B` lines of two sets, for messages.
fn set_difference<T: Ord + std::fmt::Debug>(expected: &BTreeSet<T>, found: &BTreeSet<T>) -> String {
    let missing: Vec<_> = expected.difference(found).collect();
    let extra: Vec<_> = found.difference(expected).collect();
    format!("missing {missing:?}; unexpected {extra:?}")
}

// ---------------------------------------------------------------------------------------------
// Read-back: Superset (through REST) against what a directory declares

/// Asserts that Superset holds exactly what `declared` says, for every declared object.
/// `db_url` is the metadata database `ss` serves (either backend).
pub(crate) fn verify_declared(
    ss: &Superset,
    db_url: &str,
    declared: &Declared,
    content: &Content,
    label: &str,
) {
    let roles = ss.roles();
    let role_ids: BTreeMap<String, i64> = roles
        .iter()
        .map(|r| (s(&r["name"]), r["id"].as_i64().unwrap()))
        .collect();
    let mut builtin = BTreeMap::new();
    for name in ["Admin", "Alpha", "Gamma", "sql_lab", "Public"] {
        if let Some(id) = role_ids.get(name) {
            builtin.insert(name.to_owned(), ss.role_permissions(*id));
        }
    }
    assert!(
        builtin.get("Gamma").is_some_and(|g| !g.is_empty()),
        "[{label}] Gamma has no permissions in Superset: {builtin:?}"
    );

    // Roles: exactly their permissions.
    for name in declared.roles.keys() {
        let id = *role_ids.get(name).unwrap_or_else(|| {
            panic!(
                "[{label}] role {name} is not in Superset; roles: {:?}",
                role_ids.keys()
            )
        });
        let expected = expected_permissions(name, declared, content, &builtin);
        let found = ss.role_permissions(id);
        assert_eq!(
            found,
            expected,
            "[{label}] permissions of role {name}: {}",
            set_difference(&expected, &found)
        );
    }

    // Users: username, names, e-mail, active, direct roles.
    let users: BTreeMap<String, Value> = ss
        .users()
        .into_iter()
        .map(|u| (s(&u["username"]), u))
        .collect();
    for (username, spec) in &declared.users {
        let user = users.get(username).unwrap_or_else(|| {
            panic!(
                "[{label}] user {username} is not in Superset; users: {:?}",
                users.keys()
            )
        });
        let want_active = spec["active"].as_bool().unwrap_or(true);
        assert_eq!(
            user["email"], spec["email"],
            "[{label}] e-mail of {username}: {user}"
        );
        assert_eq!(
            user["active"], want_active,
            "[{label}] active flag of {username}: {user}"
        );
        assert_eq!(
            user["first_name"], spec["firstName"],
            "[{label}] first name of {username}: {user}"
        );
        assert_eq!(
            user["last_name"], spec["lastName"],
            "[{label}] last name of {username}: {user}"
        );
        let want_roles = str_set(&spec["roles"]);
        let found_roles = names(&user["roles"], "name");
        assert_eq!(
            found_roles,
            want_roles,
            "[{label}] direct roles of {username}: {}",
            set_difference(&want_roles, &found_roles)
        );
    }

    // Groups: label, description, exactly their roles and users (Superset 5.0, which has no
    // groups API, gets none declared).
    let groups: BTreeMap<String, Value> = match declared.groups.is_empty() {
        true => BTreeMap::new(),
        false => ss
            .groups()
            .into_iter()
            .map(|g| (s(&g["name"]), g))
            .collect(),
    };
    for (name, spec) in &declared.groups {
        let group = groups.get(name).unwrap_or_else(|| {
            panic!(
                "[{label}] group {name} is not in Superset; groups: {:?}",
                groups.keys()
            )
        });
        assert_eq!(
            group["label"], spec["label"],
            "[{label}] label of group {name}: {group}"
        );
        assert_eq!(
            group["description"], spec["description"],
            "[{label}] description of group {name}: {group}"
        );
        let (want, found) = (str_set(&spec["roles"]), names(&group["roles"], "name"));
        assert_eq!(
            found,
            want,
            "[{label}] roles of group {name}: {}",
            set_difference(&want, &found)
        );
        let (want, found) = (str_set(&spec["users"]), names(&group["users"], "username"));
        assert_eq!(
            found,
            want,
            "[{label}] users of group {name}: {}",
            set_difference(&want, &found)
        );
    }

    // RLS filters: clause, type, group key, description, roles, tables.
    let filters: BTreeMap<String, Value> = ss
        .rls_filters()
        .into_iter()
        .map(|f| (s(&f["name"]), f))
        .collect();
    for (name, spec) in &declared.rls {
        let filter = filters.get(name).unwrap_or_else(|| {
            panic!(
                "[{label}] RLS filter {name:?} is not in Superset; filters: {:?}",
                filters.keys()
            )
        });
        assert_eq!(
            filter["clause"], spec["clause"],
            "[{label}] clause of {name:?}: {filter}"
        );
        assert_eq!(
            filter["filter_type"], spec["filterType"],
            "[{label}] filter type of {name:?}: {filter}"
        );
        assert_eq!(
            filter["group_key"], spec["groupKey"],
            "[{label}] group key of {name:?}: {filter}"
        );
        assert_eq!(
            filter["description"], spec["description"],
            "[{label}] description of {name:?}: {filter}"
        );
        let (want, found) = (str_set(&spec["roles"]), names(&filter["roles"], "name"));
        assert_eq!(
            found,
            want,
            "[{label}] roles of RLS filter {name:?}: {}",
            set_difference(&want, &found)
        );
        let want: BTreeSet<i64> = str_set(&spec["datasets"])
            .iter()
            .map(|d| content.dataset(d).0)
            .collect();
        let found: BTreeSet<i64> = filter["tables"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        let show = |ids: &BTreeSet<i64>| -> Vec<String> {
            ids.iter()
                .map(|i| content.dataset_ids.get(i).cloned().unwrap_or(i.to_string()))
                .collect()
        };
        assert_eq!(
            found,
            want,
            "[{label}] tables of RLS filter {name:?}: expected {:?}, found {:?}",
            show(&want),
            show(&found)
        );
    }

    // Schedules: every column steward writes to `report_schedule`, `report_schedule_user` and
    // `report_recipient` (type, name, description, message, active, crontab, timezone, target,
    // alert database/SQL/validator, format, durations, e-mail subject, screenshot, extra,
    // creation method, owners, recipients of every type, run-as).
    let reports: BTreeMap<String, Value> = ss
        .reports()
        .into_iter()
        .map(|r| (s(&r["name"]), r))
        .collect();
    let user_ids: BTreeMap<String, i64> = users
        .iter()
        .map(|(name, u)| (name.clone(), u["id"].as_i64().unwrap()))
        .collect();
    // Defaults are what Superset itself stores: the report made through its REST API gives
    // none of the optional fields, and is the README's list of defaults.
    let superset_made = reports
        .get(API_REPORT)
        .unwrap_or_else(|| panic!("[{label}] the REST-made report is missing"));
    for (field, documented) in [
        ("report_format", json!("PNG")),
        ("working_timeout", json!(3600)),
        ("grace_period", json!(14400)),
        ("log_retention", json!(90)),
        ("active", json!(true)),
        ("timezone", json!("UTC")),
    ] {
        assert_eq!(
            superset_made[field], documented,
            "[{label}] Superset's default {field}, as the README documents it: {superset_made}"
        );
    }
    let superset_height = sql_at(
        db_url,
        &format!(
            "SELECT custom_height FROM report_schedule WHERE id = {}",
            superset_made["id"]
        ),
    );
    // Which columns Superset's own writer leaves non-NULL (timestamps, `extra_json`,
    // `validator_config_json`, and the recipients' timestamps): steward's rows must match.
    let set = |column: &str| format!("CASE WHEN {column} IS NOT NULL THEN 't' ELSE 'f' END");
    let filled = |id: &Value| {
        sql_at(
            db_url,
            &format!(
                "SELECT {}, {}, {}, {}, \
                 (SELECT CASE WHEN min(CASE WHEN created_on IS NOT NULL AND changed_on IS NOT NULL \
                  THEN 1 ELSE 0 END) = 1 THEN 't' ELSE 'f' END \
                  FROM report_recipient WHERE report_schedule_id = {id}) \
                 FROM report_schedule WHERE id = {id}",
                set("created_on"),
                set("changed_on"),
                set("extra_json"),
                set("validator_config_json"),
            ),
        )
        .trim()
        .to_owned()
    };
    let superset_filled = filled(&superset_made["id"]);
    assert_eq!(superset_filled, "t|t|t|t|t", "[{label}] {superset_made}");
    for (name, spec) in &declared.schedules {
        let report = reports.get(name).unwrap_or_else(|| {
            panic!(
                "[{label}] schedule {name:?} is not in Superset; reports: {:?}",
                reports.keys()
            )
        });
        for field in ["type", "crontab"] {
            assert_eq!(
                report[field], spec[field],
                "[{label}] {field} of schedule {name:?}: {report}"
            );
        }
        // Optional fields: the declared value, else what Superset stored for its own report.
        let screenshot = &spec["screenshot"];
        for (field, declared_value) in [
            ("timezone", spec["timezone"].clone()),
            ("active", spec["active"].clone()),
            ("report_format", spec["reportFormat"].clone()),
            ("email_subject", spec["emailSubject"].clone()),
            ("context_markdown", spec["message"].clone()),
            ("custom_width", screenshot["width"].clone()),
            ("force_screenshot", screenshot["force"].clone()),
            (
                "extra",
                spec["attachContent"]
                    .as_bool()
                    .map_or(Value::Null, |a| json!({ "attach_content": a })),
            ),
            ("log_retention", spec["logRetentionDays"].clone()),
            ("grace_period", spec["gracePeriodSeconds"].clone()),
            ("working_timeout", spec["workingTimeoutSeconds"].clone()),
            ("creation_method", Value::Null),
        ] {
            let want = if declared_value.is_null() {
                &superset_made[field]
            } else {
                &declared_value
            };
            assert_eq!(
                &report[field], want,
                "[{label}] {field} of schedule {name:?} (declared {declared_value}): {report}"
            );
        }
        assert_eq!(
            report["description"], spec["description"],
            "[{label}] description of {name:?}: {report}"
        );
        if spec["type"] == "Report" {
            for field in ["sql", "database", "validator_type"] {
                assert!(
                    report[field].is_null(),
                    "[{label}] {field} of report {name:?} (alerts only): {report}"
                );
            }
            assert_eq!(
                report["validator_config_json"], superset_made["validator_config_json"],
                "[{label}] validator config of report {name:?}: {report}"
            );
        }
        assert_eq!(
            filled(&report["id"]),
            superset_filled,
            "[{label}] created_on|changed_on|extra_json|validator_config_json|recipient timestamps \
             set of {name:?}, as Superset sets them"
        );
        if let Some(chart) = spec["chart"]["name"].as_str() {
            assert_eq!(
                report["chart"]["id"], content.chart_ids[chart],
                "[{label}] chart of {name:?}: {report}"
            );
            assert!(
                report["dashboard"].is_null(),
                "[{label}] dashboard of {name:?}: {report}"
            );
        }
        if let Some(slug) = spec["dashboard"]["slug"].as_str() {
            assert_eq!(
                report["dashboard"]["id"], content.dashboard_ids[slug],
                "[{label}] dashboard of {name:?}: {report}"
            );
            assert!(
                report["chart"].is_null(),
                "[{label}] chart of {name:?}: {report}"
            );
        }
        if spec["type"] == "Alert" {
            assert_eq!(
                report["sql"], spec["sql"],
                "[{label}] alert SQL of {name:?}: {report}"
            );
            assert_eq!(
                report["database"]["database_name"], spec["database"],
                "[{label}] alert database of {name:?}: {report}"
            );
            let validator = &spec["validator"];
            let (kind, config) = match validator["type"].as_str() {
                Some("Operator") => (
                    "operator",
                    serde_json::json!({
                        "op": validator["operator"],
                        "threshold": validator["threshold"].as_f64().unwrap(),
                    }),
                ),
                other => {
                    assert_eq!(other, Some("NotNull"), "{name:?}: validator {validator}");
                    ("not null", serde_json::json!({}))
                }
            };
            assert_eq!(
                report["validator_type"], kind,
                "[{label}] validator of {name:?}: {report}"
            );
            let stored: Value = report["validator_config_json"]
                .as_str()
                .map(|t| serde_json::from_str(t).unwrap())
                .unwrap_or_default();
            let stored = match stored {
                Value::Object(mut m) => {
                    if let Some(t) = m.get("threshold").and_then(Value::as_f64) {
                        m.insert("threshold".into(), serde_json::json!(t));
                    }
                    Value::Object(m)
                }
                other => other,
            };
            assert_eq!(
                stored, config,
                "[{label}] validator config of {name:?}: {report}"
            );
        }
        let want: BTreeSet<String> = str_set(&spec["owners"]);
        let found: BTreeSet<String> = report["owners"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                let id = o["id"].as_i64().unwrap();
                user_ids
                    .iter()
                    .find(|(_, v)| **v == id)
                    .map_or(format!("user id {id}"), |(k, _)| k.clone())
            })
            .collect();
        assert_eq!(
            found,
            want,
            "[{label}] owners of schedule {name:?}: {}",
            set_difference(&want, &found)
        );

        let mut want: BTreeSet<(String, BTreeMap<String, String>)> = BTreeSet::new();
        let email = &spec["recipients"]["email"];
        if !email.is_null() {
            let join = |v: &Value| {
                v.as_array()
                    .map(|a| a.iter().map(s).collect::<Vec<_>>().join(","))
                    .unwrap_or_default()
            };
            let mut config = BTreeMap::new();
            for (key, target) in [("to", "target"), ("cc", "ccTarget"), ("bcc", "bccTarget")] {
                if !email[key].is_null() {
                    config.insert(target.to_owned(), join(&email[key]));
                }
            }
            want.insert(("Email".into(), config));
        }
        let slack = &spec["recipients"]["slack"]["channels"];
        if let Some(channels) = slack.as_array() {
            let target = channels.iter().map(s).collect::<Vec<_>>().join(",");
            want.insert((
                "Slack".into(),
                BTreeMap::from([("target".to_owned(), target)]),
            ));
        }
        if let Some(url) = spec["recipients"]["webhook"]["url"].as_str() {
            want.insert((
                "Webhook".into(),
                BTreeMap::from([("target".to_owned(), url.to_owned())]),
            ));
        }
        let found: BTreeSet<(String, BTreeMap<String, String>)> = report["recipients"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let config = r["recipient_config_json"]
                    .as_str()
                    .and_then(|c| serde_json::from_str(c).ok())
                    .unwrap_or_default();
                (s(&r["type"]), config)
            })
            .collect();
        assert_eq!(
            found,
            want,
            "[{label}] recipients of schedule {name:?}: {}",
            set_difference(&want, &found)
        );

        // Not in Superset 6.1's REST API: the screenshot height, and the SIP-209 run-as columns
        // steward added. Read from the table.
        let id = report["id"].as_i64().unwrap();
        let row = sql_at(
            db_url,
            &format!(
                "SELECT custom_height, run_as_fk, run_as_type, run_alert_query_as_fk, \
                 run_alert_query_as_type FROM report_schedule WHERE id = {id}"
            ),
        );
        let expect_user = |key: &str| {
            spec[key]
                .as_str()
                .map_or("|".to_owned(), |u| format!("{}|fixed_user", user_ids[u]))
        };
        let height = screenshot["height"]
            .as_i64()
            .map_or(superset_height.trim().to_owned(), |h| h.to_string());
        assert_eq!(
            row.trim(),
            format!(
                "{height}|{}|{}",
                expect_user("runAs"),
                expect_user("runAlertQueryAs")
            ),
            "[{label}] custom_height|run_as_fk|run_as_type|run_alert_query_as_fk|run_alert_query_as_type \
             of schedule {name:?} (screenshot {screenshot}, runAs {}, runAlertQueryAs {})",
            spec["runAs"],
            spec["runAlertQueryAs"]
        );
    }
    let (status, body) = ss.send("GET", &ss.admin_token, "/api/v1/report/", None, None);
    assert_eq!(status, 200, "[{label}] GET /api/v1/report/: {body}");
}

// ---------------------------------------------------------------------------------------------
// Objects Superset owns, made through REST

pub(crate) struct ApiMade {
    role: i64,
    filter: i64,
    report: i64,
}

/// The REST-made role, RLS filter and report, created when missing.
pub(crate) fn ensure_api_made(ss: &Superset, content: &Content) -> ApiMade {
    let role = match ss.role_id(API_ROLE) {
        Some(id) => id,
        None => ss.create("/api/v1/security/roles/", &json!({"name": API_ROLE})),
    };
    let (accounts, _) = content.dataset("warehouse.sales.accounts");
    let filter = match ss.rls_filters().iter().find(|f| f["name"] == API_FILTER) {
        Some(f) => f["id"].as_i64().unwrap(),
        None => ss.create(
            "/api/v1/rowlevelsecurity/",
            &json!({
                "name": API_FILTER,
                "description": "made through Superset's REST API",
                "filter_type": "Regular",
                "tables": [accounts],
                "roles": [role],
                "clause": "region = 'API'",
                "group_key": "api",
            }),
        ),
    };
    let admin_id = ss
        .users()
        .iter()
        .find(|u| u["username"] == env("STEWARD_TEST_SUPERSET_ADMIN").as_str())
        .map(|u| u["id"].as_i64().unwrap())
        .expect("admin user");
    let report = match ss
        .list("/api/v1/report/", "name")
        .iter()
        .find(|r| r["name"] == API_REPORT)
    {
        Some(r) => r["id"].as_i64().unwrap(),
        None => ss.create(
            "/api/v1/report/",
            &json!({
                "type": "Report",
                "name": API_REPORT,
                "description": "made through Superset's REST API",
                // Every optional field left to Superset: its defaults are what the read-back of
                // steward's schedules expects where the manifests leave a field out.
                "crontab": "0 10 * * *",
                "chart": content.chart_ids["Revenue by region"],
                "owners": [admin_id],
                "recipients": [{
                    "type": "Email",
                    "recipient_config_json": {"target": "ana.alves@finance.corp.example.com"},
                }],
            }),
        ),
    };
    ApiMade {
        role,
        filter,
        report,
    }
}

/// The REST-made objects are still there, unchanged.
pub(crate) fn verify_api_made(ss: &Superset, made: &ApiMade, content: &Content, label: &str) {
    assert_eq!(
        ss.role_id(API_ROLE),
        Some(made.role),
        "[{label}] the REST-made role {API_ROLE:?}; roles: {:?}",
        ss.roles().iter().map(|r| s(&r["name"])).collect::<Vec<_>>()
    );
    let filters = ss.rls_filters();
    let filter = filters
        .iter()
        .find(|f| f["id"] == made.filter)
        .unwrap_or_else(|| {
            panic!(
                "[{label}] the REST-made RLS filter {} is gone; filters: {filters:?}",
                made.filter
            )
        });
    assert_eq!(
        filter["name"], API_FILTER,
        "[{label}] REST-made filter: {filter}"
    );
    assert_eq!(
        filter["clause"], "region = 'API'",
        "[{label}] REST-made filter: {filter}"
    );
    assert_eq!(
        names(&filter["roles"], "name"),
        BTreeSet::from([API_ROLE.to_owned()]),
        "[{label}] roles of the REST-made filter: {filter}"
    );
    let (accounts, _) = content.dataset("warehouse.sales.accounts");
    assert_eq!(
        filter["tables"][0]["id"], accounts,
        "[{label}] tables of the REST-made filter: {filter}"
    );
    let (status, body) = ss.send(
        "GET",
        &ss.admin_token,
        &format!("/api/v1/report/{}", made.report),
        None,
        None,
    );
    assert_eq!(
        status, 200,
        "[{label}] the REST-made report {}: {body}",
        made.report
    );
    let report = &body["result"];
    assert_eq!(
        report["name"], API_REPORT,
        "[{label}] REST-made report: {report}"
    );
    assert_eq!(
        report["crontab"], "0 10 * * *",
        "[{label}] REST-made report: {report}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(
            report["recipients"][0]["recipient_config_json"]
                .as_str()
                .unwrap_or_default()
        )
        .ok(),
        Some(json!({"target": "ana.alves@finance.corp.example.com"})),
        "[{label}] recipients of the REST-made report: {report}"
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers: dumps, YAML edits

/// `ab_user` without the columns logins change.
fn users_without_login_columns(url: &str) -> Vec<String> {
    psql(
        url,
        "SELECT 'ab_user: ' || (id, first_name, last_name, username, password, active, email, created_on, changed_on, created_by_fk, changed_by_fk)::text FROM ab_user ORDER BY id",
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

fn dump(url: &str) -> Vec<String> {
    let mut rows = pg_dump_rows(url, DUMP_SKIP);
    rows.extend(users_without_login_columns(url));
    rows
}

/// The first lines only in `a` and only in `b`.
pub(crate) fn dump_diff(a: &[String], b: &[String]) -> String {
    let (sa, sb): (BTreeSet<&String>, BTreeSet<&String>) = (a.iter().collect(), b.iter().collect());
    let mut out = String::new();
    for line in sa.difference(&sb).take(25) {
        out.push_str(&format!("\n  - {line}"));
    }
    for line in sb.difference(&sa).take(25) {
        out.push_str(&format!("\n  + {line}"));
    }
    if out.is_empty() {
        out = format!(
            "(same lines, {} vs {} rows: duplicates differ)",
            a.len(),
            b.len()
        );
    }
    out
}

/// Replaces the one occurrence of `from` in `file`.
fn replace_once(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "expected exactly one {from:?} in {}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// Drops the one YAML document of `file` that contains `marker`.
fn remove_document(file: &Path, marker: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let kept: Vec<&str> = docs
        .iter()
        .copied()
        .filter(|d| !d.contains(marker))
        .collect();
    assert_eq!(
        kept.len() + 1,
        docs.len(),
        "expected exactly one document with {marker:?} in {}",
        file.display()
    );
    std::fs::write(file, kept.join("\n---\n")).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The test

/// An RLS probe: user, dataset id, what the case shows, a clause that must be in the SQL, one
/// that must not.
type Probe<'a> = (&'a str, i64, &'a str, Option<&'a str>, Option<&'a str>);

#[test]
fn steward_against_a_real_superset() {
    let _superset = exclusive();
    // Progress lines only; how long each step takes is measured by the benchmarks.
    let step = |what: &str| eprintln!("[superset_e2e] {what}");
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    let org = repo_path("examples/org");
    let empty = tempfile::tempdir().unwrap();
    let empty_dir = empty.path().to_str().unwrap().to_owned();
    let apply = |dir: &str, extra: &[&str]| {
        let mut args = vec!["apply", dir, "--database", url.as_str()];
        args.extend_from_slice(extra);
        steward_ok(&args, 0)
    };

    // 0. A deterministic start: nothing steward manages (from an earlier run) is left.
    step("clean start");
    clean_start(&url);

    // 1. Objects Superset owns, made through its REST API.
    step("REST-made objects");
    let ss = Superset::connect();
    let content = Content::read(&ss);
    for name in [
        "Revenue by region",
        "Pipeline by stage",
        "Open invoices by age",
    ] {
        assert!(
            content.chart_ids.contains_key(name),
            "seeded chart {name:?} missing: {:?}",
            content.chart_ids
        );
    }
    let made = ensure_api_made(&ss, &content);
    verify_api_made(&ss, &made, &content, "created");

    // 2. steward's migrations, then the state to come back to.
    step("init + dump A");
    steward_ok(&["init", "--database", &url], 0);
    let dump_a = dump(&url);
    assert!(
        dump_a.iter().any(|r| r.starts_with("ab_role: ")),
        "dump A has no ab_role rows: {} rows",
        dump_a.len()
    );

    // 3. The example organisation, applied and read back.
    step("apply examples/org");
    let out = apply(&org, &[]);
    eprintln!("{out}");
    let out = steward_ok(&["diff", &org, "--database", &url], 0);
    eprintln!("diff after apply: {out}");
    let declared = Declared::load(Path::new(&org));
    verify_declared(&ss, &url, &declared, &content, "examples/org");
    verify_api_made(&ss, &made, &content, "after applying examples/org");

    // 4. A changed organisation.
    step("apply a changed copy");
    let changed = tempfile::tempdir().unwrap();
    for file in yaml_files(Path::new(&org)) {
        std::fs::copy(&file, changed.path().join(file.file_name().unwrap())).unwrap();
    }
    let changed_dir = changed.path().to_str().unwrap().to_owned();
    let at = |f: &str| changed.path().join(f);
    remove_document(&at("rls.yaml"), "name: finance-region-us\n");
    replace_once(
        &at("roles.yaml"),
        "    - view: Log\n      actions: [read]\n",
        "",
    );
    replace_once(
        &at("groups.yaml"),
        "users: [ana.alves, dmitri.brandt]",
        "users: [dmitri.brandt]",
    );
    replace_once(
        &at("schedules.yaml"),
        "crontab: \"30 8 * * 1-5\"",
        "crontab: \"45 9 * * 1-5\"",
    );
    remove_document(&at("schedules.yaml"), "name: quarter-close-countdown\n");
    // Fields `examples/org` sets or leaves out the other way: a webhook recipient, the screenshot
    // height and a fresh screenshot, a changed e-mail subject and width, no timezone.
    replace_once(&at("schedules.yaml"), "  timezone: UTC\n", "");
    replace_once(
        &at("schedules.yaml"),
        "      channels: [\"#sales-pipeline\"]\n",
        "      channels: [\"#sales-pipeline\"]\n    webhook:\n      url: https://hooks.corp.example.com/services/steward-e2e\n",
    );
    replace_once(
        &at("schedules.yaml"),
        "emailSubject: Finance overview, week to date\n",
        "emailSubject: \"Finance overview: week to date\"\n",
    );
    replace_once(
        &at("schedules.yaml"),
        "  screenshot:\n    width: 1600\n",
        "  screenshot:\n    width: 1200\n    height: 900\n    force: true\n",
    );
    let out = steward_ok(&["diff", &changed_dir, "--database", &url], 2);
    eprintln!("diff of the changed copy:\n{out}");
    let out = apply(&changed_dir, &[]);
    eprintln!("{out}");
    steward_ok(&["diff", &changed_dir, "--database", &url], 0);
    let declared_changed = Declared::load(changed.path());
    assert!(
        !declared_changed.rls.contains_key("Finance US rows")
            && !declared_changed
                .schedules
                .contains_key("Quarter close countdown"),
        "the edits did not remove the filter and schedule from the copy"
    );
    verify_declared(&ss, &url, &declared_changed, &content, "changed copy");
    // Exactly those changes: the removed objects are gone, the change landed, the rest stays.
    let filters: BTreeSet<String> = ss.rls_filters().iter().map(|f| s(&f["name"])).collect();
    assert!(
        !filters.contains("Finance US rows"),
        "removed RLS filter still in Superset: {filters:?}"
    );
    for kept in declared_changed.rls.keys() {
        assert!(
            filters.contains(kept),
            "RLS filter {kept:?} lost: {filters:?}"
        );
    }
    let reports: BTreeMap<String, Value> = ss
        .list("/api/v1/report/", "name")
        .into_iter()
        .map(|r| (s(&r["name"]), r))
        .collect();
    assert!(
        !reports.contains_key("Quarter close countdown"),
        "removed schedule still in Superset: {:?}",
        reports.keys()
    );
    assert_eq!(
        reports
            .get("Daily pipeline by stage")
            .map(|r| r["crontab"].clone()),
        Some(json!("45 9 * * 1-5")),
        "crontab of the changed schedule; reports: {:?}",
        reports.keys()
    );
    for role in ["Audit Reader", "Audit Investigator"] {
        let perms = ss.role_permissions(ss.role_id(role).unwrap());
        assert!(
            !perms.contains(&("can_read".to_owned(), "Log".to_owned())),
            "{role} still grants can_read on Log: {perms:?}"
        );
        assert!(
            perms.contains(&("can_read".to_owned(), "Dashboard".to_owned())),
            "{role} lost can_read on Dashboard: {perms:?}"
        );
    }
    let finance = ss
        .groups()
        .into_iter()
        .find(|g| g["name"] == "finance-team")
        .expect("group finance-team");
    assert_eq!(
        names(&finance["users"], "username"),
        BTreeSet::from(["dmitri.brandt".to_owned()]),
        "users of finance-team after removing ana.alves: {finance}"
    );
    assert!(
        ss.users().iter().any(|u| u["username"] == "ana.alves"),
        "ana.alves (still declared) was deleted"
    );
    verify_api_made(&ss, &made, &content, "after the changed copy");

    // 5. Nothing declared: back to dump A, and Superset's own objects survive.
    step("apply an empty directory + dump B");
    let out = apply(&empty_dir, &["--allow-empty-kinds"]);
    eprintln!("{out}");
    let dump_b = dump(&url);
    assert!(
        dump_a == dump_b,
        "the metadata DB after pruning everything differs from before steward applied ({} vs {} rows):{}",
        dump_a.len(),
        dump_b.len(),
        dump_diff(&dump_a, &dump_b)
    );
    // Nothing either organisation declared is left (dump B == A says the same, row by row).
    let role_names: BTreeSet<String> = ss.roles().iter().map(|r| s(&r["name"])).collect();
    let filters: BTreeSet<String> = ss.rls_filters().iter().map(|f| s(&f["name"])).collect();
    let reports: BTreeSet<String> = ss
        .list("/api/v1/report/", "name")
        .iter()
        .map(|r| s(&r["name"]))
        .collect();
    let users: BTreeSet<String> = ss.users().iter().map(|u| s(&u["username"])).collect();
    let groups: BTreeSet<String> = ss.groups().iter().map(|g| s(&g["name"])).collect();
    for (kind, declared_names, found) in [
        (
            "role",
            declared.roles.keys().collect::<BTreeSet<_>>(),
            &role_names,
        ),
        ("RLS filter", declared.rls.keys().collect(), &filters),
        ("schedule", declared.schedules.keys().collect(), &reports),
        ("user", declared.users.keys().collect(), &users),
        ("group", declared.groups.keys().collect(), &groups),
    ] {
        let left: Vec<_> = declared_names
            .into_iter()
            .filter(|n| found.contains(*n))
            .collect();
        assert!(
            left.is_empty(),
            "{kind}(s) still in Superset after pruning everything: {left:?}; all: {found:?}"
        );
    }
    verify_api_made(&ss, &made, &content, "after pruning everything");

    // 6. Row-level security as Superset enforces it, for users steward made.
    step("apply examples/org again + RLS through chart data");
    apply(&org, &[]);
    let user_ids: BTreeMap<String, i64> = ss
        .users()
        .iter()
        .map(|u| (s(&u["username"]), u["id"].as_i64().unwrap()))
        .collect();
    let invoices = content.chart_datasets["Revenue by region"];
    assert_eq!(
        content.dataset_ids.get(&invoices).map(String::as_str),
        Some("warehouse.finance.invoices"),
        "dataset of the chart Revenue by region"
    );
    let payments = content.dataset("warehouse.finance.payments").0;
    let opportunities = content.dataset("warehouse.sales.opportunities").0;
    let admin = env("STEWARD_TEST_SUPERSET_ADMIN");
    // Superset renders Jinja in RLS clauses only with the ENABLE_TEMPLATE_PROCESSING feature
    // flag; otherwise the clause reaches the SQL verbatim.
    let config = std::fs::read_to_string(env("STEWARD_TEST_SUPERSET_CONFIG")).unwrap_or_default();
    let templating = config.lines().any(|l| {
        l.contains("\"ENABLE_TEMPLATE_PROCESSING\": True") && !l.trim_start().starts_with('#')
    });
    let render = |clause: &str, user: &str| {
        if templating {
            clause.replace("{{ current_username() }}", user)
        } else {
            clause.to_owned()
        }
    };
    let probes: [Probe; 8] = [
        (
            "ana.alves",
            invoices,
            "role through a group",
            Some("region = 'EU'"),
            Some("region = 'US'"),
        ),
        (
            "dmitri.brandt",
            invoices,
            "group + direct role",
            Some("region = 'US'"),
            None,
        ),
        (
            "svc-finance-reports",
            invoices,
            "direct role only",
            Some("period_status = 'closed'"),
            Some("region = 'EU'"),
        ),
        (
            "ana.alves",
            payments,
            "Base filter for non-holders",
            Some("confidential = false"),
            None,
        ),
        (
            "ines.iyer",
            payments,
            "Base exemption through a group",
            None,
            Some("confidential = false"),
        ),
        (
            "ben.chen",
            opportunities,
            "Jinja, through a group",
            Some("account_owner = '{{ current_username() }}'"),
            None,
        ),
        (
            "greta.dubois",
            opportunities,
            "Jinja, group + direct",
            Some("team_lead = '{{ current_username() }}'"),
            None,
        ),
        (
            &admin,
            invoices,
            "admin holds none of the roles",
            None,
            Some("region = 'EU'"),
        ),
    ];
    for (user, dataset, case, must, must_not) in probes {
        let id = *user_ids
            .get(user)
            .unwrap_or_else(|| panic!("user {user} not in Superset: {:?}", user_ids.keys()));
        let sql = ss.query_sql(&mint_token(id), dataset, user);
        let dataset_name = &content.dataset_ids[&dataset];
        // Which filters apply, from the manifests: Regular ones of a role the user holds
        // (directly or through a group), Base ones of no role the user holds.
        let held = if user == admin {
            BTreeSet::from(["Admin".to_owned()])
        } else {
            declared.roles_of(user)
        };
        for (name, spec) in &declared.rls {
            if !str_set(&spec["datasets"]).contains(dataset_name) {
                continue;
            }
            let holds = !str_set(&spec["roles"]).is_disjoint(&held);
            let applies = if spec["filterType"] == "Base" {
                !holds
            } else {
                holds
            };
            let clause = render(&s(&spec["clause"]), user);
            let shown = sql.contains(&format!("({clause})"));
            assert_eq!(
                shown,
                applies,
                "{user} on {dataset_name} ({case}; holds {held:?}): RLS filter {name:?} with clause ({clause}) should {}be in the SQL:\n{sql}",
                if applies { "" } else { "not " }
            );
        }
        if let Some(clause) = must {
            let clause = render(clause, user);
            assert!(
                sql.contains(&format!("({clause})")),
                "{user} on {dataset_name} ({case}): expected ({clause}) in:\n{sql}"
            );
        }
        if let Some(clause) = must_not {
            assert!(
                !sql.contains(clause),
                "{user} on {dataset_name} ({case}): did not expect {clause} in:\n{sql}"
            );
        }
    }

    // 7. Users who used Superset can still be pruned: Superset's own user deletion
    //    (`DELETE /api/v1/security/users/<id>`) removes their `logs` rows with them.
    step("prune users who made requests");
    let logged = psql(
        &url,
        &format!(
            "SELECT count(*) FROM logs WHERE user_id IN ({})",
            ["ana.alves", "svc-finance-reports"]
                .map(|u| user_ids[u].to_string())
                .join(",")
        ),
    );
    assert_ne!(
        logged.trim(),
        "0",
        "the chart-data requests left no log rows"
    );
    let out = steward(&[
        "apply",
        &empty_dir,
        "--database",
        &url,
        "--allow-empty-kinds",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "pruning everything after steward's users made requests (their rows in Superset's `logs` \
         table refer to them) should succeed like Superset's own user deletion does\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = ss
        .users()
        .iter()
        .map(|u| s(&u["username"]))
        .filter(|u| declared.users.contains_key(u))
        .collect();
    assert!(
        left.is_empty(),
        "users left after pruning everything: {left:?}"
    );

    step("done");
}

/// Superset's own Slack v2 upgrade (`BaseReportState.update_report_schedule_slack_v2`, which a
/// report run performs: the `Slack` recipient becomes `SlackV2` with channel ids), run in
/// Superset's Python against the metadata database with Slack's channel lookup answered
/// locally: steward sees no drift, applies nothing, and a changed declaration still lands.
const SLACK_V2_UPGRADE: &str = r#"
import sys
from datetime import datetime
from uuid import uuid4
from superset.app import create_app

app = create_app()
with app.app_context():
    from superset import db
    from superset.reports.models import ReportSchedule
    import superset.commands.report.execute as execute

    # Superset asks Slack for the channels' ids; each name gets one made from it.
    def channels(search_string, types, exact_match):
        return [{"name": n, "id": "C" + n.upper().replace("-", "")} for n in search_string.split(",")]

    execute.get_channels_with_search = channels
    schedule = db.session.query(ReportSchedule).filter_by(name=sys.argv[1]).one()
    execute.BaseReportState(schedule, datetime.utcnow(), uuid4()).update_report_schedule_slack_v2()
    db.session.commit()
"#;

#[test]
fn a_slack_recipient_superset_upgrades_to_v2_is_not_drift() {
    let _superset = exclusive();
    let url = env("STEWARD_TEST_SUPERSET_DB_URL");
    clean_start(&url);
    // The example organisation as the release under test holds it (the version matrix).
    let (_copy, org) = crate::superset_matrix::example_org_for_release();
    steward_ok(&["apply", &org, "--database", &url], 0);
    let schedule = "Daily pipeline by stage";
    superset_python("Superset's Slack v2 upgrade", SLACK_V2_UPGRADE, &[schedule]);
    let ss = Superset::connect();
    let slack = |ss: &Superset| -> Vec<(String, Value)> {
        let report = ss
            .reports()
            .into_iter()
            .find(|r| r["name"] == schedule)
            .expect("the schedule");
        report["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| s(&r["type"]).starts_with("Slack"))
            .map(|r| {
                (
                    s(&r["type"]),
                    serde_json::from_str(r["recipient_config_json"].as_str().unwrap()).unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        slack(&ss),
        [("SlackV2".to_owned(), json!({"target": "CSALESPIPELINE"}))],
        "what Superset's upgrade made"
    );
    let out = steward_ok(&["diff", &org, "--database", &url], 0);
    assert!(out.contains("No changes"), "{out}");
    let before = dump(&url);
    steward_ok(&["apply", &org, "--database", &url], 0);
    assert!(
        before == dump(&url),
        "an apply with nothing to do wrote:{}",
        dump_diff(&before, &dump(&url))
    );
    // A changed channel is still a change, and lands as steward writes it.
    let changed = tempfile::tempdir().unwrap();
    for file in yaml_files(Path::new(&org)) {
        std::fs::copy(&file, changed.path().join(file.file_name().unwrap())).unwrap();
    }
    // YAML as `examples/org` writes it, or JSON in a release's folded copy.
    let schedules = changed.path().join("schedules.yaml");
    match std::fs::read_to_string(&schedules)
        .unwrap()
        .contains("\"channels\":[")
    {
        true => replace_once(
            &schedules,
            "\"channels\":[\"#sales-pipeline\"]",
            "\"channels\":[\"#sales-leads\"]",
        ),
        false => replace_once(
            &schedules,
            "channels: [\"#sales-pipeline\"]",
            "channels: [\"#sales-leads\"]",
        ),
    }
    let dir = changed.path().to_str().unwrap();
    let out = steward_ok(&["diff", dir, "--database", &url], 2);
    assert!(out.contains("#sales-leads"), "{out}");
    steward_ok(&["apply", dir, "--database", &url], 0);
    assert_eq!(
        slack(&ss),
        [("Slack".to_owned(), json!({"target": "#sales-leads"}))]
    );
    clean_start(&url);
}
