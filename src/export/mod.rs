//! What a metadata database holds, written back as manifests the loader reads: one resource per
//! object, with only the fields that differ from Superset's defaults, so `apply --adopt` of an
//! export changes nothing and the files read like hand-written ones. Pure: state in, resources
//! (as JSON values) out.

pub mod check;
pub mod files;
pub mod marker;
mod roles;
mod schedules;

use serde_json::{Map, Value, json};

use crate::model::{Catalog, RlsFilter, State};
use crate::policy::rls_jinja::templating_needed;
use crate::resources::Kind;

/// `resource` as YAML, through the typed kind so fields come in their declared order (and an
/// export that does not fit the schema is a bug, not a file).
pub fn to_yaml(kind: Kind, resource: &Value) -> Result<String, String> {
    use crate::resources::{
        GuestTokenPolicy, ReportConfiguration, ReportSchedule, RowLevelSecurityFilter,
        SupersetGroup, SupersetRole, SupersetUser,
    };
    fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(
        v: &Value,
    ) -> Result<String, String> {
        let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        serde_saphyr::to_string(&typed).map_err(|e| e.to_string())
    }
    match kind {
        Kind::SupersetUser => typed::<SupersetUser>(resource),
        Kind::SupersetRole => typed::<SupersetRole>(resource),
        Kind::SupersetGroup => typed::<SupersetGroup>(resource),
        Kind::RowLevelSecurityFilter => typed::<RowLevelSecurityFilter>(resource),
        Kind::ReportSchedule => typed::<ReportSchedule>(resource),
        Kind::ReportConfiguration => typed::<ReportConfiguration>(resource),
        Kind::GuestTokenPolicy => typed::<GuestTokenPolicy>(resource),
    }
}

/// One exported object.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    pub kind: Kind,
    /// The Superset name (username, role name, `Type:name` …).
    pub name: String,
    /// The resource: `apiVersion`, `kind`, `metadata`, `spec`.
    pub resource: Value,
}

/// Every object of `kinds` whose Superset name `select` accepts.
pub fn export(
    state: &State,
    catalog: &Catalog,
    kinds: &[Kind],
    select: impl Fn(&str) -> bool,
) -> Vec<Exported> {
    let mut out = Vec::new();
    let mut push = |kind: Kind, name: &str, spec: Value| {
        if kinds.contains(&kind) && select(name) {
            out.push(Exported {
                kind,
                name: name.to_owned(),
                resource: resource(kind, name, spec),
            });
        }
    };
    for user in state.users.values() {
        let mut spec = json!({
            "firstName": user.first_name,
            "lastName": user.last_name,
            "email": user.email,
        });
        if !user.active {
            spec["active"] = json!(false);
        }
        if !user.roles.is_empty() {
            spec["roles"] = json!(user.roles);
        }
        push(Kind::SupersetUser, &user.username, spec);
    }
    for role in state.roles.values() {
        push(
            Kind::SupersetRole,
            &role.name,
            roles::spec(role, catalog, state),
        );
    }
    for group in state.groups.values() {
        let mut spec = Map::new();
        put(&mut spec, "label", group.label.as_ref().map(|v| json!(v)));
        put(
            &mut spec,
            "description",
            group.description.as_ref().map(|v| json!(v)),
        );
        if !group.roles.is_empty() {
            spec.insert("roles".into(), json!(group.roles));
        }
        if !group.users.is_empty() {
            spec.insert("users".into(), json!(group.users));
        }
        push(Kind::SupersetGroup, &group.name, Value::Object(spec));
    }
    for filter in state.rls_filters.values() {
        push(Kind::RowLevelSecurityFilter, &filter.name, rls_spec(filter));
    }
    for schedule in state.schedules.values() {
        push(
            Kind::ReportSchedule,
            &schedule.name,
            schedules::spec(schedule, catalog),
        );
    }
    if let Some(config) = &state.config {
        let mut spec = Map::new();
        for (key, field) in crate::model::ReportConfig::KEYS
            .iter()
            .zip(crate::model::ReportConfig::FIELDS)
        {
            let value = config
                .entries
                .get(*key)
                .and_then(|v| serde_json::from_str(v).ok());
            put(&mut spec, field, value);
        }
        push(Kind::ReportConfiguration, "default", Value::Object(spec));
    }
    for policy in state.guest_policies.values() {
        push(
            Kind::GuestTokenPolicy,
            &policy.name,
            guest_policy_spec(policy),
        );
    }
    out
}

