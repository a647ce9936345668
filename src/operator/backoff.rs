//! Per-instance retry backoff, pure: exponential from one second to a ceiling, with jitter so
//! that many instances failing together (a shared database down) do not retry in step.

use std::time::Duration;

/// The delays of one instance's retries.
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    failures: u32,
}

/// The longest wait between two retries.
pub const CEILING: Duration = Duration::from_secs(60);

impl Backoff {
    /// Records a failure and returns how long to wait before the next try; `unit` in [0, 1)
    /// picks the jitter (a random number in production, fixed in tests).
    pub fn failed(&mut self, unit: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let base = Duration::from_secs(1u64 << self.failures.min(7).saturating_sub(1));
        let base = base.min(CEILING);
        // Full range of +-25 %.
        let factor = 0.75 + 0.5 * unit.clamp(0.0, 1.0);
        base.mul_f64(factor).min(CEILING)
    }

    /// Records a success: the next failure starts again from one second.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_ceiling_with_jitter_and_reset_on_success() {
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..9)
            .map(|_| backoff.failed(0.5).as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        assert_eq!(backoff.failures(), 9);
        backoff.succeeded();
        assert_eq!(backoff.failed(0.0), Duration::from_millis(750));
        assert_eq!(backoff.failed(0.999_999).as_millis(), 2499);
    }
}
