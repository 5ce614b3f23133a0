//! SLA: wait-time targets (enqueue to first start) and compliance.
//!
//! The target of a job is the most specific one set, in this order:
//! 1. its tenant's target for the job's priority ([`SlaTargets::tenants`]);
//! 2. its tenant's `sla_wait_ms`;
//! 3. the cluster's target for the job's priority ([`SlaTargets::cluster`]);
//! 4. the cluster's `scheduling.default_sla_wait_ms`.
//!
//! At a job's first start its wait is recorded in the (hour, tenant) bucket:
//! count, met, sum, max and a fixed histogram from which p95 is read (as the
//! upper edge of its bin). A job whose priority has a target (cluster-wide or
//! its tenant's) is also recorded in the (hour, priority, tenant) bucket, so
//! compliance can be read per priority; the set of priorities with a target is
//! small and bounded ([`MAX_SLA_TARGETS`] per scope), and so is that ledger.
//! Buckets are pruned with cost retention.

use std::collections::BTreeMap;

use crate::cost::{hour_of, HOUR_MS};
use crate::ids::TenantId;
use crate::model::Job;
use crate::state::State;
use serde::{Deserialize, Serialize};

/// Upper edges (ms) of the wait histogram's bins; the last bin is open.
pub const WAIT_BINS_MS: [u64; 11] = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaBucket {
    pub started: u64,
    pub met: u64,
    pub wait_ms_sum: u64,
    pub max_wait_ms: u64,
    pub bins: [u64; 12],
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaLedger {
    pub buckets: BTreeMap<(u64, TenantId), SlaBucket>,
}

/// Compliance per (hour, priority, tenant), for jobs whose priority has a
/// target. Added in state snapshot format 5.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityLedger {
    pub buckets: BTreeMap<(u64, i32, TenantId), SlaBucket>,
}

/// Wait targets per priority, cluster-wide and per tenant (ms). Set with
/// `SetSlaTargets`; added in state snapshot format 5.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTargets {
    pub cluster: BTreeMap<i32, u64>,
    /// Only tenants with at least one target; a deleted tenant's go with it.
    pub tenants: BTreeMap<TenantId, BTreeMap<i32, u64>>,
}

/// Targets one scope (the cluster or a tenant) may hold.
pub const MAX_SLA_TARGETS: usize = 64;
/// The longest wait target: 7 days.
pub const MAX_SLA_WAIT_MS: u64 = 7 * 86_400_000;
/// Priorities a target may name (the range a job's priority may take).
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;

/// Why a set of per-priority targets cannot be recorded, if it cannot.
pub fn check_targets(by_priority: &BTreeMap<i32, u64>) -> Result<(), String> {
    if by_priority.len() > MAX_SLA_TARGETS {
        return Err(format!("at most {MAX_SLA_TARGETS} priority targets per scope, got {}", by_priority.len()));
    }
    for (p, ms) in by_priority {
        if !PRIORITY_RANGE.contains(p) {
            return Err(format!("priority {p} is outside {}..={}", PRIORITY_RANGE.start(), PRIORITY_RANGE.end()));
        }
        if !(1..=MAX_SLA_WAIT_MS).contains(ms) {
            return Err(format!("the target of priority {p} must be 1 to {MAX_SLA_WAIT_MS} ms, got {ms}"));
        }
    }
    Ok(())
}

/// The wait target of `job` in ms (see the module docs for the order).
pub fn target_ms(state: &State, job: &Job) -> u64 {
    target_for(state, Some(job.tenant_id), job.spec.priority)
}

/// The wait target of a job of `priority` from `tenant` (`None`: a tenant
/// with no targets of its own).
pub fn target_for(state: &State, tenant: Option<TenantId>, priority: i32) -> u64 {
    let targets = &state.sla_targets;
    tenant
        .and_then(|t| targets.tenants.get(&t))
        .and_then(|m| m.get(&priority).copied())
        .or_else(|| tenant.and_then(|t| state.tenants.get(&t)).and_then(|t| t.sla_wait_ms))
        .or_else(|| targets.cluster.get(&priority).copied())
        .unwrap_or(state.settings.scheduling.default_sla_wait_ms)
}

/// The smallest target any job could have: no job is due for the SLA boost
/// before it has waited its share of this.
pub fn smallest_target_ms(state: &State) -> u64 {
    let tenants = state.tenants.values().filter_map(|t| t.sla_wait_ms);
    let cluster = state.sla_targets.cluster.values().copied();
    let per_tenant = state.sla_targets.tenants.values().flat_map(|m| m.values().copied());
    tenants.chain(cluster).chain(per_tenant).fold(state.settings.scheduling.default_sla_wait_ms, u64::min)
}

/// Whether `priority` has a target in the cluster's scope or `tenant`'s.
fn priority_has_target(state: &State, tenant: TenantId, priority: i32) -> bool {
    let t = &state.sla_targets;
    t.cluster.contains_key(&priority) || t.tenants.get(&tenant).is_some_and(|m| m.contains_key(&priority))
}

