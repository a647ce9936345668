//! Which calendar days a crontab fires on. A day's fate depends only on its month, its day of
//! month, its weekday and the length of its month, so one table per kind of year (leap or not ×
//! weekday of 1 January: 14 kinds) answers for every year, and the Gregorian calendar repeats
//! every 400 years (146,097 days, a whole number of weeks). Days are counted from 1970-01-01.

use chrono::{Datelike, NaiveDate};
use croner::{Cron, Weekday};

use super::run::{Run, chain, run_of};

/// 1970-01-01 counted from 0001-01-01 (chrono's day 1).
const UNIX_EPOCH_FROM_CE: i64 = 719_163;

/// Days in the Gregorian calendar's 400-year cycle.
pub(super) const DAYS_PER_CYCLE: i64 = 146_097;

/// The day-of-year numbers (from 0) on which the crontab fires, in one kind of year.
struct YearTable {
    bits: [u64; 6],
    days: Vec<u16>,
    /// The run of `days`, in days of the year.
    run: Option<Run>,
}

/// The days a crontab fires on, for any span of days.
pub(super) struct MatchingDays {
    /// Indexed by `leap as usize * 7 + weekday of 1 January (0 = Sunday)`.
    tables: Vec<YearTable>,
}

impl MatchingDays {
    pub fn new(cron: &Cron) -> MatchingDays {
        let mut tables = Vec::with_capacity(14);
        for leap in [false, true] {
            for first_weekday in 0..7 {
                tables.push(YearTable::new(cron, leap, first_weekday));
            }
        }
        MatchingDays { tables }
    }

    /// Whether no day ever matches (`0 0 30 2 *`).
    pub fn never(&self) -> bool {
        self.tables.iter().all(|t| t.days.is_empty())
    }

    /// Whether the crontab fires on `day`.
    pub fn matches(&self, day: i64) -> bool {
        let (start, year) = year_of(day);
        let doy = (day - start) as usize;
        self.table(year, start).bits[doy / 64] & (1 << (doy % 64)) != 0
    }

    /// The matching days from `first` to `last`, both included.
    pub fn span(&self, first: i64, last: i64) -> Option<Run> {
        if first > last {
            return None;
        }
        let (mut start, mut year) = year_of(first);
        let mut acc = None;
        while start <= last {
            let length = year_length(year);
            let table = self.table(year, start);
            let from = (first - start).max(0);
            let to = (last - start).min(length - 1);
            let part = if from == 0 && to == length - 1 {
                table.run
            } else {
                let lo = table.days.partition_point(|&d| i64::from(d) < from);
                let hi = table.days.partition_point(|&d| i64::from(d) <= to);
                run_of(table.days[lo..hi].iter().map(|&d| i64::from(d)))
            };
            acc = chain(acc, part.map(|r| r.shifted(start)));
            start += length;
            year += 1;
        }
        acc
    }

    fn table(&self, year: i64, start: i64) -> &YearTable {
        let weekday = weekday_of(start) as usize;
        &self.tables[usize::from(is_leap(year)) * 7 + weekday]
    }
}

impl YearTable {
    fn new(cron: &Cron, leap: bool, first_weekday: u32) -> YearTable {
        // Any year of the right length stands in: croner only asks it for month lengths.
        let representative = if leap { 2000 } else { 2001 };
        let mut bits = [0u64; 6];
        let mut days = Vec::new();
        let mut doy: u32 = 0;
        for month in 1..=12u32 {
            let length = month_length(month, leap);
            let month_matches = cron.pattern.month_match(month).unwrap_or(false);
            for day in 1..=length {
                let weekday = Weekday::from_days_from_sunday((first_weekday + doy) % 7);
                if month_matches
                    && cron
                        .pattern
                        .day_match(representative, month, day, weekday)
                        .unwrap_or(false)
                {
                    bits[doy as usize / 64] |= 1 << (doy % 64);
                    days.push(doy as u16);
                }
                doy += 1;
            }
        }
        let run = run_of(days.iter().map(|&d| i64::from(d)));
        YearTable { bits, days, run }
    }
}

/// The first day of `day`'s year and that year.
pub(super) fn year_of(day: i64) -> (i64, i64) {
    let date = NaiveDate::from_num_days_from_ce_opt((day + UNIX_EPOCH_FROM_CE) as i32)
        .expect("day numbers stay within chrono's range");
    (day - i64::from(date.ordinal0()), i64::from(date.year()))
}

/// The day number of `date`.
#[cfg(test)]
pub(super) fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - UNIX_EPOCH_FROM_CE
}

/// Weekday of a day number, 0 = Sunday (1970-01-01 was a Thursday).
pub(super) fn weekday_of(day: i64) -> u32 {
    (day + 4).rem_euclid(7) as u32
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn year_length(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

fn month_length(month: u32, leap: bool) -> u32 {
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::crontab::parse_crontab;
    use crate::schedule::run::Gap;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        day_number(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn day_numbers_and_weekdays() {
        assert_eq!(day(1970, 1, 1), 0);
        for n in (-200_000..800_000).step_by(997) {
            let (start, year) = year_of(n);
            assert_eq!(day(year as i32, 1, 1), start);
            let date = NaiveDate::from_ymd_opt(year as i32, 1, 1).unwrap()
                + chrono::Duration::days(n - start);
            assert_eq!(day_number(date), n);
            assert_eq!(
                weekday_of(n),
                date.weekday().num_days_from_sunday(),
                "{date}"
            );
        }
    }

    #[test]
    fn february_29_or_wednesdays_in_february() {
        let days = MatchingDays::new(&parse_crontab("0 12 29 2 3").unwrap());
        assert!(days.matches(day(2052, 2, 29)));
        assert!(days.matches(day(2052, 2, 28)), "a Wednesday");
        assert!(!days.matches(day(2052, 3, 6)));
        let run = days.span(day(2026, 1, 1), day(2060, 1, 1)).unwrap();
        assert_eq!(
            run.best,
            Some(Gap {
                length: 1,
                at: day(2052, 2, 28)
            })
        );
        assert!(MatchingDays::new(&parse_crontab("0 0 30 2 *").unwrap()).never());
    }
}
