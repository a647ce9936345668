//! Status types written by the operator on each custom resource.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Reconciliation status shared by roles, groups, users, RLS filters and the configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Standard conditions; `Ready` is True when Superset's metadata database matches the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Primary key of the object in Superset's metadata database, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superset_id: Option<i64>,
    /// When the operator last wrote Superset for this resource (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_time: Option<String>,
}

/// Status of a report schedule: reconciliation plus the scheduler's view of its runs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportScheduleStatus {
    /// Standard conditions; `Ready` is True when Superset's metadata database matches the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` that the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Primary key of the schedule in Superset's `report_schedule` table, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superset_id: Option<i64>,
    /// When the operator last wrote Superset for this resource (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_time: Option<String>,
    /// State of the last execution as Superset records it: Working, Success, Error,
    /// Not triggered or On Grace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<String>,
    /// Scheduled time (RFC 3339) of the last execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_time: Option<String>,
    /// Next scheduled time (RFC 3339), computed from crontab and timezone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_time: Option<String>,
}
