//! The exact interval analysis against brute force: every fire time of thousands of random
//! crontabs enumerated over 30 years in timezones with daylight saving (Berlin, New York, Lord
//! Howe's 30-minute shift, Santiago's midnight changes, Troll's two-hour one, and Kolkata without
//! any), and the enumeration itself checked against croner's own iterator around clock changes.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::{Cron, JobType, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use steward::generate::{AWKWARD_TIMEZONES, random_crontab};
use steward::schedule::crontab::parse_crontab;
use steward::schedule::min_gap::FireTimes;

/// How many random crontabs the property test draws (each is checked in two timezones), split
/// over four tests so they run in parallel.
fn crontab_count() -> usize {
    std::env::var("STEWARD_MIN_GAP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn exact_analysis_agrees_with_brute_force_over_30_years_1() {
    agrees_with_brute_force(1);
}

#[test]
fn exact_analysis_agrees_with_brute_force_over_30_years_2() {
    agrees_with_brute_force(2);
}

#[test]
fn exact_analysis_agrees_with_brute_force_over_30_years_3() {
    agrees_with_brute_force(3);
}

#[test]
fn exact_analysis_agrees_with_brute_force_over_30_years_4() {
    agrees_with_brute_force(4);
}

fn agrees_with_brute_force(shard: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0000 + shard);
    let mut disagreements = Vec::new();
    let mut compared = 0;
    let mut with_gap = 0;
    while compared < crontab_count() / 4 {
        let text = random_crontab(&mut rng);
        let Ok(cron) = parse_crontab(&text) else {
            continue;
        };
        compared += 1;
        for _ in 0..2 {
            let tz = AWKWARD_TIMEZONES[rng.random_range(0..AWKWARD_TIMEZONES.len())];
            let from = random_start(&mut rng, tz);
            let until = from + Duration::days(365 * 30 + rng.random_range(8..400));
            let exact = FireTimes::new(&cron, tz)
                .smallest_gap(from, Some(until))
                .map(|g| (g.seconds, g.first.timestamp()));
            let fires = enumerate(&cron, tz, from, until);
            let brute = smallest_gap(&fires);
            with_gap += usize::from(brute.is_some());
            if exact != brute {
                disagreements.push(format!(
                    "`{text}` in {tz} from {from} to {until}: exact {exact:?}, brute force {brute:?}"
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "shard {shard}: {} of {} cases disagree:\n{}",
        disagreements.len(),
        compared * 2,
        disagreements[..disagreements.len().min(20)].join("\n")
    );
    assert!(with_gap > compared, "most cases fire at least twice");
}

#[test]
fn whole_cycle_gaps_of_rare_crontabs() {
    // Without an end the analysis covers the calendar's whole cycle: compare with 450 years
    // of brute force for crontabs that fire rarely enough to enumerate.
    let from = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    let until = from + Duration::days(365 * 450);
    for (text, tz) in [
        ("0 12 29 2 3", chrono_tz::Europe::Berlin),
        ("0 0,12 29 2 *", chrono_tz::Asia::Kolkata),
        ("30 2 29 2 *", chrono_tz::America::New_York),
        ("0 9 13 * 5", chrono_tz::UTC),
        ("15 3 L 2 *", chrono_tz::Australia::Lord_Howe),
        ("0 6 1 1,7 *", chrono_tz::America::Santiago),
    ] {
        let cron = parse_crontab(text).unwrap();
        let exact = FireTimes::new(&cron, tz)
            .smallest_gap(from, None)
            .map(|g| (g.seconds, g.first.timestamp()));
        let brute = smallest_gap(&enumerate(&cron, tz, from, until));
        assert_eq!(exact, brute, "`{text}` in {tz}");
    }
}

#[test]
fn enumeration_matches_croner_around_clock_changes() {
    // The brute force restates croner's rules for skipped and repeated wall-clock times;
    // croner's own iterator confirms them, change by change.
    let mut rng = ChaCha8Rng::seed_from_u64(0xc40e);
    let mut compared = 0;
    while compared < 150 {
        let text = random_crontab(&mut rng);
        let Ok(cron) = parse_crontab(&text) else {
            continue;
        };
        compared += 1;
        let tz = AWKWARD_TIMEZONES[compared % AWKWARD_TIMEZONES.len()];
        for _ in 0..4 {
            let from = random_start(&mut rng, tz);
            let until = from + Duration::days(rng.random_range(1..4));
            let mine: Vec<i64> = enumerate(&cron, tz, from, until);
            let theirs: Vec<i64> = cron
                .iter_from(from.with_timezone(&tz), croner::Direction::Forward)
                .take_while(|t| t.with_timezone(&Utc) < until)
                .map(|t| t.timestamp())
                .collect();
            assert_eq!(mine, theirs, "`{text}` in {tz} from {from} to {until}");
        }
    }
}

/// A start in 2026–2075: a random second, or (one in three) a night around a clock change.
fn random_start(rng: &mut ChaCha8Rng, tz: Tz) -> DateTime<Utc> {
    let year = rng.random_range(2026..2076);
    if rng.random_range(0..3) == 0 {
        let (month, day) = [(3, 24), (4, 1), (9, 1), (10, 24), (11, 1)][rng.random_range(0..5)];
        let date = NaiveDate::from_ymd_opt(year, month, day).unwrap()
            + Duration::days(rng.random_range(0..10));
        let local =
            date.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(rng.random_range(-90..300));
        return match tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => (local - Duration::hours(3)).and_utc(),
        };
    }
    let start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    start + Duration::seconds(rng.random_range(0..365 * 86_400))
}

/// Every fire time in `[from, until)`, Unix seconds, in order, enumerated day by day and time
/// by time with croner's rules: a skipped wall-clock time runs at the first instant after the
/// jump for fixed-time crontabs and not at all otherwise; a repeated one runs on its first pass
/// for fixed-time crontabs and on both otherwise.
fn enumerate(cron: &Cron, tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<i64> {
    let fixed = cron.determine_job_type() == JobType::FixedTime;
    let p = &cron.pattern;
    let times: Vec<(u32, u32)> = (0..24)
        .filter(|&h| p.hour_match(h).unwrap())
        .flat_map(|h| (0..60).map(move |m| (h, m)))
        .filter(|&(_, m)| p.minute_match(m).unwrap())
        .collect();
    let matches = |date: NaiveDate| {
        p.month_match(date.month()).unwrap()
            && p.day_match(
                date.year(),
                date.month(),
                date.day(),
                Weekday::from_days_from_sunday(date.weekday().num_days_from_sunday()),
            )
            .unwrap()
    };
    let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = until.with_timezone(&tz).date_naive() + Duration::days(1);
    let mut fires = Vec::new();
    let mut date = first;
    while date <= last {
        if matches(date) {
            for &(h, m) in &times {
                let local = date.and_hms_opt(h, m, 0).unwrap();
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(t) => fires.push(t.timestamp()),
                    LocalResult::Ambiguous(earlier, later) => {
                        fires.push(earlier.timestamp());
                        if !fixed {
                            fires.push(later.timestamp());
                        }
                    }
                    LocalResult::None if fixed => {
                        let (after, instant) = first_after_skip(tz, local);
                        if matches(after.date()) {
                            fires.push(instant);
                        }
                    }
                    LocalResult::None => {}
                }
            }
        }
        date += Duration::days(1);
    }
    fires.sort_unstable();
    fires.dedup();
    fires.retain(|&t| t >= from.timestamp() && t < until.timestamp());
    fires
}

/// The first wall-clock second after `skipped` that exists, and its instant.
fn first_after_skip(tz: Tz, skipped: NaiveDateTime) -> (NaiveDateTime, i64) {
    let exists = |t: NaiveDateTime| match tz.from_local_datetime(&t) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Some(x.timestamp()),
        LocalResult::None => None,
    };
    // Minute steps to the far side of the jump, then back second by second.
    let mut t = skipped;
    while exists(t).is_none() {
        t += Duration::minutes(1);
    }
    while t - Duration::seconds(1) > skipped && exists(t - Duration::seconds(1)).is_some() {
        t -= Duration::seconds(1);
    }
    (t, exists(t).unwrap())
}

/// The smallest gap between consecutive values and the first value of its first pair.
fn smallest_gap(fires: &[i64]) -> Option<(i64, i64)> {
    fires
        .windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .min_by_key(|&(gap, at)| (gap, at))
}
