//! Cost tracking per `cost_tracking`, in integer nano-dollars.
//!
//! - A job attempt costs `run time x (cores x hourly_rate_cpu + GiB x
//!   hourly_rate_memory_gb)`, on the resources it reserved; it is charged when
//!   the attempt ends (finish report, cancel, timeout) to the hour bucket of
//!   that moment, keyed by (hour, tenant, pool). A run cut short by a lost
//!   worker has no report and is not charged.
//! - Idle policy: a worker that runs nothing costs its pool's
//!   `worker_hourly_cost` (or its capacity at the rates) for the idle time; that
//!   cost belongs to the pool, never to a tenant. Partly used workers are not
//!   idle. Idle time is charged when it ends and at every `Tick`.
//! - Buckets older than `retention_days` are pruned; `job_total_nanos` and
//!   `idle_total_nanos` always equal the sum of the live buckets.

use std::collections::BTreeMap;

use crate::ids::{JobId, PoolId, TenantId};
use crate::model::RunUsage;
use crate::state::State;
use serde::{Deserialize, Serialize};

pub const HOUR_MS: u64 = 3_600_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostBucket {
    pub cost_nanos: u64,
    pub attempts: u64,
    pub run_ms: u64,
    /// Reserved cpu x time (milli-cores x ms) and what was used (cpu ms x 1000).
    pub reserved_cpu_mms: u128,
    pub used_cpu_mms: u128,
    /// Reserved memory x time (MiB x ms) and peak memory x time (MiB x ms).
    pub reserved_memory_mbms: u128,
    pub peak_memory_mbms: u128,
    /// Attempts placed beyond the base quota, under a burst lease.
    pub burst_attempts: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleBucket {
    pub idle_ms: u64,
    pub cost_nanos: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLedger {
    /// (hour start ms, tenant, pool) -> job costs. Tenant 0 / pool "" when the
    /// corresponding `track_by_*` is off.
    pub jobs: BTreeMap<(u64, TenantId, PoolId), CostBucket>,
    /// (hour start ms, pool) -> idle worker cost.
    pub idle: BTreeMap<(u64, PoolId), IdleBucket>,
    pub job_total_nanos: u128,
    pub idle_total_nanos: u128,
}

/// Cost of holding `cpu_m` and `memory_mb` for `ms` at the rates (nano-dollars).
pub fn price(cpu_m: u64, memory_mb: u64, ms: u64, rate_cpu: u64, rate_mem_gb: u64) -> u64 {
    // cores x rate = cpu_m x rate / 1000; GiB x rate = memory_mb x rate / 1024.
    let per_hour_x = u128::from(cpu_m) * u128::from(rate_cpu) * 1024 + u128::from(memory_mb) * u128::from(rate_mem_gb) * 1000;
    let v = per_hour_x * u128::from(ms) / (u128::from(HOUR_MS) * 1000 * 1024);
    u64::try_from(v).unwrap_or(u64::MAX)
}

pub fn hour_of(ms: u64) -> u64 {
    ms - ms % HOUR_MS
}

/// Charges one attempt of `job` that ran `run_ms`.
pub(crate) fn charge(state: &mut State, now: u64, id: JobId, run_ms: u64, usage: Option<RunUsage>) {
    let s = state.settings.cost_tracking;
    if !s.enabled {
        return;
    }
    let Some(job) = state.jobs.get(id) else { return };
    let (cpu, mem) = (job.spec.cpu_m, job.spec.memory_mb);
    let cost = price(cpu, mem, run_ms, s.hourly_rate_cpu_nanos, s.hourly_rate_memory_gb_nanos);
    let placement = job.execution.placement;
    let pool = placement
        .and_then(|p| state.workers.get(&p.worker))
        .map(|w| w.pool.clone())
        .filter(|_| s.track_by_pool)
        .unwrap_or_else(|| PoolId(String::new()));
    let tenant = if s.track_by_tenant { job.tenant_id } else { TenantId(0) };
    let b = state.cost.jobs.entry((hour_of(now), tenant, pool)).or_default();
    b.cost_nanos = b.cost_nanos.saturating_add(cost);
    b.attempts += 1;
    b.run_ms = b.run_ms.saturating_add(run_ms);
    b.reserved_cpu_mms += u128::from(cpu) * u128::from(run_ms);
    b.reserved_memory_mbms += u128::from(mem) * u128::from(run_ms);
    if let Some(u) = usage {
        b.used_cpu_mms += u128::from(u.cpu_ms) * 1000;
        b.peak_memory_mbms += u128::from(u.peak_memory_kb / 1024) * u128::from(run_ms);
    } else {
        // Unknown use: count it as fully used, so no right-sizing advice follows.
        b.used_cpu_mms += u128::from(cpu) * u128::from(run_ms);
        b.peak_memory_mbms += u128::from(mem) * u128::from(run_ms);
    }
    if placement.is_some_and(|p| p.under_burst) {
        b.burst_attempts += 1;
    }
    state.cost.job_total_nanos += u128::from(cost);
    if s.track_by_job {
        if let Some(job) = state.jobs.get_mut(id) {
            job.execution.cost_nanos = job.execution.cost_nanos.saturating_add(cost);
        }
    }
}

/// Charges a worker's idle time `[since, now)` to its pool, split at hour
/// boundaries so each hour's bucket gets its share.
pub(crate) fn charge_idle(state: &mut State, pool: &PoolId, cpu_m: u64, memory_mb: u64, since: u64, now: u64) {
    let s = state.settings.cost_tracking;
    if !s.enabled || now <= since {
        return;
    }
    let hourly = state.pools.get(pool).and_then(|p| p.worker_hourly_cost_nanos);
    let key_pool = if s.track_by_pool { pool.clone() } else { PoolId(String::new()) };
    let mut t = since;
    while t < now {
        let end = (hour_of(t) + HOUR_MS).min(now);
        let ms = end - t;
        let cost = match hourly {
            Some(h) => u64::try_from(u128::from(h) * u128::from(ms) / u128::from(HOUR_MS)).unwrap_or(u64::MAX),
            None => price(cpu_m, memory_mb, ms, s.hourly_rate_cpu_nanos, s.hourly_rate_memory_gb_nanos),
        };
        let b = state.cost.idle.entry((hour_of(t), key_pool.clone())).or_default();
        b.idle_ms = b.idle_ms.saturating_add(ms);
        b.cost_nanos = b.cost_nanos.saturating_add(cost);
        state.cost.idle_total_nanos += u128::from(cost);
        t = end;
    }
}

/// Drops buckets of hours that ended before `horizon_ms`; returns how many.
pub(crate) fn prune(state: &mut State, horizon_ms: u64, max: usize) -> u32 {
    let mut n = 0;
    n += prune_map(&mut state.cost.jobs, horizon_ms, max, |k| k.0, |b| b.cost_nanos, &mut state.cost.job_total_nanos);
    n += prune_map(&mut state.cost.idle, horizon_ms, max, |k| k.0, |b| b.cost_nanos, &mut state.cost.idle_total_nanos);
    n as u32
}

fn prune_map<K: Ord + Clone, V>(map: &mut BTreeMap<K, V>, horizon_ms: u64, max: usize, hour: impl Fn(&K) -> u64, cost: impl Fn(&V) -> u64, total: &mut u128) -> usize {
    let mut n = 0;
    while n < max {
        let Some((k, v)) = map.first_key_value() else { break };
        if hour(k).saturating_add(HOUR_MS) > horizon_ms {
            break;
        }
        *total = total.saturating_sub(u128::from(cost(v)));
        let k = k.clone();
        map.remove(&k);
        n += 1;
    }
    n
}
