//! The global Alerts & Reports policy (SIP-209) applied to every schedule that will exist after
//! an apply, declared or already in Superset: recipients only in allowed e-mail domains and, when
//! so configured, only the e-mails of active users; fire times never closer than the minimum
//! interval for the schedule's type (the exact smallest gap, not a sample); run-as users that
//! exist, are active, and are allowed; run-as required when so configured. Returns every
//! violation, each with a hint that says what to change. An apply is blocked only by the
//! breaches it introduces ([`introduced`]); schedules that already broke the configuration and
//! that the apply neither declares nor changes are warnings.

use std::collections::{BTreeMap, BTreeSet};

use crate::fast_hash::FastMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::domains::{DomainPattern, address_allowed, split_addresses};
use super::locate;
use crate::diagnostic::{Code, Diagnostic, PolicyBreach};
use crate::manifests::LoadedSet;
use crate::model::{Entries, ObjectKey, ReportConfig, Schedule, StateView, User};
use crate::reason;
use crate::resources::Kind;
use crate::schedule::crontab::{parse_crontab, parse_timezone};
use crate::schedule::min_gap::{FireGap, FireTimes, plain_duration};

/// Why a schedule breaks the policy (SIP-209's reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// A recipient is not allowed.
    Recipient,
    /// The schedule fires more often than allowed.
    Frequency,
    /// The run-as user is missing, inactive or not allowed.
    RunAs,
}

impl Reason {
    /// As written in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Recipient => "recipient",
            Reason::Frequency => "frequency",
            Reason::RunAs => "run_as",
        }
    }
}

/// One schedule breaking one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The schedule's key (`Type:name`).
    pub schedule: String,
    /// Why.
    pub reason: Reason,
    /// What exactly.
    pub detail: String,
    /// The manifest field it concerns (`spec.recipients.email.to[0]`, `spec.runAs` …).
    pub field: String,
    /// What to change to end the breach.
    #[serde(skip)]
    pub hint: String,
    /// The breach ends once a user is declared (a recipient's e-mail, a run-as name): another
    /// resource of the same `kubectl apply` may bring it.
    #[serde(skip)]
    pub awaits_user: bool,
}

impl Violation {
    /// The schedule's type and name.
    pub fn type_and_name(&self) -> (&str, &str) {
        self.schedule
            .split_once(':')
            .unwrap_or(("", self.schedule.as_str()))
    }

    /// As SIP-209 lists it.
    pub fn breach(&self) -> PolicyBreach {
        let (schedule_type, name) = self.type_and_name();
        PolicyBreach {
            name: name.to_owned(),
            schedule_type: schedule_type.to_owned(),
            reason: self.reason.as_str().to_owned(),
            detail: self.detail.clone(),
            awaits_user: self.awaits_user,
        }
    }
}

/// The blocking section of `diff` and `apply`: every schedule that would break the configuration,
/// one line each, in columns (type, name, reason, detail).
pub fn render_blocking(violations: &[Violation]) -> String {
    let schedules: BTreeSet<&str> = violations.iter().map(|v| v.schedule.as_str()).collect();
    let mut out = format!(
        "blocked by the Alerts & Reports configuration: {} schedule{} would break it; the plan is refused\n",
        schedules.len(),
        if schedules.len() == 1 { "" } else { "s" },
    );
    // Names and details are untrusted: shown escaped, so they cannot drive the terminal.
    let rows: Vec<[String; 3]> = violations
        .iter()
        .map(|v| {
            let (schedule_type, name) = v.type_and_name();
            [schedule_type, name, &v.detail].map(|t| crate::escape::terminal(t).into_owned())
        })
        .collect();
    let name_width = rows
        .iter()
        .map(|r| r[1].chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    out.push_str(&format!(
        "  {:<6}  {:<name_width$}  {:<9}  DETAIL\n",
        "TYPE", "NAME", "REASON"
    ));
    for (v, [schedule_type, name, detail]) in violations.iter().zip(&rows) {
        out.push_str(&format!(
            "  {schedule_type:<6}  {name:<name_width$}  {:<9}  {detail}\n",
            v.reason.as_str(),
        ));
    }
    out
}

/// The policy as stored in `report_config`.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub allowed_domains: Vec<DomainPattern>,
    pub limit_recipients_to_users: bool,
    /// Seconds; 0 for no minimum.
    pub alert_minimum_interval: i64,
    pub report_minimum_interval: i64,
    pub require_run_as: bool,
    pub run_as_users: BTreeSet<String>,
    pub run_as_groups: BTreeSet<String>,
}

