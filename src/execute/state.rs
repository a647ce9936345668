//! Superset's alert/report state machine (`superset/commands/report/execute.py` in 6.x), as a
//! pure decision: from a schedule's last state and its execution log, what a run at a moment
//! does first. The states and messages are Superset's, so its UI and `GET
//! /api/v1/report/<id>/log/` read steward's runs as its own.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// `report_execution_log.state` and `report_schedule.last_state` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunState {
    Working,
    Success,
    Error,
    NotTriggered,
    OnGrace,
}

impl RunState {
    /// As Superset stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Working => "Working",
            RunState::Success => "Success",
            RunState::Error => "Error",
            RunState::NotTriggered => "Not triggered",
            RunState::OnGrace => "On Grace",
        }
    }

    /// Parses a stored value; unknown values (a later release's) are `None`.
    pub fn parse(text: &str) -> Option<RunState> {
        Some(match text {
            "Working" => RunState::Working,
            "Success" => RunState::Success,
            "Error" => RunState::Error,
            "Not triggered" => RunState::NotTriggered,
            "On Grace" => RunState::OnGrace,
            _ => return None,
        })
    }

    /// Whether a run that recorded this state is over.
    pub fn is_final(self) -> bool {
        self != RunState::Working
    }
}

/// Superset's messages, word for word where Superset has one.
pub mod message {
    /// `ReportScheduleWorkingTimeoutError`.
    pub const WORKING_TIMEOUT: &str = "Report Schedule reached a working timeout.";
    /// `ReportSchedulePreviousWorkingError`.
    pub const PREVIOUS_WORKING: &str = "Report Schedule is still working, refusing to re-compute.";
    /// `ReportScheduleAlertGracePeriodError`.
    pub const GRACE_PERIOD: &str = "Alert fired during grace period.";
    /// `REPORT_SCHEDULE_ERROR_NOTIFICATION_MARKER`: the log row of an error notice to owners.
    pub const ERROR_NOTICE_MARKER: &str = "Notification sent with error";
    /// steward's: a run whose executor died (its Job failed) before it recorded a result.
    pub const EXECUTOR_DIED: &str = "The execution stopped before it recorded a result (its Job failed or its process was killed).";
}

/// What the schedule's execution log says, as far as the next run cares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// `report_schedule.last_state` (`None`: never ran, or a state this release doesn't know).
    pub last_state: Option<RunState>,
    /// End of the newest Working row (when the run in progress started).
    pub last_working: Option<DateTime<Utc>>,
    /// End of the newest Success row.
    pub last_success: Option<DateTime<Utc>>,
    /// End of the newest error notice to owners ([`message::ERROR_NOTICE_MARKER`]).
    pub last_error_notice: Option<DateTime<Utc>>,
    /// The final state this very run (same schedule and fire time) already recorded.
    pub this_run: Option<RunState>,
}

/// The execution id of the run of schedule `schedule_id` at `scheduled`: the same for every
/// attempt of that run, so a repeated Job or a second scheduler finds what the first did.
pub fn execution_id(schedule_id: i64, scheduled: DateTime<Utc>) -> uuid::Uuid {
    let digest = Sha256::digest(format!(
        "steward-run:{schedule_id}:{}",
        scheduled.timestamp()
    ));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// A row of Superset's execution log (`report_execution_log`), as a run records it.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    /// The run's id (`uuid`), the same for every row of one run.
    pub execution_id: uuid::Uuid,
    pub scheduled: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub state: RunState,
    pub error_message: Option<String>,
    /// `value` (an operator alert's number).
    pub value: Option<f64>,
    /// `value_row_json` (a not-null alert's value as text).
    pub value_row_json: Option<String>,
}

/// Timing settings of a schedule, in seconds (`working_timeout`, `grace_period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub working_timeout: i64,
    pub grace_period: i64,
}

/// The first step of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// The run already ended (a repeated Job or a second scheduler): do nothing.
    AlreadyRan(RunState),
    /// Another run is working and within its timeout: log Working with
    /// [`message::PREVIOUS_WORKING`], compute nothing.
    StillWorking,
    /// The previous run passed its working timeout: log Error with
    /// [`message::WORKING_TIMEOUT`], then run (steward does not lose this fire time as
    /// Superset does).
    TimedOutThenRun,
    /// An alert that sent within its grace period: log On Grace, send nothing.
    OnGrace,
    /// Compute (and for an alert, evaluate) now.
    Run,
}

