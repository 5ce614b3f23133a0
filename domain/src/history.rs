//! Metric history: bounded series of samples the leader records into the
//! replicated state (`RecordSamples`), so every node serves the same history.
//!
//! A [`Series`] keeps three tiers, newest last, each ordered by time:
//!
//! | tier | resolution | kept for |
//! | --- | --- | --- |
//! | raw | one point per sample (the sampling interval) | [`RAW_SPAN_MS`] (1 hour) |
//! | minute | [`MINUTE_MS`] buckets | [`MINUTE_SPAN_MS`] (24 hours) |
//! | ten minutes | [`TEN_MINUTES_MS`] buckets | the configured retention |
//!
//! A point that ages out of a tier is folded into the next one's bucket; the
//! oldest tier drops it. Each tier also has a hard length cap, so a series never
//! holds more than [`max_points`] points whatever the timing. A point keeps the
//! sum and the maximum of every field and the number of samples it covers, so a
//! coarse bucket's mean is exactly the mean of the raw samples that fed it
//! (integer sums: no rounding drift, identical on every node).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Fields per sample (pool and tenant samples both have six; see
/// [`crate::sampling`] for their names).
pub const FIELDS: usize = 6;
pub type Values = [u64; FIELDS];

pub const MINUTE_MS: u64 = 60_000;
pub const TEN_MINUTES_MS: u64 = 600_000;
/// Raw samples are kept this long.
pub const RAW_SPAN_MS: u64 = 3_600_000;
/// Minute buckets are kept this long.
pub const MINUTE_SPAN_MS: u64 = 24 * 3_600_000;
/// Length caps per tier: the raw cap is one hour at the shortest interval the
/// settings allow; the ten-minute cap is the longest retention allowed.
pub const RAW_CAP: usize = (RAW_SPAN_MS / crate::observability::MIN_SAMPLE_INTERVAL_MS) as usize + 1;
pub const MINUTE_CAP: usize = (MINUTE_SPAN_MS / MINUTE_MS) as usize + 1;
pub const TEN_MINUTES_CAP: usize =
    (crate::observability::MAX_RETENTION_HOURS as u64 * 3_600_000 / TEN_MINUTES_MS) as usize + 1;

/// The most points one series can hold.
pub const fn max_points() -> usize {
    RAW_CAP + MINUTE_CAP + TEN_MINUTES_CAP
}

/// One point: a raw sample (`samples == 1`) or a bucket of several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// The sample time, or the bucket's start.
    pub at_ms: u64,
    pub samples: u32,
    pub sum: Values,
    pub max: Values,
}

impl Point {
    pub fn sample(at_ms: u64, values: Values) -> Point {
        Point { at_ms, samples: 1, sum: values, max: values }
    }

    /// The mean of each field over the samples (floor).
    pub fn mean(&self) -> Values {
        let n = u64::from(self.samples.max(1));
        self.sum.map(|s| s / n)
    }

    /// Adds `other`'s samples to this point.
    pub fn merge(&mut self, other: &Point) {
        self.samples = self.samples.saturating_add(other.samples);
        for i in 0..FIELDS {
            self.sum[i] = self.sum[i].saturating_add(other.sum[i]);
            self.max[i] = self.max[i].max(other.max[i]);
        }
    }
}

/// A bounded, downsampled series.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    pub raw: VecDeque<Point>,
    pub minute: VecDeque<Point>,
    pub ten_minutes: VecDeque<Point>,
}

impl Series {
    /// The newest point's time.
    pub fn last_at(&self) -> Option<u64> {
        self.raw.back().or(self.minute.back()).or(self.ten_minutes.back()).map(|p| p.at_ms)
    }

