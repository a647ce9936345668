//! Desired state: the loaded resources resolved against the database's facts into the
//! normalised model. Role composition and data access become permission pairs, dataset, chart
//! and dashboard references become natural keys, defaults become explicit values. Everything
//! that does not resolve is reported, with its location, and nothing is guessed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::fast_hash::FastMap;

use litemap::LiteMap;
use sorted_vec::SortedSet;

use super::content_index::ContentIndex;
use crate::diagnostic::{Code, Diagnostic, closest};
use crate::manifests::LoadedSet;
use crate::model::{
    Catalog, Group, GuestAttribute, GuestPolicy, GuestRls, ObjectKey, PermissionPair, Recipient,
    ReportConfig, RlsFilter, Role, Schedule, State, User, Validator, normalise_list,
};
use crate::policy::locate;
use crate::reason::Reason;
use crate::resources::refs::{DatasetRef, SchemaRef};
use crate::resources::{
    ChartRef, DashboardRef, GuestTokenPolicySpec, Recipients, ReportConfigurationSpec,
    ReportScheduleSpec, Resource, SupersetRoleSpec,
};

/// Superset's Python-side defaults, made explicit so declared and stored values compare.
pub mod defaults {
    /// `report_schedule.working_timeout` (seconds).
    pub const WORKING_TIMEOUT: i64 = 3600;
    /// `report_schedule.grace_period` (seconds).
    pub const GRACE_PERIOD: i64 = 14400;
    /// `report_schedule.log_retention` (days).
    pub const LOG_RETENTION: i64 = 90;
    /// `report_schedule.report_format`.
    pub const REPORT_FORMAT: &str = "PNG";
    /// `report_schedule.timezone`.
    pub const TIMEZONE: &str = "UTC";
}

/// Resolves every loaded object. `observed` supplies roles that are included but not declared
/// (e.g. `Gamma`).
pub fn resolve(set: &LoadedSet, catalog: &Catalog, observed: &State) -> (State, Vec<Diagnostic>) {
    let mut resolver = Resolver {
        set,
        catalog,
        pairs: catalog
            .permissions
            .iter()
            .map(|p| ((&*p.permission, &*p.view), p))
            .collect(),
        content: ContentIndex::of(catalog),
        schema_views: catalog.schema_views(),
        found: Vec::new(),
    };
    // Each map is built at once from its entries (sorted, packed nodes), not entry by entry; a
    // key declared twice keeps its last entry, as inserting did.
    let mut declared_by = Vec::with_capacity(set.objects.len());
    let (mut users, mut groups, mut rls_filters, mut schedules, mut guest_policies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut state = State::default();
    let mut role_specs: BTreeMap<String, (usize, &SupersetRoleSpec)> = BTreeMap::new();
    for (index, object) in set.objects.iter().enumerate() {
        // The state's maps are keyed by the object's natural key, the one rule of `ObjectKey::of`.
        let object_key = ObjectKey::of(&object.resource);
        let key = object_key.key.clone();
        declared_by.push((object_key, object.resource.id()));
        let name = object.resource.superset_name().to_owned();
        match &object.resource {
            Resource::User(u) => {
                let s = &u.spec;
                users.push((
                    key,
                    User {
                        username: name,
                        first_name: s.first_name.clone(),
                        last_name: s.last_name.clone(),
                        email: s.email.clone(),
                        active: s.active.unwrap_or(true),
                        roles: s.roles.iter().cloned().collect(),
                    },
                ));
            }
            Resource::Role(r) => {
                role_specs.insert(key, (index, &r.spec));
            }
            Resource::Group(g) => {
                let s = &g.spec;
                groups.push((
                    key,
                    Group {
                        name,
                        label: s.label.clone(),
                        description: s.description.clone(),
                        roles: s.roles.iter().cloned().collect(),
                        users: s.users.iter().cloned().collect(),
                    },
                ));
            }
            Resource::Rls(f) => {
                let s = &f.spec;
                let datasets = s
                    .datasets
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| {
                        resolver.dataset(index, || format!("spec.datasets[{i}]"), d)
                    })
                    .collect();
                rls_filters.push((
                    key,
                    RlsFilter {
                        name,
                        description: s.description.clone(),
                        filter_type: s.filter_type.as_str().to_owned(),
                        group_key: s.group_key.clone().filter(|k| !k.is_empty()),
                        roles: s.roles.iter().cloned().collect(),
                        datasets,
                        clause: s.clause.clone(),
                    },
                ));
            }
            Resource::Schedule(r) => {
                let schedule = resolver.schedule(index, name, &r.spec);
                schedules.push((key, schedule));
            }
            Resource::Config(c) => state.config = Some(config(&c.spec)),
            Resource::GuestPolicy(p) => {
                let policy = resolver.guest_policy(index, name, &p.spec);
                guest_policies.push((key, policy));
            }
        }
    }
    let mut own: BTreeMap<String, BTreeSet<PermissionPair>> = BTreeMap::new();
    for (name, (index, spec)) in &role_specs {
        own.insert(name.clone(), resolver.own_permissions(*index, spec));
    }
    // Roles that include others take copies of their grants first; every other role then
    // keeps its own set as it is (org-100k: 366,000 grants not copied and rebuilt).
    let mut merged: BTreeMap<&str, BTreeSet<PermissionPair>> = role_specs
        .iter()
        .filter(|(_, (_, spec))| !spec.includes.is_empty())
        .map(|(name, _)| {
            let mut permissions = Vec::new();
            let mut visiting = Vec::new();
            collect_permissions(
                name,
                &role_specs,
                &own,
                observed,
                &mut visiting,
                &mut permissions,
            );
            (name.as_str(), permissions.into_iter().collect())
        })
        .collect();
    state.roles = role_specs
        .keys()
        .map(|name| {
            let permissions = merged
                .remove(name.as_str())
                .or_else(|| own.remove(name))
                .unwrap_or_default();
            let role = Role {
                name: name.clone(),
                permissions,
            };
            (name.clone(), role)
        })
        .collect();
    state.users = users.into_iter().collect();
    state.groups = groups.into_iter().collect();
    state.rls_filters = rls_filters.into_iter().collect();
    state.schedules = schedules.into_iter().collect();
    state.guest_policies = guest_policies.into_iter().collect();
    state.declared_by = declared_by.into_iter().collect();
    (state, resolver.found)
}