impl SlaBucket {
    fn record(&mut self, wait: u64, target: u64) {
        self.started += 1;
        self.met += u64::from(wait <= target);
        self.wait_ms_sum = self.wait_ms_sum.saturating_add(wait);
        self.max_wait_ms = self.max_wait_ms.max(wait);
        let bin = WAIT_BINS_MS.iter().position(|&e| wait <= e).unwrap_or(WAIT_BINS_MS.len());
        self.bins[bin] += 1;
    }

    fn add(&mut self, b: &SlaBucket) {
        self.started += b.started;
        self.met += b.met;
        self.wait_ms_sum = self.wait_ms_sum.saturating_add(b.wait_ms_sum);
        self.max_wait_ms = self.max_wait_ms.max(b.max_wait_ms);
        for (a, x) in self.bins.iter_mut().zip(b.bins) {
            *a += x;
        }
    }
}

pub(crate) fn record_start(state: &mut State, job: &Job, now: u64) {
    let wait = now.saturating_sub(job.submitted_at_ms);
    let target = target_ms(state, job);
    let (hour, tenant, priority) = (hour_of(now), job.tenant_id, job.spec.priority);
    state.sla.buckets.entry((hour, tenant)).or_default().record(wait, target);
    if priority_has_target(state, tenant, priority) {
        state.sla_by_priority.buckets.entry((hour, priority, tenant)).or_default().record(wait, target);
    }
}

/// Drops up to `max` buckets older than `horizon_ms`, the tenant ledger's first.
pub(crate) fn prune(state: &mut State, horizon_ms: u64, max: usize) -> u32 {
    let expired = |hour: u64| hour.saturating_add(HOUR_MS) <= horizon_ms;
    let mut n = 0;
    while n < max {
        match state.sla.buckets.first_key_value() {
            Some((&k, _)) if expired(k.0) => state.sla.buckets.remove(&k),
            _ => break,
        };
        n += 1;
    }
    while n < max {
        match state.sla_by_priority.buckets.first_key_value() {
            Some((&k, _)) if expired(k.0) => state.sla_by_priority.buckets.remove(&k),
            _ => break,
        };
        n += 1;
    }
    n as u32
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    pub started: u64,
    pub met: u64,
    /// Jobs that started later than their target.
    pub violations: u64,
    /// met / started x 100 (100 when nothing started).
    pub compliance_percent: f64,
    pub mean_wait_ms: u64,
    /// Upper edge of the histogram bin holding the 95th percentile.
    pub p95_wait_ms: u64,
    pub max_wait_ms: u64,
    /// Jobs queued now that have already waited past their target.
    pub pending_over_target: u64,
}

/// Compliance over `[from_ms, to_ms)` (whole hours) for one tenant or all,
/// and for one priority or all. A priority's figures cover the jobs that
/// started while it had a target (see [`PriorityLedger`]).
pub fn report(state: &State, tenant: Option<TenantId>, priority: Option<i32>, from_ms: u64, to_ms: u64, now_ms: u64) -> SlaReport {
    let from = hour_of(from_ms);
    let mut sum = SlaBucket::default();
    match priority {
        None => state
            .sla
            .buckets
            .range((from, TenantId(0))..)
            .take_while(|((hour, _), _)| *hour < to_ms)
            .filter(|((_, t), _)| tenant.is_none_or(|x| x == *t))
            .for_each(|(_, b)| sum.add(b)),
        Some(p) => state
            .sla_by_priority
            .buckets
            .range((from, i32::MIN, TenantId(0))..)
            .take_while(|((hour, _, _), _)| *hour < to_ms)
            .filter(|((_, q, t), _)| *q == p && tenant.is_none_or(|x| x == *t))
            .for_each(|(_, b)| sum.add(b)),
    }
    let p95_rank = (sum.started * 95).div_ceil(100);
    let mut seen = 0;
    let mut p95 = 0;
    for (i, n) in sum.bins.iter().enumerate() {
        seen += n;
        if sum.started > 0 && seen >= p95_rank {
            p95 = WAIT_BINS_MS.get(i).copied().unwrap_or(sum.max_wait_ms);
            break;
        }
    }
    let pending_over_target = state
        .queue
        .tenants
        .iter()
        .filter(|(t, _)| tenant.is_none_or(|x| x == **t))
        .flat_map(|(_, q)| q.jobs.iter())
        .filter_map(|&(_, id)| state.jobs.get(id))
        .filter(|j| priority.is_none_or(|p| p == j.spec.priority))
        .filter(|j| now_ms.saturating_sub(j.submitted_at_ms) > target_ms(state, j))
        .count() as u64;
    SlaReport {
        started: sum.started,
        met: sum.met,
        violations: sum.started - sum.met,
        compliance_percent: if sum.started == 0 { 100.0 } else { sum.met as f64 * 100.0 / sum.started as f64 },
        mean_wait_ms: sum.wait_ms_sum.checked_div(sum.started).unwrap_or(0),
        p95_wait_ms: p95,
        max_wait_ms: sum.max_wait_ms,
        pending_over_target,
    }
}
