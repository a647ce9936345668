//! `ReportConfiguration`: the one global Alerts & Reports configuration (SIP-209's document in
//! Superset's `key_value` table).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::SyncStatus;

/// The global Alerts & Reports configuration of the organisation (SIP-209). Exactly one may
/// exist. Every schedule, declared or already in Superset, must comply with it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "ReportConfiguration",
    status = "SyncStatus",
    shortname = "rconfig",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "The global Alerts & Reports configuration (SIP-209): intervals, recipients, run-as policy.",
    printcolumn = r#"{"name": "Alert Min", "type": "integer", "jsonPath": ".spec.alertMinimumIntervalSeconds", "description": "Minimum seconds between two alert runs"}"#,
    printcolumn = r#"{"name": "Report Min", "type": "integer", "jsonPath": ".spec.reportMinimumIntervalSeconds", "description": "Minimum seconds between two report runs"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportConfigurationSpec {
    /// Whether alerts may carry the chart/dashboard content as an attachment
    /// (`alerts_attach_reports`). When false, an alert asking for one is kept but the
    /// attachment is ignored (with a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts_attach_reports: Option<bool>,
    /// The `strftime` date format Superset appends to e-mail subjects
    /// (`date_format_in_email_subject`); unset falls back to Superset's config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub date_format_in_email_subject: Option<String>,
    /// Smallest allowed gap, in seconds, between two consecutive runs of an alert
    /// (`alert_minimum_interval`), checked exactly over the crontab's whole cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub alert_minimum_interval_seconds: Option<i32>,
    /// Smallest allowed gap, in seconds, between two consecutive runs of a report
    /// (`report_minimum_interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub report_minimum_interval_seconds: Option<i32>,
    /// When true, every e-mail recipient must be the address of an existing, active user
    /// (`limit_recipients_to_users`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_recipients_to_users: Option<bool>,
    /// Allowed e-mail domain patterns (`allowed_email_domains`): `example.com` exactly,
    /// `*.example.com` for its subdomains only, `example.*` for one top-level label. Empty
    /// allows every domain. Case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_email_domains: Vec<String>,
    /// When true, every schedule must name a `runAs` user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_run_as: Option<bool>,
    /// When set, `runAs` and `runAlertQueryAs` may only name these users or members of these
    /// groups, so a team cannot run a report as someone who sees more than it may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_allowed: Option<RunAsAllowList>,
}

/// Who schedules may run as.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunAsAllowList {
    /// Usernames that may be run as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Groups whose members may be run as, by group name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}
