//! Building the synthetic organisation in memory: users (with service accounts), roles with about
//! thirty permission pairs each, groups, RLS filters (Regular and Base, some OR-ed by group key),
//! alert and report schedules, and one configuration they all comply with.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::OrgSize;
use super::naming;
use crate::resources::{
    Action, AlertValidator, ChartRef, DashboardRef, DataAccess, EmailRecipients, FilterType,
    RawPermission, Recipients, ReportConfiguration, ReportConfigurationSpec, ReportFormat,
    ReportSchedule, ReportScheduleSpec, RowLevelSecurityFilter, RowLevelSecurityFilterSpec,
    RunAsAllowList, ScheduleType, SupersetGroup, SupersetGroupSpec, SupersetRole, SupersetRoleSpec,
    SupersetUser, SupersetUserSpec, ValidatorOperator, ValidatorType, ViewPermission,
};

/// The generated objects, by kind.
#[derive(Debug)]
pub struct Organisation {
    /// Users; the first ones are service accounts.
    pub users: Vec<SupersetUser>,
    /// Roles.
    pub roles: Vec<SupersetRole>,
    /// Groups.
    pub groups: Vec<SupersetGroup>,
    /// RLS filters.
    pub rls_filters: Vec<RowLevelSecurityFilter>,
    /// Schedules.
    pub schedules: Vec<ReportSchedule>,
    /// The configuration.
    pub config: ReportConfiguration,
}

/// The organisation's e-mail domain; teams use subdomains of it.
pub const ORG_DOMAIN: &str = "org10k.example.com";
/// Teams: each is a namespace and an e-mail subdomain.
const TEAMS: [&str; 8] = [
    "finance",
    "sales",
    "audit",
    "marketing",
    "ops",
    "hr",
    "product",
    "support",
];
const FIRST_NAMES: [&str; 12] = [
    "Ana", "Ben", "Chloé", "Dmitri", "Esther", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi",
    "Luis",
];
const LAST_NAMES: [&str; 12] = [
    "Alves", "Brandt", "Chen", "Dubois", "Eriksen", "Fischer", "García", "Hale", "Iyer", "Jansen",
    "Kowalski", "Larsen",
];
/// Views with both `can_read` and `can_write` in Superset 6.1's catalogue.
const READ_WRITE_VIEWS: [&str; 12] = [
    "Annotation",
    "Chart",
    "CssTemplate",
    "Dashboard",
    "Database",
    "Dataset",
    "Log",
    "ReportSchedule",
    "Row Level Security",
    "SavedQuery",
    "Tag",
    "Theme",
];
/// Views with `can_read` only.
const READ_ONLY_VIEWS: [&str; 6] = [
    "AdvancedDataType",
    "AvailableDomains",
    "EmbeddedDashboard",
    "Explore",
    "Query",
    "SQLLab",
];
/// Raw pairs from Superset 6.1's catalogue.
const RAW_PAIRS: [(&str, &str); 16] = [
    ("can_csv", "Superset"),
    ("can_dashboard", "Superset"),
    ("can_explore", "Superset"),
    ("can_explore_json", "Superset"),
    ("can_share_chart", "Superset"),
    ("can_share_dashboard", "Superset"),
    ("can_export", "Chart"),
    ("can_export", "Dashboard"),
    ("can_export", "Dataset"),
    ("can_drill", "Dashboard"),
    ("can_execute_sql_query", "SQLLab"),
    ("can_format_sql", "SQLLab"),
    ("can_get_results", "SQLLab"),
    ("can_export_csv", "SQLLab"),
    ("can_samples", "Datasource"),
    ("can_log", "Superset"),
];
const TIMEZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/London",
];
/// Alert crontabs: every gap at least 10 minutes.
const ALERT_CRONTABS: [&str; 4] = [
    "*/10 * * * *",
    "0 * * * *",
    "15 */2 * * *",
    "*/30 8-18 * * 1-5",
];
/// Report crontabs: every gap at least an hour.
const REPORT_CRONTABS: [&str; 5] = [
    "0 8 * * 1",
    "30 6 * * *",
    "0 9 1 * *",
    "0 7 * * 1-5",
    "0 */4 * * *",
];
/// Service accounts among the users at scale 1.
const SERVICE_ACCOUNTS: usize = 50;

