//! One file per command family; `State::apply` dispatches here. This module
//! holds the bookkeeping every family shares, so the indexes (fair queue,
//! usage, deadlines, retention) change in exactly one place each.

pub(crate) mod assign;
pub(crate) mod burst;
pub(crate) mod job;
pub(crate) mod observability;
pub(crate) mod pool;
pub(crate) mod report;
pub(crate) mod scale;
pub(crate) mod settings;
pub(crate) mod sla;
pub(crate) mod tenant;
pub(crate) mod tick;
pub(crate) mod version;
pub(crate) mod worker;

use crate::ids::{JobId, TenantId};
use crate::model::{Job, JobState, Usage};
use crate::state::State;
use crate::wfq::{job_cost, queue_key, tag_step};
use std::collections::BTreeMap;

/// The fair-queuing cost of a job under the current settings.
pub(crate) fn cost_of(state: &State, job: &Job) -> u64 {
    job_cost(job.spec.cpu_m, job.spec.memory_mb, job.estimated_duration_s(), &state.settings.scheduling)
}

/// Re-indexes tenant `t`'s head after its queue, weight or settings changed.
pub(crate) fn refresh_head(state: &mut State, t: TenantId) {
    let weight = state.tenants.get(&t).map_or(1, |x| x.weight);
    let step = state
        .queue
        .tenant(t)
        .and_then(|q| q.jobs.first())
        .and_then(|&(_, id)| state.jobs.get(id))
        .map(|j| (tag_step(cost_of(state, j), weight), j.submitted_at_ms));
    state.queue.refresh_head(t, step);
}

/// Rebuilds what is derived rather than encoded (the head age index) after a
/// state is decoded.
pub(crate) fn rebuild_derived(state: &mut State) {
    let tenants: Vec<TenantId> = state.queue.tenants.keys().copied().collect();
    for t in tenants {
        let q = state.queue.tenants.get_mut(&t).expect("listed");
        q.head_age = None;
        let head = q.jobs.first().and_then(|&(_, id)| state.jobs.get(id)).map(|j| j.submitted_at_ms);
        if let Some(submitted) = head {
            q.head_age = Some(submitted);
            state.queue.ages.insert((submitted, t));
        }
    }
}

/// Puts a PENDING job into its tenant's queue.
pub(crate) fn enqueue(state: &mut State, id: JobId) {
    let Some(job) = state.jobs.get(id) else { return };
    let (t, key, pool) = (job.tenant_id, queue_key(job.spec.priority, id), job.spec.pool.clone());
    if state.queue.push(t, key) {
        refresh_head(state, t);
    }
    *state.pending_by_pool.entry(pool).or_default() += 1;
}

/// Takes a job out of its tenant's queue (placed, cancelled, finished).
pub(crate) fn dequeue(state: &mut State, id: JobId) {
    let Some(job) = state.jobs.get(id) else { return };
    let (t, key, pool) = (job.tenant_id, queue_key(job.spec.priority, id), job.spec.pool.clone());
    let present = state.queue.tenant(t).is_some_and(|q| q.jobs.contains(&key));
    if !present {
        return;
    }
    if state.queue.remove(t, key) {
        refresh_head(state, t);
    }
    if let Some(n) = state.pending_by_pool.get_mut(&pool) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            state.pending_by_pool.remove(&pool);
        }
    }
}

pub(crate) fn add_usage(map: &mut BTreeMap<TenantId, Usage>, t: TenantId, cpu_m: u64, memory_mb: u64) {
    let u = map.entry(t).or_default();
    u.cpu_m = u.cpu_m.saturating_add(cpu_m);
    u.memory_mb = u.memory_mb.saturating_add(memory_mb);
    u.jobs = u.jobs.saturating_add(1);
}

pub(crate) fn sub_usage(map: &mut BTreeMap<TenantId, Usage>, t: TenantId, cpu_m: u64, memory_mb: u64) {
    if let Some(u) = map.get_mut(&t) {
        u.cpu_m = u.cpu_m.saturating_sub(cpu_m);
        u.memory_mb = u.memory_mb.saturating_sub(memory_mb);
        u.jobs = u.jobs.saturating_sub(1);
        if *u == Usage::default() {
            map.remove(&t);
        }
    }
}

/// Frees what a placed job holds: its worker's capacity, its tenant's running
/// usage and its timeout deadline. Keeps `execution.placement` as history.
pub(crate) fn unplace(state: &mut State, now: u64, id: JobId) {
    let Some(job) = state.jobs.get(id) else { return };
    let Some(p) = job.execution.placement else { return };
    let (t, cpu, mem) = (job.tenant_id, job.spec.cpu_m, job.spec.memory_mb);
    let deadline = deadline_of(state, job);
    if let Some(w) = state.workers.get_mut(&p.worker) {
        if w.jobs.remove(&id) {
            w.used_cpu_m = w.used_cpu_m.saturating_sub(cpu);
            w.used_memory_mb = w.used_memory_mb.saturating_sub(mem);
            if w.jobs.is_empty() {
                w.idle_since_ms = Some(now);
            }
            sub_usage(&mut state.running, t, cpu, mem);
        }
    }
    if let Some(d) = deadline {
        state.deadlines.remove(&(d, id));
    }
}

/// When `Tick` times a running job out: start + timeout + grace.
pub(crate) fn deadline_of(state: &State, job: &Job) -> Option<u64> {
    let started = job.execution.started_at_ms?;
    let timeout_ms = job.spec.timeout_s?.saturating_mul(1000);
    Some(started.saturating_add(timeout_ms).saturating_add(state.settings.scheduling.timeout_grace_ms))
}

/// Moves a job to a terminal state: it leaves the queue or its worker, its
/// tenant's demand, and enters the retention index. A finished job never
/// changes again.
pub(crate) fn terminate(state: &mut State, now: u64, id: JobId, to: JobState) {
    debug_assert!(to.is_terminal());
    let Some(job) = state.jobs.get(id) else { return };
    if job.state.is_terminal() {
        return;
    }
    match job.state {
        JobState::Pending => dequeue(state, id),
        _ => unplace(state, now, id),
    }
    let Some(job) = state.jobs.get_mut(id) else { return };
    job.state = to;
    job.updated_at_ms = now;
    job.execution.finished_at_ms = Some(now);
    let (t, cpu, mem) = (job.tenant_id, job.spec.cpu_m, job.spec.memory_mb);
    sub_usage(&mut state.usage, t, cpu, mem);
    // Make room first, so the job just finished is never the one pruned.
    let max = state.settings.retention.max_finished_jobs.max(1);
    while state.finished.len() as u64 >= max {
        let Some((_, oldest)) = state.finished.pop_first() else { break };
        forget_job(state, oldest);
    }
    state.finished.insert((now, id));
}

/// Drops a finished job and its idempotency key (retention).
pub(crate) fn forget_job(state: &mut State, id: JobId) {
    let Some(job) = state.jobs.remove(id) else { return };
    if let Some(f) = job.execution.finished_at_ms {
        state.finished.remove(&(f, id));
    }
    if let Some(key) = job.idempotency_key {
        state.idempotency.remove(&(job.tenant_id, key));
    }
}
