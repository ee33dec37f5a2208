//! When a topic, or a widget's series, has gone quiet for longer than it usually does.

/// How many usual intervals of silence make a reading stale.
pub const STALE_AFTER_INTERVALS: u64 = 3;

/// The usual gap between a topic's messages, learnt as they arrive, and so when its
/// silence has gone on long enough to mark its last value stale.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cadence {
    last_ms: Option<u64>,
    usual_ms: Option<u64>,
}

impl Cadence {
    /// A message arrived at `at_ms`.
    pub fn observe(&mut self, at_ms: u64) {
        if let Some(last) = self.last_ms {
            let gap = at_ms.saturating_sub(last);
            // A quarter weight for the newest gap: a device that changes its rate is
            // followed within a few messages, and one late message does not double the
            // interval (which would hide the next real silence).
            self.usual_ms = Some(match self.usual_ms {
                None => gap,
                Some(usual) => (usual.saturating_mul(3).saturating_add(gap)) / 4,
            });
        }
        // A clock stepped back must not make the last arrival later than it was.
        self.last_ms = Some(self.last_ms.map_or(at_ms, |last| last.max(at_ms)));
    }

    /// The learnt interval, once two messages have been seen.
    pub fn usual_interval_ms(&self) -> Option<u64> {
        self.usual_ms
    }

    /// When the silence since the last message makes it stale; `None` while the usual
    /// interval is unknown (one message tells nothing of a rate).
    pub fn stale_at_ms(&self) -> Option<u64> {
        let (last, usual) = (self.last_ms?, self.usual_ms?);
        // At least 1 ms: two messages in the same millisecond must not make the topic
        // stale the moment the clock ticks.
        Some(last.saturating_add(usual.max(1).saturating_mul(STALE_AFTER_INTERVALS)))
    }

    /// Whether, at `now_ms`, the topic has been silent for more than
    /// [`STALE_AFTER_INTERVALS`] usual intervals.
    pub fn is_stale(&self, now_ms: u64) -> bool {
        self.stale_at_ms().is_some_and(|at| now_ms > at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_after_three_usual_intervals_and_not_before() {
        let mut c = Cadence::default();
        for t in (0..10).map(|i| 1_000 + i * 200) {
            c.observe(t);
        }
        assert_eq!(c.usual_interval_ms(), Some(200));
        let last = 1_000 + 9 * 200;
        assert!(!c.is_stale(last + 600));
        assert!(c.is_stale(last + 601));
    }

    #[test]
    fn one_message_is_never_stale_and_a_clock_step_back_is_not_an_arrival() {
        let mut c = Cadence::default();
        c.observe(5_000);
        assert!(!c.is_stale(u64::MAX));
        c.observe(4_000);
        assert_eq!(c.usual_interval_ms(), Some(0));
        assert_eq!(c.stale_at_ms(), Some(5_003));
    }
}
