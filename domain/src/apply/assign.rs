//! `AssignJobs`: placements chosen by the leader's dispatch. Each is re-checked
//! (job still pending, worker active with room and matching labels, the tenant
//! within quota plus its active burst) and skipped if it no longer holds, so a
//! deposed leader's late proposal breaks nothing. Each placement that holds
//! gets the entry's log index as its fencing token and advances the fair-queue
//! tags exactly as the solver simulated.

use crate::command::AssignJobs;
use crate::model::{JobState, Placement};
use crate::outcome::Outcome;
use crate::placement::{tenant_room, worker_accepts};
use crate::state::State;
use crate::wfq::tag_step;

pub(crate) fn assign(state: &mut State, index: u64, now: u64, c: &AssignJobs) -> Outcome {
    let mut placed = Vec::new();
    for &(job_id, worker_id) in &c.assignments {
        let (Some(job), Some(worker)) = (state.jobs.get(job_id), state.workers.get(&worker_id)) else { continue };
        let Some(tenant) = state.tenants.get(&job.tenant_id) else { continue };
        if job.state != JobState::Pending || !worker_accepts(state, worker, job) {
            continue;
        }
        let t = job.tenant_id;
        let Ok(under_burst) = tenant_room(state, tenant, state.running_usage(t), job, now) else { continue };
        let step = tag_step(super::cost_of(state, job), tenant.weight);
        let (cpu, mem) = (job.spec.cpu_m, job.spec.memory_mb);
        let head_before = state.queue.tenant(t).and_then(|q| q.jobs.first().copied());
        super::dequeue(state, job_id);
        // The tenant is served: its tags advance by this job's step.
        state.queue.served(t, step);
        if head_before.is_some() {
            super::refresh_head(state, t);
        }
        let job = state.jobs.get_mut(job_id).expect("checked above");
        job.state = JobState::Assigned;
        job.updated_at_ms = now;
        job.execution.placement = Some(Placement { worker: worker_id, token: index, assigned_at_ms: now, under_burst });
        job.execution.attempts = job.execution.attempts.saturating_add(1);
        let worker = state.workers.get_mut(&worker_id).expect("checked above");
        if let Some(since) = worker.idle_since_ms.take() {
            let (pool, wc, wm) = (worker.pool.clone(), worker.cpu_m, worker.memory_mb);
            crate::cost::charge_idle(state, &pool, wc, wm, since, now);
        }
        let worker = state.workers.get_mut(&worker_id).expect("checked above");
        worker.jobs.insert(job_id);
        worker.used_cpu_m = worker.used_cpu_m.saturating_add(cpu);
        worker.used_memory_mb = worker.used_memory_mb.saturating_add(mem);
        super::add_usage(&mut state.running, t, cpu, mem);
        placed.push((job_id, worker_id, index));
    }
    Outcome::JobsAssigned(placed)
}
