//! Exponential backoff with full jitter, for every driver that reconnects: the wait after
//! the n-th failure in a row is uniform in [0, min(max, min × 2^n)). Full jitter spreads a
//! crowd of clients that lost the same broker, instead of bringing them back in waves (a
//! reconnect storm). The randomness comes in from the caller: the core has no source.

use core::time::Duration;

/// Reconnect timing; [`Backoff::default`] is 1 s to 60 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            failures: 0,
        }
    }

    /// The same timing, as after `failures` failures in a row.
    pub fn with_failures(mut self, failures: u32) -> Backoff {
        self.failures = failures;
        self
    }

    /// Failures in a row since the last [`Backoff::reset`].
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The capped exponential step after the failures so far.
    pub fn ceiling(&self) -> Duration {
        self.min
            .saturating_mul(1u32 << self.failures.min(30))
            .min(self.max)
    }

    /// The wait before the next attempt, given a uniformly random `random`; counts a failure.
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let ceiling = u64::try_from(self.ceiling().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.failures = self.failures.saturating_add(1);
        Duration::from_millis(random % ceiling)
    }

    /// A connection succeeded: the next failure starts from `min` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn the_ceiling_doubles_up_to_the_maximum() {
        let mut b = Backoff::default();
        let ceilings: Vec<u64> = (0..8)
            .map(|_| {
                let c = b.ceiling().as_secs();
                b.next_delay(0);
                c
            })
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60]);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_stays_below_the_ceiling_and_spreads() {
        let mut b = Backoff::default();
        for _ in 0..6 {
            b.next_delay(0);
        }
        let delays: Vec<Duration> = (0..1000u64)
            .map(|i| {
                let mut c = b.clone();
                c.next_delay(i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            })
            .collect();
        assert!(delays.iter().all(|d| *d < Duration::from_secs(60)));
        let early = delays
            .iter()
            .filter(|d| **d < Duration::from_secs(30))
            .count();
        assert!(
            (300..700).contains(&early),
            "{early} of 1000 in the first half"
        );
    }
}
