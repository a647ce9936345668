//! One run, end to end: claim it (decide from Superset's state machine and record Working in
//! one transaction), re-check the policy, evaluate an alert as its query user, fetch the
//! content as the run-as user (data through the API, PNG and PDF through a browser), deliver,
//! and record the final state; on failure, tell the owners (throttled by the grace period) and
//! record that too. Every state change is a row of Superset's execution log.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::email::{Addressees, Mailer};
use super::facts::{ScheduleFacts, Subject, UserFacts};
use super::notice::{Attachment, Notification, Wording, dated_name, subject};
use super::recheck::{email_addresses, recheck};
pub use super::state::execution_id;
use super::state::{RunState, Start, Timing, error_notice_due, message, start};
use super::validator::{Validator, judge};
use super::webhook::WebhookSender;
use crate::policy::domains::address_allowed;
use crate::policy::report_rules::Policy;
use crate::secret::Secret;
use crate::store::execution::{self, LogRow};
use crate::store::{Dialect, Store, StoreError, Value};
use crate::superset::SupersetClient;
use crate::superset::screenshot::{
    BrowserSettings, ImageFormat, Subject as ScreenshotSubject, capture,
};
use crate::token::mint_access_token;

/// At most this many rows of an alert query are read: one more than allowed, to tell.
const ALERT_ROW_LIMIT: u32 = 2;

/// Everything a run talks to.
#[derive(Clone)]
pub struct Executor {
    pub store: Store,
    pub superset: SupersetClient,
    /// Superset's `JWT_SECRET_KEY` (by default its `SECRET_KEY`).
    pub jwt_secret: Secret,
    /// `None`: no SMTP server configured; e-mail recipients then fail the run.
    pub mailer: Option<Mailer>,
    pub webhooks: WebhookSender,
    pub wording: Wording,
    /// The browser PNG and PDF are taken with, and Superset's `SECRET_KEY` its session is
    /// signed with; `None`: such runs fail with that reason.
    pub screenshots: Option<Screenshots>,
}

/// What screenshots need.
#[derive(Clone, Debug)]
pub struct Screenshots {
    pub browser: BrowserSettings,
    /// Superset's Flask `SECRET_KEY`.
    pub session_secret: Secret,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The run recorded this final state (with Superset's message, if any).
    Recorded {
        state: RunState,
        message: Option<String>,
    },
    /// This run (schedule and fire time) had already ended: nothing done.
    AlreadyRan(RunState),
    /// Another run is working within its timeout: Working logged, nothing computed.
    StillWorking,
    /// The schedule is not active: nothing done.
    Inactive,
}

impl Outcome {
    /// Whether the run failed (a command's exit status).
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Outcome::Recorded {
                state: RunState::Error,
                ..
            } | Outcome::StillWorking
        )
    }
}

/// What stops a run before it could record anything.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("schedule {0} does not exist in Superset (deleted since it was scheduled?)")]
    NoSuchSchedule(i64),
}

/// The log row of a state at `end` for this run.
struct Run {
    schedule_id: i64,
    execution_id: uuid::Uuid,
    scheduled: DateTime<Utc>,
    started: DateTime<Utc>,
}

impl Run {
    fn row(&self, state: RunState, message: Option<String>) -> LogRow {
        LogRow {
            execution_id: self.execution_id,
            scheduled: self.scheduled,
            start: self.started,
            end: Utc::now(),
            state,
            error_message: message,
            value: None,
            value_row_json: None,
        }
    }
}

/// A failure of a run after it entered Working.
struct Failure(String);

impl Executor {
    /// Records `row` (and the schedule's last state) in its own transaction.
    async fn record(
        &self,
        schedule_id: i64,
        row: &LogRow,
        log_only: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.write_runtime().await?;
        execution::record(&mut tx, schedule_id, row, log_only).await?;
        tx.commit().await
    }

    /// Runs schedule `schedule_id` for its fire time `scheduled`.
    pub async fn execute(
        &self,
        schedule_id: i64,
        scheduled: DateTime<Utc>,
    ) -> Result<Outcome, RunError> {
        self.execute_in(schedule_id, scheduled, None).await
    }

