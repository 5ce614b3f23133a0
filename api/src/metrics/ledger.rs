//! Counters derived from the replicated ledgers: cost (job and idle), SLA starts
//! (and their waits, `hodei_dispatch_wait_seconds`) and scaling events.
//!
//! The ledgers keep hour buckets for `retention_days` and prune the oldest, and
//! a pool keeps a bounded scaling history, so their sums go down as well as up:
//! exported as-is they would read as counter resets. This node instead counts
//! the growth it sees: a bucket only changes during its own hour (charges use the
//! command's time, which never goes back), so each scrape reads only the buckets
//! of the newest hour seen and the one before, adds what they gained since the
//! last scrape, and forgets older ones. The first scrape after start counts the
//! whole retained ledger, so every node's counters start at the ledger's totals.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hodei_domain::cost::HOUR_MS;
use hodei_domain::{PoolId, ScalingEvent, State, TenantId};
use prometheus::{CounterVec, IntCounter, IntCounterVec, Opts, Registry};

const NANOS_PER_DOLLAR: f64 = 1e9;

pub(super) struct LedgerCounters {
    per_tenant_labels: bool,
    tenant_cost: CounterVec,
    pool_job_cost: CounterVec,
    pool_idle_cost: CounterVec,
    sla_started: IntCounter,
    sla_met: IntCounter,
    scaling: IntCounterVec,
    wait: std::sync::Arc<super::wait::WaitHistogram>,
    seen: Mutex<Seen>,
}

/// What the previous scrapes saw.
#[derive(Default)]
struct Seen {
    jobs: Growth<(TenantId, PoolId)>,
    idle: Growth<PoolId>,
    sla_started: Growth<TenantId>,
    sla_met: Growth<TenantId>,
    sla_wait_ms: Growth<TenantId>,
    sla_bins: Growth<(TenantId, usize)>,
    /// The newest scaling event seen per pool: (at, from, to).
    last_scaling: BTreeMap<PoolId, (u64, u32, u32)>,
}

/// Last seen values of the hour buckets that may still grow.
struct Growth<K> {
    values: BTreeMap<(u64, K), u64>,
    newest_hour: u64,
}

impl<K> Default for Growth<K> {
    fn default() -> Self {
        Growth { values: BTreeMap::new(), newest_hour: 0 }
    }
}

impl<K: Ord + Clone> Growth<K> {
    /// The first hour whose buckets may have changed since the last scrape.
    fn from_hour(&self) -> u64 {
        self.newest_hour.saturating_sub(HOUR_MS)
    }

    /// How much the bucket grew since it was last seen (all of it when new).
    fn grew(&mut self, hour: u64, key: &K, value: u64) -> u64 {
        self.newest_hour = self.newest_hour.max(hour);
        let before = self.values.insert((hour, key.clone()), value).unwrap_or(0);
        value.saturating_sub(before)
    }

    fn forget_settled(&mut self) {
        let from = self.from_hour();
        self.values.retain(|(hour, _), _| *hour >= from);
    }
}

impl LedgerCounters {
    pub(super) fn register(registry: &Registry, per_tenant_labels: bool) -> prometheus::Result<LedgerCounters> {
        let dollars = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<CounterVec> {
            let c = CounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let count = |name: &str, help: &str| -> prometheus::Result<IntCounter> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let scaling = IntCounterVec::new(
            Opts::new("hodei_pool_scaling_events_total", "Scaling decisions recorded for the pool, by direction (up, down)."),
            &["pool", "direction"],
        )?;
        registry.register(Box::new(scaling.clone()))?;
        let wait = std::sync::Arc::new(super::wait::WaitHistogram::new()?);
        registry.register(Box::new(SharedWait(wait.clone())))?;
        Ok(LedgerCounters {
            per_tenant_labels,
            tenant_cost: dollars(
                "hodei_tenant_cost_dollars_total",
                "Job cost charged to the tenant, by pool, in dollars; only with per-tenant labels on.",
                &["tenant", "pool"],
            )?,
            pool_job_cost: dollars("hodei_pool_job_cost_dollars_total", "Job cost charged on the pool's workers, in dollars.", &["pool"])?,
            pool_idle_cost: dollars("hodei_pool_idle_cost_dollars_total", "Idle worker cost of the pool, in dollars.", &["pool"])?,
            sla_started: count("hodei_sla_jobs_started_total", "Jobs started for the first time (their wait recorded).")?,
            sla_met: count("hodei_sla_jobs_met_total", "Jobs that started within their wait target.")?,
            scaling,
            wait,
            seen: Mutex::new(Seen::default()),
        })
    }

    /// Adds what the ledgers gained since the last call. Call under the state's
    /// read lock; reads only the last two hours of buckets after the first call.
    pub(super) fn observe(&self, state: &State) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let seen = &mut *seen;
        for pool in state.pools() {
            let id = pool.id.0.as_str();
            self.pool_job_cost.with_label_values(&[id]);
            self.pool_idle_cost.with_label_values(&[id]);
            for direction in ["up", "down"] {
                self.scaling.with_label_values(&[id, direction]);
            }
            self.count_scaling(&pool.id, &pool.history, &mut seen.last_scaling);
        }
        let ledger = state.cost_ledger();
        let first = (seen.jobs.from_hour(), TenantId(0), PoolId(String::new()));
        for ((hour, tenant, pool), b) in ledger.jobs.range(first..) {
            // The series exist from the first charge on, even one that rounds to 0.
            let dollars = seen.jobs.grew(*hour, &(*tenant, pool.clone()), b.cost_nanos) as f64 / NANOS_PER_DOLLAR;
            self.pool_job_cost.with_label_values(&[pool.0.as_str()]).inc_by(dollars);
            if self.per_tenant_labels {
                self.tenant_cost.with_label_values(&[tenant.to_string().as_str(), pool.0.as_str()]).inc_by(dollars);
            }
        }
        for ((hour, pool), b) in ledger.idle.range((seen.idle.from_hour(), PoolId(String::new()))..) {
            let dollars = seen.idle.grew(*hour, pool, b.cost_nanos) as f64 / NANOS_PER_DOLLAR;
            self.pool_idle_cost.with_label_values(&[pool.0.as_str()]).inc_by(dollars);
        }
        let from = seen.sla_started.from_hour().min(seen.sla_met.from_hour());
        for ((hour, tenant), b) in state.sla_ledger().buckets.range((from, TenantId(0))..) {
            self.sla_started.inc_by(seen.sla_started.grew(*hour, tenant, b.started));
            self.sla_met.inc_by(seen.sla_met.grew(*hour, tenant, b.met));
            self.wait.add_wait_ms(seen.sla_wait_ms.grew(*hour, tenant, b.wait_ms_sum));
            for (bin, n) in b.bins.iter().enumerate().take(super::wait::BINS) {
                self.wait.add(bin, seen.sla_bins.grew(*hour, &(*tenant, bin), *n));
            }
        }
        seen.jobs.forget_settled();
        seen.idle.forget_settled();
        seen.sla_started.forget_settled();
        seen.sla_met.forget_settled();
        seen.sla_wait_ms.forget_settled();
        seen.sla_bins.forget_settled();
    }

