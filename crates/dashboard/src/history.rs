//! Numeric points per series, bounded by count and by age, and the storage operations that
//! keep a copy of them (IndexedDB in the lab) so a reload finds the charts whole.
//!
//! The store decides what is kept; its shell only replays [`StoreOp`]s, in the order
//! [`History::poll_store`] gives them, and hands back what it loaded with
//! [`History::restore`].

use std::collections::{BTreeMap, VecDeque};

/// One reading of a series.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub at_ms: u64,
    pub value: f64,
}

/// How much history is kept, set by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryLimits {
    /// Points kept per series; older ones go first.
    pub max_points: usize,
    /// Points older than this go.
    pub max_age_ms: u64,
    /// Series kept at once; a new series past it is not recorded (and says so).
    pub max_series: usize,
}

impl Default for HistoryLimits {
    /// A day of 1 Hz readings per series, for a day, across up to 64 series: the size a
    /// dashboard tab can draw and store without the user thinking about it.
    fn default() -> HistoryLimits {
        HistoryLimits {
            max_points: 86_400,
            max_age_ms: 24 * 3_600 * 1_000,
            max_series: 64,
        }
    }
}

/// A change the shell makes to its stored copy.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreOp {
    /// Forget every stored point.
    Clear,
    /// Forget the series' points older than `at_ms`.
    DropBefore { series: String, at_ms: u64 },
    /// Store these points of the series.
    Append { series: String, points: Vec<Point> },
}

/// The points of every series, and what storage has not been told yet.
#[derive(Debug, Default)]
pub struct History {
    limits: HistoryLimits,
    series: BTreeMap<String, VecDeque<Point>>,
    clear: bool,
    drops: BTreeMap<String, u64>,
    appends: BTreeMap<String, Vec<Point>>,
    refused_series: u64,
}

impl History {
    pub fn new(limits: HistoryLimits) -> History {
        History {
            limits,
            ..History::default()
        }
    }

    pub fn limits(&self) -> HistoryLimits {
        self.limits
    }

    /// New limits, applied at once to what is kept.
    pub fn set_limits(&mut self, limits: HistoryLimits, now_ms: u64) {
        self.limits = limits;
        let names: Vec<String> = self.series.keys().cloned().collect();
        for name in names.iter().skip(limits.max_series) {
            self.series.remove(name);
            self.appends.remove(name);
            self.drops.insert(name.clone(), u64::MAX);
        }
        for name in names.iter().take(limits.max_series) {
            self.trim(name, now_ms);
        }
    }

    /// Records `value` of `series` at `at_ms`. A point older than the series' newest (the
    /// clock stepped back) is kept at the newest's time, so every series stays in order.
    /// Returns false if the series is new and `max_series` are already kept.
    pub fn record(&mut self, series: &str, at_ms: u64, value: f64) -> bool {
        if !value.is_finite() {
            return true;
        }
        if !self.series.contains_key(series) {
            if self.series.len() >= self.limits.max_series {
                self.refused_series += 1;
                return false;
            }
            self.series.insert(series.to_owned(), VecDeque::new());
        }
        let Some(points) = self.series.get_mut(series) else {
            return false;
        };
        let at_ms = points.back().map_or(at_ms, |p| p.at_ms.max(at_ms));
        let point = Point { at_ms, value };
        points.push_back(point);
        self.appends
            .entry(series.to_owned())
            .or_default()
            .push(point);
        self.trim(series, at_ms);
        true
    }

