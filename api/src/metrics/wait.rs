//! `hodei_dispatch_wait_seconds`: queue wait at first start as a histogram
//! whose bucket counts come from the replicated SLA ledger's fixed bins
//! (`hodei_domain::sla::WAIT_BINS_MS`), not from observations made here, so it
//! is a collector of its own. [`super::ledger::LedgerCounters`] adds what the
//! ledger gained at each scrape; every node therefore reports the same counts
//! (up to its apply lag), like the other ledger counters.

use std::sync::Mutex;

use hodei_domain::sla::WAIT_BINS_MS;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Histogram, Metric, MetricFamily, MetricType};

const NAME: &str = "hodei_dispatch_wait_seconds";
const HELP: &str = "Queue wait of jobs at their first start (submission to start), from the replicated SLA ledger; no tenant label.";

/// Bins of the ledger: one per edge of `WAIT_BINS_MS`, and the open last one.
pub(super) const BINS: usize = WAIT_BINS_MS.len() + 1;

pub(super) struct WaitHistogram {
    desc: Desc,
    totals: Mutex<Totals>,
}

#[derive(Clone, Copy, Default)]
struct Totals {
    bins: [u64; BINS],
    sum_ms: u64,
}

impl WaitHistogram {
    pub(super) fn new() -> prometheus::Result<WaitHistogram> {
        Ok(WaitHistogram { desc: Desc::new(NAME.into(), HELP.into(), Vec::new(), Default::default())?, totals: Mutex::default() })
    }

    /// Adds `starts` first starts to bin `bin` and `wait_ms` to the sum.
    pub(super) fn add(&self, bin: usize, starts: u64) {
        let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        t.bins[bin.min(BINS - 1)] += starts;
    }

    pub(super) fn add_wait_ms(&self, wait_ms: u64) {
        let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        t.sum_ms = t.sum_ms.saturating_add(wait_ms);
    }
}

impl Collector for WaitHistogram {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let t = *self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let mut cumulative = 0;
        let buckets = WAIT_BINS_MS
            .iter()
            .zip(t.bins)
            .map(|(edge_ms, n)| {
                cumulative += n;
                let mut b = Bucket::default();
                b.set_upper_bound(*edge_ms as f64 / 1000.0);
                b.set_cumulative_count(cumulative);
                b
            })
            .collect();
        let mut h = Histogram::default();
        h.set_bucket(buckets);
        h.set_sample_count(t.bins.iter().sum());
        h.set_sample_sum(t.sum_ms as f64 / 1000.0);
        let mut m = Metric::default();
        m.set_histogram(h);
        let mut f = MetricFamily::default();
        f.set_name(NAME.into());
        f.set_help(HELP.into());
        f.set_field_type(MetricType::HISTOGRAM);
        f.set_metric(vec![m]);
        vec![f]
    }
}