/// Builds the organisation for `seed` and `size`.
pub fn build_organisation(seed: u64, size: &OrgSize) -> Organisation {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let service_accounts = (size.users / 100).clamp(1, SERVICE_ACCOUNTS);
    let roles = roles(&mut rng, size);
    let role_names: Vec<String> = roles
        .iter()
        .map(|r| {
            r.spec
                .name
                .clone()
                .unwrap_or_else(|| meta_name(&r.metadata))
        })
        .collect();
    let users = users(&mut rng, size, service_accounts, &role_names);
    let groups = groups(&mut rng, size, &users, &role_names);
    let rls_filters = rls_filters(&mut rng, size, &role_names);
    let schedules = schedules(&mut rng, size, &users, service_accounts);
    let config = ReportConfiguration::new(
        "default",
        ReportConfigurationSpec {
            alerts_attach_reports: Some(true),
            date_format_in_email_subject: None,
            alert_minimum_interval_seconds: Some(600),
            report_minimum_interval_seconds: Some(3600),
            limit_recipients_to_users: Some(true),
            allowed_email_domains: vec![format!("*.{ORG_DOMAIN}")],
            require_run_as: Some(true),
            run_as_allowed: Some(RunAsAllowList {
                users: Vec::new(),
                groups: vec![service_group_name()],
            }),
        },
    );
    Organisation {
        users,
        roles,
        groups,
        rls_filters,
        schedules,
        config,
    }
}

fn meta_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn team(i: usize) -> &'static str {
    TEAMS[i % TEAMS.len()]
}

fn user_name(i: usize, service_accounts: usize) -> String {
    if i < service_accounts {
        format!("svc-reports-{i:03}")
    } else {
        format!("user-{i:05}")
    }
}

fn user_email(i: usize, service_accounts: usize) -> String {
    format!(
        "{}@{}.{ORG_DOMAIN}",
        user_name(i, service_accounts),
        team(i)
    )
}

fn service_group_name() -> String {
    "report-service-accounts".to_owned()
}

fn roles(rng: &mut ChaCha8Rng, size: &OrgSize) -> Vec<SupersetRole> {
    let content = &size.content;
    (0..size.roles)
        .map(|i| {
            let mut views: Vec<ViewPermission> = READ_WRITE_VIEWS
                .choose_multiple(rng, 6)
                .map(|view| ViewPermission {
                    view: (*view).to_owned(),
                    actions: if rng.random_bool(0.5) {
                        vec![Action::Read, Action::Write]
                    } else {
                        vec![Action::Read]
                    },
                })
                .collect();
            views.extend(
                READ_ONLY_VIEWS
                    .choose_multiple(rng, 3)
                    .map(|view| ViewPermission {
                        view: (*view).to_owned(),
                        actions: vec![Action::Read],
                    }),
            );
            let raw_permissions = RAW_PAIRS
                .choose_multiple(rng, 6)
                .map(|(permission, view)| RawPermission {
                    permission: (*permission).to_owned(),
                    view: (*view).to_owned(),
                })
                .collect();
            let d = rng.random_range(0..content.databases);
            let mut datasets: Vec<String> = (0..8)
                .map(|_| naming::dataset_ref(content, rng.random_range(0..content.datasets())))
                .collect();
            datasets.sort();
            datasets.dedup();
            let data_access = DataAccess {
                databases: if i % 10 == 0 {
                    vec![naming::database(d)]
                } else {
                    Vec::new()
                },
                schemas: (0..2)
                    .map(|s| naming::schema_ref(d, (i + s) % content.schemas_per_database))
                    .collect(),
                datasets,
                ..DataAccess::default()
            };
            SupersetRole::new(
                &format!("role-{i:04}"),
                SupersetRoleSpec {
                    name: (i % 4 == 0).then(|| format!("{} analyst {i:04}", capitalise(team(i)))),
                    includes: if i % 10 == 3 {
                        vec!["Gamma".to_owned()]
                    } else {
                        Vec::new()
                    },
                    permissions: views,
                    raw_permissions,
                    data_access: Some(data_access),
                },
            )
        })
        .collect()
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn users(
    rng: &mut ChaCha8Rng,
    size: &OrgSize,
    service_accounts: usize,
    roles: &[String],
) -> Vec<SupersetUser> {
    (0..size.users)
        .map(|i| {
            let service = i < service_accounts;
            let direct_roles = if service || rng.random_bool(0.3) {
                vec![roles[rng.random_range(0..roles.len())].clone()]
            } else {
                Vec::new()
            };
            SupersetUser::new(
                &user_name(i, service_accounts),
                SupersetUserSpec {
                    username: None,
                    first_name: if service {
                        "Reports".to_owned()
                    } else {
                        FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())].to_owned()
                    },
                    last_name: if service {
                        format!("Service {i:03}")
                    } else {
                        LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].to_owned()
                    },
                    email: user_email(i, service_accounts),
                    active: Some(true),
                    roles: direct_roles,
                },
            )
        })
        .collect()
}

