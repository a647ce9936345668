//! Random crontabs, and timezones with awkward clock changes, for the interval analysis'
//! property test and benchmark.

use chrono_tz::Tz;
use rand::{Rng, RngCore};

/// Timezones whose clocks change in every way the analysis must handle: Berlin and New York
/// (an hour, at night), Lord Howe (30 minutes), Santiago (at midnight), Troll (two hours), and
/// Kolkata (never).
pub const AWKWARD_TIMEZONES: [Tz; 6] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::America::Santiago,
    chrono_tz::Antarctica::Troll,
    chrono_tz::Asia::Kolkata,
];

/// A random five-field crontab of the forms people write (lists, ranges, steps, `L`, `W`, `#`,
/// day-of-month and day-of-week together), firing at most a few dozen times a day.
pub fn random_crontab(rng: &mut impl Rng) -> String {
    let list = |rng: &mut dyn RngCore, lo: u32, hi: u32, most: usize| -> String {
        let n = rng.random_range(2..=most);
        let mut values: Vec<u32> = (0..n).map(|_| rng.random_range(lo..=hi)).collect();
        values.sort();
        values.dedup();
        values
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let minute = match rng.random_range(0..6) {
        0 | 1 => rng.random_range(0..60).to_string(),
        2 => list(rng, 0, 59, 3),
        3 => format!("*/{}", [10, 15, 20, 30, 45][rng.random_range(0..5)]),
        4 => {
            let a = rng.random_range(0..50);
            format!(
                "{a}-{}/{}",
                a + rng.random_range(1..10),
                rng.random_range(1..4)
            )
        }
        _ => "0".into(),
    };
    let hour = match rng.random_range(0..7) {
        0 | 1 => rng.random_range(0..24).to_string(),
        2 => list(rng, 0, 23, 4),
        3 => format!("*/{}", rng.random_range(2..9)),
        4 => {
            let a = rng.random_range(0..20);
            format!("{a}-{}", a + rng.random_range(1..4))
        }
        // Night hours, where clocks change.
        5 => list(rng, 0, 4, 3),
        _ => "*".into(),
    };
    let day_of_month = match rng.random_range(0..9) {
        0..=3 => "*".into(),
        4 => rng.random_range(1..32).to_string(),
        5 => list(rng, 1, 31, 3),
        6 => ["L", "15W", "1-7", "29,30,31", "*/10"][rng.random_range(0..5)].into(),
        7 => {
            let a = rng.random_range(1..28);
            format!("{a}-{}", a + rng.random_range(1..5))
        }
        _ => rng.random_range(28..32).to_string(),
    };
    let month = match rng.random_range(0..6) {
        0..=2 => "*".into(),
        3 => rng.random_range(1..13).to_string(),
        4 => list(rng, 1, 12, 4),
        _ => ["2", "3,10", "4,9", "*/3", "1-6"][rng.random_range(0..5)].into(),
    };
    let day_of_week = match rng.random_range(0..8) {
        0..=3 => "*".into(),
        4 => rng.random_range(0..7).to_string(),
        5 => list(rng, 0, 6, 3),
        6 => ["1-5", "5#2", "0#1", "6#L", "0,6"][rng.random_range(0..5)].into(),
        _ => rng.random_range(0..8).to_string(),
    };
    format!("{minute} {hour} {day_of_month} {month} {day_of_week}")
}