impl Policy {
    /// Reads the policy from configuration entries (unknown or malformed values are ignored:
    /// the manifest's schema already checked declared ones).
    pub fn of(config: &ReportConfig) -> Policy {
        let json = |key: &str| -> Option<serde_json::Value> {
            serde_json::from_str(config.entries.get(key)?).ok()
        };
        let strings = |value: Option<&serde_json::Value>| -> BTreeSet<String> {
            value
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let allowed = json("run_as_allowed");
        Policy {
            allowed_domains: strings(json("allowed_email_domains").as_ref())
                .iter()
                .filter_map(|p| DomainPattern::parse(p).ok())
                .collect(),
            limit_recipients_to_users: json("limit_recipients_to_users").and_then(|v| v.as_bool())
                == Some(true),
            alert_minimum_interval: json("alert_minimum_interval")
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
            report_minimum_interval: json("report_minimum_interval")
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
            require_run_as: json("require_run_as").and_then(|v| v.as_bool()) == Some(true),
            run_as_users: strings(allowed.as_ref().and_then(|a| a.get("users"))),
            run_as_groups: strings(allowed.as_ref().and_then(|a| a.get("groups"))),
        }
    }
}

/// What the state given to [`check`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything Superset will hold after an apply: every rule applies.
    AfterApply,
    /// Only the manifests (`validate`, no database): rules are applied only where the declared
    /// set decides them (a declared run-as user that is inactive or not allowed, a recipient
    /// whose user is declared inactive); what needs Superset's other users and groups is left
    /// to `diff` and `apply`.
    DeclaredOnly,
}

/// Every violation of `state`'s own configuration by `state`'s schedules. `declared` holds the
/// keys of schedules the manifests declare: only they must name a run-as user when the
/// configuration requires one (Superset 6.1 cannot set run-as on the schedules it holds).
/// Intervals are measured between fire times from `now` on.
pub fn check(
    state: &StateView,
    declared: &BTreeSet<String>,
    scope: Scope,
    now: DateTime<Utc>,
) -> Vec<Violation> {
    let Some(config) = state.config else {
        return Vec::new();
    };
    let policy = Policy::of(config);
    let users = Users::of(state, scope, &policy);
    let mut found = Vec::new();
    let mut gaps = SmallestGaps::new(now);
    for (key, schedule) in state.schedules.iter() {
        recipients(key, schedule, &policy, &users, &mut found);
        frequency(key, schedule, &policy, &mut gaps, &mut found);
        let require = policy.require_run_as && declared.contains(key);
        run_as(key, schedule, &policy, require, &users, &mut found);
    }
    found
}

/// Splits the breaches after an apply into those the apply introduces (a declared schedule's,
/// or one that Superset's schedules did not have `before` the apply) and those that were
/// already there on schedules the apply does not declare.
pub fn introduced(
    after: Vec<Violation>,
    before: &[Violation],
    declared: &BTreeSet<String>,
) -> (Vec<Violation>, Vec<Violation>) {
    after
        .into_iter()
        .partition(|v| declared.contains(&v.schedule) || !before.contains(v))
}