fn groups(
    rng: &mut ChaCha8Rng,
    size: &OrgSize,
    users: &[SupersetUser],
    roles: &[String],
) -> Vec<SupersetGroup> {
    let names: Vec<String> = users.iter().map(|u| meta_name(&u.metadata)).collect();
    let service_accounts = names.iter().filter(|n| n.starts_with("svc-")).count();
    (0..size.groups)
        .map(|g| {
            if g == 0 {
                return SupersetGroup::new(
                    &service_group_name(),
                    SupersetGroupSpec {
                        name: None,
                        label: Some("Report service accounts".to_owned()),
                        description: Some("Users that alerts and reports may run as".to_owned()),
                        roles: vec![roles[0].clone()],
                        users: names[..service_accounts].to_vec(),
                    },
                );
            }
            // Every person is in the group of its index, plus some in a second one.
            let mut members: Vec<String> = (service_accounts..names.len())
                .filter(|u| u % size.groups == g || (u * 7) % size.groups == g)
                .map(|u| names[u].clone())
                .collect();
            members.dedup();
            let mut group_roles: Vec<String> = roles
                .choose_multiple(rng, 3.min(roles.len()))
                .cloned()
                .collect();
            group_roles.sort();
            SupersetGroup::new(
                &format!("group-{g:03}"),
                SupersetGroupSpec {
                    name: None,
                    label: Some(format!("{} group {g:03}", capitalise(team(g)))),
                    description: None,
                    roles: group_roles,
                    users: members,
                },
            )
        })
        .collect()
}

fn rls_filters(
    rng: &mut ChaCha8Rng,
    size: &OrgSize,
    roles: &[String],
) -> Vec<RowLevelSecurityFilter> {
    let regions = ["EU", "US", "APAC", "LATAM"];
    (0..size.rls_filters)
        .map(|i| {
            let base = i % 10 == 9;
            // Region and tenant filters are alternatives (ORed by their group key), as in a
            // real organisation: two ANDed region filters would let no row through.
            let group_key = match i % 5 {
                0 | 1 => Some("region".to_owned()),
                2 => Some("tenant".to_owned()),
                _ => None,
            };
            let clause = match i % 5 {
                0 | 1 => format!("region = '{}'", regions[rng.random_range(0..regions.len())]),
                2 => format!("tenant_id = {}", rng.random_range(1..500)),
                3 => "owner = '{{ current_username() }}'".to_owned(),
                _ => format!("amount < {}", rng.random_range(1..100) * 1000),
            };
            let mut datasets: Vec<String> = (0..rng.random_range(1..4))
                .map(|_| {
                    naming::dataset_ref(&size.content, rng.random_range(0..size.content.datasets()))
                })
                .collect();
            datasets.sort();
            datasets.dedup();
            let how_many = rng.random_range(1..4).min(roles.len());
            let mut filter_roles: Vec<String> =
                roles.choose_multiple(rng, how_many).cloned().collect();
            filter_roles.sort();
            let mut filter = RowLevelSecurityFilter::new(
                &format!("rls-{i:04}"),
                RowLevelSecurityFilterSpec {
                    name: None,
                    description: Some(format!("Generated filter {i}")),
                    filter_type: if base {
                        FilterType::Base
                    } else {
                        FilterType::Regular
                    },
                    group_key,
                    roles: filter_roles,
                    datasets,
                    clause,
                    templating: None,
                },
            );
            filter.metadata.namespace = Some(team(i).to_owned());
            filter
        })
        .collect()
}