/// A role's permissions plus those of every role it includes, transitively. Included roles
/// that are not declared come from the database; cycles are reported by validation.
fn collect_permissions(
    name: &str,
    specs: &BTreeMap<String, (usize, &SupersetRoleSpec)>,
    own: &BTreeMap<String, BTreeSet<PermissionPair>>,
    observed: &State,
    visiting: &mut Vec<String>,
    into: &mut Vec<PermissionPair>,
) {
    if visiting.iter().any(|v| v == name) {
        return;
    }
    visiting.push(name.to_owned());
    match specs.get(name) {
        Some((_, spec)) => {
            into.extend(own[name].iter().cloned());
            for included in &spec.includes {
                collect_permissions(included, specs, own, observed, visiting, into);
            }
        }
        None => {
            if let Some(role) = observed.roles.get(name) {
                into.extend(role.permissions.iter().cloned());
            }
        }
    }
}

fn config(spec: &ReportConfigurationSpec) -> ReportConfig {
    let mut entries = BTreeMap::new();
    let mut put = |key: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value {
            entries.insert(key.to_owned(), value.to_string());
        }
    };
    put(
        "alerts_attach_reports",
        spec.alerts_attach_reports.map(Into::into),
    );
    put(
        "date_format_in_email_subject",
        spec.date_format_in_email_subject.clone().map(Into::into),
    );
    put(
        "alert_minimum_interval",
        spec.alert_minimum_interval_seconds.map(Into::into),
    );
    put(
        "report_minimum_interval",
        spec.report_minimum_interval_seconds.map(Into::into),
    );
    put(
        "limit_recipients_to_users",
        spec.limit_recipients_to_users.map(Into::into),
    );
    put(
        "allowed_email_domains",
        (!spec.allowed_email_domains.is_empty())
            .then(|| serde_json::json!(spec.allowed_email_domains)),
    );
    put("require_run_as", spec.require_run_as.map(Into::into));
    put(
        "run_as_allowed",
        spec.run_as_allowed
            .as_ref()
            .map(|a| serde_json::json!({"users": a.users, "groups": a.groups})),
    );
    ReportConfig { entries }
}

