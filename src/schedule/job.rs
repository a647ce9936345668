//! The Kubernetes Job of one run (schedule, fire time): a deterministic name, so creating it
//! twice (a restart, two replicas, a resync) is a no-op; an owner reference to the
//! ReportSchedule, so deleting the schedule deletes its Jobs; the pod template from the
//! instance's `executions.jobTemplate`; `activeDeadlineSeconds` = the working timeout.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};

use crate::resources::instance::Executions;

/// Label on every Job steward creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "steward");
/// Label: the ReportSchedule's uid (names may be longer than a label value).
pub const SCHEDULE_UID_LABEL: &str = "steward.dev/schedule-uid";
/// Label: the SupersetInstance.
pub const INSTANCE_LABEL: &str = "steward.dev/instance";
/// Annotation: the fire time the Job runs (RFC 3339).
pub const FIRE_TIME_ANNOTATION: &str = "steward.dev/fire-time";
/// Annotation: the schedule, `namespace/name`.
pub const SCHEDULE_ANNOTATION: &str = "steward.dev/schedule";

/// Defaults of [`Executions`].
pub const DEFAULT_CATCH_UP_SECONDS: u32 = 600;
pub const DEFAULT_SUCCESSFUL_HISTORY: u32 = 3;
pub const DEFAULT_FAILED_HISTORY: u32 = 1;
pub const DEFAULT_TTL_SECONDS: i32 = 86_400;

/// The schedule a Job runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleRef<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub instance: &'a str,
    /// `workingTimeoutSeconds` (Superset's default 3600).
    pub working_timeout: i64,
}

/// The Job's name: the schedule's name (shortened), a hash of the whole name, and the fire
/// time in minutes since the epoch. At most 63 characters (the pods' `job-name` label).
pub fn job_name(schedule: &str, fire: DateTime<Utc>) -> String {
    let hash = Sha256::digest(schedule.as_bytes());
    let short: String = hash[..3].iter().map(|b| format!("{b:02x}")).collect();
    let mut prefix: String = schedule.chars().take(38).collect();
    while prefix.ends_with(['-', '.']) {
        prefix.pop();
    }
    let prefix = prefix.replace('.', "-");
    format!("{prefix}-{short}-{}", fire.timestamp().div_euclid(60))
}

/// The command a Job's pod runs (and a test runs, as a kubelet would).
pub fn command(schedule: &ScheduleRef, fire: DateTime<Utc>) -> Vec<String> {
    vec![
        "steward".into(),
        "execute".into(),
        "--schedule".into(),
        format!("{}/{}", schedule.namespace, schedule.name),
        "--at".into(),
        fire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ]
}

/// The Job of `schedule`'s run at `fire`.
pub fn build(schedule: &ScheduleRef, fire: DateTime<Utc>, executions: &Executions) -> Job {
    let template = &executions.job_template;
    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (SCHEDULE_UID_LABEL.to_owned(), schedule.uid.to_owned()),
        (INSTANCE_LABEL.to_owned(), label_value(schedule.instance)),
    ]);
    let annotations = BTreeMap::from([
        (
            FIRE_TIME_ANNOTATION.to_owned(),
            fire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (
            SCHEDULE_ANNOTATION.to_owned(),
            format!("{}/{}", schedule.namespace, schedule.name),
        ),
    ]);
    let container = Container {
        name: "execute".into(),
        image: Some(template.image.clone()),
        image_pull_policy: template.image_pull_policy.clone(),
        command: Some(command(schedule, fire)),
        env: (!template.env.is_empty()).then(|| template.env.clone()),
        env_from: (!template.env_from.is_empty()).then(|| template.env_from.clone()),
        resources: template.resources.clone(),
        ..Container::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(schedule.name, fire)),
            namespace: Some(schedule.namespace.to_owned()),
            labels: Some(labels.clone()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "steward.dev/v1alpha1".into(),
                kind: "ReportSchedule".into(),
                name: schedule.name.to_owned(),
                uid: schedule.uid.to_owned(),
                controller: Some(true),
                block_owner_deletion: None,
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(executions.backoff_limit.unwrap_or(0)),
            active_deadline_seconds: Some(schedule.working_timeout.max(1)),
            ttl_seconds_after_finished: Some(
                executions
                    .ttl_seconds_after_finished
                    .unwrap_or(DEFAULT_TTL_SECONDS),
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    containers: vec![container],
                    service_account_name: template.service_account_name.clone(),
                    node_selector: (!template.node_selector.is_empty())
                        .then(|| template.node_selector.clone()),
                    tolerations: (!template.tolerations.is_empty())
                        .then(|| template.tolerations.clone()),
                    image_pull_secrets: (!template.image_pull_secrets.is_empty())
                        .then(|| template.image_pull_secrets.clone()),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// A label value (at most 63 characters of `[A-Za-z0-9_.-]`, alphanumeric at both ends).
fn label_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn executions() -> Executions {
        serde_json::from_value(serde_json::json!({
            "jobTemplate": {
                "image": "steward:test",
                "serviceAccountName": "steward-executor",
                "nodeSelector": {"pool": "reports"},
                "envFrom": [{"secretRef": {"name": "steward-executor"}}],
                "env": [{"name": "STEWARD_SUPERSET_URL", "value": "http://superset:8088"}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn names_are_deterministic_short_and_distinct() {
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let a = job_name("weekly-sales", t);
        assert_eq!(a, job_name("weekly-sales", t));
        assert_ne!(
            a,
            job_name("weekly-sales", t + chrono::Duration::minutes(1))
        );
        let long = "a".repeat(250);
        let b = job_name(&long, t);
        assert!(b.len() <= 63, "{b}");
        assert_ne!(b, job_name(&format!("{long}x"), t));
        assert!(!job_name("x.y-", t).contains('.'));
    }

    #[test]
    fn the_job_carries_owner_template_and_limits() {
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let schedule = ScheduleRef {
            namespace: "sales",
            name: "weekly",
            uid: "0b1c",
            instance: "prod",
            working_timeout: 900,
        };
        let job = build(&schedule, t, &executions());
        let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("ReportSchedule", "0b1c")
        );
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.active_deadline_seconds, Some(900));
        assert_eq!(spec.backoff_limit, Some(0));
        let pod = spec.template.spec.as_ref().unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(
            pod.service_account_name.as_deref(),
            Some("steward-executor")
        );
        let container = &pod.containers[0];
        assert_eq!(
            container.command.as_ref().unwrap().join(" "),
            "steward execute --schedule sales/weekly --at 2026-11-30T08:00:00Z"
        );
        // Secrets only by reference.
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.contains("\"secretRef\""));
        assert_eq!(job.metadata.namespace.as_deref(), Some("sales"));
    }
}
