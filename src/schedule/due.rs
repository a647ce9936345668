//! Which fire times a scheduler runs now and which it records as skipped: the missed-run
//! policy. Every fire time after the last one handled is either run or skipped, never lost;
//! of the fire times missed while no scheduler ran, only the newest inside the catch-up window
//! runs (never a burst), the others are skipped with a reason.

use chrono::{DateTime, Duration, Utc};

use super::fire_clock::FireClock;
use crate::execute::state::{LogRow, RunState, execution_id};

/// At most this many missed fire times are listed one by one; past it they are counted.
const LISTED: usize = 10_000;

/// The fire times due at a moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DueRuns {
    /// The fire time to run now, if any.
    pub run: Option<DateTime<Utc>>,
    /// Fire times passed over, oldest first.
    pub skipped: Vec<DateTime<Utc>>,
    /// Why they were passed over.
    pub skip_reason: Option<SkipReason>,
}

/// Why a fire time was not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Older than the catch-up window when the scheduler came back.
    OutsideCatchUp { window_seconds: i64 },
    /// Inside the window, but a newer missed fire time ran instead.
    Superseded,
    /// Its run was not started: the previous run was still working within its timeout.
    StillWorking,
}

impl SkipReason {
    /// The sentence recorded with a skipped run.
    pub fn sentence(self) -> String {
        match self {
            SkipReason::OutsideCatchUp { window_seconds } => format!(
                "missed while no scheduler ran; older than the catch-up window of {window_seconds} s"
            ),
            SkipReason::Superseded => {
                "missed while no scheduler ran; a newer fire time inside the catch-up window ran instead"
                    .into()
            }
            SkipReason::StillWorking => {
                "the previous run was still working within its working timeout".into()
            }
        }
    }
}

impl DueRuns {
    /// The execution-log row recording the skipped fire times of schedule `schedule_id`: one
    /// row (Not triggered, the reason in its message) at the newest of them, so the log says
    /// what was missed without a row per minute of an outage.
    pub fn skipped_row(&self, schedule_id: i64, now: DateTime<Utc>) -> Option<LogRow> {
        let (first, last) = (self.skipped.first()?, self.skipped.last()?);
        let reason = self.skip_reason.map(|r| r.sentence()).unwrap_or_default();
        let what = match self.skipped.len() {
            1 => format!("Skipped the run of {}", first.to_rfc3339()),
            n => format!(
                "Skipped {n} runs from {} to {}",
                first.to_rfc3339(),
                last.to_rfc3339()
            ),
        };
        Some(LogRow {
            execution_id: execution_id(schedule_id, *last),
            scheduled: *last,
            start: now,
            end: now,
            state: RunState::NotTriggered,
            error_message: Some(format!("{what}: {reason}.")),
            value: None,
            value_row_json: None,
        })
    }
}

/// The fire times in `(handled, now]`: the newest runs if it is at most `catch_up` old, every
/// other one is skipped.
pub fn due_runs(
    clock: &FireClock,
    handled: DateTime<Utc>,
    now: DateTime<Utc>,
    catch_up: Duration,
) -> DueRuns {
    let mut fires = clock.between(handled, now, LISTED);
    let Some(newest) = fires.pop() else {
        return DueRuns::default();
    };
    let in_window = now - newest <= catch_up;
    let (run, skip_reason) = match (in_window, fires.is_empty()) {
        (true, true) => (Some(newest), None),
        (true, false) => (
            Some(newest),
            Some(if fires.iter().all(|t| now - *t <= catch_up) {
                SkipReason::Superseded
            } else {
                SkipReason::OutsideCatchUp {
                    window_seconds: catch_up.num_seconds(),
                }
            }),
        ),
        (false, _) => {
            fires.push(newest);
            (
                None,
                Some(SkipReason::OutsideCatchUp {
                    window_seconds: catch_up.num_seconds(),
                }),
            )
        }
    };
    DueRuns {
        run,
        skipped: fires,
        skip_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, h, m, s).unwrap()
    }

    #[test]
    fn on_time_runs_the_one_fire_time() {
        let clock = FireClock::new("* * * * *", "UTC").unwrap();
        let due = due_runs(&clock, at(9, 59, 0), at(10, 0, 1), Duration::minutes(5));
        assert_eq!(due.run, Some(at(10, 0, 0)));
        assert!(due.skipped.is_empty());
        assert_eq!(
            due_runs(&clock, at(10, 0, 0), at(10, 0, 30), Duration::minutes(5)),
            DueRuns::default()
        );
    }

    #[test]
    fn a_gap_runs_the_newest_and_skips_the_rest() {
        let clock = FireClock::new("*/10 * * * *", "UTC").unwrap();
        // Down from 8:55 to 10:03: 9:00 … 10:00 missed; 10:00 is inside a 5-minute window.
        let due = due_runs(&clock, at(8, 55, 0), at(10, 3, 0), Duration::minutes(5));
        assert_eq!(due.run, Some(at(10, 0, 0)));
        assert_eq!(due.skipped.len(), 6);
        assert_eq!(due.skipped[0], at(9, 0, 0));
        assert!(matches!(
            due.skip_reason,
            Some(SkipReason::OutsideCatchUp {
                window_seconds: 300
            })
        ));
        // Everything missed is older than the window: nothing runs, all is skipped.
        let due = due_runs(&clock, at(8, 55, 0), at(10, 7, 0), Duration::minutes(5));
        assert_eq!(due.run, None);
        assert_eq!(due.skipped.len(), 7);
        // Two inside the window: the newest runs, the other is superseded.
        let clock = FireClock::new("* * * * *", "UTC").unwrap();
        let due = due_runs(&clock, at(9, 58, 0), at(10, 0, 10), Duration::minutes(5));
        assert_eq!(due.run, Some(at(10, 0, 0)));
        assert_eq!(due.skipped, vec![at(9, 59, 0)]);
        assert_eq!(due.skip_reason, Some(SkipReason::Superseded));
    }
}
