//! `ReportSchedule`: a Superset alert or report (`report_schedule`, SIP-209 run-as columns) with
//! its recipients (`report_recipient`) and owners (`report_schedule_user`).

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::status::ReportScheduleStatus;

/// An alert or report schedule. A `Report` sends a chart or dashboard on every tick of its
/// crontab; an `Alert` first runs `sql` on `database` and notifies only when `validator` fires.
/// The crontab is evaluated in `timezone`.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "steward.dev",
    version = "v1alpha1",
    kind = "ReportSchedule",
    namespaced,
    status = "ReportScheduleStatus",
    shortname = "rsched",
    category = "superset",
    cel,
    derive = "PartialEq",
    doc = "A Superset alert or report schedule, run as a declared user.",
    printcolumn = r#"{"name": "Type", "type": "string", "jsonPath": ".spec.type"}"#,
    printcolumn = r#"{"name": "Crontab", "type": "string", "jsonPath": ".spec.crontab"}"#,
    printcolumn = r#"{"name": "Timezone", "type": "string", "jsonPath": ".spec.timezone"}"#,
    printcolumn = r#"{"name": "Run As", "type": "string", "jsonPath": ".spec.runAs"}"#,
    printcolumn = r#"{"name": "Last State", "type": "string", "jsonPath": ".status.lastState"}"#,
    printcolumn = r#"{"name": "Next Run", "type": "string", "jsonPath": ".status.nextRunTime"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#
)]
#[x_kube(validation = kube::core::Rule::new("has(self.reportFormat) && self.reportFormat == 'NONE' ? !(has(self.chart) && has(self.dashboard)) : has(self.chart) != has(self.dashboard)").message("exactly one of chart or dashboard must be set (an alert with reportFormat NONE may have one or none)").field_path(".chart"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.reportFormat) || self.reportFormat != 'NONE' || self.type == 'Alert'").message("reportFormat NONE (no attachment) is for alerts; a Report sends its content").field_path(".reportFormat"))]
#[x_kube(validation = kube::core::Rule::new("self.type != 'Alert' || (has(self.database) && has(self.sql) && has(self.validator))").message("an Alert needs database, sql and validator").field_path(".type"))]
#[x_kube(validation = kube::core::Rule::new("self.type != 'Report' || (!has(self.database) && !has(self.sql) && !has(self.validator))").message("a Report carries no database, sql or validator (those are for alerts)").field_path(".type"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.workingTimeoutSeconds) || self.workingTimeoutSeconds > 0").message("workingTimeoutSeconds must be positive").field_path(".workingTimeoutSeconds"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.gracePeriodSeconds) || self.gracePeriodSeconds > 0").message("gracePeriodSeconds must be positive").field_path(".gracePeriodSeconds"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.logRetentionDays) || self.logRetentionDays > 0").message("logRetentionDays must be positive").field_path(".logRetentionDays"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportScheduleSpec {
    /// Schedule name in Superset (unique together with `type`, at most 150 characters).
    /// Defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 150))]
    pub name: Option<String>,
    /// `Report` (send content on every tick) or `Alert` (send only when the validator fires).
    #[serde(rename = "type")]
    pub schedule_type: ScheduleType,
    /// Description shown in Superset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the schedule runs. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Five-field Unix crontab (minute hour day-of-month month day-of-week), evaluated in
    /// `timezone`. Day-of-month and day-of-week are OR-ed when both are restricted.
    #[schemars(length(min = 1, max = 1000))]
    pub crontab: String,
    /// IANA timezone the crontab is evaluated in, e.g. `Europe/Berlin`. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub timezone: Option<String>,
    /// The chart to send (exactly one of `chart` or `dashboard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartRef>,
    /// The dashboard to send (exactly one of `chart` or `dashboard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<DashboardRef>,
    /// Alerts only: database the alert query runs on, by name (`dbs.database_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub database: Option<String>,
    /// Alerts only: the alert query; it must return at most one row with one column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub sql: Option<String>,
    /// Alerts only: when the query's value fires the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<AlertValidator>,
    /// Who gets the notification.
    #[serde(default, skip_serializing_if = "Recipients::is_empty")]
    pub recipients: Recipients,
    /// Owners, by username (at least one); they are notified of failures.
    #[schemars(length(min = 1))]
    pub owners: Vec<String>,
    /// User the report is computed as (SIP-209 `run_as_fk`): its permissions and RLS apply to
    /// the content sent. Must be an existing, active user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub run_as: Option<String>,
    /// Alerts only: user the alert query runs as (SIP-209 `run_alert_query_as_fk`). Defaults
    /// to `runAs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub run_alert_query_as: Option<String>,
    /// Format of the content sent: PNG, CSV, TEXT or PDF, or NONE for an alert sent without
    /// content (SIP-209; its chart or dashboard is then optional). Default PNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_format: Option<ReportFormat>,
    /// Alerts only: attach the chart/dashboard content to the notification. Ignored, with a
    /// warning, when the global configuration turns alert attachments off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_content: Option<bool>,
    /// Seconds a run may stay Working before it is declared failed. Default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_timeout_seconds: Option<i32>,
    /// Alerts only: seconds after a sent alert during which it is not sent again (On Grace).
    /// Default 14400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i32>,
    /// Days execution logs are kept. Default 90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_retention_days: Option<i32>,
    /// Subject of the e-mail (at most 255 characters). Default: Superset's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub email_subject: Option<String>,
    /// Markdown message included above the content (`context_markdown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Screenshot settings for PNG and PDF content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<Screenshot>,
}

