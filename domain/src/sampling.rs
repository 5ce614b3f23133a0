//! What the leader's `RecordSamples` records: one sample per pool and per
//! tracked tenant, computed by `apply` from the state itself (so every node
//! records the same numbers), kept in bounded [`Series`].
//!
//! Bounds with many tenants: a tenant gets a series only while there is room
//! among `history.max_tenant_series` (default 50, at most 200). A tenant with
//! queued or placed jobs when a sample is taken is *active*; an active tenant
//! without a series takes a free slot or, when none is free, the slot of the
//! tracked tenant that has been inactive longest (ties: the lowest id). A
//! tracked tenant keeps being sampled (zeros included) until it is evicted or
//! deleted. So memory is bounded by `(pools + max_tenant_series) x
//! history::max_points()` points whatever the number of tenants, and each
//! sample costs O(workers + active tenants + tracked series).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cost::hour_of;
use crate::history::{Series, Values, FIELDS};
use crate::ids::{PoolId, TenantId};
use crate::model::WorkerState;
use crate::observability::MAX_POOL_SERIES;
use crate::state::State;

/// The fields of a pool sample, in order.
pub const POOL_FIELDS: [&str; FIELDS] =
    ["workers", "target_size", "busy_workers", "idle_workers", "queue_depth", "cpu_reserved_percent"];
/// The fields of a tenant sample, in order.
pub const TENANT_FIELDS: [&str; FIELDS] =
    ["queued_jobs", "running_jobs", "cpu_m_used", "memory_mb_used", "quota_used_percent", "cost_nanos_this_hour"];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSeries {
    /// The last sample time at which the tenant was active.
    pub last_active_ms: u64,
    pub series: Series,
}

/// Every series, and when the last sample was taken.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricHistory {
    pub last_sample_ms: Option<u64>,
    pub pools: BTreeMap<PoolId, Series>,
    pub tenants: BTreeMap<TenantId, TenantSeries>,
}

impl MetricHistory {
    pub fn pool(&self, id: &PoolId) -> Option<&Series> {
        self.pools.get(id)
    }

    pub fn tenant(&self, id: TenantId) -> Option<&TenantSeries> {
        self.tenants.get(&id)
    }

    /// Points held over all series (for tests and metrics).
    pub fn points(&self) -> usize {
        self.pools.values().map(Series::len).sum::<usize>() + self.tenants.values().map(|t| t.series.len()).sum::<usize>()
    }
}

/// One sample of every pool (at most [`MAX_POOL_SERIES`], in id order): a
/// single pass over the workers.
pub(crate) fn pool_samples(state: &State) -> BTreeMap<PoolId, Values> {
    let mut out: BTreeMap<PoolId, (Values, u64, u64)> = state
        .pools
        .values()
        .take(MAX_POOL_SERIES)
        .map(|p| {
            let depth = state.pending_for_pool(Some(&p.id)) + state.pending_for_pool(None);
            (p.id.clone(), ([0, u64::from(p.target_size), 0, 0, depth, 0], 0, 0))
        })
        .collect();
    for w in state.workers.values().filter(|w| w.state != WorkerState::Lost) {
        if let Some((v, cap, used)) = out.get_mut(&w.pool) {
            v[0] += 1;
            if w.jobs.is_empty() {
                v[3] += 1;
            } else {
                v[2] += 1;
            }
            *cap += w.cpu_m;
            *used += w.used_cpu_m;
        }
    }
    out.into_iter()
        .map(|(id, (mut v, cap, used))| {
            v[5] = percent(used, cap);
            (id, v)
        })
        .collect()
}

/// One sample of tenant `t` at `now`.
pub(crate) fn tenant_sample(state: &State, t: TenantId, now: u64) -> Values {
    let queued = state.queue.tenant(t).map_or(0, |q| q.len() as u64);
    let running = state.running.get(&t).copied().unwrap_or_default();
    let quota_pct = state.tenants.get(&t).map_or(0, |x| percent(running.cpu_m, x.quota.cpu_m).max(percent(running.memory_mb, x.quota.memory_mb)));
    let hour = hour_of(now);
    let cost = state
        .cost
        .jobs
        .range((hour, t, PoolId(String::new()))..)
        .take_while(|((h, tt, _), _)| *h == hour && *tt == t)
        .fold(0u64, |acc, (_, b)| acc.saturating_add(b.cost_nanos));
    [queued, u64::from(running.jobs), running.cpu_m, running.memory_mb, quota_pct, cost]
}

fn percent(used: u64, cap: u64) -> u64 {
    if cap == 0 {
        0
    } else {
        (u128::from(used) * 100 / u128::from(cap)) as u64
    }
}

/// Which tenants are sampled at this round: the tracked ones that still exist,
/// then active newcomers while there is room or an inactive one to evict.
/// Returns (tenants to sample, tenants active now).
pub(crate) fn choose_tenants(state: &mut State) -> (Vec<TenantId>, BTreeSet<TenantId>) {
    let cap = state.observability.history.max_tenant_series as usize;
    let active: BTreeSet<TenantId> = state.usage.keys().copied().filter(|t| state.tenants.contains_key(t)).collect();
    let tenants = &state.tenants;
    let tracked = &mut state.history.tenants;
    tracked.retain(|t, _| tenants.contains_key(t));
    // A lowered cap evicts the longest-inactive first.
    while tracked.len() > cap {
        let Some(victim) = longest_inactive(tracked, &BTreeSet::new()) else { break };
        tracked.remove(&victim);
    }
    for &t in active.iter().filter(|t| !tracked.contains_key(t)).collect::<Vec<_>>() {
        if tracked.len() >= cap {
            match longest_inactive(tracked, &active) {
                Some(victim) => tracked.remove(&victim),
                None => break,
            };
        }
        tracked.insert(t, TenantSeries::default());
    }
    (tracked.keys().copied().collect(), active)
}

/// The tracked tenant, not in `active`, with the oldest `last_active_ms`.
fn longest_inactive(tracked: &BTreeMap<TenantId, TenantSeries>, active: &BTreeSet<TenantId>) -> Option<TenantId> {
    tracked.iter().filter(|(t, _)| !active.contains(t)).min_by_key(|(t, s)| (s.last_active_ms, **t)).map(|(t, _)| *t)
}
