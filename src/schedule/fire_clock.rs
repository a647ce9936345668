//! When a schedule fires: a crontab evaluated in its timezone with croner, the same engine and
//! daylight-saving rules the exact interval analysis ([`super::min_gap`]) describes, so the
//! policy and the scheduler agree on every fire time.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::crontab::{parse_crontab, parse_timezone};

/// A crontab in a timezone.
#[derive(Clone, Debug)]
pub struct FireClock {
    cron: Cron,
    tz: Tz,
}

impl FireClock {
    /// Parses `crontab` (five fields) and `timezone` (an IANA name).
    pub fn new(crontab: &str, timezone: &str) -> Result<FireClock, String> {
        Ok(FireClock {
            cron: parse_crontab(crontab)?,
            tz: parse_timezone(timezone)?,
        })
    }

    /// The timezone the crontab is read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `after`; `None` when the crontab never fires again
    /// (croner gives up after its search limit, e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Fire times in `(after, until]`, oldest first, at most `limit` of them.
    pub fn between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut cursor = after;
        while out.len() < limit {
            match self.next_after(cursor) {
                Some(t) if t <= until => {
                    out.push(t);
                    cursor = t;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn evaluates_in_the_schedules_timezone() {
        let clock = FireClock::new("0 9 * * *", "Europe/Berlin").unwrap();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            clock.next_after(utc(2026, 1, 10, 0, 0)),
            Some(utc(2026, 1, 10, 8, 0))
        );
        assert_eq!(
            clock.next_after(utc(2026, 7, 10, 0, 0)),
            Some(utc(2026, 7, 10, 7, 0))
        );
        // Strictly after.
        assert_eq!(
            clock.next_after(utc(2026, 7, 10, 7, 0)),
            Some(utc(2026, 7, 11, 7, 0))
        );
    }

    #[test]
    fn skipped_wall_clock_time_fires_once_after_the_jump() {
        // 2026-03-29 02:30 does not exist in Berlin (02:00 → 03:00): a fixed-time crontab fires
        // at the first instant after the jump, as the interval analysis assumes.
        let clock = FireClock::new("30 2 * * *", "Europe/Berlin").unwrap();
        let fires = clock.between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 31, 0, 0), 10);
        assert_eq!(fires.len(), 3);
        assert_eq!(fires[0], utc(2026, 3, 28, 1, 30));
        assert_eq!(fires[1], utc(2026, 3, 29, 1, 0));
        assert_eq!(fires[2], utc(2026, 3, 30, 0, 30));
    }

    #[test]
    fn between_is_bounded_and_ordered() {
        let clock = FireClock::new("*/5 * * * *", "UTC").unwrap();
        let fires = clock.between(utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 1, 0), 100);
        assert_eq!(fires.len(), 12);
        assert!(fires.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            clock
                .between(utc(2026, 1, 1, 0, 0), utc(2026, 1, 2, 0, 0), 7)
                .len(),
            7
        );
        assert!(FireClock::new("0 9 * * *", "Mars/Olympus").is_err());
    }
}
