//! `SubmitJob` (quota-checked here, inside apply) and `CancelJob`.

use crate::command::{CancelJob, SubmitJob};
use crate::ids::JobId;
use crate::model::{Job, JobState, Usage};
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

pub(crate) fn submit(state: &mut State, now: u64, c: &SubmitJob) -> Outcome {
    let Some(tenant) = state.tenants.get(&c.tenant_id) else {
        return Rejection::not_found(c.tenant_id.to_string());
    };
    if let Some(key) = &c.idempotency_key {
        if let Some(id) = state.idempotency.get(&(c.tenant_id, key.clone())) {
            return Outcome::JobSubmitted(state.jobs[id].clone());
        }
    }
    if c.spec.command.is_empty() {
        return Rejection::invalid("command must name a program");
    }
    let quota = tenant.quota;
    if c.spec.cpu_m > quota.cpu_m || c.spec.memory_mb > quota.memory_mb {
        return Rejection::invalid(format!(
            "job asks for {} cpu_m and {} memory_mb, more than the tenant's whole quota",
            c.spec.cpu_m, c.spec.memory_mb
        ));
    }
    let used = state.usage(c.tenant_id);
    let checks = [
        ("cpu_m", used.cpu_m, c.spec.cpu_m, quota.cpu_m),
        ("memory_mb", used.memory_mb, c.spec.memory_mb, quota.memory_mb),
        ("max_concurrent_jobs", u64::from(used.jobs), 1, u64::from(quota.max_concurrent_jobs)),
    ];
    for (resource, used, requested, limit) in checks {
        if used + requested > limit {
            return Outcome::Rejected(Rejection::QuotaExceeded {
                resource: resource.to_string(),
                used,
                requested,
                limit,
            });
        }
    }
    state.next_job += 1;
    let job = Job {
        id: JobId(state.next_job),
        tenant_id: c.tenant_id,
        spec: c.spec.clone(),
        state: JobState::Pending,
        idempotency_key: c.idempotency_key.clone(),
        submitted_at_ms: now,
        updated_at_ms: now,
        execution: Default::default(),
    };
    if let Some(key) = &c.idempotency_key {
        state.idempotency.insert((c.tenant_id, key.clone()), job.id);
    }
    let u = state.usage.entry(c.tenant_id).or_default();
    *u = Usage { cpu_m: u.cpu_m + job.spec.cpu_m, memory_mb: u.memory_mb + job.spec.memory_mb, jobs: u.jobs + 1 };
    state.pending.insert(job.id);
    state.jobs.insert(job.id, job.clone());
    Outcome::JobSubmitted(job)
}

pub(crate) fn cancel(state: &mut State, now: u64, c: &CancelJob) -> Outcome {
    let Some(job) = state.jobs.get_mut(&c.job_id) else {
        return Rejection::not_found(c.job_id.to_string());
    };
    if c.tenant_id.is_some_and(|t| t != job.tenant_id) {
        return Rejection::not_found(c.job_id.to_string());
    }
    if job.state.is_terminal() {
        return Rejection::conflict(format!("{} is already {}", job.id, job.state.as_str()));
    }
    job.state = JobState::Cancelled;
    job.updated_at_ms = now;
    job.execution.finished_at_ms = Some(now);
    let job = job.clone();
    // The worker, if any, learns of the cancel from its assignment stream and stops
    // the process; its late report is refused because the job is finished.
    super::worker::release(state, &job);
    Outcome::JobCancelled(job)
}
