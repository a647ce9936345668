//! The managed objects in normalised form, and their field lists: the planner diffs any two
//! objects of a kind field by field, so each kind says once which fields it has, named as the
//! manifests name them (`lastName`, `alertMinimumIntervalSeconds`), whatever the column.

use std::collections::{BTreeMap, BTreeSet};

use litemap::LiteMap;
use serde::{Deserialize, Serialize};
use sorted_vec::SortedSet;

use super::PermissionPair;

/// One field's value, in the shape the diff needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Field {
    /// A scalar shown as text; `None` when unset.
    Text(Option<String>),
    /// A number or a boolean, shown as the manifest writes it (unquoted); `None` when unset.
    Literal(Option<String>),
    /// An unordered set of members.
    Set(BTreeSet<String>),
}

fn text(value: impl ToString) -> Field {
    Field::Text(Some(value.to_string()))
}

fn maybe(value: &Option<impl ToString>) -> Field {
    Field::Text(value.as_ref().map(ToString::to_string))
}

/// A run-as user as a field: its username, or a user Superset no longer has.
fn executor(user: &Option<String>, deleted: bool) -> Field {
    match (user, deleted) {
        (None, true) => Field::Literal(Some("(a deleted user)".to_owned())),
        _ => maybe(user),
    }
}

fn literal(value: impl ToString) -> Field {
    Field::Literal(Some(value.to_string()))
}

fn set<T: ToString>(values: impl IntoIterator<Item = T>) -> Field {
    Field::Set(values.into_iter().map(|v| v.to_string()).collect())
}

/// A Superset user (`ab_user` + direct roles).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
    #[serde(deserialize_with = "SortedSet::deserialize_dedup_unsorted")]
    pub roles: SortedSet<String>,
}

#[cfg(test)]
impl User {
    /// An active test user `name` (`name@example.com`) holding `roles` directly.
    pub fn active_with_roles(name: &str, roles: &[&str]) -> User {
        User {
            username: name.into(),
            first_name: "F".into(),
            last_name: "L".into(),
            email: format!("{name}@example.com"),
            active: true,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

/// A Superset role and the exact permission pairs it grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub permissions: BTreeSet<PermissionPair>,
}

/// A Superset group: its roles and members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub label: Option<String>,
    pub description: Option<String>,
    #[serde(deserialize_with = "SortedSet::deserialize_dedup_unsorted")]
    pub roles: SortedSet<String>,
    pub users: BTreeSet<String>,
}

/// A row-level-security filter. Datasets are `database.schema.table`; an empty group key is
/// stored as `None` (Superset treats "" and NULL alike).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RlsFilter {
    pub name: String,
    pub description: Option<String>,
    pub filter_type: String,
    pub group_key: Option<String>,
    #[serde(deserialize_with = "SortedSet::deserialize_dedup_unsorted")]
    pub roles: SortedSet<String>,
    #[serde(deserialize_with = "SortedSet::deserialize_dedup_unsorted")]
    pub datasets: SortedSet<String>,
    pub clause: String,
}

/// A guest-token policy (steward's own table, not Superset's): dashboards by uuid, datasets
/// of its RLS rules as `database.schema.table`, service accounts as `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestPolicy {
    pub name: String,
    pub dashboards: BTreeSet<String>,
    pub username_pattern: Option<String>,
    pub attributes: BTreeMap<String, GuestAttribute>,
    pub rls_rules: BTreeSet<GuestRls>,
    pub max_lifetime_seconds: u32,
    pub service_accounts: BTreeSet<String>,
}

/// A guest attribute's pattern, and whether every token must carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestAttribute {
    pub pattern: String,
    pub required: bool,
}

/// An RLS clause a guest-token policy adds: on one dataset, or every dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GuestRls {
    pub dataset: Option<String>,
    pub clause: String,
}

impl GuestRls {
    /// As the diff shows it: `dataset: clause`, or `every dataset: clause`.
    pub fn display(&self) -> String {
        format!(
            "{}: {}",
            self.dataset.as_deref().unwrap_or("every dataset"),
            self.clause
        )
    }
}