    /// Counts the events after the newest one seen last time (all of them when
    /// it has been dropped from the bounded history, or on the first call).
    fn count_scaling(&self, pool: &PoolId, history: &[ScalingEvent], last: &mut BTreeMap<PoolId, (u64, u32, u32)>) {
        let key = |e: &ScalingEvent| (e.at_ms, e.from, e.to);
        let start = last
            .get(pool)
            .and_then(|l| history.iter().rposition(|e| key(e) == *l))
            .map_or(0, |i| i + 1);
        for e in &history[start..] {
            if e.to != e.from {
                let direction = if e.to > e.from { "up" } else { "down" };
                self.scaling.with_label_values(&[pool.0.as_str(), direction]).inc();
            }
        }
        if let Some(e) = history.last() {
            last.insert(pool.clone(), key(e));
        }
    }
}

/// The registry owns its collectors; the ledger keeps a handle on the same one.
struct SharedWait(std::sync::Arc<super::wait::WaitHistogram>);

impl prometheus::core::Collector for SharedWait {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.0.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_counts_each_bucket_once_and_forgets_settled_hours() {
        let mut g: Growth<u32> = Growth::default();
        assert_eq!(g.from_hour(), 0, "the first scrape reads the whole ledger");
        assert_eq!(g.grew(0, &1, 5), 5);
        assert_eq!(g.grew(0, &1, 7), 2, "only the growth since the last scrape");
        assert_eq!(g.grew(0, &1, 7), 0);
        assert_eq!(g.grew(2 * HOUR_MS, &1, 3), 3, "a new hour's bucket counts from 0");
        g.forget_settled();
        assert_eq!(g.from_hour(), HOUR_MS);
        assert!(g.values.keys().all(|(h, _)| *h >= HOUR_MS), "hour 0 can no longer change");
    }

    fn event(at_ms: u64, from: u32, to: u32) -> ScalingEvent {
        ScalingEvent { at_ms, from, to, reason: String::new(), automatic: true, policy: None }
    }

    #[test]
    fn scaling_events_count_once_by_direction_even_when_the_history_rolls_over() {
        let c = LedgerCounters::register(&Registry::new(), true).unwrap();
        let pool = PoolId("gpu".into());
        let mut last = BTreeMap::new();
        let count = |d: &str| c.scaling.with_label_values(&["gpu", d]).get();
        c.count_scaling(&pool, &[event(1, 0, 2), event(2, 2, 1)], &mut last);
        assert_eq!((count("up"), count("down")), (1, 1));
        // The bounded history dropped the first event and gained two.
        c.count_scaling(&pool, &[event(2, 2, 1), event(3, 1, 3), event(4, 3, 3)], &mut last);
        assert_eq!((count("up"), count("down")), (2, 1), "a no-op event has no direction");
        c.count_scaling(&pool, &[event(2, 2, 1), event(3, 1, 3), event(4, 3, 3)], &mut last);
        assert_eq!((count("up"), count("down")), (2, 1), "nothing new, nothing counted");
    }
}
