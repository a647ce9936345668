//! A timezone's changes of UTC offset, as chrono-tz's tables hold them (the IANA database,
//! daylight-saving rules spelled out through 2099, the last offset holding after), found once
//! per timezone and shared.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// At `at` (Unix seconds), the offset east of UTC changes from `before` to `after` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Transition {
    pub at: i64,
    pub before: i64,
    pub after: i64,
}

impl Transition {
    /// Whether the clocks jump forward (a stretch of wall-clock time never happens).
    pub fn skips(&self) -> bool {
        self.after > self.before
    }
}

/// Where the search starts and ends: the analysis never looks before 1970, and chrono-tz's
/// tables end with 2099.
const SEARCH_FROM: i64 = 0;
const SEARCH_TO: i64 = 7_258_118_400; // 2200-01-01

/// Probing once a day finds every offset change, then a binary search finds its second: since
/// 1970 the closest two changes of any zone in chrono-tz's tables are 6.96 days apart
/// (America/Boa_Vista, October 2000; measured by probing every 15 minutes to 2100).
const PROBE: i64 = 86_400;

/// The offset east of UTC at `instant`, in seconds.
pub(super) fn offset_at(tz: Tz, instant: i64) -> i64 {
    let utc = DateTime::from_timestamp(instant, 0).expect("instants stay within chrono's range");
    i64::from(
        tz.offset_from_utc_datetime(&utc.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// Every offset change of `tz` from 1970 on, in order.
pub(super) fn transitions(tz: Tz) -> Arc<[Transition]> {
    static KNOWN: LazyLock<Mutex<HashMap<Tz, Arc<[Transition]>>>> = LazyLock::new(Default::default);
    if let Some(known) = KNOWN.lock().expect("not poisoned").get(&tz) {
        return known.clone();
    }
    let found: Arc<[Transition]> = search(tz).into();
    KNOWN
        .lock()
        .expect("not poisoned")
        .insert(tz, found.clone());
    found
}

fn search(tz: Tz) -> Vec<Transition> {
    let mut found = Vec::new();
    let mut probe = SEARCH_FROM;
    let mut offset = offset_at(tz, probe);
    while probe < SEARCH_TO {
        let next = probe + PROBE;
        let next_offset = offset_at(tz, next);
        if next_offset != offset {
            // The change is in (probe, next]: find its first second.
            let (mut lo, mut hi) = (probe, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == offset {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: hi,
                before: offset,
                after: next_offset,
            });
        }
        probe = next;
        offset = next_offset;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_and_lord_howe() {
        let berlin = transitions(chrono_tz::Europe::Berlin);
        // 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST.
        let spring = berlin.iter().find(|t| t.at == 1_774_746_000).unwrap();
        assert_eq!((spring.before, spring.after), (3600, 7200));
        assert!(spring.skips());
        assert!(
            berlin.last().unwrap().at < 4_102_444_800,
            "tables end in 2099"
        );
        let lord_howe = transitions(chrono_tz::Australia::Lord_Howe);
        assert!(lord_howe.iter().any(|t| (t.before - t.after).abs() == 1800));
        assert!(transitions(chrono_tz::Asia::Kolkata).is_empty());
    }
}