fn schedules(
    rng: &mut ChaCha8Rng,
    size: &OrgSize,
    users: &[SupersetUser],
    service_accounts: usize,
) -> Vec<ReportSchedule> {
    let people = service_accounts..users.len();
    let pick_person = |rng: &mut ChaCha8Rng| -> usize {
        if people.is_empty() {
            0
        } else {
            rng.random_range(people.clone())
        }
    };
    (0..size.schedules)
        .map(|i| {
            let alert = i % 10 < 3;
            let content = &size.content;
            let (chart, dashboard) = if rng.random_bool(0.7) {
                (Some(ChartRef { uuid: None, name: Some(naming::chart(rng.random_range(0..content.charts))) }), None)
            } else {
                (None, Some(DashboardRef { uuid: None, slug: Some(naming::dashboard_slug(rng.random_range(0..content.dashboards))), title: None }))
            };
            let to: Vec<String> = (0..rng.random_range(1..4))
                .map(|_| {
                    let u = pick_person(rng);
                    users[u].spec.email.clone()
                })
                .collect();
            let owner = meta_name(&users[pick_person(rng)].metadata);
            let run_as = user_name(rng.random_range(0..service_accounts), service_accounts);
            let database = naming::database(rng.random_range(0..content.databases));
            let validator = if i % 2 == 0 {
                AlertValidator { validator_type: ValidatorType::Operator, operator: Some(ValidatorOperator::Greater), threshold: Some(f64::from(rng.random_range(1..1000))) }
            } else {
                AlertValidator { validator_type: ValidatorType::NotNull, operator: None, threshold: None }
            };
            let mut schedule = ReportSchedule::new(
                &format!("schedule-{i:04}"),
                ReportScheduleSpec {
                    name: Some(format!("{} {} {i:04}", capitalise(team(i)), if alert { "alert" } else { "report" })),
                    schedule_type: if alert { ScheduleType::Alert } else { ScheduleType::Report },
                    description: Some(format!("Generated schedule {i}")),
                    active: Some(true),
                    crontab: if alert {
                        ALERT_CRONTABS[rng.random_range(0..ALERT_CRONTABS.len())].to_owned()
                    } else {
                        REPORT_CRONTABS[rng.random_range(0..REPORT_CRONTABS.len())].to_owned()
                    },
                    timezone: Some(TIMEZONES[rng.random_range(0..TIMEZONES.len())].to_owned()),
                    chart,
                    dashboard,
                    database: alert.then_some(database),
                    sql: alert.then(|| {
                        let n = rng.random_range(0..content.datasets());
                        let dataset = naming::dataset_ref(content, n);
                        let table = dataset.split_once('.').map_or(dataset.as_str(), |(_, t)| t).to_owned();
                        format!("SELECT count(*) FROM {table} WHERE created_at > now() - interval '1 hour'")
                    }),
                    validator: alert.then_some(validator),
                    recipients: Recipients { email: Some(EmailRecipients { to, cc: Vec::new(), bcc: Vec::new() }), slack: None, webhook: None },
                    owners: vec![owner],
                    run_as: Some(run_as.clone()),
                    run_alert_query_as: alert.then_some(run_as),
                    report_format: Some(if alert { ReportFormat::Png } else { [ReportFormat::Png, ReportFormat::Pdf][i % 2] }),
                    attach_content: None,
                    working_timeout_seconds: Some(3600),
                    grace_period_seconds: alert.then_some(14_400),
                    log_retention_days: Some(90),
                    email_subject: None,
                    message: None,
                    screenshot: None,
                },
            );
            schedule.metadata.namespace = Some(team(i).to_owned());
            schedule
        })
        .collect()
}