/// What the rules need to know about users.
struct Users<'a> {
    /// Whether every user is known (after an apply), or only the declared ones (validate).
    complete: bool,
    /// Lower-cased e-mails of active users (complete), of inactive declared users (not).
    emails: BTreeSet<String>,
    /// Users by username.
    by_name: Entries<'a, User>,
    /// Group names by member.
    groups_of: BTreeMap<&'a str, BTreeSet<&'a str>>,
    /// Whether every group named in `runAsAllowed.groups` is known, with all its members.
    allowed_groups_known: bool,
}

impl<'a> Users<'a> {
    fn of(state: &StateView<'a>, scope: Scope, policy: &Policy) -> Users<'a> {
        let complete = scope == Scope::AfterApply;
        let emails = state
            .users
            .values()
            .filter(|u| u.active == complete)
            .map(|u| u.email.to_ascii_lowercase())
            .collect();
        let mut groups_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for group in state.groups.values() {
            for user in &group.users {
                groups_of
                    .entry(user.as_str())
                    .or_default()
                    .insert(group.name.as_str());
            }
        }
        Users {
            complete,
            emails,
            by_name: state.users.clone(),
            groups_of,
            allowed_groups_known: complete
                || policy
                    .run_as_groups
                    .iter()
                    .all(|g| state.groups.contains_key(g)),
        }
    }

    /// Whether `address` is known not to be an active user's e-mail.
    fn not_an_active_user(&self, address: &str) -> bool {
        self.emails.contains(&address.to_ascii_lowercase()) != self.complete
    }
}

/// Violations as errors: at the schedule's manifest when it is declared, else named as the
/// schedule Superset holds (a configuration change may break schedules steward does not manage).
pub fn diagnostics(set: &LoadedSet, violations: &[Violation]) -> Vec<Diagnostic> {
    let declared = declared_indexes(set);
    violations
        .iter()
        .map(|v| {
            let key = ObjectKey::new(Kind::ReportSchedule, v.schedule.clone());
            let message = format!("{key}: {}: {}", v.reason.as_str(), v.detail);
            let d = Diagnostic::error(Code::PolicyViolation, message).breach(v.breach());
            match declared.get(&v.schedule) {
                Some(index) => locate(set, *index, &v.field, d.hint(v.hint.clone())),
                None => d
                    .about(key)
                    .hint(format!(
                        "{}; the schedule is not declared, so change it in Superset, or declare it",
                        v.hint
                    ))
                    .because(reason::Reason::UndeclaredSchedule {
                        fix: v.hint.clone(),
                        blocking: true,
                    }),
            }
        })
        .collect()
}

/// Breaches that were there before the apply, on schedules it does not declare, as warnings.
pub fn warnings(violations: &[Violation]) -> Vec<Diagnostic> {
    violations
        .iter()
        .map(|v| {
            let key = ObjectKey::new(Kind::ReportSchedule, v.schedule.clone());
            Diagnostic::warning(
                Code::PolicyViolation,
                format!("{key}: {}: {}", v.reason.as_str(), v.detail),
            )
            .about(key)
            .hint(format!(
                "the schedule broke the configuration before this apply, which neither declares \
                 nor changes it, so it does not block; to end the breach: {} (the schedule is \
                 changed in Superset, or declared)",
                v.hint
            ))
            .because(reason::Reason::UndeclaredSchedule {
                fix: v.hint.clone(),
                blocking: false,
            })
            .breach(v.breach())
        })
        .collect()
}

fn declared_indexes(set: &LoadedSet) -> BTreeMap<String, usize> {
    set.objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.resource.kind() == Kind::ReportSchedule)
        .map(|(i, o)| (ObjectKey::of(&o.resource).key, i))
        .collect()
}

