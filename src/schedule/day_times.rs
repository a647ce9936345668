//! The times of day a crontab fires at (seconds after midnight, wall clock), and the smallest
//! gap among any consecutive stretch of them, answered in constant time from a sparse table.

use croner::Cron;

use super::run::{Gap, Run};

pub(super) struct DayTimes {
    /// Sorted seconds after midnight.
    times: Vec<i64>,
    /// `levels[k][i]`: index `j` in `i..i + 2^k` of the smallest gap `times[j + 1] - times[j]`
    /// (the first of equal ones).
    levels: Vec<Vec<u32>>,
}

impl DayTimes {
    pub fn new(cron: &Cron) -> DayTimes {
        let matching = |max: u32, f: &dyn Fn(u32) -> bool| -> Vec<i64> {
            (0..max).filter(|&v| f(v)).map(i64::from).collect()
        };
        let pattern = &cron.pattern;
        let hours = matching(24, &|h| pattern.hour_match(h).unwrap_or(false));
        let minutes = matching(60, &|m| pattern.minute_match(m).unwrap_or(false));
        let seconds = matching(60, &|s| pattern.second_match(s).unwrap_or(false));
        let mut times = Vec::with_capacity(hours.len() * minutes.len() * seconds.len());
        for h in &hours {
            for m in &minutes {
                for s in &seconds {
                    times.push(h * 3600 + m * 60 + s);
                }
            }
        }
        let gap = |i: u32| times[i as usize + 1] - times[i as usize];
        let gaps = times.len().saturating_sub(1);
        let mut levels: Vec<Vec<u32>> = vec![(0..gaps as u32).collect()];
        let mut width = 1;
        while width * 2 <= gaps {
            let below = levels.last().expect("level 0 exists");
            let level = (0..=gaps - width * 2)
                .map(|i| {
                    let (a, b) = (below[i], below[i + width]);
                    if gap(b) < gap(a) { b } else { a }
                })
                .collect();
            levels.push(level);
            width *= 2;
        }
        DayTimes { times, levels }
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Whether a time falls in `[from, to)`.
    pub fn any_within(&self, from: i64, to: i64) -> bool {
        let i = self.times.partition_point(|&t| t < from);
        i < self.times.len() && self.times[i] < to
    }

    /// The times in `[from, to)` (seconds after midnight).
    pub fn run_within(&self, from: i64, to: i64) -> Option<Run> {
        let lo = self.times.partition_point(|&t| t < from);
        let hi = self.times.partition_point(|&t| t < to);
        (lo < hi).then(|| Run {
            first: self.times[lo],
            last: self.times[hi - 1],
            best: self.smallest_gap(lo, hi - 1),
        })
    }

    /// The whole day's run.
    pub fn day_run(&self) -> Option<Run> {
        self.run_within(0, i64::MAX)
    }

    /// The smallest gap between `times[i]` and `times[i + 1]` for `i` in `lo..hi`.
    fn smallest_gap(&self, lo: usize, hi: usize) -> Option<Gap> {
        if lo >= hi {
            return None;
        }
        let level = (usize::BITS - 1 - (hi - lo).leading_zeros()) as usize;
        let width = 1 << level;
        let gap = |i: u32| Gap {
            length: self.times[i as usize + 1] - self.times[i as usize],
            at: self.times[i as usize],
        };
        Gap::smaller(
            Some(gap(self.levels[level][lo])),
            Some(gap(self.levels[level][hi - width])),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::crontab::parse_crontab;
    use crate::schedule::run::run_of;

    #[test]
    fn stretches_agree_with_a_scan() {
        for text in [
            "*/7 1,2,9-11 * * *",
            "0,1,30,31,59 */5 * * *",
            "15 10 * * *",
        ] {
            let times = DayTimes::new(&parse_crontab(text).unwrap());
            let all = times.times.clone();
            for from in (0..86_400).step_by(1800) {
                for to in (from..=86_400).step_by(2700) {
                    let expected = run_of(all.iter().copied().filter(|&t| t >= from && t < to));
                    assert_eq!(
                        times.run_within(from, to),
                        expected,
                        "{text} [{from}, {to})"
                    );
                }
            }
        }
    }
}
