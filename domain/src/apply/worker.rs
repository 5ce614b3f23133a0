//! `RegisterWorker`, `MarkWorkerLost`, `DrainWorker`, `DeregisterWorker`.
//!
//! A job is placed on at most one worker at a time: a lost worker's placements
//! are cleared (and its reports then fail the fencing check) before its jobs go
//! back to the queue.

use crate::command::{DeregisterWorker, DrainWorker, MarkWorkerLost, RegisterWorker};
use crate::ids::{JobId, WorkerId};
use crate::model::{JobState, Worker, WorkerState};
use crate::outcome::{Outcome, Rejection};
use crate::pool::Pool;
use crate::state::State;

/// Losing a worker is not the job's fault: it is queued again this many times
/// beyond its own `max_retries` before it is declared LOST.
pub const LOST_WORKER_GRACE: u32 = 2;

/// Bound on a worker's labels.
pub const MAX_WORKER_LABELS: usize = 64;

pub(crate) fn register(state: &mut State, now: u64, c: &RegisterWorker) -> Outcome {
    if c.pool.0.is_empty() || c.cpu_m == 0 || c.memory_mb == 0 || c.labels.len() > MAX_WORKER_LABELS {
        return Rejection::invalid("a worker needs a pool, positive cpu_m and memory_mb, and at most 64 labels");
    }
    match state.pools.get(&c.pool) {
        Some(p) if !p.lifecycle.accepts_work() => {
            return Rejection::conflict(format!("pool {} is {}", c.pool, p.lifecycle.as_str()));
        }
        Some(_) => {}
        None => {
            state.pools.insert(c.pool.clone(), Pool::implicit(c.pool.clone(), now));
        }
    }
    state.next_worker += 1;
    let w = Worker {
        id: WorkerId(state.next_worker),
        pool: c.pool.clone(),
        name: c.name.clone(),
        cpu_m: c.cpu_m,
        memory_mb: c.memory_mb,
        labels: c.labels.clone(),
        logs_addr: c.logs_addr.clone(),
        state: WorkerState::Active,
        registered_at_ms: now,
        jobs: Default::default(),
        used_cpu_m: 0,
        used_memory_mb: 0,
        idle_since_ms: Some(now),
        lost_at_ms: None,
    };
    state.workers.insert(w.id, w.clone());
    super::pool::refresh_lifecycle(state, &c.pool);
    Outcome::WorkerRegistered(w)
}

pub(crate) fn lost(state: &mut State, now: u64, c: &MarkWorkerLost) -> Outcome {
    let Some(worker) = state.workers.get(&c.worker_id) else {
        return Rejection::not_found(c.worker_id.to_string());
    };
    if worker.state == WorkerState::Lost {
        return Rejection::conflict(format!("{} is already lost", c.worker_id));
    }
    let jobs: Vec<JobId> = worker.jobs.iter().copied().collect();
    stop_idle_clock(state, c.worker_id, now);
    let (mut requeued, mut gone) = (Vec::new(), Vec::new());
    for id in jobs {
        super::unplace(state, now, id);
        let Some(job) = state.jobs.get_mut(id) else { continue };
        job.execution.placement = None;
        if job.execution.attempts <= job.spec.max_retries.saturating_add(LOST_WORKER_GRACE) {
            job.state = JobState::Pending;
            job.updated_at_ms = now;
            requeued.push(id);
            super::enqueue(state, id);
        } else {
            // Placement already cleared: terminate only releases the demand.
            super::terminate(state, now, id, JobState::Lost);
            gone.push(id);
        }
    }
    let pool = {
        let w = state.workers.get_mut(&c.worker_id).expect("checked above");
        w.state = WorkerState::Lost;
        w.idle_since_ms = None;
        w.lost_at_ms = Some(now);
        w.pool.clone()
    };
    super::pool::refresh_lifecycle(state, &pool);
    Outcome::WorkerLost { requeued, lost: gone }
}

pub(crate) fn drain(state: &mut State, c: &DrainWorker) -> Outcome {
    match state.workers.get_mut(&c.worker_id) {
        Some(w) if w.state == WorkerState::Lost => Rejection::conflict(format!("{} is lost", c.worker_id)),
        Some(w) => {
            w.state = WorkerState::Draining;
            Outcome::WorkerDraining(w.clone())
        }
        None => Rejection::not_found(c.worker_id.to_string()),
    }
}

/// A worker that runs nothing leaves the state (its idle time is charged first).
pub(crate) fn deregister(state: &mut State, now: u64, c: &DeregisterWorker) -> Outcome {
    let Some(w) = state.workers.get(&c.worker_id) else {
        return Rejection::not_found(c.worker_id.to_string());
    };
    if !w.jobs.is_empty() {
        return Rejection::conflict(format!("{} still runs {} jobs; drain it first", c.worker_id, w.jobs.len()));
    }
    stop_idle_clock(state, c.worker_id, now);
    let pool = state.workers.remove(&c.worker_id).map(|w| w.pool);
    if let Some(p) = pool {
        super::pool::refresh_lifecycle(state, &p);
    }
    Outcome::WorkerDeregistered(c.worker_id)
}

/// Charges the worker's idle time up to `now` and stops its idle clock.
pub(crate) fn stop_idle_clock(state: &mut State, id: WorkerId, now: u64) {
    let Some(w) = state.workers.get_mut(&id) else { return };
    if let Some(since) = w.idle_since_ms.take() {
        let (pool, cpu, mem) = (w.pool.clone(), w.cpu_m, w.memory_mb);
        crate::cost::charge_idle(state, &pool, cpu, mem, since, now);
    }
}

/// Workers of `pool` that still count toward its size (not lost).
pub(crate) fn live_workers(state: &State, pool: &crate::ids::PoolId) -> usize {
    state.workers.values().filter(|w| &w.pool == pool && w.state != WorkerState::Lost).count()
}
