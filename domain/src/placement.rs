//! The rules a placement must satisfy, shared by the dispatch solver (which
//! proposes) and `AssignJobs` (which re-checks at apply time), so the two can
//! never disagree.

use crate::model::{Job, Tenant, Usage, Worker};
use crate::outcome::Rejection;
use crate::pool::PoolKind;
use crate::state::State;

/// Can `worker` take `job` now: active, in a pool that accepts work, the job's
/// pool and selector satisfied, and room for its cpu and memory.
pub fn worker_accepts(state: &State, worker: &Worker, job: &Job) -> bool {
    worker.fits_resources(job.spec.pool.as_ref(), job.spec.cpu_m, job.spec.memory_mb)
        && worker_matches(state, worker, job)
}

/// Pool lifecycle and label selector only (no capacity).
pub fn worker_matches(state: &State, worker: &Worker, job: &Job) -> bool {
    let pool = state.pools.get(&worker.pool);
    if pool.is_some_and(|p| !p.lifecycle.accepts_work()) {
        return false;
    }
    job.selector().is_none_or(|sel| {
        sel.iter().all(|(k, v)| {
            worker.labels.get(k) == Some(v) || pool.is_some_and(|p| p.labels.get(k) == Some(v))
        })
    })
}

/// Dispatch preference of a worker: static pools first, then dynamic (the
/// seeds' pool selection order), then by pool id and worker id.
pub fn worker_rank(state: &State, worker: &Worker) -> (PoolKind, crate::ids::PoolId, crate::ids::WorkerId) {
    let kind = state.pools.get(&worker.pool).map_or(PoolKind::Static, |p| p.kind);
    (kind, worker.pool.clone(), worker.id)
}

/// May the tenant place `job` on top of `running` (its placed jobs' usage)?
/// Quota plus the lease active at `now_ms`; `Ok(true)` when the placement goes
/// beyond the base quota, i.e. it uses the burst. Not enforced when
/// `strict_mode` is off.
pub fn tenant_room(state: &State, tenant: &Tenant, running: Usage, job: &Job, now_ms: u64) -> Result<bool, Rejection> {
    let q = &tenant.quota;
    let cpu = running.cpu_m.saturating_add(job.spec.cpu_m);
    let mem = running.memory_mb.saturating_add(job.spec.memory_mb);
    let under_burst = cpu > q.cpu_m || mem > q.memory_mb;
    // Planted bug `skip-quota-check`: solver and apply both skip the check, so
    // the placement is proposed and admitted. The chaos replay re-applies the
    // same code (same process, same switch) and so reaches the same over-quota
    // state, which its own arithmetic (`over_limit`) then finds.
    if !state.settings.quota_enforcement.strict_mode || crate::planted::active(crate::planted::Bug::SkipQuotaCheck) {
        return Ok(under_burst);
    }
    let burst = state.burst_allowance(tenant.id, now_ms);
    crate::apply::job::exceeds(tenant, (running.cpu_m, running.memory_mb, running.jobs), (job.spec.cpu_m, job.spec.memory_mb), burst)?;
    Ok(under_burst)
}