/// Recipients as Superset stores them: one row per channel type.
pub fn recipients(spec: &Recipients) -> SortedSet<Recipient> {
    let mut rows = SortedSet::new();
    let row = |kind: &str, pairs: &[(&str, &[String])]| Recipient {
        recipient_type: kind.to_owned(),
        config: pairs
            .iter()
            .filter(|(_, list)| !list.is_empty())
            .map(|(k, list)| ((*k).to_owned(), list.join(",")))
            .collect(),
    };
    if let Some(email) = &spec.email {
        rows.find_or_insert(row(
            "Email",
            &[
                ("target", &email.to),
                ("ccTarget", &email.cc),
                ("bccTarget", &email.bcc),
            ],
        ));
    }
    if let Some(slack) = &spec.slack {
        // Superset splits a channel list at commas, semicolons and white space when it sends.
        let channels = normalise_list(&slack.channels.join(","));
        rows.find_or_insert(Recipient {
            recipient_type: "Slack".into(),
            config: LiteMap::from_iter([("target".to_owned(), channels)]),
        });
    }
    if let Some(hook) = &spec.webhook {
        rows.find_or_insert(row(
            "Webhook",
            &[("target", std::slice::from_ref(&hook.url))],
        ));
    }
    rows
}

/// Where a role declared a permission pair.
enum PairSource {
    Permission(usize),
    RawPermission(usize),
    AllDatabases,
    AllDatasets,
    Database(usize),
    Schema(usize),
    Dataset(usize),
}

impl PairSource {
    /// The field path, as diagnostics name it.
    fn field(&self) -> String {
        match self {
            PairSource::Permission(i) => format!("spec.permissions[{i}]"),
            PairSource::RawPermission(i) => format!("spec.rawPermissions[{i}]"),
            PairSource::AllDatabases => "spec.dataAccess.allDatabases".to_owned(),
            PairSource::AllDatasets => "spec.dataAccess.allDatasets".to_owned(),
            PairSource::Database(i) => format!("spec.dataAccess.databases[{i}]"),
            PairSource::Schema(i) => format!("spec.dataAccess.schemas[{i}]"),
            PairSource::Dataset(i) => format!("spec.dataAccess.datasets[{i}]"),
        }
    }
}

struct Resolver<'a> {
    set: &'a LoadedSet,
    catalog: &'a Catalog,
    /// The catalogue's pairs by their names, so a declared pair is found (and shared) without
    /// building one.
    pairs: FastMap<(&'a str, &'a str), &'a PermissionPair>,
    content: ContentIndex<'a>,
    /// `schema_access` view menus by `(database, schema)`.
    schema_views: FastMap<(String, String), String>,
    found: Vec<Diagnostic>,
}

