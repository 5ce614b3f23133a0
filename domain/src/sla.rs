//! SLA: wait-time targets (enqueue to first start) and compliance.
//!
//! The target of a job is its tenant's `sla_wait_ms`, else the cluster's
//! `scheduling.default_sla_wait_ms`. At a job's first start its wait is
//! recorded in the (hour, tenant) bucket: count, met, sum, max and a fixed
//! histogram from which p95 is read (as the upper edge of its bin). Buckets
//! are pruned with cost retention.

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

/// The wait target of `job` in ms.
pub fn target_ms(state: &State, job: &Job) -> u64 {
    state
        .tenants
        .get(&job.tenant_id)
        .and_then(|t| t.sla_wait_ms)
        .unwrap_or(state.settings.scheduling.default_sla_wait_ms)
}

pub(crate) fn record_start(state: &mut State, job: &Job, now: u64) {
    let wait = now.saturating_sub(job.submitted_at_ms);
    let target = target_ms(state, job);
    let b = state.sla.buckets.entry((hour_of(now), job.tenant_id)).or_default();
    b.started += 1;
    b.met += u64::from(wait <= target);
    b.wait_ms_sum = b.wait_ms_sum.saturating_add(wait);
    b.max_wait_ms = b.max_wait_ms.max(wait);
    let bin = WAIT_BINS_MS.iter().position(|&e| wait <= e).unwrap_or(WAIT_BINS_MS.len());
    b.bins[bin] += 1;
}

pub(crate) fn prune(state: &mut State, horizon_ms: u64, max: usize) -> u32 {
    let mut n = 0;
    while n < max {
        let Some((&k, _)) = state.sla.buckets.first_key_value() else { break };
        if k.0.saturating_add(HOUR_MS) > horizon_ms {
            break;
        }
        state.sla.buckets.remove(&k);
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

/// Compliance over `[from_ms, to_ms)` (whole hours) for one tenant or all.
pub fn report(state: &State, tenant: Option<TenantId>, from_ms: u64, to_ms: u64, now_ms: u64) -> SlaReport {
    let mut sum = SlaBucket::default();
    for ((hour, t), b) in state.sla.buckets.range((hour_of(from_ms), TenantId(0))..) {
        if *hour >= to_ms {
            break;
        }
        if tenant.is_some_and(|x| x != *t) {
            continue;
        }
        sum.started += b.started;
        sum.met += b.met;
        sum.wait_ms_sum = sum.wait_ms_sum.saturating_add(b.wait_ms_sum);
        sum.max_wait_ms = sum.max_wait_ms.max(b.max_wait_ms);
        for (a, x) in sum.bins.iter_mut().zip(b.bins) {
            *a += x;
        }
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