/// An alert's validator (`validator_type` + `validator_config_json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Validator {
    /// `operator` or `not null`, as Superset stores it.
    pub validator_type: String,
    /// Comparison operator of an `operator` validator.
    pub op: Option<String>,
    /// Threshold of an `operator` validator.
    pub threshold: Option<f64>,
}

impl std::fmt::Display for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.op, self.threshold) {
            (Some(op), Some(threshold)) => write!(f, "{} {op} {threshold}", self.validator_type),
            _ => f.write_str(&self.validator_type),
        }
    }
}

/// One `report_recipient` row: its type and its target lists (comma-joined, normalised).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Recipient {
    /// `Email`, `Slack`, `SlackV2` or `Webhook`.
    pub recipient_type: String,
    /// `target`, plus `ccTarget` / `bccTarget` for e-mail; empty lists left out.
    pub config: LiteMap<String, String>,
}

impl Recipient {
    /// How the recipient is shown in plans: webhook URLs lose everything after the host,
    /// since their paths and queries carry tokens.
    pub fn display(&self) -> String {
        let parts: Vec<String> = self
            .config
            .iter()
            .map(|(k, v)| {
                let v = if self.recipient_type == "Webhook" {
                    redact_url(v)
                } else {
                    v.clone()
                };
                format!("{k}={v}")
            })
            .collect();
        format!("{} {}", self.recipient_type, parts.join(" "))
    }
}

/// Normalises a comma/semicolon/space separated address or channel list to comma-joined, as
/// Superset splits it when it sends (so declared and stored lists compare).
pub fn normalise_list(list: &str) -> String {
    list.split([',', ';', ' ', '\n', '\t'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Keeps scheme and host of a URL, hides the rest.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let prefix = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    if authority.len() == rest.len() {
        format!("{prefix}{host}")
    } else {
        format!("{prefix}{host}/…")
    }
}

/// An alert or report (`report_schedule` + recipients + owners + SIP-209 run-as).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    /// `Alert` or `Report`.
    pub schedule_type: String,
    pub description: Option<String>,
    /// `context_markdown`.
    pub message: Option<String>,
    pub active: bool,
    pub crontab: String,
    pub timezone: String,
    /// Chart uuid.
    pub chart: Option<String>,
    /// Dashboard uuid.
    pub dashboard: Option<String>,
    /// Database name (alerts).
    pub database: Option<String>,
    pub sql: Option<String>,
    pub validator: Option<Validator>,
    #[serde(deserialize_with = "SortedSet::deserialize_dedup_unsorted")]
    pub recipients: SortedSet<Recipient>,
    /// Owner usernames.
    #[serde(deserialize_with = "SortedSet::deserialize_dedup_unsorted")]
    pub owners: SortedSet<String>,
    pub run_as: Option<String>,
    pub run_alert_query_as: Option<String>,
    /// SIP-209: Superset runs it as a fixed user whose row is gone (`run_as_type` stays
    /// `fixed_user` when the foreign key is set to NULL by the user's deletion), so every run
    /// fails; never a fallback to the global executors. Only an observed schedule has it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_as_deleted: bool,
    /// The same for the alert query's user.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_alert_query_as_deleted: bool,
    pub report_format: String,
    pub working_timeout: i64,
    pub grace_period: i64,
    pub log_retention: i64,
    pub email_subject: Option<String>,
    pub force_screenshot: bool,
    pub custom_width: Option<i64>,
    pub custom_height: Option<i64>,
    /// `extra_json`, canonical (`{}` unless a field such as `attach_content` is set).
    pub extra: String,
}

impl Schedule {
    /// A daily report with Superset's defaults and one recipient row, for tests.
    #[cfg(test)]
    pub fn for_test(
        name: &str,
        recipient_type: &str,
        target: &str,
        run_as: Option<&str>,
    ) -> Schedule {
        Schedule {
            name: name.into(),
            schedule_type: "Report".into(),
            description: None,
            message: None,
            active: true,
            crontab: "0 8 * * *".into(),
            timezone: "UTC".into(),
            chart: None,
            dashboard: None,
            database: None,
            sql: None,
            validator: None,
            recipients: [Recipient {
                recipient_type: recipient_type.into(),
                config: LiteMap::from_iter([("target".to_owned(), target.to_owned())]),
            }]
            .into_iter()
            .collect(),
            owners: SortedSet::new(),
            run_as: run_as.map(str::to_owned),
            run_alert_query_as: None,
            run_as_deleted: false,
            run_alert_query_as_deleted: false,
            report_format: "PNG".into(),
            working_timeout: 3600,
            grace_period: 14400,
            log_retention: 90,
            email_subject: None,
            force_screenshot: false,
            custom_width: None,
            custom_height: None,
            extra: "{}".into(),
        }
    }

    /// The natural key: names are unique per type.
    pub fn key(schedule_type: &str, name: &str) -> String {
        format!("{schedule_type}:{name}")
    }
}

/// The SIP-209 global configuration: the managed settings of its `key_value` documents
/// (`store::config_document`) and their JSON values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConfig {
    pub entries: BTreeMap<String, String>,
}

