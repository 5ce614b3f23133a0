//! Workers and the job lifecycle after admission: `RegisterWorker`,
//! `AssignJobs` (fenced by the log index), `StartJob`, `FinishJob`,
//! `MarkWorkerLost`, `DrainWorker`.
//!
//! A job is placed on at most one worker at a time: only a PENDING job can be
//! placed, reports must carry the current placement's token, a worker holds a
//! job's resources only while it is ASSIGNED or RUNNING, and a lost worker's
//! placements are cleared before its jobs are queued again. A finished job keeps
//! its last placement as history (and to fence late reports).

use crate::command::{AssignJobs, DrainWorker, FinishJob, MarkWorkerLost, RegisterWorker, StartJob};
use crate::ids::{JobId, WorkerId};
use crate::model::{Job, JobState, Placement, RunEnding, Worker, WorkerState};
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

/// Losing a worker is not the job's fault: it is queued again this many times
/// beyond its own `max_retries` before it is declared LOST.
pub const LOST_WORKER_GRACE: u32 = 2;

pub(crate) fn register(state: &mut State, now: u64, c: &RegisterWorker) -> Outcome {
    if c.pool.0.is_empty() || c.cpu_m == 0 || c.memory_mb == 0 {
        return Rejection::invalid("a worker needs a pool and positive cpu_m and memory_mb");
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
    };
    state.workers.insert(w.id, w.clone());
    Outcome::WorkerRegistered(w)
}

pub(crate) fn assign(state: &mut State, index: u64, now: u64, c: &AssignJobs) -> Outcome {
    let mut placed = Vec::new();
    for &(job_id, worker_id) in &c.assignments {
        let Some(job) = state.jobs.get_mut(&job_id) else { continue };
        let Some(worker) = state.workers.get_mut(&worker_id) else { continue };
        if job.state != JobState::Pending || !worker.fits(&job.spec) {
            continue;
        }
        job.state = JobState::Assigned;
        job.updated_at_ms = now;
        job.execution.placement = Some(Placement { worker: worker_id, token: index, assigned_at_ms: now });
        job.execution.attempts += 1;
        worker.jobs.insert(job_id);
        worker.used_cpu_m += job.spec.cpu_m;
        worker.used_memory_mb += job.spec.memory_mb;
        state.pending.remove(&job_id);
        placed.push((job_id, worker_id, index));
    }
    Outcome::JobsAssigned(placed)
}

/// The job's current placement, if it matches the report's worker and token.
fn fenced<'a>(state: &'a mut State, job_id: JobId, worker: WorkerId, token: u64) -> Result<&'a mut Job, Outcome> {
    let Some(job) = state.jobs.get_mut(&job_id) else {
        return Err(Rejection::not_found(job_id.to_string()));
    };
    match job.execution.placement {
        Some(p) if p.worker == worker && p.token == token => Ok(job),
        _ => Err(Rejection::conflict(format!(
            "stale report: {job_id} is not placed on {worker} with fencing token {token}"
        ))),
    }
}

pub(crate) fn start(state: &mut State, now: u64, c: &StartJob) -> Outcome {
    let job = match fenced(state, c.job_id, c.worker_id, c.token) {
        Ok(j) => j,
        Err(o) => return o,
    };
    match job.state {
        JobState::Assigned => {
            job.state = JobState::Running;
            job.updated_at_ms = now;
            job.execution.started_at_ms = Some(now);
            Outcome::JobStarted(job.clone())
        }
        // A retried report of a start that was applied.
        JobState::Running => Outcome::JobStarted(job.clone()),
        other => Rejection::conflict(format!("{} is {}, it cannot start", job.id, other.as_str())),
    }
}

pub(crate) fn finish(state: &mut State, now: u64, c: &FinishJob) -> Outcome {
    let job = match fenced(state, c.job_id, c.worker_id, c.token) {
        Ok(j) => j,
        Err(o) => return o,
    };
    if job.state.is_terminal() {
        return Rejection::conflict(format!("{} is already {}", job.id, job.state.as_str()));
    }
    job.updated_at_ms = now;
    job.execution.finished_at_ms = Some(now);
    job.execution.ending = Some(c.ending);
    job.execution.usage = Some(c.usage);
    let retry = matches!(c.ending, RunEnding::Failed { .. }) && job.execution.attempts <= job.spec.max_retries;
    job.state = match c.ending {
        RunEnding::Succeeded => JobState::Succeeded,
        RunEnding::TimedOut => JobState::TimedOut,
        RunEnding::Cancelled => JobState::Cancelled,
        RunEnding::Failed { .. } if retry => JobState::Pending,
        RunEnding::Failed { .. } => JobState::Failed,
    };
    let job = job.clone();
    if retry {
        unplace(state, &job);
        requeue(state, job.id);
    } else {
        release(state, &job);
    }
    Outcome::JobFinished(state.jobs[&job.id].clone())
}

pub(crate) fn lost(state: &mut State, now: u64, c: &MarkWorkerLost) -> Outcome {
    let Some(worker) = state.workers.get_mut(&c.worker_id) else {
        return Rejection::not_found(c.worker_id.to_string());
    };
    if worker.state == WorkerState::Lost {
        return Rejection::conflict(format!("{} is already lost", c.worker_id));
    }
    worker.state = WorkerState::Lost;
    let jobs: Vec<JobId> = std::mem::take(&mut worker.jobs).into_iter().collect();
    worker.used_cpu_m = 0;
    worker.used_memory_mb = 0;
    let (mut requeued, mut gone) = (Vec::new(), Vec::new());
    for id in jobs {
        let Some(job) = state.jobs.get_mut(&id) else { continue };
        job.updated_at_ms = now;
        job.execution.placement = None;
        if job.execution.attempts <= job.spec.max_retries + LOST_WORKER_GRACE {
            job.state = JobState::Pending;
            requeued.push(id);
            state.pending.insert(id);
        } else {
            job.state = JobState::Lost;
            job.execution.finished_at_ms = Some(now);
            let job = job.clone();
            release(state, &job);
            gone.push(id);
        }
    }
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

/// Frees the worker capacity a placed job held.
fn unplace(state: &mut State, job: &Job) {
    if let Some(p) = job.execution.placement {
        if let Some(w) = state.workers.get_mut(&p.worker) {
            if w.jobs.remove(&job.id) {
                w.used_cpu_m = w.used_cpu_m.saturating_sub(job.spec.cpu_m);
                w.used_memory_mb = w.used_memory_mb.saturating_sub(job.spec.memory_mb);
            }
        }
    }
}

fn requeue(state: &mut State, id: JobId) {
    if let Some(j) = state.jobs.get_mut(&id) {
        j.execution.placement = None;
    }
    state.pending.insert(id);
}

/// A job reached a terminal state: it leaves the queue, its worker and its
/// tenant's admitted usage.
pub(crate) fn release(state: &mut State, job: &Job) {
    state.pending.remove(&job.id);
    unplace(state, job);
    if let Some(u) = state.usage.get_mut(&job.tenant_id) {
        u.cpu_m = u.cpu_m.saturating_sub(job.spec.cpu_m);
        u.memory_mb = u.memory_mb.saturating_sub(job.spec.memory_mb);
        u.jobs = u.jobs.saturating_sub(1);
    }
}