/// Kind of schedule (`report_schedule.type`).
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
pub enum ScheduleType {
    /// Runs an SQL check and notifies only when the validator fires.
    Alert,
    /// Sends the content on every tick.
    #[default]
    Report,
}

impl ScheduleType {
    /// The value stored in `report_schedule.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleType::Alert => "Alert",
            ScheduleType::Report => "Report",
        }
    }
}

/// A chart, by uuid or by its unique name (`slices.slice_name`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[x_kube(validation = kube::core::Rule::new("has(self.uuid) != has(self.name)").message("give exactly one of uuid or name"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartRef {
    /// Chart uuid (`slices.uuid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Chart name (`slices.slice_name`); must be unique in Superset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A dashboard, by uuid, slug, or unique title.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[x_kube(validation = kube::core::Rule::new("(has(self.uuid) ? 1 : 0) + (has(self.slug) ? 1 : 0) + (has(self.title) ? 1 : 0) == 1").message("give exactly one of uuid, slug or title"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DashboardRef {
    /// Dashboard uuid (`dashboards.uuid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Dashboard slug (`dashboards.slug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Dashboard title (`dashboards.dashboard_title`); must be unique in Superset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// When an alert fires, from the single value its query returns.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("self.type == 'NotNull' ? (!has(self.operator) && !has(self.threshold)) : (has(self.operator) && has(self.threshold))").message("an Operator validator needs operator and threshold; a NotNull validator takes neither"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertValidator {
    /// `Operator`: compare the value with `threshold`. `NotNull`: fire when the value is
    /// non-null, non-NaN and not 0.
    #[serde(rename = "type")]
    pub validator_type: ValidatorType,
    /// Comparison for `Operator`: `<`, `<=`, `>`, `>=`, `==` or `!=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<ValidatorOperator>,
    /// Threshold for `Operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// Alert validator kind (`report_schedule.validator_type`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub enum ValidatorType {
    /// Compare the value with a threshold (`operator`).
    Operator,
    /// Fire when the value is non-null, non-NaN and not 0 (`not null`).
    NotNull,
}

impl ValidatorType {
    /// The value stored in `report_schedule.validator_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidatorType::Operator => "operator",
            ValidatorType::NotNull => "not null",
        }
    }
}