impl Resolver<'_> {
    fn report(&mut self, index: usize, field: &str, d: Diagnostic) {
        self.found.push(locate(self.set, index, field, d));
    }

    fn missing(&mut self, index: usize, field: &str, what: String, hint: String) {
        self.report(
            index,
            field,
            Diagnostic::error(Code::UnknownContent, what).hint(hint),
        );
    }

    /// A database or a dataset (`content`) that does not exist: the closest name when one is
    /// close, else the way out is to create it (or to seed the demo content, which the CLI
    /// words, [`Reason::MissingContent`]).
    fn missing_content(
        &mut self,
        index: usize,
        field: &str,
        what: String,
        near: Option<&str>,
        content: &str,
    ) {
        let d = Diagnostic::error(Code::UnknownContent, what);
        let d = match near {
            Some(near) => d.hint(format!("did you mean `{near}`?")),
            None => d
                .hint(format!("create the {content} in Superset first"))
                .because(Reason::MissingContent {
                    content: content.to_owned(),
                }),
        };
        self.report(index, field, d);
    }

    fn dataset(
        &mut self,
        index: usize,
        field: impl FnOnce() -> String,
        text: &str,
    ) -> Option<String> {
        let found = match DatasetRef::parse(text).ok()? {
            DatasetRef::Uuid(id) => self.content.dataset_by_uuid(&id.to_string()),
            DatasetRef::Name { .. } => self.catalog.datasets.get(text),
        };
        match found {
            Some(dataset) => Some(dataset.key()),
            None => {
                let near = closest(text, self.catalog.datasets.keys().map(String::as_str));
                self.missing_content(
                    index,
                    &field(),
                    format!("dataset `{text}` does not exist in Superset"),
                    near,
                    "dataset",
                );
                None
            }
        }
    }

    fn own_permissions(
        &mut self,
        index: usize,
        spec: &SupersetRoleSpec,
    ) -> BTreeSet<PermissionPair> {
        // Each wanted pair with where it was declared; the field path is written out only for a
        // pair Superset does not have.
        let mut pairs: Vec<(PairSource, Cow<'_, str>, Cow<'_, str>)> = Vec::new();
        for (i, p) in spec.permissions.iter().enumerate() {
            for action in &p.actions {
                pairs.push((
                    PairSource::Permission(i),
                    action.permission_name().into(),
                    p.view.as_str().into(),
                ));
            }
        }
        for (i, p) in spec.raw_permissions.iter().enumerate() {
            pairs.push((
                PairSource::RawPermission(i),
                p.permission.as_str().into(),
                p.view.as_str().into(),
            ));
        }
        if let Some(access) = &spec.data_access {
            if access.all_databases == Some(true) {
                pairs.push((
                    PairSource::AllDatabases,
                    "all_database_access".into(),
                    "all_database_access".into(),
                ));
            }
            if access.all_datasets == Some(true) {
                pairs.push((
                    PairSource::AllDatasets,
                    "all_datasource_access".into(),
                    "all_datasource_access".into(),
                ));
            }
            for (i, name) in access.databases.iter().enumerate() {
                match self.catalog.databases.get(name) {
                    Some(id) => pairs.push((
                        PairSource::Database(i),
                        "database_access".into(),
                        Catalog::database_view(name, *id).into(),
                    )),
                    None => {
                        let near = self.closest_database(name);
                        self.missing_content(
                            index,
                            &PairSource::Database(i).field(),
                            format!("database `{name}` does not exist in Superset"),
                            near.as_deref(),
                            "database",
                        );
                    }
                }
            }
            for (i, text) in access.schemas.iter().enumerate() {
                let Ok(schema) = SchemaRef::parse(text) else {
                    continue;
                };
                let field = || PairSource::Schema(i).field();
                if !self.catalog.databases.contains_key(&schema.database) {
                    let near = self.closest_database(&schema.database);
                    self.missing_content(
                        index,
                        &field(),
                        format!("database `{}` does not exist in Superset", schema.database),
                        near.as_deref(),
                        "database",
                    );
                    continue;
                }
                let view = self
                    .schema_views
                    .get(&(schema.database.clone(), schema.schema.clone()));
                match view {
                    Some(view) => pairs.push((PairSource::Schema(i), "schema_access".into(), view.clone().into())),
                    None => self.missing(
                        index,
                        &field(),
                        format!("schema `{text}` has no schema_access permission in Superset"),
                        "Superset creates it with the schema's first dataset; add a dataset in that schema first".into(),
                    ),
                }
            }
            for (i, text) in access.datasets.iter().enumerate() {
                if let Some(key) = self.dataset(index, || PairSource::Dataset(i).field(), text) {
                    let view = Catalog::dataset_view(&self.catalog.datasets[&key]);
                    pairs.push((
                        PairSource::Dataset(i),
                        "datasource_access".into(),
                        view.into(),
                    ));
                }
            }
        }
        // Collected, then built into a set at once (sorted, packed nodes).
        let mut out = Vec::with_capacity(pairs.len());
        for (declared, permission, view) in pairs {
            if let Some(pair) = self.pairs.get(&(&*permission, &*view)) {
                out.push((*pair).clone());
                continue;
            }
            let pair = PermissionPair::new(&*permission, &*view);
            let field = declared.field();
            let views: Vec<&str> = self
                .catalog
                .permissions
                .iter()
                .filter(|p| p.permission == pair.permission)
                .map(|p| &*p.view)
                .collect();
            let hint = match closest(&pair.view, views.iter().copied()) {
                Some(view) => format!("did you mean `{}` on `{view}`?", pair.permission),
                None if views.is_empty() => self.permission_hint(&pair),
                None => format!("`{}` exists on: {}", pair.permission, first_few(&views)),
            };
            self.report(
                index,
                &field,
                Diagnostic::error(
                    Code::UnknownPermission,
                    format!(
                        "permission `{}` on `{}` does not exist in Superset's catalogue",
                        pair.permission, pair.view
                    ),
                )
                .hint(hint),
            );
        }
        out.into_iter().collect()
    }

    /// For a permission name Superset does not have: the closest name on the same view, else
    /// the closest name anywhere.
    fn permission_hint(&self, pair: &PermissionPair) -> String {
        let permissions = &self.catalog.permissions;
        let on_view = permissions
            .iter()
            .filter(|p| p.view == pair.view)
            .map(|p| &*p.permission);
        let all: BTreeSet<&str> = permissions.iter().map(|p| &*p.permission).collect();
        let near = closest(&pair.permission, on_view)
            .or_else(|| closest(&pair.permission, all.iter().copied()));
        match near {
            Some(near) => format!(
                "Superset has no permission named `{}`; did you mean `{near}`?",
                pair.permission
            ),
            None => format!("Superset has no permission named `{}`", pair.permission),
        }
    }

    fn closest_database(&self, name: &str) -> Option<String> {
        closest(name, self.catalog.databases.keys().map(String::as_str)).map(str::to_owned)
    }

    fn chart(&mut self, index: usize, chart: &ChartRef) -> Option<String> {
        let found: Vec<&str> = match (&chart.uuid, &chart.name) {
            (Some(uuid), _) => self.content.charts_by_uuid(uuid),
            (None, Some(name)) => self.content.charts_named(name),
            (None, None) => return None,
        };
        let shown = chart
            .uuid
            .as_deref()
            .or(chart.name.as_deref())
            .unwrap_or_default()
            .to_owned();
        match found.as_slice() {
            [one] => Some((*one).to_owned()),
            [] => {
                let near = closest(&shown, self.catalog.charts.iter().map(|c| c.name.as_str()));
                self.missing(
                    index,
                    "spec.chart",
                    format!("chart `{shown}` does not exist in Superset"),
                    near.map_or_else(
                        || "create the chart in Superset first, or reference it by uuid".into(),
                        |n| format!("did you mean `{n}`?"),
                    ),
                );
                None
            }
            many => {
                self.report(
                    index,
                    "spec.chart",
                    Diagnostic::error(
                        Code::AmbiguousReference,
                        format!("{} charts are named `{shown}`", many.len()),
                    )
                    .hint(format!("reference one by uuid: {}", many.join(", "))),
                );
                None
            }
        }
    }

    /// A guest-token policy with its dashboards and datasets resolved.
    fn guest_policy(
        &mut self,
        index: usize,
        name: String,
        s: &GuestTokenPolicySpec,
    ) -> GuestPolicy {
        let dashboards = s
            .dashboards
            .iter()
            .enumerate()
            .filter_map(|(i, d)| self.dashboard_at(index, &format!("spec.dashboards[{i}]"), d))
            .collect();
        let rls_rules = s
            .rls_rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                let dataset = match &rule.dataset {
                    None => None,
                    Some(d) => {
                        Some(self.dataset(index, || format!("spec.rlsRules[{i}].dataset"), d)?)
                    }
                };
                Some(GuestRls {
                    dataset,
                    clause: rule.clause.clone(),
                })
            })
            .collect();
        GuestPolicy {
            name,
            dashboards,
            username_pattern: s.username_pattern.clone(),
            attributes: s
                .attributes
                .iter()
                .map(|(key, rule)| {
                    let attribute = GuestAttribute {
                        pattern: rule.pattern.clone(),
                        required: rule.required,
                    };
                    (key.clone(), attribute)
                })
                .collect(),
            rls_rules,
            max_lifetime_seconds: s.max_lifetime(),
            service_accounts: s
                .service_accounts
                .iter()
                .map(|a| format!("{}/{}", a.namespace, a.name))
                .collect(),
        }
    }

    fn dashboard(&mut self, index: usize, dashboard: &DashboardRef) -> Option<String> {
        self.dashboard_at(index, "spec.dashboard", dashboard)
    }

    fn dashboard_at(
        &mut self,
        index: usize,
        field: &str,
        dashboard: &DashboardRef,
    ) -> Option<String> {
        let boards = &self.catalog.dashboards;
        let (shown, found): (&str, Vec<&str>) = if let Some(uuid) = &dashboard.uuid {
            (uuid, self.content.dashboards_by_uuid(uuid))
        } else if let Some(slug) = &dashboard.slug {
            (slug, self.content.dashboards_by_slug(slug))
        } else if let Some(title) = &dashboard.title {
            (title, self.content.dashboards_titled(title))
        } else {
            return None;
        };
        match found.as_slice() {
            [one] => Some((*one).to_owned()),
            [] => {
                let names = boards
                    .iter()
                    .flat_map(|d| d.slug.iter().chain(d.title.iter()))
                    .map(String::as_str);
                let near = closest(shown, names);
                let hint = near.map_or_else(
                    || "create the dashboard in Superset first, or reference it by uuid".into(),
                    |n| format!("did you mean `{n}`?"),
                );
                self.missing(
                    index,
                    field,
                    format!("dashboard `{shown}` does not exist in Superset"),
                    hint,
                );
                None
            }
            many => {
                self.report(
                    index,
                    field,
                    Diagnostic::error(
                        Code::AmbiguousReference,
                        format!("{} dashboards match `{shown}`", many.len()),
                    )
                    .hint(format!("reference one by uuid: {}", many.join(", "))),
                );
                None
            }
        }
    }

    fn schedule(&mut self, index: usize, name: String, s: &ReportScheduleSpec) -> Schedule {
        let chart = s.chart.as_ref().and_then(|c| self.chart(index, c));
        let dashboard = s.dashboard.as_ref().and_then(|d| self.dashboard(index, d));
        if let Some(database) = &s.database
            && !self.catalog.databases.contains_key(database)
        {
            let near = self.closest_database(database);
            self.missing_content(
                index,
                "spec.database",
                format!("database `{database}` does not exist in Superset"),
                near.as_deref(),
                "database",
            );
        }
        let screenshot = s.screenshot.clone().unwrap_or_default();
        let extra = match s.attach_content {
            Some(attach) => serde_json::json!({"attach_content": attach}),
            None => serde_json::json!({}),
        };
        Schedule {
            name,
            schedule_type: s.schedule_type.as_str().to_owned(),
            description: s.description.clone(),
            message: s.message.clone(),
            active: s.active.unwrap_or(true),
            crontab: s.crontab.clone(),
            timezone: s
                .timezone
                .clone()
                .unwrap_or_else(|| defaults::TIMEZONE.to_owned()),
            chart,
            dashboard,
            database: s.database.clone(),
            sql: s.sql.clone(),
            validator: s.validator.as_ref().map(|v| Validator {
                validator_type: v.validator_type.as_str().to_owned(),
                op: v.operator.map(|o| o.as_str().to_owned()),
                threshold: v.threshold,
            }),
            recipients: recipients(&s.recipients),
            owners: SortedSet::from_unsorted(s.owners.clone()),
            run_as: s.run_as.clone(),
            run_alert_query_as: s.run_alert_query_as.clone(),
            run_as_deleted: false,
            run_alert_query_as_deleted: false,
            report_format: s
                .report_format
                .map_or(defaults::REPORT_FORMAT, |f| f.as_str())
                .to_owned(),
            working_timeout: s
                .working_timeout_seconds
                .map_or(defaults::WORKING_TIMEOUT, i64::from),
            grace_period: s
                .grace_period_seconds
                .map_or(defaults::GRACE_PERIOD, i64::from),
            log_retention: s
                .log_retention_days
                .map_or(defaults::LOG_RETENTION, i64::from),
            email_subject: s.email_subject.clone(),
            force_screenshot: screenshot.force.unwrap_or(false),
            custom_width: screenshot.width.map(i64::from),
            custom_height: screenshot.height.map(i64::from),
            extra: extra.to_string(),
        }
    }
}

