//! Messages per second over the last few seconds, in constant memory.

/// Seconds the rate is averaged over.
const WINDOW_SECS: usize = 10;

/// A count per second for the last [`WINDOW_SECS`] seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateWindow {
    counts: [u32; WINDOW_SECS],
    /// The second (since the epoch) of the newest bucket.
    newest_sec: u64,
    /// The second of the first message, so a topic seen for 2 s is not averaged over 10.
    first_sec: Option<u64>,
}

impl RateWindow {
    /// Empties the buckets that fell out of the window by `sec`.
    fn advance(&mut self, sec: u64) {
        if sec <= self.newest_sec {
            return;
        }
        let steps = (sec - self.newest_sec).min(WINDOW_SECS as u64);
        for i in 1..=steps {
            self.counts[((self.newest_sec + i) % WINDOW_SECS as u64) as usize] = 0;
        }
        self.newest_sec = sec;
    }

    /// Counts one message at `at_ms`.
    pub fn record(&mut self, at_ms: u64) {
        let sec = at_ms / 1_000;
        self.first_sec.get_or_insert(sec);
        self.advance(sec);
        // A message from before the window (the clock stepped back) counts in the
        // newest bucket: it did arrive just now.
        let sec = sec.max(self.newest_sec);
        let slot = &mut self.counts[(sec % WINDOW_SECS as u64) as usize];
        *slot = slot.saturating_add(1);
    }

    /// Messages per second over the window, as of `now_ms`.
    pub fn per_second(&self, now_ms: u64) -> f64 {
        let Some(first) = self.first_sec else {
            return 0.0;
        };
        let now_sec = (now_ms / 1_000).max(self.newest_sec);
        let oldest = now_sec.saturating_sub(WINDOW_SECS as u64 - 1);
        let total: u64 = (oldest..=now_sec)
            .filter(|s| *s <= self.newest_sec && self.newest_sec - s < WINDOW_SECS as u64)
            .map(|s| u64::from(self.counts[(s % WINDOW_SECS as u64) as usize]))
            .sum();
        // The window is the seconds seen so far, up to its length; the current second
        // counts whole, since its messages are already in.
        let span = (now_sec - oldest.max(first) + 1) as f64;
        total as f64 / span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_a_second_for_twenty_seconds_reads_five() {
        let mut r = RateWindow::default();
        for i in 0..100 {
            r.record(1_000_000 + i * 200);
        }
        let rate = r.per_second(1_000_000 + 99 * 200);
        assert!((rate - 5.0).abs() < 0.6, "{rate}");
    }

    #[test]
    fn silence_drains_the_window() {
        let mut r = RateWindow::default();
        for i in 0..50 {
            r.record(i * 100);
        }
        assert!(r.per_second(4_900) > 9.0);
        assert_eq!(r.per_second(60_000), 0.0);
    }
}
