//! The exact smallest gap between consecutive fire times of a crontab in its timezone: over
//! the calendar's whole 400-year cycle, leap years and day-of-month/day-of-week OR semantics
//! included, and across every daylight-saving change, without listing fire times.
//!
//! Fire times are the ones steward's scheduler uses (croner's): a wall-clock time the clocks
//! skip runs at the first instant after the jump for a fixed-time crontab (one second, one
//! minute, one hour) and not at all otherwise; a wall-clock time the clocks repeat runs once,
//! on its first pass, for a fixed-time crontab, and on both passes otherwise.
//!
//! Between two offset changes the offset is constant, so real gaps equal wall-clock gaps and
//! the stretch is summarised from per-year day tables and per-day time tables; the pieces are
//! chained in time order. After the last change (chrono-tz's tables end with 2099) the fire
//! times repeat every 400 years, so two cycles of that tail cover every gap it will ever have.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{Cron, JobType};
use std::sync::Arc;

use super::calendar::{DAYS_PER_CYCLE, MatchingDays};
use super::day_times::DayTimes;
use super::run::{Gap, Run, chain};
use super::transitions::{Transition, offset_at, transitions};

const DAY: i64 = 86_400;

/// The smallest gap between two consecutive fire times, and the first time it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FireGap {
    /// Length in seconds.
    pub seconds: i64,
    /// The earlier of the two fire times.
    pub first: DateTime<Tz>,
    /// The later one.
    pub second: DateTime<Tz>,
}

/// A crontab in a timezone, prepared for questions about its fire times.
pub struct FireTimes {
    tz: Tz,
    days: MatchingDays,
    times: DayTimes,
    fixed_time: bool,
    transitions: Arc<[Transition]>,
}

impl FireTimes {
    pub fn new(cron: &Cron, tz: Tz) -> FireTimes {
        FireTimes {
            tz,
            days: MatchingDays::new(cron),
            times: DayTimes::new(cron),
            fixed_time: cron.determine_job_type() == JobType::FixedTime,
            transitions: transitions(tz),
        }
    }