fn first_few(items: &[&str]) -> String {
    let mut shown: Vec<&str> = items.iter().take(5).copied().collect();
    if items.len() > 5 {
        shown.push("…");
    }
    shown.join(", ")
}

/// Names of roles, users and groups the database holds that declarations may refer to without
/// declaring them: everything except what `manager` manages (those are declared or pruned, and
/// listed apart so that a reference to one can say it would be pruned).
pub fn existing_names(
    observed: &State,
    catalog: &crate::model::Catalog,
    ledger: &super::Ledger,
    manager: &str,
) -> crate::policy::Existing {
    use crate::resources::Kind;
    type Names = std::collections::BTreeSet<String>;
    let split = |kind: Kind, names: Vec<String>| -> (Names, Names) {
        names.into_iter().partition(|n| {
            ledger
                .get(&ObjectKey::new(kind, n.clone()))
                .is_none_or(|e| e.manager != manager)
        })
    };
    let (roles, managed_roles) =
        split(Kind::SupersetRole, observed.roles.keys().cloned().collect());
    let (users, managed_users) =
        split(Kind::SupersetUser, observed.users.keys().cloned().collect());
    let (groups, managed_groups) = split(
        Kind::SupersetGroup,
        observed.groups.keys().cloned().collect(),
    );
    crate::policy::Existing {
        from_database: true,
        roles,
        user_emails: users
            .iter()
            .map(|n| (n.clone(), observed.users[n].email.clone()))
            .collect(),
        users,
        groups,
        managed: crate::policy::Managed {
            manager: manager.to_owned(),
            roles: managed_roles,
            users: managed_users,
            groups: managed_groups,
        },
        database_backends: catalog.database_backends.clone(),
    }
}