    /// Drops what has grown older than `max_age_ms` by `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        let names: Vec<String> = self.series.keys().cloned().collect();
        for name in &names {
            self.trim(name, now_ms);
        }
    }

    /// Applies the limits to one series, and tells storage what went.
    fn trim(&mut self, series: &str, now_ms: u64) {
        let Some(points) = self.series.get_mut(series) else {
            return;
        };
        let oldest_kept = now_ms.saturating_sub(self.limits.max_age_ms);
        let mut last_dropped = None;
        while points.len() > self.limits.max_points
            || points.front().is_some_and(|p| p.at_ms < oldest_kept)
        {
            last_dropped = points.pop_front().map(|p| p.at_ms);
        }
        let Some(last_dropped) = last_dropped else {
            return;
        };
        // Storage drops by time, so points that share the last dropped one's millisecond
        // go too: otherwise storage would keep what this copy dropped.
        while points.front().is_some_and(|p| p.at_ms == last_dropped) {
            points.pop_front();
        }
        // Everything before the oldest kept point goes from storage too; with none left,
        // everything up to now.
        let cut = points.front().map_or(now_ms.saturating_add(1), |p| p.at_ms);
        if let Some(pending) = self.appends.get_mut(series) {
            pending.retain(|p| p.at_ms >= cut);
        }
        let drop = self.drops.entry(series.to_owned()).or_insert(0);
        *drop = (*drop).max(cut);
    }

    /// Points loaded from storage after a reload. They are merged in time order with any
    /// recorded since, and the limits apply as of `now_ms`.
    pub fn restore(&mut self, series: &str, mut loaded: Vec<Point>, now_ms: u64) {
        loaded.retain(|p| p.value.is_finite());
        if loaded.is_empty() {
            return;
        }
        if !self.series.contains_key(series) && self.series.len() >= self.limits.max_series {
            self.refused_series += 1;
            return;
        }
        let points = self.series.entry(series.to_owned()).or_default();
        loaded.extend(points.drain(..));
        loaded.sort_by_key(|p| p.at_ms);
        *points = loaded.into();
        self.trim(series, now_ms);
    }

    /// Forgets one series, here and in storage (where it may be left from an earlier
    /// load even when it is not kept here).
    pub fn remove(&mut self, series: &str) {
        self.series.remove(series);
        self.appends.remove(series);
        self.drops.insert(series.to_owned(), u64::MAX);
    }

    /// Forgets every point, here and in storage.
    pub fn clear(&mut self) {
        self.series.clear();
        self.appends.clear();
        self.drops.clear();
        self.clear = true;
    }

    /// The next change for storage: a clear first, then what went, then what came, so a
    /// point stored is never one already dropped.
    pub fn poll_store(&mut self) -> Option<StoreOp> {
        if std::mem::take(&mut self.clear) {
            return Some(StoreOp::Clear);
        }
        if let Some((series, at_ms)) = self.drops.pop_first() {
            return Some(StoreOp::DropBefore { series, at_ms });
        }
        while let Some((series, points)) = self.appends.pop_first() {
            if !points.is_empty() {
                return Some(StoreOp::Append { series, points });
            }
        }
        None
    }

    /// The points of `series`, oldest first.
    pub fn points(&self, series: &str) -> Option<&VecDeque<Point>> {
        self.series.get(series)
    }

    /// The names of the series kept.
    pub fn series(&self) -> impl Iterator<Item = &str> {
        self.series.keys().map(String::as_str)
    }

    /// Points in total, across series.
    pub fn len(&self) -> usize {
        self.series.values().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.series.values().all(VecDeque::is_empty)
    }

    /// New series turned away by `max_series` so far.
    pub fn refused_series(&self) -> u64 {
        self.refused_series
    }

    /// `series` between `from_ms` and `to_ms`, downsampled to draw on `buckets` columns.
    pub fn window(&self, series: &str, from_ms: u64, to_ms: u64, buckets: usize) -> Vec<Point> {
        self.points(series)
            .map_or_else(Vec::new, |p| downsample(p, from_ms, to_ms, buckets))
    }
}