fn recipients(
    key: &str,
    schedule: &Schedule,
    policy: &Policy,
    users: &Users,
    found: &mut Vec<Violation>,
) {
    for recipient in schedule
        .recipients
        .iter()
        .filter(|r| r.recipient_type == "Email")
    {
        for (stored, field) in [("target", "to"), ("ccTarget", "cc"), ("bccTarget", "bcc")] {
            let Some(list) = recipient.config.get(stored) else {
                continue;
            };
            for (i, address) in split_addresses(list).enumerate() {
                let field = format!("spec.recipients.email.{field}[{i}]");
                if !policy.allowed_domains.is_empty()
                    && !address_allowed(address, &policy.allowed_domains)
                {
                    found.push(Violation {
                        schedule: key.to_owned(),
                        reason: Reason::Recipient,
                        detail: format!("`{address}` is not in an allowed e-mail domain"),
                        field: field.clone(),
                        hint: format!(
                            "remove `{address}` from the recipients, or add its domain to the ReportConfiguration's allowedEmailDomains"
                        ),
                        awaits_user: false,
                    });
                }
                if policy.limit_recipients_to_users && users.not_an_active_user(address) {
                    found.push(Violation {
                        schedule: key.to_owned(),
                        reason: Reason::Recipient,
                        detail: format!("`{address}` is not the e-mail of an active user (recipients are limited to users)"),
                        field,
                        hint: format!(
                            "remove `{address}` from the recipients, or declare (or activate) the SupersetUser whose email it is"
                        ),
                        awaits_user: true,
                    });
                }
            }
        }
    }
}

/// Smallest gaps by (crontab, timezone): organisations reuse a handful of each.
struct SmallestGaps<'a> {
    now: DateTime<Utc>,
    known: FastMap<(&'a str, &'a str), Option<FireGap>>,
}

impl<'a> SmallestGaps<'a> {
    fn new(now: DateTime<Utc>) -> Self {
        SmallestGaps {
            now,
            known: FastMap::default(),
        }
    }

    /// `None` for a crontab or timezone that does not parse (reported elsewhere) or that
    /// fires fewer than twice.
    fn of(&mut self, crontab: &'a str, timezone: &'a str) -> Option<&FireGap> {
        let now = self.now;
        self.known
            .entry((crontab, timezone))
            .or_insert_with(|| {
                let cron = parse_crontab(crontab).ok()?;
                let tz = parse_timezone(timezone).ok()?;
                FireTimes::new(&cron, tz).smallest_gap(now, None)
            })
            .as_ref()
    }
}

fn frequency<'a>(
    key: &str,
    schedule: &'a Schedule,
    policy: &Policy,
    gaps: &mut SmallestGaps<'a>,
    found: &mut Vec<Violation>,
) {
    let (minimum, setting, what) = if schedule.schedule_type == "Alert" {
        (
            policy.alert_minimum_interval,
            "alertMinimumIntervalSeconds",
            "alerts",
        )
    } else {
        (
            policy.report_minimum_interval,
            "reportMinimumIntervalSeconds",
            "reports",
        )
    };
    if minimum <= 0 {
        return;
    }
    let Some(gap) = gaps.of(&schedule.crontab, &schedule.timezone) else {
        return;
    };
    if gap.seconds < minimum {
        found.push(Violation {
            schedule: key.to_owned(),
            reason: Reason::Frequency,
            detail: format!(
                "`{}` in {} fires {} apart at its closest, first at {} and {}; {what} must be at least {} apart ({setting}: {minimum})",
                schedule.crontab,
                schedule.timezone,
                plain_duration(gap.seconds),
                gap.first.format("%Y-%m-%d %H:%M %Z"),
                gap.second.format("%Y-%m-%d %H:%M %Z"),
                plain_duration(minimum),
            ),
            field: "spec.crontab".into(),
            hint: format!(
                "make the crontab fire at most once every {}, or lower {setting} in the ReportConfiguration",
                plain_duration(minimum)
            ),
            awaits_user: false,
        });
    }
}