    /// [`Executor::execute`], computing and delivering only within one of `slots`: the run is
    /// claimed (Working recorded) at once, so it starts on time, and waits for a slot as part
    /// of its working time; Superset and the SMTP server see at most that many runs at once.
    pub async fn execute_in(
        &self,
        schedule_id: i64,
        scheduled: DateTime<Utc>,
        slots: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    ) -> Result<Outcome, RunError> {
        let run = Run {
            schedule_id,
            execution_id: execution_id(schedule_id, scheduled),
            scheduled,
            started: Utc::now(),
        };
        let (facts, first) = self.claim(&run).await?;
        match first {
            Start::AlreadyRan(state) => return Ok(Outcome::AlreadyRan(state)),
            Start::StillWorking => return Ok(Outcome::StillWorking),
            Start::OnGrace => {
                return Ok(Outcome::Recorded {
                    state: RunState::OnGrace,
                    message: Some(message::GRACE_PERIOD.into()),
                });
            }
            Start::TimedOutThenRun | Start::Run => {}
        }
        if !facts.active {
            return Ok(Outcome::Inactive);
        }
        let _slot = match slots {
            Some(slots) => Some(
                slots
                    .acquire_owned()
                    .await
                    .expect("the semaphore stays open"),
            ),
            None => None,
        };
        let outcome = match self.compute_and_send(&run, &facts).await {
            Ok((state, message, value, value_row_json)) => {
                let mut row = run.row(state, message.clone());
                row.value = value;
                row.value_row_json = value_row_json;
                self.record(schedule_id, &row, false).await?;
                Outcome::Recorded { state, message }
            }
            Err(Failure(why)) => {
                self.record(
                    schedule_id,
                    &run.row(RunState::Error, Some(why.clone())),
                    false,
                )
                .await?;
                self.notify_owners(&run, &facts, &why).await?;
                Outcome::Recorded {
                    state: RunState::Error,
                    message: Some(why),
                }
            }
        };
        self.prune(&facts).await?;
        Ok(outcome)
    }

    /// Decides how the run starts and records its first rows, in one write transaction (on
    /// PostgreSQL the schedule's row is locked, so two executors of one schedule take turns).
    async fn claim(&self, run: &Run) -> Result<(ScheduleFacts, Start), RunError> {
        let mut tx = self.store.write_runtime().await?;
        if tx.dialect() == Dialect::Postgres {
            tx.execute(
                "SELECT id FROM report_schedule WHERE id = $1 FOR UPDATE",
                &[Value::int(run.schedule_id)],
            )
            .await?;
        }
        let Some(facts) = execution::read_facts(&mut tx, run.schedule_id, run.execution_id).await?
        else {
            return Err(RunError::NoSuchSchedule(run.schedule_id));
        };
        let timing = Timing {
            working_timeout: facts.working_timeout,
            grace_period: facts.grace_period,
        };
        let first = start(&facts.history, facts.is_alert, timing, Utc::now());
        let rows: Vec<LogRow> = match &first {
            Start::AlreadyRan(_) => vec![],
            Start::StillWorking => {
                vec![run.row(RunState::Working, Some(message::PREVIOUS_WORKING.into()))]
            }
            Start::OnGrace => vec![run.row(RunState::OnGrace, Some(message::GRACE_PERIOD.into()))],
            Start::TimedOutThenRun if facts.active => vec![
                run.row(RunState::Error, Some(message::WORKING_TIMEOUT.into())),
                run.row(RunState::Working, None),
            ],
            Start::TimedOutThenRun => {
                vec![run.row(RunState::Error, Some(message::WORKING_TIMEOUT.into()))]
            }
            Start::Run if facts.active => vec![run.row(RunState::Working, None)],
            Start::Run => vec![],
        };
        for row in &rows {
            execution::record(&mut tx, run.schedule_id, row, false).await?;
        }
        tx.commit().await?;
        Ok((facts, first))
    }

