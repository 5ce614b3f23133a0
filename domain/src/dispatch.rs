//! The dispatch planner: a pure function from the state to placements that the
//! leader proposes as one `AssignJobs`. `apply` re-checks every placement, so a
//! plan made from a slightly old state is safe.
//!
//! Order: tenants take turns (one job each per turn, in tenant-id order), and a
//! tenant's own jobs go by priority (higher first), then age. Each job goes to
//! the first worker, by id, that has room, the job's pool, and is active; the
//! capacity a plan takes is accounted as it goes, so one plan never overfills a
//! worker. A job that fits nowhere waits without blocking the others.

use std::collections::{BTreeMap, VecDeque};

use crate::ids::{JobId, TenantId, WorkerId};
use crate::model::Job;
use crate::state::State;

/// At most this many pending jobs are considered per plan, so planning stays
/// bounded however deep the queue is.
pub const SCAN_LIMIT: usize = 10_000;

pub fn plan(state: &State, max: usize) -> Vec<(JobId, WorkerId)> {
    let mut workers: Vec<_> = state.workers().filter(|w| w.state == crate::model::WorkerState::Active).cloned().collect();
    if workers.is_empty() || max == 0 {
        return Vec::new();
    }
    let mut per_tenant: BTreeMap<TenantId, Vec<&Job>> = BTreeMap::new();
    for job in state.pending().take(SCAN_LIMIT) {
        per_tenant.entry(job.tenant_id).or_default().push(job);
    }
    let mut queues: Vec<VecDeque<&Job>> = per_tenant
        .into_values()
        .map(|mut jobs| {
            jobs.sort_by_key(|j| (std::cmp::Reverse(j.spec.priority), j.id));
            jobs.into()
        })
        .collect();
    let mut out = Vec::new();
    while out.len() < max && queues.iter().any(|q| !q.is_empty()) {
        for q in queues.iter_mut() {
            let Some(job) = q.pop_front() else { continue };
            if let Some(w) = workers.iter_mut().find(|w| w.fits(&job.spec)) {
                w.used_cpu_m += job.spec.cpu_m;
                w.used_memory_mb += job.spec.memory_mb;
                out.push((job.id, w.id));
                if out.len() == max {
                    break;
                }
            }
        }
    }
    out
}
