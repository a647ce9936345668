//! What one run needs to know about its schedule, read from Superset's metadata database by
//! the store ([`crate::store::execution`]) and judged here without IO.

use chrono::{DateTime, Utc};

use super::state::History;

/// A Superset user as a run sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFacts {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub active: bool,
}

/// SIP-209's fixed executor of a schedule (`run_as_fk` / `run_as_type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Executor {
    /// Not set (legacy): Superset's `ALERT_REPORTS_EXECUTORS` default, the single owner.
    Unset,
    /// Set to this user.
    User(UserFacts),
    /// Set, but the user was deleted (`run_as_type` stays, the key went NULL).
    Deleted,
}

/// The content a schedule sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Chart {
        id: i64,
        name: String,
        /// Whether the chart has a saved `query_context` (what CSV and TEXT are computed from).
        has_query_context: bool,
    },
    Dashboard {
        id: i64,
        title: String,
    },
    /// An alert with `report_format` NONE and no content.
    Nothing,
}

/// A `report_recipient` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientRow {
    /// `Email`, `Slack`, `SlackV2` or `Webhook`.
    pub kind: String,
    /// `recipient_config_json`.
    pub config: String,
}

/// One schedule, everything a run reads.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleFacts {
    pub id: i64,
    pub name: String,
    pub is_alert: bool,
    pub active: bool,
    pub crontab: String,
    pub timezone: String,
    pub description: Option<String>,
    pub subject: Subject,
    /// `report_format` (`PNG`, `PDF`, `CSV`, `TEXT`, `NONE`).
    pub report_format: String,
    pub email_subject: Option<String>,
    /// Alerts: the database id and query.
    pub database_id: Option<i64>,
    pub sql: Option<String>,
    pub validator_type: Option<String>,
    pub validator_config: Option<String>,
    pub recipients: Vec<RecipientRow>,
    pub owners: Vec<UserFacts>,
    pub run_as: Executor,
    pub run_alert_query_as: Executor,
    pub working_timeout: i64,
    pub grace_period: i64,
    pub log_retention_days: i64,
    /// `extra_json`'s `attach_content` (steward's per-alert switch), when set.
    pub attach_content: Option<bool>,
    /// The screenshot's window width and height (`custom_width`, `custom_height`), when set.
    pub custom_width: Option<i64>,
    pub custom_height: Option<i64>,
    /// When the schedule was created (fire times before it are not missed runs).
    pub created_on: Option<DateTime<Utc>>,
    /// The newest fire time the execution log records (run or skipped).
    pub last_scheduled: Option<DateTime<Utc>>,
    pub history: History,
}

impl ScheduleFacts {
    /// The user the content is computed as: SIP-209's run-as, else the single owner (Superset's
    /// default executor).
    pub fn content_user(&self) -> Result<&UserFacts, String> {
        match &self.run_as {
            Executor::User(user) => Ok(user),
            Executor::Deleted => {
                Err("its run-as user was deleted; declare an existing user in runAs".into())
            }
            Executor::Unset => match self.owners.as_slice() {
                [owner] => Ok(owner),
                [] => Err("it has no run-as user and no owner to run as; declare runAs".into()),
                _ => Err(format!(
                    "it has no run-as user and {} owners, so no single owner to run as; declare runAs",
                    self.owners.len()
                )),
            },
        }
    }

    /// The user the alert query runs as: SIP-209's `run_alert_query_as`, else the content user.
    pub fn alert_query_user(&self) -> Result<&UserFacts, String> {
        match &self.run_alert_query_as {
            Executor::User(user) => Ok(user),
            Executor::Deleted => Err(
                "its alert-query user was deleted; declare an existing user in runAlertQueryAs"
                    .into(),
            ),
            Executor::Unset => self.content_user(),
        }
    }
}
