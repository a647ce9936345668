//! Token buckets for the guest-token endpoint: one per (ServiceAccount, SupersetInstance), each
//! filling at the instance's `perMinute` and holding as many. A bucket that has refilled
//! completely holds no information and is dropped, so the map holds only callers seen within
//! the last minute.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The buckets, keyed by caller and instance.
#[derive(Default)]
pub struct RateLimits {
    buckets: HashMap<(String, String), Bucket>,
}

/// `per_minute` tokens a minute, as many at once.
struct Bucket {
    tokens: f64,
    per_minute: u32,
    at: Instant,
}

impl Bucket {
    /// The tokens at `now`, refilled since the last take.
    fn refilled(&self, now: Instant) -> f64 {
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(capacity)
    }
}

impl RateLimits {
    /// Takes one token from the bucket of `caller` on `instance` at `now`: `None` when taken,
    /// else the whole seconds to wait. A changed `per_minute` applies at once (the bucket
    /// keeps its tokens up to the new capacity).
    pub fn take(
        &mut self,
        caller: &str,
        instance: &str,
        per_minute: u32,
        now: Instant,
    ) -> Option<u64> {
        let per_minute = per_minute.max(1);
        // A bucket untouched for a minute is full: forget it.
        self.buckets
            .retain(|_, b| now.duration_since(b.at) < Duration::from_secs(60));
        let bucket = self
            .buckets
            .entry((caller.to_owned(), instance.to_owned()))
            .or_insert(Bucket {
                tokens: f64::from(per_minute),
                per_minute,
                at: now,
            });
        let tokens = bucket.refilled(now);
        bucket.per_minute = per_minute;
        bucket.tokens = tokens.min(f64::from(per_minute));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            let rate = f64::from(per_minute) / 60.0;
            Some(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_its_rate_and_waits_after() {
        let mut limits = RateLimits::default();
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(limits.take("apps/portal", "prod", 6, t0), None);
        }
        // Six a minute: one token every ten seconds.
        assert_eq!(limits.take("apps/portal", "prod", 6, t0), Some(10));
        assert_eq!(
            limits.take("apps/portal", "prod", 6, t0 + Duration::from_secs(10)),
            None
        );
    }

    #[test]
    fn each_instance_has_its_own_bucket_and_rate() {
        let mut limits = RateLimits::default();
        let t0 = Instant::now();
        assert_eq!(limits.take("apps/portal", "strict", 1, t0), None);
        assert_eq!(limits.take("apps/portal", "strict", 1, t0), Some(60));
        // The strict instance's limit does not hold back minting for another instance.
        for _ in 0..100 {
            assert_eq!(limits.take("apps/portal", "generous", 100, t0), None);
        }
        // Nor another caller on the strict one.
        assert_eq!(limits.take("apps/other", "strict", 1, t0), None);
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let mut limits = RateLimits::default();
        let t0 = Instant::now();
        for i in 0..1000 {
            limits.take(&format!("apps/caller-{i}"), "prod", 60, t0);
        }
        assert_eq!(limits.buckets.len(), 1000);
        limits.take("apps/portal", "prod", 60, t0 + Duration::from_secs(61));
        assert_eq!(
            limits.buckets.len(),
            1,
            "only the last caller's bucket remains"
        );
    }

    #[test]
    fn a_lowered_rate_caps_the_tokens_held() {
        let mut limits = RateLimits::default();
        let t0 = Instant::now();
        assert_eq!(limits.take("apps/portal", "prod", 600, t0), None);
        // Lowered to 2 a minute: at most 2 held, one taken now, one left.
        assert_eq!(limits.take("apps/portal", "prod", 2, t0), None);
        assert_eq!(limits.take("apps/portal", "prod", 2, t0), None);
        assert!(limits.take("apps/portal", "prod", 2, t0).is_some());
    }
}
