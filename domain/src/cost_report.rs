//! Cost reports for a period and optimisation recommendations, pure reads of
//! the cost ledger (see [`crate::cost`] for what is charged and when).

use std::collections::BTreeMap;

use crate::cost::{hour_of, price, HOUR_MS};
use crate::ids::{PoolId, TenantId};
use crate::state::State;
use serde::{Deserialize, Serialize};

const DAY_MS: u64 = 24 * HOUR_MS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    LastDay,
    LastWeek,
    LastMonth,
    /// `[from_ms, to_ms)`, whole hours.
    Range { from_ms: u64, to_ms: u64 },
}

impl Period {
    /// Parses `last_day`, `last_week`, `last_month`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "last_day" => Some(Period::LastDay),
            "last_week" => Some(Period::LastWeek),
            "last_month" => Some(Period::LastMonth),
            _ => None,
        }
    }

    /// The period's bounds at `now_ms` (the current hour included).
    pub fn bounds(self, now_ms: u64) -> (u64, u64) {
        let end = hour_of(now_ms).saturating_add(HOUR_MS);
        match self {
            Period::LastDay => (end.saturating_sub(DAY_MS), end),
            Period::LastWeek => (end.saturating_sub(7 * DAY_MS), end),
            Period::LastMonth => (end.saturating_sub(30 * DAY_MS), end),
            Period::Range { from_ms, to_ms } => (from_ms, to_ms.max(from_ms)),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    pub from_ms: u64,
    pub to_ms: u64,
    pub job_cost_nanos: u128,
    pub idle_cost_nanos: u128,
    pub by_tenant: BTreeMap<TenantId, u128>,
    pub by_pool: BTreeMap<PoolId, u128>,
    pub idle_by_pool: BTreeMap<PoolId, u128>,
    pub attempts: u64,
    pub run_ms: u64,
}

/// Costs over `period`, optionally for one tenant or one pool (idle cost only
/// has pools: it is left out of tenant reports).
pub fn report(state: &State, period: Period, tenant: Option<TenantId>, pool: Option<&PoolId>, now_ms: u64) -> CostReport {
    let (from, to) = period.bounds(now_ms);
    let mut r = CostReport { from_ms: from, to_ms: to, ..Default::default() };
    let start = (hour_of(from), TenantId(0), PoolId(String::new()));
    for ((hour, t, p), b) in state.cost.jobs.range(start..) {
        if *hour >= to {
            break;
        }
        if tenant.is_some_and(|x| x != *t) || pool.is_some_and(|x| x != p) {
            continue;
        }
        r.job_cost_nanos += u128::from(b.cost_nanos);
        *r.by_tenant.entry(*t).or_default() += u128::from(b.cost_nanos);
        *r.by_pool.entry(p.clone()).or_default() += u128::from(b.cost_nanos);
        r.attempts += b.attempts;
        r.run_ms = r.run_ms.saturating_add(b.run_ms);
    }
    if tenant.is_none() {
        for ((hour, p), b) in state.cost.idle.range((hour_of(from), PoolId(String::new()))..) {
            if *hour >= to {
                break;
            }
            if pool.is_some_and(|x| x != p) {
                continue;
            }
            r.idle_cost_nanos += u128::from(b.cost_nanos);
            *r.idle_by_pool.entry(p.clone()).or_default() += u128::from(b.cost_nanos);
        }
    }
    r
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RecommendationKind {
    /// A pool's workers sit idle: lower `min_size`.
    LowerPoolMinSize { pool: PoolId, to: u32 },
    /// A tenant never comes near its quota: lower it.
    LowerQuota { tenant: TenantId, cpu_m: u64, memory_mb: u64 },
    /// A tenant's jobs reserve far more than they use: request less.
    RightSizeJobs { tenant: TenantId, used_cpu_percent: u32, used_memory_percent: u32 },
    /// A tenant runs much of its work on burst leases: raise its base quota.
    /// The saving is the idle cost its burst runs left in dynamic pools.
    RaiseQuotaInsteadOfBurst { tenant: TenantId, burst_percent: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    pub kind: RecommendationKind,
    pub reason: String,
    /// Estimated saving over a 30-day month at the period's rate, nano-dollars.
    pub estimated_monthly_savings_nanos: u64,
}

fn monthly(nanos: u128, period_ms: u64) -> u64 {
    u64::try_from(nanos * u128::from(30 * DAY_MS) / u128::from(period_ms.max(HOUR_MS))).unwrap_or(u64::MAX)
}

/// Recommendations from the last week's ledger (optionally for one pool).
pub fn recommendations(state: &State, pool: Option<&PoolId>, now_ms: u64) -> Vec<Recommendation> {
    let (from, to) = Period::LastWeek.bounds(now_ms);
    let span = to - from;
    let mut out = Vec::new();
    let week = report(state, Period::LastWeek, None, pool, now_ms);
    for (p, idle) in &week.idle_by_pool {
        let Some(def) = state.pools.get(p) else { continue };
        let busy = week.by_pool.get(p).copied().unwrap_or(0);
        if def.min_size > 0 && *idle > busy {
            let to = def.min_size / 2;
            let saving = idle * u128::from(def.min_size - to) / u128::from(def.min_size);
            out.push(Recommendation {
                kind: RecommendationKind::LowerPoolMinSize { pool: p.clone(), to },
                reason: format!("idle workers cost more than the jobs run in {p} last week"),
                estimated_monthly_savings_nanos: monthly(saving, span),
            });
        }
    }
    if pool.is_some() {
        return out;
    }
    let rates = state.settings.cost_tracking;
    let mut per_tenant: BTreeMap<TenantId, crate::cost::CostBucket> = BTreeMap::new();
    let mut pool_attempts: BTreeMap<(u64, &PoolId), u64> = BTreeMap::new();
    for ((hour, t, p), b) in state.cost.jobs.range((hour_of(from), TenantId(0), PoolId(String::new()))..) {
        if *hour >= to {
            break;
        }
        *pool_attempts.entry((*hour, p)).or_default() += b.attempts;
        let a = per_tenant.entry(*t).or_default();
        a.cost_nanos += b.cost_nanos;
        a.attempts += b.attempts;
        a.reserved_cpu_mms += b.reserved_cpu_mms;
        a.used_cpu_mms += b.used_cpu_mms;
        a.reserved_memory_mbms += b.reserved_memory_mbms;
        a.peak_memory_mbms += b.peak_memory_mbms;
        a.burst_attempts += b.burst_attempts;
    }
    for (t, a) in &per_tenant {
        let pct = |used: u128, of: u128| (used * 100).checked_div(of).map_or(100, |v| v.min(100) as u32);
        let (cpu_pct, mem_pct) = (pct(a.used_cpu_mms, a.reserved_cpu_mms), pct(a.peak_memory_mbms, a.reserved_memory_mbms));
        if a.attempts >= 10 && (cpu_pct < 25 || mem_pct < 25) {
            // Conservative: only what neither resource used could be saved.
            let waste = u128::from(a.cost_nanos) * u128::from(100 - cpu_pct.max(mem_pct)) / 100;
            out.push(Recommendation {
                kind: RecommendationKind::RightSizeJobs { tenant: *t, used_cpu_percent: cpu_pct, used_memory_percent: mem_pct },
                reason: format!("{t}'s jobs used {cpu_pct}% of reserved cpu and {mem_pct}% of reserved memory"),
                estimated_monthly_savings_nanos: monthly(waste, span),
            });
        }
        let burst_pct = (a.burst_attempts * 100).checked_div(a.attempts).unwrap_or(0) as u32;
        if a.attempts >= 10 && burst_pct >= 50 {
            out.push(Recommendation {
                kind: RecommendationKind::RaiseQuotaInsteadOfBurst { tenant: *t, burst_percent: burst_pct },
                reason: format!("{burst_pct}% of {t}'s runs needed a burst lease last week"),
                estimated_monthly_savings_nanos: monthly(burst_idle_cost(state, *t, (from, to), &pool_attempts), span),
            });
        }
        if let Some(tenant) = state.tenants.get(t) {
            // Peak concurrent reservation is not tracked; the mean is a floor.
            let mean_cpu = u64::try_from(a.reserved_cpu_mms / u128::from(span)).unwrap_or(u64::MAX);
            if mean_cpu.saturating_mul(10) < tenant.quota.cpu_m && tenant.quota.cpu_m > 1_000 {
                let unused = tenant.quota.cpu_m - mean_cpu.saturating_mul(2);
                out.push(Recommendation {
                    kind: RecommendationKind::LowerQuota { tenant: *t, cpu_m: mean_cpu.saturating_mul(2).max(1_000), memory_mb: tenant.quota.memory_mb },
                    reason: format!("{t} reserved {mean_cpu} cpu_m on average of a {} cpu_m quota", tenant.quota.cpu_m),
                    estimated_monthly_savings_nanos: price(unused, 0, 30 * DAY_MS, rates.hourly_rate_cpu_nanos, 0),
                });
            }
        }
    }
    out
}

/// What a tenant that lives on burst leases saves with a higher base quota
/// instead, over `[from, to)`: the idle cost of the dynamic pools that ran its
/// burst work, in the hours it ran there, in proportion to its burst runs'
/// share of all runs in that pool and hour.
///
/// Why idle cost: a run costs the same with or without a lease (the rates do
/// not depend on it), so the run costs are not a saving. Burst demand is
/// unplanned, though: dynamic workers are scaled up for it and then sit idle
/// through the scale-down cooldown and the minimum worker lifetime. A base
/// quota is demand the operator can plan warm capacity for. Static pools keep
/// their workers anyway, so their idle cost is not counted; hours without
/// pool tracking (`track_by_pool` off) count nothing.
fn burst_idle_cost(state: &State, tenant: TenantId, (from, to): (u64, u64), pool_attempts: &BTreeMap<(u64, &PoolId), u64>) -> u128 {
    let mut saving = 0u128;
    for ((hour, t, p), b) in state.cost.jobs.range((hour_of(from), tenant, PoolId(String::new()))..) {
        if *hour >= to {
            break;
        }
        if *t != tenant || b.burst_attempts == 0 || state.pools.get(p).is_none_or(|p| p.kind != crate::pool::PoolKind::Dynamic) {
            continue;
        }
        let all = pool_attempts.get(&(*hour, p)).copied().unwrap_or(0).max(b.burst_attempts);
        let idle = state.cost.idle.get(&(*hour, p.clone())).map_or(0, |i| i.cost_nanos);
        saving += u128::from(idle) * u128::from(b.burst_attempts) / u128::from(all);
    }
    saving
}