fn run_as(
    key: &str,
    schedule: &Schedule,
    policy: &Policy,
    require_run_as: bool,
    users: &Users,
    found: &mut Vec<Violation>,
) {
    let mut violation = |detail: String, field: &str, hint: String, awaits_user: bool| {
        found.push(Violation {
            schedule: key.to_owned(),
            reason: Reason::RunAs,
            detail,
            field: field.to_owned(),
            hint,
            awaits_user,
        })
    };
    for (deleted, field, what) in [
        (schedule.run_as_deleted, "spec.runAs", "runAs"),
        (
            schedule.run_alert_query_as_deleted,
            "spec.runAlertQueryAs",
            "runAlertQueryAs",
        ),
    ] {
        if deleted {
            violation(
                format!(
                    "the {what} user was deleted: Superset fails every run (SIP-209 keeps run_as_type `fixed_user`)"
                ),
                field,
                format!("set {field} to an active user"),
                false,
            );
        }
    }
    if require_run_as && schedule.run_as.is_none() && !schedule.run_as_deleted {
        violation(
            "no runAs user, and the configuration requires one".into(),
            "spec.runAs",
            "set spec.runAs to an active service account the configuration's runAsAllowed lists"
                .into(),
            false,
        );
    }
    for (user, field, what) in [
        (&schedule.run_as, "spec.runAs", "runAs"),
        (
            &schedule.run_alert_query_as,
            "spec.runAlertQueryAs",
            "runAlertQueryAs",
        ),
    ] {
        let Some(name) = user else { continue };
        match users.by_name.get(name) {
            None if users.complete => violation(
                format!("{what} user `{name}` does not exist"),
                field,
                format!("declare a SupersetUser `{name}`, or set {field} to a user that exists"),
                true,
            ),
            // Not declared: it may exist in Superset; `diff` decides.
            None => {}
            Some(u) if !u.active => violation(
                format!("{what} user `{name}` is not active"),
                field,
                format!(
                    "activate `{name}` (remove `active: false` from its SupersetUser, or set it to true), or set {field} to an active user"
                ),
                false,
            ),
            Some(_) => {
                let restricted =
                    !policy.run_as_users.is_empty() || !policy.run_as_groups.is_empty();
                let in_group = users
                    .groups_of
                    .get(name.as_str())
                    .is_some_and(|groups| groups.iter().any(|g| policy.run_as_groups.contains(*g)));
                if restricted
                    && users.allowed_groups_known
                    && !policy.run_as_users.contains(name)
                    && !in_group
                {
                    violation(
                        format!(
                            "{what} user `{name}` is not in the configuration's runAsAllowed users or groups"
                        ),
                        field,
                        format!(
                            "add `{name}` to runAsAllowed.users (or to a group runAsAllowed.groups lists), or set {field} to an allowed user"
                        ),
                        false,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Group, State};
    use sorted_vec::SortedSet;

    fn user(name: &str, active: bool) -> User {
        User {
            username: name.into(),
            first_name: "F".into(),
            last_name: "L".into(),
            email: format!("{name}@corp.example.com"),
            active,
            roles: SortedSet::new(),
        }
    }

    #[test]
    fn recipients_and_run_as_rules() {
        let mut state = State::default();
        for (name, active) in [("svc", true), ("admin", true), ("gone", false)] {
            state.users.insert(name.into(), user(name, active));
        }
        state.groups.insert(
            "runners".into(),
            Group {
                name: "runners".into(),
                label: None,
                description: None,
                roles: SortedSet::new(),
                users: ["svc".to_owned()].into(),
            },
        );
        let entries = [
            ("allowed_email_domains", r#"["corp.example.com"]"#),
            ("limit_recipients_to_users", "true"),
            ("require_run_as", "true"),
            ("run_as_allowed", r#"{"users":[],"groups":["runners"]}"#),
            ("report_minimum_interval", "3600"),
        ];
        state.config = Some(ReportConfig {
            entries: entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
        let cases = [
            ("ok", Some("svc"), "admin@corp.example.com", vec![]),
            (
                "outside",
                Some("svc"),
                "x@gmail.com",
                vec![Reason::Recipient, Reason::Recipient],
            ),
            (
                "not-a-user",
                Some("svc"),
                "nobody@corp.example.com",
                vec![Reason::Recipient],
            ),
            (
                "inactive-user",
                Some("svc"),
                "gone@corp.example.com",
                vec![Reason::Recipient],
            ),
            (
                "admin",
                Some("admin"),
                "svc@corp.example.com",
                vec![Reason::RunAs],
            ),
            (
                "inactive",
                Some("gone"),
                "svc@corp.example.com",
                vec![Reason::RunAs],
            ),
            (
                "missing",
                Some("ghost"),
                "svc@corp.example.com",
                vec![Reason::RunAs],
            ),
            ("none", None, "svc@corp.example.com", vec![Reason::RunAs]),
        ];
        for (name, run_as, to, _) in &cases {
            state.schedules.insert(
                Schedule::key("Report", name),
                Schedule::for_test(name, "Email", to, *run_as),
            );
        }
        let mut too_often =
            Schedule::for_test("too-often", "Email", "svc@corp.example.com", Some("svc"));
        too_often.crontab = "0,30 9 * * 1-5".into();
        too_often.timezone = "Europe/Berlin".into();
        state
            .schedules
            .insert(Schedule::key("Report", "too-often"), too_often);
        let declared: BTreeSet<String> = state.schedules.keys().cloned().collect();
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let found = check(&state.view(), &declared, Scope::AfterApply, now);
        let frequency: Vec<&Violation> = found
            .iter()
            .filter(|v| v.reason == Reason::Frequency)
            .collect();
        assert_eq!(frequency.len(), 1, "{found:?}");
        assert_eq!(frequency[0].schedule, "Report:too-often");
        assert_eq!(frequency[0].field, "spec.crontab");
        assert_eq!(
            frequency[0].detail,
            "`0,30 9 * * 1-5` in Europe/Berlin fires 30 min apart at its closest, first at \
             2026-11-24 09:00 CET and 2026-11-24 09:30 CET; reports must be at least 1 h apart \
             (reportMinimumIntervalSeconds: 3600)"
        );
        for (name, _, _, expected) in &cases {
            let found: Vec<&Violation> = found
                .iter()
                .filter(|v| v.reason != Reason::Frequency)
                .collect();
            let reasons: Vec<Reason> = found
                .iter()
                .filter(|v| v.schedule == Schedule::key("Report", name))
                .map(|v| v.reason)
                .collect();
            assert_eq!(&reasons, expected, "{name}: {found:?}");
        }
        // Schedules only Superset holds cannot carry run-as in 6.1: not required of them.
        let undeclared = check(&state.view(), &BTreeSet::new(), Scope::AfterApply, now);
        assert!(!undeclared.iter().any(|v| v.detail.contains("requires one")));

        // A fixed run-as user deleted in Superset: an error of its own, declared or not, for
        // either user, and not also "no runAs user".
        let mut orphaned = Schedule::for_test("orphaned", "Email", "svc@corp.example.com", None);
        orphaned.run_as_deleted = true;
        orphaned.run_alert_query_as_deleted = true;
        state.schedules = [(Schedule::key("Report", "orphaned"), orphaned)].into();
        for declared in [
            BTreeSet::from(["Report:orphaned".to_owned()]),
            BTreeSet::new(),
        ] {
            let found = check(&state.view(), &declared, Scope::AfterApply, now);
            let details: Vec<(&str, &str)> = found
                .iter()
                .map(|v| (v.field.as_str(), v.detail.as_str()))
                .collect();
            assert_eq!(
                details,
                [
                    (
                        "spec.runAs",
                        "the runAs user was deleted: Superset fails every run (SIP-209 keeps run_as_type `fixed_user`)"
                    ),
                    (
                        "spec.runAlertQueryAs",
                        "the runAlertQueryAs user was deleted: Superset fails every run (SIP-209 keeps run_as_type `fixed_user`)"
                    ),
                ]
            );
        }
    }
}