impl super::ObjectRef<'_> {
    /// The object's fields in display order, for the field-level diff.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        match *self {
            super::ObjectRef::User(u) => vec![
                ("firstName", text(&u.first_name)),
                ("lastName", text(&u.last_name)),
                ("email", text(&u.email)),
                ("active", literal(u.active)),
                ("roles", set(&u.roles)),
            ],
            super::ObjectRef::Role(r) => vec![("permissions", set(&r.permissions))],
            super::ObjectRef::Group(g) => vec![
                ("label", maybe(&g.label)),
                ("description", maybe(&g.description)),
                ("roles", set(&g.roles)),
                ("users", set(&g.users)),
            ],
            super::ObjectRef::Rls(f) => vec![
                ("filterType", text(&f.filter_type)),
                ("groupKey", maybe(&f.group_key)),
                ("description", maybe(&f.description)),
                ("roles", set(&f.roles)),
                ("datasets", set(&f.datasets)),
                ("clause", text(&f.clause)),
            ],
            super::ObjectRef::Schedule(s) => vec![
                ("description", maybe(&s.description)),
                ("message", maybe(&s.message)),
                ("active", literal(s.active)),
                ("crontab", text(&s.crontab)),
                ("timezone", text(&s.timezone)),
                ("chart", maybe(&s.chart)),
                ("dashboard", maybe(&s.dashboard)),
                ("database", maybe(&s.database)),
                ("sql", maybe(&s.sql)),
                ("validator", maybe(&s.validator)),
                (
                    "recipients",
                    set(s.recipients.iter().map(Recipient::display)),
                ),
                ("owners", set(&s.owners)),
                ("runAs", executor(&s.run_as, s.run_as_deleted)),
                (
                    "runAlertQueryAs",
                    executor(&s.run_alert_query_as, s.run_alert_query_as_deleted),
                ),
                ("reportFormat", text(&s.report_format)),
                ("workingTimeoutSeconds", literal(s.working_timeout)),
                ("gracePeriodSeconds", literal(s.grace_period)),
                ("logRetentionDays", literal(s.log_retention)),
                ("emailSubject", maybe(&s.email_subject)),
                ("screenshot.force", literal(s.force_screenshot)),
                (
                    "screenshot.width",
                    Field::Literal(s.custom_width.map(|w| w.to_string())),
                ),
                (
                    "screenshot.height",
                    Field::Literal(s.custom_height.map(|h| h.to_string())),
                ),
                ("extra", text(&s.extra)),
            ],
            super::ObjectRef::Config(c) => c.entries.iter().flat_map(config_fields).collect(),
            super::ObjectRef::GuestPolicy(p) => vec![
                ("dashboards", set(&p.dashboards)),
                ("usernamePattern", maybe(&p.username_pattern)),
                (
                    "attributes",
                    set(p.attributes.iter().map(|(key, rule)| {
                        format!(
                            "{key} ~ {}{}",
                            rule.pattern,
                            if rule.required { " (required)" } else { "" }
                        )
                    })),
                ),
                ("rlsRules", set(p.rls_rules.iter().map(GuestRls::display))),
                ("maxLifetimeSeconds", literal(p.max_lifetime_seconds)),
                ("serviceAccounts", set(&p.service_accounts)),
            ],
        }
    }
}