/// Decides how a run of a schedule of `kind` (alert or not) starts at `now`.
pub fn start(history: &History, is_alert: bool, timing: Timing, now: DateTime<Utc>) -> Start {
    if let Some(done) = history.this_run {
        return Start::AlreadyRan(done);
    }
    match history.last_state {
        Some(RunState::Working) => {
            let timed_out = history
                .last_working
                .is_none_or(|w| now - Duration::seconds(timing.working_timeout) > w);
            if timed_out {
                Start::TimedOutThenRun
            } else {
                Start::StillWorking
            }
        }
        Some(RunState::Success | RunState::OnGrace)
            if is_alert && in_grace(history, timing, now) =>
        {
            Start::OnGrace
        }
        _ => Start::Run,
    }
}

/// Superset's `is_in_grace_period`: a success within the grace period (0 = no grace).
fn in_grace(history: &History, timing: Timing, now: DateTime<Utc>) -> bool {
    timing.grace_period > 0
        && history
            .last_success
            .is_some_and(|s| now - Duration::seconds(timing.grace_period) < s)
}

/// Superset's `is_in_error_grace_period`: whether owners were told of an error recently enough
/// that this failure is not worth another notice.
pub fn error_notice_due(history: &History, timing: Timing, now: DateTime<Utc>) -> bool {
    !(timing.grace_period > 0
        && history
            .last_error_notice
            .is_some_and(|n| now - Duration::seconds(timing.grace_period) < n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, 10, minute, 0).unwrap()
    }

    const TIMING: Timing = Timing {
        working_timeout: 600,
        grace_period: 1800,
    };

    #[test]
    fn first_and_after_final_states_run() {
        let fresh = History::default();
        assert_eq!(start(&fresh, true, TIMING, t(0)), Start::Run);
        for state in [RunState::Error, RunState::NotTriggered] {
            let h = History {
                last_state: Some(state),
                ..History::default()
            };
            assert_eq!(start(&h, true, TIMING, t(0)), Start::Run);
        }
    }

    #[test]
    fn working_refuses_until_the_timeout_then_proceeds() {
        let h = History {
            last_state: Some(RunState::Working),
            last_working: Some(t(0)),
            ..History::default()
        };
        assert_eq!(start(&h, false, TIMING, t(5)), Start::StillWorking);
        assert_eq!(start(&h, false, TIMING, t(10)), Start::StillWorking);
        assert_eq!(start(&h, false, TIMING, t(11)), Start::TimedOutThenRun);
    }

    #[test]
    fn grace_applies_to_alerts_only() {
        let h = History {
            last_state: Some(RunState::Success),
            last_success: Some(t(0)),
            ..History::default()
        };
        assert_eq!(start(&h, true, TIMING, t(20)), Start::OnGrace);
        assert_eq!(start(&h, false, TIMING, t(20)), Start::Run);
        let later = Utc.with_ymd_and_hms(2026, 5, 4, 10, 31, 0).unwrap();
        assert_eq!(start(&h, true, TIMING, later), Start::Run);
        let on_grace = History {
            last_state: Some(RunState::OnGrace),
            ..h.clone()
        };
        assert_eq!(start(&on_grace, true, TIMING, t(20)), Start::OnGrace);
        let no_grace = Timing {
            grace_period: 0,
            ..TIMING
        };
        assert_eq!(start(&h, true, no_grace, t(1)), Start::Run);
    }

    #[test]
    fn a_repeated_run_does_nothing() {
        let h = History {
            last_state: Some(RunState::Working),
            last_working: Some(t(0)),
            this_run: Some(RunState::Success),
            ..History::default()
        };
        assert_eq!(
            start(&h, false, TIMING, t(1)),
            Start::AlreadyRan(RunState::Success)
        );
    }

    #[test]
    fn error_notices_are_throttled_by_the_grace_period() {
        let mut h = History::default();
        assert!(error_notice_due(&h, TIMING, t(0)));
        h.last_error_notice = Some(t(0));
        assert!(!error_notice_due(&h, TIMING, t(29)));
        assert!(error_notice_due(
            &h,
            TIMING,
            Utc.with_ymd_and_hms(2026, 5, 4, 10, 31, 0).unwrap()
        ));
        for state in [
            RunState::Working,
            RunState::Success,
            RunState::Error,
            RunState::NotTriggered,
            RunState::OnGrace,
        ] {
            assert_eq!(RunState::parse(state.as_str()), Some(state));
        }
    }
}