/// Comparison of an `Operator` validator.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub enum ValidatorOperator {
    /// Fires when value < threshold.
    #[serde(rename = "<")]
    Less,
    /// Fires when value <= threshold.
    #[serde(rename = "<=")]
    LessOrEqual,
    /// Fires when value > threshold.
    #[serde(rename = ">")]
    Greater,
    /// Fires when value >= threshold.
    #[serde(rename = ">=")]
    GreaterOrEqual,
    /// Fires when value == threshold.
    #[serde(rename = "==")]
    Equal,
    /// Fires when value != threshold.
    #[serde(rename = "!=")]
    NotEqual,
}

impl ValidatorOperator {
    /// The operator as Superset stores it in `validator_config_json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidatorOperator::Less => "<",
            ValidatorOperator::LessOrEqual => "<=",
            ValidatorOperator::Greater => ">",
            ValidatorOperator::GreaterOrEqual => ">=",
            ValidatorOperator::Equal => "==",
            ValidatorOperator::NotEqual => "!=",
        }
    }
}

/// Format of the content sent (`report_schedule.report_format`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, schemars::JsonSchema)]
pub enum ReportFormat {
    /// Screenshot image.
    #[serde(rename = "PNG")]
    Png,
    /// Chart data as CSV (charts only).
    #[serde(rename = "CSV")]
    Csv,
    /// Chart data as a text table in the message body (charts only).
    #[serde(rename = "TEXT")]
    Text,
    /// Screenshot as PDF.
    #[serde(rename = "PDF")]
    Pdf,
    /// No attachment: an alert that only says it fired (SIP-209).
    #[serde(rename = "NONE")]
    None,
}

impl ReportFormat {
    /// The value stored in `report_schedule.report_format`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Png => "PNG",
            ReportFormat::Csv => "CSV",
            ReportFormat::Text => "TEXT",
            ReportFormat::Pdf => "PDF",
            ReportFormat::None => "NONE",
        }
    }
}

/// Notification targets (`report_recipient` rows).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipients {
    /// E-mail recipients (one `Email` recipient row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailRecipients>,
    /// Slack channels (one `Slack` recipient row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackRecipients>,
    /// Webhook (one `Webhook` recipient row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookRecipient>,
}

impl Recipients {
    /// True when no recipient of any type is declared.
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.slack.is_none() && self.webhook.is_none()
    }
}

/// E-mail addresses, one per entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailRecipients {
    /// Addresses in To (at least one).
    #[schemars(length(min = 1))]
    pub to: Vec<String>,
    /// Addresses in Cc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Addresses in Bcc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
}

impl EmailRecipients {
    /// Every address with the field it came from (`to`, `cc`, `bcc`) and its index.
    pub fn addresses(&self) -> impl Iterator<Item = (&'static str, usize, &str)> {
        fn tagged<'a>(
            name: &'static str,
            list: &'a [String],
        ) -> impl Iterator<Item = (&'static str, usize, &'a str)> {
            list.iter()
                .enumerate()
                .map(move |(i, a)| (name, i, a.as_str()))
        }
        tagged("to", &self.to)
            .chain(tagged("cc", &self.cc))
            .chain(tagged("bcc", &self.bcc))
    }
}

/// Slack channels.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlackRecipients {
    /// Channel names or ids (at least one).
    #[schemars(length(min = 1))]
    pub channels: Vec<String>,
}

/// A webhook target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookRecipient {
    /// URL the notification is POSTed to (treated as a secret: never printed).
    #[schemars(length(min = 1))]
    pub url: String,
}

/// Screenshot settings (`custom_width`, `custom_height`, `force_screenshot`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Screenshot {
    /// Width in pixels (600 to 2400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 600, max = 2400))]
    pub width: Option<i32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub height: Option<i32>,
    /// Take a fresh screenshot instead of using the cached one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}