/// One configuration setting as the manifest's fields: its name in `ReportConfiguration`'s
/// spec, and its JSON value as the manifest writes it (a number, a boolean, a list).
fn config_fields((key, value): (&String, &String)) -> Vec<(&'static str, Field)> {
    let json: Option<serde_json::Value> = serde_json::from_str(value).ok();
    let list = |v: Option<&serde_json::Value>| -> Field {
        set(v
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)))
    };
    match key.as_str() {
        "allowed_email_domains" => vec![("allowedEmailDomains", list(json.as_ref()))],
        "run_as_allowed" => vec![
            (
                "runAsAllowed.users",
                list(json.as_ref().and_then(|v| v.get("users"))),
            ),
            (
                "runAsAllowed.groups",
                list(json.as_ref().and_then(|v| v.get("groups"))),
            ),
        ],
        key => {
            let name = super::ReportConfig::KEYS
                .iter()
                .position(|k| *k == key)
                .map_or("other", |i| super::ReportConfig::FIELDS[i]);
            let field = match &json {
                Some(serde_json::Value::String(s)) => Field::Text(Some(s.clone())),
                Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => literal(v),
                Some(v) => text(v),
                None => text(value),
            };
            vec![(name, field)]
        }
    }
}

impl ReportConfig {
    /// The keys steward writes: SIP-209's six plus steward's run-as policy.
    pub const KEYS: [&'static str; 8] = [
        "alerts_attach_reports",
        "date_format_in_email_subject",
        "alert_minimum_interval",
        "report_minimum_interval",
        "limit_recipients_to_users",
        "allowed_email_domains",
        "require_run_as",
        "run_as_allowed",
    ];

    /// [`Self::KEYS`] as the `ReportConfiguration` manifest names them.
    pub const FIELDS: [&'static str; 8] = [
        "alertsAttachReports",
        "dateFormatInEmailSubject",
        "alertMinimumIntervalSeconds",
        "reportMinimumIntervalSeconds",
        "limitRecipientsToUsers",
        "allowedEmailDomains",
        "requireRunAs",
        "runAsAllowed",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_lose_their_tokens() {
        assert_eq!(
            redact_url("https://hooks.example.com/services/T0/B0/secret?x=1"),
            "https://hooks.example.com/…"
        );
        assert_eq!(
            redact_url("https://user:pw@hooks.example.com"),
            "https://hooks.example.com"
        );
    }

    #[test]
    fn small_collections_serialise_as_the_b_tree_ones_did() {
        // The ledger's content hashes are of this JSON: it must not change with the storage.
        let mut schedule = Schedule::for_test("Daily", "Email", "b@x.io", None);
        schedule.owners = vec!["zoe".to_owned(), "ana".to_owned()].into();
        let json = serde_json::to_value(&schedule).unwrap();
        assert_eq!(json["owners"], serde_json::json!(["ana", "zoe"]));
        assert_eq!(
            json["recipients"],
            serde_json::json!([{"recipient_type": "Email", "config": {"target": "b@x.io"}}])
        );
        let before = BTreeMap::from([("target", "b@x.io"), ("ccTarget", "c@x.io")]);
        let after: LiteMap<String, String> = before
            .iter()
            .rev()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(
            serde_json::to_string(&after).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
    }

    #[test]
    fn lists_read_back_unsorted_or_repeated_come_out_as_sets() {
        let json = r#"{"username": "ana", "first_name": "A", "last_name": "B",
            "email": "a@x.io", "active": true, "roles": ["viewer", "admin", "viewer"]}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(user.roles.as_slice(), ["admin", "viewer"]);
    }
}