    /// From Working to a final state: the re-check, the alert, the content, the delivery.
    async fn compute_and_send(
        &self,
        run: &Run,
        facts: &ScheduleFacts,
    ) -> Result<(RunState, Option<String>, Option<f64>, Option<String>), Failure> {
        let (config, user_emails) = self
            .policy_facts(facts)
            .await
            .map_err(|e| Failure(e.to_string()))?;
        let policy = Policy::of(&config);
        let attach_alerts = config
            .entries
            .get("alerts_attach_reports")
            .and_then(|v| serde_json::from_str::<bool>(v).ok())
            .unwrap_or(true);
        let reasons = recheck(
            facts,
            &policy,
            &user_emails,
            attach_alerts,
            self.screenshots.is_some(),
        );
        if !reasons.is_empty() {
            return Err(Failure(format!("Not sent: {}.", reasons.join("; "))));
        }
        let mut value = None;
        let mut value_row_json = None;
        if facts.is_alert {
            let verdict = self.evaluate_alert(facts).await?;
            value = verdict.value;
            value_row_json = verdict.value_row_json.clone();
            if !verdict.fired {
                return Ok((
                    RunState::NotTriggered,
                    verdict.message,
                    value,
                    value_row_json,
                ));
            }
        }
        let date_format = config
            .entries
            .get("date_format_in_email_subject")
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok());
        let notification = self.notification(facts, attach_alerts).await?;
        let title = dated_name(&notification.name, date_format.as_ref(), run.started);
        self.deliver(facts, &subject(&self.wording, &title), &notification, None)
            .await
            .map_err(Failure)?;
        Ok((RunState::Success, None, value, value_row_json))
    }

    async fn policy_facts(
        &self,
        facts: &ScheduleFacts,
    ) -> Result<(crate::model::ReportConfig, BTreeSet<String>), StoreError> {
        let mut tx = self.store.read().await?;
        let config = execution::report_config(&mut tx).await?;
        let addresses = super::recheck::all_email_addresses(facts);
        let emails = execution::active_user_emails(&mut tx, &addresses).await?;
        tx.rollback().await?;
        Ok((config, emails))
    }

    fn token_for(&self, user: &UserFacts) -> Result<String, Failure> {
        mint_access_token(&self.jwt_secret, user.id, Utc::now()).map_err(Failure)
    }

    async fn evaluate_alert(
        &self,
        facts: &ScheduleFacts,
    ) -> Result<super::validator::Verdict, Failure> {
        let user = facts
            .alert_query_user()
            .map_err(|e| Failure(format!("Not run: {e}.")))?;
        let (Some(database), Some(sql)) = (facts.database_id, facts.sql.as_deref()) else {
            return Err(Failure("The alert has no database or query.".into()));
        };
        let validator = Validator::from_stored(
            facts.validator_type.as_deref().unwrap_or(""),
            facts.validator_config.as_deref(),
        )
        .map_err(Failure)?;
        let session = self.superset.as_user(&user.username, self.token_for(user)?);
        let rows = session
            .run_sql(database, sql, ALERT_ROW_LIMIT)
            .await
            .map_err(|e| Failure(format!("The alert query failed: {e}")))?;
        judge(validator, &rows).map_err(Failure)
    }

    /// The notification with its content, fetched as the run-as user.
    async fn notification(
        &self,
        facts: &ScheduleFacts,
        attach_alerts: bool,
    ) -> Result<Notification, Failure> {
        let (url, title, source, chart_id, dashboard_id) = match &facts.subject {
            Subject::Chart { id, name, .. } => (
                self.superset.link(&format!("explore/?slice_id={id}")),
                format!("{}: {name}", facts.name),
                "chart",
                Some(*id),
                None,
            ),
            Subject::Dashboard { id, title } => (
                self.superset.link(&format!("superset/dashboard/{id}/")),
                format!("{}: {title}", facts.name),
                "dashboard",
                None,
                Some(*id),
            ),
            Subject::Nothing => (
                self.superset.link(""),
                facts.name.clone(),
                "none",
                None,
                None,
            ),
        };
        let mut notification = Notification {
            name: facts.email_subject.clone().unwrap_or(title),
            url,
            description: facts.description.clone(),
            header: json!({
                "notification_format": facts.report_format,
                "notification_type": if facts.is_alert { "Alert" } else { "Report" },
                "notification_source": source,
                "chart_id": chart_id,
                "dashboard_id": dashboard_id,
            }),
            ..Notification::default()
        };
        let format = facts.report_format.as_str();
        // TEXT is the message itself, as in Superset; other content only when it is sent.
        if format != "TEXT" && !super::recheck::sends_content(facts, attach_alerts)
            || format == "NONE"
        {
            return Ok(notification);
        }
        if matches!(format, "PNG" | "PDF") {
            self.screenshot_into(facts, format, &mut notification)
                .await?;
            return Ok(notification);
        }
        let Subject::Chart {
            id,
            name,
            has_query_context,
        } = &facts.subject
        else {
            return Err(Failure(format!(
                "{format} content comes from a chart, and this schedule sends a dashboard"
            )));
        };
        if !has_query_context {
            return Err(Failure(format!(
                "The chart {name:?} has no saved query context, which its {format} data is computed from: open the chart in Superset and save it once."
            )));
        }
        let user = facts
            .content_user()
            .map_err(|e| Failure(format!("Not run: {e}.")))?;
        let session = self.superset.as_user(&user.username, self.token_for(user)?);
        match format {
            "CSV" => {
                let bytes = session
                    .chart_csv(*id)
                    .await
                    .map_err(|e| Failure(format!("Failed generating csv {e}")))?;
                if bytes.is_empty() {
                    return Err(Failure("Unexpected missing csv file".into()));
                }
                notification.attachments.push(Attachment {
                    file_name: format!("{}.csv", notification.name),
                    content_type: "text/csv",
                    bytes,
                });
            }
            "TEXT" => {
                notification.table = Some(
                    session
                        .chart_table(*id)
                        .await
                        .map_err(|e| Failure(format!("Failed generating the table: {e}")))?,
                );
            }
            other => {
                return Err(Failure(format!(
                    "steward's executor does not produce {other} content yet"
                )));
            }
        }
        Ok(notification)
    }

    /// Takes the schedule's chart or dashboard as a PNG (shown in the e-mail and attached) or a
    /// PDF (attached), in a browser logged in as the run-as user.
    async fn screenshot_into(
        &self,
        facts: &ScheduleFacts,
        format: &str,
        notification: &mut Notification,
    ) -> Result<(), Failure> {
        let Some(screenshots) = &self.screenshots else {
            return Err(Failure(format!(
                "{format} needs a screenshot, and this executor has no browser (--chromium)"
            )));
        };
        let subject = match &facts.subject {
            Subject::Chart { id, .. } => ScreenshotSubject::Chart(*id),
            Subject::Dashboard { id, .. } => ScreenshotSubject::Dashboard(*id),
            Subject::Nothing => {
                return Err(Failure(
                    "The schedule has neither a chart nor a dashboard to take.".into(),
                ));
            }
        };
        let user = facts
            .content_user()
            .map_err(|e| Failure(format!("Not run: {e}.")))?;
        let window = subject.window(facts.custom_width, facts.custom_height);
        let (image_format, extension, content_type) = match format {
            "PNG" => (ImageFormat::Png, "png", "image/png"),
            _ => (ImageFormat::Pdf, "pdf", "application/pdf"),
        };
        let bytes = capture(
            &screenshots.browser,
            &self.superset.link(""),
            &screenshots.session_secret,
            user.id,
            subject,
            window,
            image_format,
        )
        .await
        .map_err(|e| Failure(format!("Failed taking a screenshot: {e}")))?;
        let file = Attachment {
            file_name: format!("{}.{extension}", notification.name),
            content_type,
            bytes,
        };
        match image_format {
            ImageFormat::Png => notification.images.push(file),
            ImageFormat::Pdf => notification.attachments.push(file),
        }
        Ok(())
    }

    /// Sends to every recipient (or, with `only`, to those addresses by e-mail); every failure
    /// is collected, the others still get theirs.
    async fn deliver(
        &self,
        facts: &ScheduleFacts,
        subject_line: &str,
        notification: &Notification,
        only: Option<&Addressees>,
    ) -> Result<(), String> {
        let mut errors = Vec::new();
        let send_mail = async |to: &Addressees| -> Result<(), String> {
            let Some(mailer) = &self.mailer else {
                return Err("no SMTP server is configured (--smtp-host)".into());
            };
            mailer
                .send(subject_line, notification, &self.wording, to)
                .await
        };
        if let Some(addressees) = only {
            return send_mail(addressees).await;
        }
        for recipient in &facts.recipients {
            let result = match recipient.kind.as_str() {
                "Email" => {
                    let config: serde_json::Value =
                        serde_json::from_str(&recipient.config).unwrap_or_default();
                    let list = |key: &str| {
                        config
                            .get(key)
                            .and_then(|v| v.as_str())
                            .map(|s| email_addresses(&json!({ "target": s }).to_string()))
                            .unwrap_or_default()
                    };
                    send_mail(&Addressees {
                        to: list("target"),
                        cc: list("ccTarget"),
                        bcc: list("bccTarget"),
                    })
                    .await
                }
                "Webhook" => {
                    let target = serde_json::from_str::<serde_json::Value>(&recipient.config)
                        .ok()
                        .and_then(|c| c.get("target")?.as_str().map(str::to_owned));
                    match target {
                        Some(url) => self.webhooks.send(&url, notification).await,
                        None => Err("a webhook recipient has no URL".into()),
                    }
                }
                other => Err(format!(
                    "{other} recipients are not delivered by steward's executor"
                )),
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors.join(";")),
        }
    }

    /// Superset's error notice to the owners, unless one went out within the grace period;
    /// recorded as an Error row with Superset's marker (or the notice's own failure).
    async fn notify_owners(
        &self,
        run: &Run,
        facts: &ScheduleFacts,
        why: &str,
    ) -> Result<(), StoreError> {
        let timing = Timing {
            working_timeout: facts.working_timeout,
            grace_period: facts.grace_period,
        };
        // The history read at the claim predates this failure's own rows; notices are what
        // matter, and none was sent since.
        if !error_notice_due(&facts.history, timing, Utc::now()) {
            return Ok(());
        }
        let config = {
            let mut tx = self.store.read().await?;
            let config = execution::report_config(&mut tx).await?;
            tx.rollback().await?;
            config
        };
        let policy = Policy::of(&config);
        let owners: Vec<String> = facts
            .owners
            .iter()
            .filter(|o| o.active && !o.email.is_empty())
            .map(|o| o.email.clone())
            .filter(|e| {
                policy.allowed_domains.is_empty() || address_allowed(e, &policy.allowed_domains)
            })
            .collect();
        if owners.is_empty() {
            return Ok(());
        }
        let kind = if facts.is_alert { "Alert" } else { "Report" };
        let notice = Notification {
            name: format!("Error occurred for {kind}: {}", facts.name),
            url: self.superset.link(""),
            error_text: Some(why.to_owned()),
            header: json!({"notification_type": kind}),
            ..Notification::default()
        };
        let addressees = Addressees {
            to: owners,
            ..Addressees::default()
        };
        let marker = match self
            .deliver(
                facts,
                &subject(&self.wording, &notice.name),
                &notice,
                Some(&addressees),
            )
            .await
        {
            Ok(()) => message::ERROR_NOTICE_MARKER.to_owned(),
            Err(e) => e,
        };
        self.record(
            run.schedule_id,
            &run.row(RunState::Error, Some(marker)),
            false,
        )
        .await
    }

    /// Deletes log rows past the schedule's retention.
    async fn prune(&self, facts: &ScheduleFacts) -> Result<(), StoreError> {
        if facts.log_retention_days <= 0 {
            return Ok(());
        }
        let mut tx = self.store.write_runtime().await?;
        execution::prune_logs(
            &mut tx,
            facts.id,
            Utc::now() - Duration::days(facts.log_retention_days),
        )
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn execution_ids_are_per_schedule_and_fire_time() {
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        assert_eq!(execution_id(7, t), execution_id(7, t));
        assert_ne!(execution_id(7, t), execution_id(8, t));
        assert_ne!(
            execution_id(7, t),
            execution_id(7, t + Duration::minutes(1))
        );
    }
}