/// The points of `points` (oldest first) between `from_ms` and `to_ms`, at most four per
/// bucket: each bucket's first, lowest, highest and last (M4), which draws as the whole
/// series would at one bucket per pixel column, whatever the number of points.
pub fn downsample(
    points: &VecDeque<Point>,
    from_ms: u64,
    to_ms: u64,
    buckets: usize,
) -> Vec<Point> {
    let start = points.partition_point(|p| p.at_ms < from_ms);
    let end = points.partition_point(|p| p.at_ms <= to_ms);
    if start >= end {
        return Vec::new();
    }
    let buckets = buckets.max(1);
    if end - start <= buckets * 4 {
        return points.range(start..end).copied().collect();
    }
    let span = to_ms.saturating_sub(from_ms).max(1) as u128;
    let mut out = Vec::with_capacity(buckets * 4);
    let mut current: Option<(usize, [Point; 4])> = None;
    let flush = |out: &mut Vec<Point>, picked: [Point; 4]| {
        // first, min, max, last: in time order, without repeats.
        let mut four = picked;
        four.sort_by_key(|p| p.at_ms);
        for p in four {
            if out.last() != Some(&p) {
                out.push(p);
            }
        }
    };
    for p in points.range(start..end) {
        let bucket = ((u128::from(p.at_ms - from_ms) * buckets as u128) / span)
            .min(buckets as u128 - 1) as usize;
        match &mut current {
            Some((b, picked)) if *b == bucket => {
                if p.value < picked[1].value {
                    picked[1] = *p;
                }
                if p.value > picked[2].value {
                    picked[2] = *p;
                }
                picked[3] = *p;
            }
            _ => {
                if let Some((_, picked)) = current.take() {
                    flush(&mut out, picked);
                }
                current = Some((bucket, [*p; 4]));
            }
        }
    }
    if let Some((_, picked)) = current {
        flush(&mut out, picked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_points: usize, max_age_ms: u64) -> HistoryLimits {
        HistoryLimits {
            max_points,
            max_age_ms,
            max_series: 4,
        }
    }

    #[test]
    fn count_and_age_bound_a_series_and_storage_hears_of_it_in_order(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let mut h = History::new(limits(3, 10_000));
        for i in 0..5 {
            h.record("a", 1_000 + i, f64::from(i as u32));
        }
        assert_eq!(h.points("a").map(VecDeque::len), Some(3));
        assert_eq!(
            h.poll_store(),
            Some(StoreOp::DropBefore {
                series: "a".into(),
                at_ms: 1_002
            })
        );
        let Some(StoreOp::Append { points, .. }) = h.poll_store() else {
            return Err("an append was due".into());
        };
        assert_eq!(
            points.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
            [1_002, 1_003, 1_004]
        );
        assert_eq!(h.poll_store(), None);
        h.expire(20_000);
        assert!(h.is_empty());
        assert_eq!(
            h.poll_store(),
            Some(StoreOp::DropBefore {
                series: "a".into(),
                at_ms: 20_001
            })
        );
        Ok(())
    }

    #[test]
    fn restore_merges_and_the_series_limit_refuses() -> Result<(), Box<dyn std::error::Error>> {
        let mut h = History::new(limits(10, 60_000));
        h.record("a", 5_000, 5.0);
        h.restore(
            "a",
            vec![
                Point {
                    at_ms: 1_000,
                    value: 1.0,
                },
                Point {
                    at_ms: 2_000,
                    value: f64::NAN,
                },
            ],
            5_000,
        );
        let at: Vec<u64> = h
            .points("a")
            .into_iter()
            .flatten()
            .map(|p| p.at_ms)
            .collect();
        assert_eq!(at, [1_000, 5_000]);
        for s in ["b", "c", "d"] {
            assert!(h.record(s, 5_000, 0.0));
        }
        assert!(!h.record("e", 5_000, 0.0));
        assert_eq!(h.refused_series(), 1);
        Ok(())
    }

    #[test]
    fn a_day_at_one_hertz_draws_in_four_points_a_column() -> Result<(), Box<dyn std::error::Error>>
    {
        let points: VecDeque<Point> = (0..86_400u64)
            .map(|s| Point {
                at_ms: s * 1_000,
                value: (s % 600) as f64,
            })
            .collect();
        let drawn = downsample(&points, 0, 86_399_000, 800);
        assert!(drawn.len() <= 3_200, "{}", drawn.len());
        assert!(drawn.iter().any(|p| p.value == 599.0));
        assert_eq!(drawn.first(), points.front());
        assert_eq!(drawn.last(), points.back());
        Ok(())
    }
}
