//! A run of consecutive fire times summarised by its first, its last and its smallest gap:
//! runs that follow each other chain into one, so the smallest gap of a long sequence is found
//! without listing it. Used in days (which days fire) and in seconds (when).

/// The gap between two consecutive elements: its length and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Gap {
    pub length: i64,
    /// The first element of the pair.
    pub at: i64,
}

impl Gap {
    /// The smaller of two gaps; of equal ones, the earlier.
    pub fn smaller(a: Option<Gap>, b: Option<Gap>) -> Option<Gap> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if (b.length, b.at) < (a.length, a.at) {
                b
            } else {
                a
            }),
            (a, None) => a,
            (None, b) => b,
        }
    }
}

/// A non-empty sequence of increasing values, summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Run {
    pub first: i64,
    pub last: i64,
    /// The smallest gap between consecutive values (none for a single value).
    pub best: Option<Gap>,
}

impl Run {
    pub fn single(value: i64) -> Run {
        Run {
            first: value,
            last: value,
            best: None,
        }
    }

    /// Every value moved by `by`.
    pub fn shifted(self, by: i64) -> Run {
        Run {
            first: self.first + by,
            last: self.last + by,
            best: self.best.map(|g| Gap {
                length: g.length,
                at: g.at + by,
            }),
        }
    }

    /// This run followed by `next`, whose values all come after this one's.
    pub fn then(self, next: Run) -> Run {
        let joint = Gap {
            length: next.first - self.last,
            at: self.last,
        };
        Run {
            first: self.first,
            last: next.last,
            best: Gap::smaller(Gap::smaller(self.best, Some(joint)), next.best),
        }
    }
}

/// Chains two optional runs (either may be empty).
pub(super) fn chain(a: Option<Run>, b: Option<Run>) -> Option<Run> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.then(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The run of a sorted slice of values.
pub(super) fn run_of(values: impl IntoIterator<Item = i64>) -> Option<Run> {
    values
        .into_iter()
        .fold(None, |acc, v| chain(acc, Some(Run::single(v))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaining_keeps_the_earliest_smallest_gap() {
        let run = run_of([0, 10, 13, 20, 23, 40]).unwrap();
        assert_eq!((run.first, run.last), (0, 40));
        assert_eq!(run.best, Some(Gap { length: 3, at: 10 }));
        let split = chain(run_of([0, 10, 13]), run_of([20, 23, 40])).unwrap();
        assert_eq!(split, run);
        assert_eq!(run_of([5]).unwrap().best, None);
        assert_eq!(run_of([]), None);
        assert_eq!(run.shifted(100).best, Some(Gap { length: 3, at: 110 }));
    }
}
