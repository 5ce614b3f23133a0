//! "Why is my job pending?": for a queued job, its position, the reason it
//! waits, and an estimate of when it starts. A pure read of the state; the
//! reasons are checked in the order dispatch applies them.

use crate::ids::{JobId, PoolId};
use crate::model::{JobState, WorkerState};
use crate::placement::{tenant_room, worker_matches};
use crate::outcome::Rejection;
use crate::state::State;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PendingReason {
    /// Starting it would take the tenant past quota plus its active burst.
    Quota { resource: String, used: u64, requested: u64, limit: u64 },
    /// No registered worker could ever take it (size, pool, labels), and no
    /// pool that can grow would provision one that could.
    NoWorkerFits,
    /// Workers could take it but are busy, and its pool cannot grow.
    PoolAtMax { pool: Option<PoolId> },
    /// Workers could take it but are busy, or none is registered yet but a
    /// dynamic pool that would provision a fitting one can scale up.
    WaitingForCapacity,
    /// Its own tenant's earlier or higher-priority jobs go first.
    BehindOwnJobs { ahead: u64 },
    /// Other tenants' turns come first (weighted fair share).
    BehindFairShare { tenants_ahead: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingExplanation {
    pub job: JobId,
    /// Jobs of its tenant ahead of it.
    pub position_in_tenant: u64,
    /// Backlogged tenants whose turn comes before its tenant's.
    pub tenants_ahead: u64,
    pub reason: PendingReason,
    pub waited_ms: u64,
    /// Estimated start (leader time), when one can be given.
    pub estimated_start_ms: Option<u64>,
}

/// Could `pool` scale up and provision a worker that runs `job`? A dynamic,
/// autoscaled pool below its maximum, named by the job (or the job names none),
/// whose labels satisfy its selector and whose declared worker shape (when it
/// declares one) is large enough.
fn pool_could_grow_for(pool: &crate::pool::Pool, job: &crate::model::Job) -> bool {
    pool.kind == crate::pool::PoolKind::Dynamic
        && pool.lifecycle.accepts_work()
        && pool.auto_scaling_enabled
        && pool.target_size < pool.max_size
        && job.spec.pool.as_ref().is_none_or(|p| *p == pool.id)
        && job.selector().is_none_or(|sel| sel.iter().all(|(k, v)| pool.labels.get(k) == Some(v)))
        && pool.worker_shape.is_none_or(|s| job.spec.cpu_m <= s.cpu_m && job.spec.memory_mb <= s.memory_mb)
}

/// `None` when the job is unknown or not pending.
pub fn why_pending(state: &State, id: JobId, now_ms: u64) -> Option<PendingExplanation> {
    let job = state.jobs.get(id).filter(|j| j.state == JobState::Pending)?;
    let tenant = state.tenants.get(&job.tenant_id)?;
    let q = state.queue.tenant(job.tenant_id)?;
    let key = crate::dispatch::key_of(job);
    let position_in_tenant = q.jobs.range(..key).count() as u64;
    let tenants_ahead = q.head_tag.map_or(0, |tag| state.queue.index.range(..(tag, job.tenant_id)).count() as u64);
    let live: Vec<_> = state.workers.values().filter(|w| w.state == WorkerState::Active).collect();
    let could = |w: &&crate::model::Worker| {
        job.spec.cpu_m <= w.cpu_m && job.spec.memory_mb <= w.memory_mb && job.spec.pool.as_ref().is_none_or(|p| *p == w.pool) && worker_matches(state, w, job)
    };
    let free_now = live.iter().any(|w| could(w) && w.fits_resources(job.spec.pool.as_ref(), job.spec.cpu_m, job.spec.memory_mb));
    let reason = if let Err(Rejection::QuotaExceeded { resource, used, requested, limit }) =
        tenant_room(state, tenant, state.running_usage(job.tenant_id), job, now_ms)
    {
        PendingReason::Quota { resource, used, requested, limit }
    } else if !live.iter().any(could) {
        if state.pools.values().any(|p| pool_could_grow_for(p, job)) {
            PendingReason::WaitingForCapacity
        } else {
            PendingReason::NoWorkerFits
        }
    } else if !free_now {
        let pools: Vec<_> = state.pools.values().filter(|p| p.lifecycle.accepts_work() && job.spec.pool.as_ref().is_none_or(|x| *x == p.id)).collect();
        if pools.iter().all(|p| p.target_size >= p.max_size || !p.auto_scaling_enabled) {
            PendingReason::PoolAtMax { pool: job.spec.pool.clone() }
        } else {
            PendingReason::WaitingForCapacity
        }
    } else if position_in_tenant > 0 {
        PendingReason::BehindOwnJobs { ahead: position_in_tenant }
    } else {
        PendingReason::BehindFairShare { tenants_ahead }
    };
    // Estimate: the jobs ahead (its tenant's, plus one turn per tenant ahead)
    // drain at the rate the fitting workers can run them, each job taking its
    // estimated duration. Unknown when nothing could ever run it.
    let slots: u64 = live
        .iter()
        .filter(|w| could(w))
        .map(|w| (w.cpu_m / job.spec.cpu_m.max(1)).min(w.memory_mb / job.spec.memory_mb.max(1)).max(1))
        .sum();
    let duration_ms = job.estimated_duration_s().unwrap_or(state.settings.scheduling.default_estimated_duration_s).saturating_mul(1000);
    let estimated_start_ms = match reason {
        PendingReason::NoWorkerFits => None,
        _ if slots == 0 => None,
        _ => {
            let ahead = position_in_tenant + tenants_ahead;
            let rounds = if free_now && matches!(reason, PendingReason::BehindFairShare { .. } | PendingReason::BehindOwnJobs { .. }) {
                ahead / slots
            } else {
                ahead / slots + 1
            };
            Some(now_ms.saturating_add(rounds.saturating_mul(duration_ms)))
        }
    };
    Some(PendingExplanation {
        job: id,
        position_in_tenant,
        tenants_ahead,
        reason,
        waited_ms: now_ms.saturating_sub(job.submitted_at_ms),
        estimated_start_ms,
    })
}
