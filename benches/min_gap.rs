//! Benchmark: the exact interval analysis (target: median ≤ 1 ms per crontab).
//!
//! `cargo bench --bench min_gap` draws 10,000 random crontabs (seed 1, the property test's
//! generator), each in one of six timezones (five with daylight saving), and times, per
//! crontab, preparing it and finding its smallest gap over the whole 400-year cycle from now:
//! what `validate`, `diff` and `apply` do for every distinct (crontab, timezone) pair. Each
//! timezone's offset changes are found once per process; that cost is reported apart.
//! `STEWARD_BENCH_CRONTABS` changes the count.

use std::time::{Duration, Instant};

use chrono::Utc;
use rand::{Rng, SeedableRng};
use steward::generate::{AWKWARD_TIMEZONES, random_crontab};
use steward::schedule::crontab::parse_crontab;
use steward::schedule::min_gap::FireTimes;

fn main() {
    let count: usize = std::env::var("STEWARD_BENCH_CRONTABS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let now = Utc::now();

    let cold = Instant::now();
    for tz in AWKWARD_TIMEZONES {
        FireTimes::new(&parse_crontab("0 0 * * *").expect("valid"), tz);
    }
    let cold = cold.elapsed();

    let mut times = Vec::with_capacity(count);
    let mut gaps = 0;
    while times.len() < count {
        let Ok(cron) = parse_crontab(&random_crontab(&mut rng)) else {
            continue;
        };
        let tz = AWKWARD_TIMEZONES[rng.random_range(0..AWKWARD_TIMEZONES.len())];
        let start = Instant::now();
        let gap = FireTimes::new(&cron, tz).smallest_gap(now, None);
        times.push(start.elapsed());
        gaps += usize::from(gap.is_some());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let total: Duration = times.iter().sum();
    println!(
        "min_gap: {count} crontabs ({gaps} with a gap), per crontab: median {:?}, p90 {:?}, p99 {:?}, max {:?}; total {:?}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        total
    );
    println!(
        "min_gap: offset changes of {} timezones found once: {cold:?}",
        AWKWARD_TIMEZONES.len()
    );
    assert!(at(0.5) <= Duration::from_millis(1), "median above 1 ms");
}