fn guest_policy_spec(policy: &crate::model::GuestPolicy) -> Value {
    let mut spec = Map::new();
    let dashboards: Vec<Value> = policy
        .dashboards
        .iter()
        .map(|uuid| json!({"uuid": uuid}))
        .collect();
    spec.insert("dashboards".into(), json!(dashboards));
    put(
        &mut spec,
        "usernamePattern",
        policy.username_pattern.as_ref().map(|p| json!(p)),
    );
    if !policy.attributes.is_empty() {
        let attributes: Map<String, Value> = policy
            .attributes
            .iter()
            .map(|(key, rule)| {
                let mut a = json!({"pattern": rule.pattern});
                if rule.required {
                    a["required"] = json!(true);
                }
                (key.clone(), a)
            })
            .collect();
        spec.insert("attributes".into(), Value::Object(attributes));
    }
    if !policy.rls_rules.is_empty() {
        let rules: Vec<Value> = policy
            .rls_rules
            .iter()
            .map(|r| match &r.dataset {
                Some(d) => json!({"dataset": d, "clause": r.clause}),
                None => json!({"clause": r.clause}),
            })
            .collect();
        spec.insert("rlsRules".into(), json!(rules));
    }
    if policy.max_lifetime_seconds
        != crate::resources::guest_token_policy::DEFAULT_MAX_LIFETIME_SECONDS
    {
        spec.insert(
            "maxLifetimeSeconds".into(),
            json!(policy.max_lifetime_seconds),
        );
    }
    if !policy.service_accounts.is_empty() {
        let accounts: Vec<Value> = policy
            .service_accounts
            .iter()
            .filter_map(|a| a.split_once('/'))
            .map(|(namespace, name)| json!({"namespace": namespace, "name": name}))
            .collect();
        spec.insert("serviceAccounts".into(), json!(accounts));
    }
    Value::Object(spec)
}

fn rls_spec(filter: &RlsFilter) -> Value {
    let mut spec = Map::new();
    put(
        &mut spec,
        "description",
        filter.description.as_ref().map(|v| json!(v)),
    );
    spec.insert("filterType".into(), json!(filter.filter_type));
    put(
        &mut spec,
        "groupKey",
        filter.group_key.as_ref().map(|v| json!(v)),
    );
    spec.insert("roles".into(), json!(filter.roles));
    spec.insert("datasets".into(), json!(filter.datasets));
    spec.insert("clause".into(), json!(filter.clause));
    put(
        &mut spec,
        "templating",
        templating_needed(&filter.clause).map(|t| json!(t)),
    );
    Value::Object(spec)
}

/// Sets `field` when there is a value.
pub(crate) fn put(spec: &mut Map<String, Value>, field: &str, value: Option<Value>) {
    if let Some(value) = value {
        spec.insert(field.to_owned(), value);
    }
}

/// The resource around `spec`: a DNS-1123 `metadata.name` made from the Superset name, which is
/// also given in the spec when the two differ.
fn resource(kind: Kind, name: &str, mut spec: Value) -> Value {
    let object_name = object_name(name);
    if !matches!(kind, Kind::ReportConfiguration | Kind::GuestTokenPolicy) && object_name != name {
        let field = if kind == Kind::SupersetUser {
            "username"
        } else {
            "name"
        };
        let mut with_name = Map::new();
        with_name.insert(field.into(), json!(name));
        if let Value::Object(rest) = spec {
            with_name.extend(rest);
        }
        spec = Value::Object(with_name);
    }
    json!({
        "apiVersion": "steward.dev/v1alpha1",
        "kind": kind.as_str(),
        "metadata": {"name": object_name},
        "spec": spec,
    })
}

/// The longest `metadata.name` an export makes: with `-N.yaml` after it, still a file name every
/// file system takes (255 bytes).
const MAX_OBJECT_NAME: usize = 200;

/// Lower case, letters, digits, `-` and `.`; other runs become one `-`; at most
/// [`MAX_OBJECT_NAME`] characters.
pub fn object_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let cut: String = out
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(MAX_OBJECT_NAME)
        .collect();
    let trimmed = cut.trim_end_matches(['-', '.']);
    if trimmed.is_empty() {
        "object".to_owned()
    } else {
        trimmed.to_owned()
    }
}