    /// The smallest gap between consecutive fire times at or after `from` and, if given,
    /// before `until`; `None` when fewer than two fire times fall there.
    pub fn smallest_gap(
        &self,
        from: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Option<FireGap> {
        if self.times.is_empty() || self.days.never() {
            return None;
        }
        let gap = self
            .run(from.timestamp(), until.map(|u| u.timestamp()))?
            .best?;
        let at = |t: i64| {
            DateTime::from_timestamp(t, 0)
                .expect("fire times stay within chrono's range")
                .with_timezone(&self.tz)
        };
        Some(FireGap {
            seconds: gap.length,
            first: at(gap.at),
            second: at(gap.at + gap.length),
        })
    }

    /// The fire times in `[from, until)` (Unix seconds), summarised.
    fn run(&self, from: i64, until: Option<i64>) -> Option<Run> {
        let upcoming = self.transitions.partition_point(|t| t.at < from);
        let mut offset = offset_at(self.tz, from - 1);
        let mut start = from + offset;
        if self.fixed_time
            && let Some(last) = upcoming.checked_sub(1).map(|i| self.transitions[i])
            && !last.skips()
        {
            // `from` may fall in the repeated stretch's second pass, which fixed times skip.
            start = start.max(last.at + last.before);
        }
        let mut acc = None;
        for transition in &self.transitions[upcoming..] {
            if until.is_some_and(|u| transition.at >= u) {
                break;
            }
            // The stretch at `offset` ends at the transition's instant.
            acc = chain(
                acc,
                self.wall_clock_run(start, Some(transition.at + transition.before), offset),
            );
            if transition.skips() {
                if self.fixed_time && self.runs_after_skip(transition) {
                    acc = chain(acc, Some(Run::single(transition.at)));
                }
                start = transition.at + transition.after;
            } else if self.fixed_time {
                start = transition.at + transition.before;
            } else {
                start = transition.at + transition.after;
            }
            offset = transition.after;
        }
        chain(
            acc,
            self.wall_clock_run(start, until.map(|u| u + offset), offset),
        )
    }

    /// The fire times whose wall-clock time is in `[start, end)` (open-ended without `end`),
    /// all at `offset`, as Unix seconds.
    fn wall_clock_run(&self, start: i64, end: Option<i64>, offset: i64) -> Option<Run> {
        let first_day = start.div_euclid(DAY);
        let (last_day, last_limit) = match end {
            Some(end) if end <= start => return None,
            Some(end) => (
                (end - 1).div_euclid(DAY),
                end - (end - 1).div_euclid(DAY) * DAY,
            ),
            // The tail repeats every cycle: two cycles hold every gap it has.
            None => (first_day + 2 * DAYS_PER_CYCLE, DAY),
        };
        let start_in_day = start - first_day * DAY;
        let run = if first_day == last_day {
            self.part_of_day(first_day, start_in_day, last_limit)
        } else {
            chain(
                chain(
                    self.part_of_day(first_day, start_in_day, DAY),
                    self.whole_days(first_day + 1, last_day - 1),
                ),
                self.part_of_day(last_day, 0, last_limit),
            )
        };
        run.map(|r| r.shifted(-offset))
    }

    /// Fire times on `day` between `from` and `to` seconds after its midnight.
    fn part_of_day(&self, day: i64, from: i64, to: i64) -> Option<Run> {
        if !self.days.matches(day) {
            return None;
        }
        self.times
            .run_within(from, to)
            .map(|r| r.shifted(day * DAY))
    }

    /// Fire times on the days from `first` to `last`, whole days.
    fn whole_days(&self, first: i64, last: i64) -> Option<Run> {
        let days = self.days.span(first, last)?;
        let day = self.times.day_run()?;
        let within_a_day = day.best.map(|g| Gap {
            length: g.length,
            at: days.first * DAY + g.at,
        });
        let across_days = days.best.map(|g| Gap {
            length: g.length * DAY - (day.last - day.first),
            at: g.at * DAY + day.last,
        });
        Some(Run {
            first: days.first * DAY + day.first,
            last: days.last * DAY + day.last,
            best: Gap::smaller(within_a_day, across_days),
        })
    }

    /// Whether a fixed time the clocks skip at `transition` runs right after the jump: it
    /// does when the skipped stretch holds a fire time and the day the jump lands on matches.
    fn runs_after_skip(&self, transition: &Transition) -> bool {
        let (from, to) = (
            transition.at + transition.before,
            transition.at + transition.after,
        );
        let skipped = (from.div_euclid(DAY)..=(to - 1).div_euclid(DAY)).any(|day| {
            self.days.matches(day) && self.times.any_within(from - day * DAY, to - day * DAY)
        });
        skipped && self.days.matches(to.div_euclid(DAY))
    }
}

/// Whether `cron` names no real day or time (`0 0 30 2 *`) and so never fires.
pub fn never_fires(cron: &Cron) -> bool {
    DayTimes::new(cron).is_empty() || MatchingDays::new(cron).never()
}

/// A length of time for people: `1 day`, `1 h 30 min`, `45 s`.
pub fn plain_duration(seconds: i64) -> String {
    let mut parts = Vec::new();
    let mut rest = seconds.abs();
    for (unit, singular, plural) in [
        (DAY, " day", " days"),
        (3600, " h", " h"),
        (60, " min", " min"),
        (1, " s", " s"),
    ] {
        let count = rest / unit;
        rest %= unit;
        if count > 0 {
            parts.push(format!(
                "{count}{}",
                if count == 1 { singular } else { plural }
            ));
        }
    }
    match parts.is_empty() {
        true => "0 s".into(),
        false => format!("{}{}", if seconds < 0 { "-" } else { "" }, parts.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::crontab::{parse_crontab, parse_timezone};
    use chrono::TimeZone;

    fn gap(crontab: &str, tz: &str, from: &str) -> Option<(i64, String, String)> {
        let tz = parse_timezone(tz).unwrap();
        let from = DateTime::parse_from_rfc3339(from)
            .unwrap()
            .with_timezone(&Utc);
        FireTimes::new(&parse_crontab(crontab).unwrap(), tz)
            .smallest_gap(from, None)
            .map(|g| (g.seconds, g.first.to_rfc3339(), g.second.to_rfc3339()))
    }

    #[test]
    fn named_cases() {
        let from = "2026-11-23T00:00:00Z";
        // 29 February or any Wednesday in February: a week apart until 2052, when 28 and 29
        // February are a Wednesday and a Thursday.
        assert_eq!(
            gap("0 12 29 2 3", "Europe/Berlin", from),
            Some((
                86_400,
                "2052-02-28T12:00:00+01:00".into(),
                "2052-02-29T12:00:00+01:00".into()
            ))
        );
        // The 31st or any Monday: a 31st that is a Sunday is followed by Monday the 1st.
        assert_eq!(
            gap("0 12 31 * 1", "UTC", from),
            Some((
                86_400,
                "2027-01-31T12:00:00+00:00".into(),
                "2027-02-01T12:00:00+00:00".into()
            ))
        );
        assert_eq!(
            gap("*/5 9 * * 1", "America/New_York", from),
            Some((
                300,
                "2026-11-23T09:00:00-05:00".into(),
                "2026-11-23T09:05:00-05:00".into()
            ))
        );
        // Midnight and noon of 29 February: twelve hours, next in 2028.
        assert_eq!(
            gap("0 0,12 29 2 *", "Asia/Kolkata", from),
            Some((
                43_200,
                "2028-02-29T00:00:00+05:30".into(),
                "2028-02-29T12:00:00+05:30".into()
            ))
        );
        // Lord Howe moves its clocks by 30 minutes: 01:30 and 02:30 are 30 minutes apart on
        // both change days. The next is 2027-04-04, when 01:30 happens twice.
        assert_eq!(
            gap("30 1,2 * * *", "Australia/Lord_Howe", from),
            Some((
                1_800,
                "2027-04-04T01:30:00+11:00".into(),
                "2027-04-04T01:30:00+10:30".into()
            ))
        );
        // Berlin: 02:30 is skipped in March and repeated in October; hourly at worst.
        assert_eq!(
            gap("30 1,2 * * *", "Europe/Berlin", from).map(|g| g.0),
            Some(3_600)
        );
        assert_eq!(gap("0 0 30 2 *", "UTC", from), None);
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(plain_duration(86_400), "1 day");
        assert_eq!(plain_duration(7 * 86_400), "7 days");
        assert_eq!(plain_duration(5400), "1 h 30 min");
        assert_eq!(plain_duration(45), "45 s");
        assert_eq!(plain_duration(0), "0 s");
    }

    #[test]
    fn fixed_times_the_clocks_skip_run_after_the_jump() {
        // New York, 2027-03-14: 02:30 does not exist; the daily 02:30 runs at 03:00 EDT,
        // 23.5 hours after the day before's and 23.5 hours before the day after's.
        let times = FireTimes::new(
            &parse_crontab("30 2 * * *").unwrap(),
            chrono_tz::America::New_York,
        );
        let from = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap();
        let gap = times.smallest_gap(from, Some(until)).unwrap();
        assert_eq!(gap.seconds, 23 * 3600 + 1800);
        assert_eq!(gap.second.to_rfc3339(), "2027-03-14T03:00:00-04:00");
    }
}