    pub fn len(&self) -> usize {
        self.raw.len() + self.minute.len() + self.ten_minutes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records a sample taken at `at_ms`, which must be later than the newest
    /// point (the caller checks), then ages every tier against `at_ms`.
    pub fn record(&mut self, at_ms: u64, values: Values, retention_ms: u64) {
        self.raw.push_back(Point::sample(at_ms, values));
        while let Some(p) = self.raw.front().copied() {
            if at_ms.saturating_sub(p.at_ms) <= RAW_SPAN_MS && self.raw.len() <= RAW_CAP {
                break;
            }
            self.raw.pop_front();
            fold(&mut self.minute, &p, MINUTE_MS);
        }
        while let Some(p) = self.minute.front().copied() {
            if at_ms.saturating_sub(p.at_ms) <= MINUTE_SPAN_MS && self.minute.len() <= MINUTE_CAP {
                break;
            }
            self.minute.pop_front();
            fold(&mut self.ten_minutes, &p, TEN_MINUTES_MS);
        }
        while let Some(p) = self.ten_minutes.front() {
            if at_ms.saturating_sub(p.at_ms) <= retention_ms && self.ten_minutes.len() <= TEN_MINUTES_CAP {
                break;
            }
            self.ten_minutes.pop_front();
        }
    }

    /// Every point, oldest first: the tiers cover successive stretches of time.
    pub fn points(&self) -> impl Iterator<Item = &Point> {
        self.ten_minutes.iter().chain(self.minute.iter()).chain(self.raw.iter())
    }

    /// The points in `[start, end)` merged into `step`-wide buckets aligned on
    /// `start`; each bucket is stamped with its start. `step` must be positive.
    pub fn query(&self, start: u64, end: u64, step: u64) -> Vec<Point> {
        let step = step.max(1);
        let mut out: Vec<Point> = Vec::new();
        for p in self.points().filter(|p| p.at_ms >= start && p.at_ms < end) {
            let slot = start + (p.at_ms - start) / step * step;
            match out.last_mut() {
                Some(last) if last.at_ms == slot => last.merge(p),
                _ => out.push(Point { at_ms: slot, ..*p }),
            }
        }
        out
    }
}

/// Folds `p` into the bucket of width `step` it falls in (the newest bucket, or
/// a new one after it).
fn fold(tier: &mut VecDeque<Point>, p: &Point, step: u64) {
    let bucket = p.at_ms - p.at_ms % step;
    match tier.back_mut() {
        Some(last) if last.at_ms >= bucket => last.merge(p),
        _ => tier.push_back(Point { at_ms: bucket, ..*p }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400_000;

    #[test]
    fn raw_points_fold_into_minute_buckets_with_exact_sums() {
        let mut s = Series::default();
        // 10 s apart for two hours: the first hour's points end in minute buckets.
        for i in 0..720u64 {
            s.record(i * 10_000, [i, 1, 0, 0, 0, 0], DAY);
        }
        let last = 719 * 10_000;
        assert!(s.raw.iter().all(|p| last - p.at_ms <= RAW_SPAN_MS));
        assert_eq!(s.raw.len(), 361);
        // 359 raw points left the raw tier: 59 full minutes and 5 of the 60th.
        assert_eq!(s.minute.len(), 60);
        let first = s.minute[0];
        assert_eq!((first.at_ms, first.samples), (0, 6));
        assert_eq!(first.sum[0], 1 + 2 + 3 + 4 + 5);
        assert_eq!(first.max[0], 5);
        assert_eq!(first.mean()[1], 1);
        let total: u32 = s.points().map(|p| p.samples).sum();
        assert_eq!(total, 720);
    }

    #[test]
    fn query_merges_into_aligned_steps() {
        let mut s = Series::default();
        for i in 0..30u64 {
            s.record(1_000 + i * 15_000, [i, 0, 0, 0, 0, 0], DAY);
        }
        let q = s.query(1_000, 1_000 + 30 * 15_000, 60_000);
        assert_eq!(q.len(), 8);
        assert_eq!(q[0].at_ms, 1_000);
        assert_eq!((q[0].samples, q[0].sum[0], q[0].max[0]), (4, 6, 3));
        assert_eq!(q[7].samples, 2);
        assert!(s.query(500_000, 600_000, 60_000).is_empty());
    }

    #[test]
    fn retention_drops_the_oldest_buckets() {
        let mut s = Series::default();
        let retention = 48 * 3_600_000;
        for i in 0..(30 * 24 * 60u64) {
            s.record(i * MINUTE_MS, [1; FIELDS], retention);
        }
        let last = s.last_at().unwrap();
        let oldest = s.points().next().unwrap().at_ms;
        assert!(last - oldest <= retention, "{last} {oldest}");
        assert_eq!(s.raw.len(), 61);
        // The minute tier covers from 24 hours to 61 minutes ago.
        assert_eq!(s.minute.len(), 24 * 60 - 60);
        let full = s.ten_minutes.len() - 1;
        assert!(s.ten_minutes.iter().take(full).all(|p| p.samples == 10));
    }
}
