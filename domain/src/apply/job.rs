//! `SubmitJob` / `SubmitJobWithOptions` and `CancelJob`.
//!
//! Admission is checked in layers, each refusing with its own reason:
//! validity (could this job ever run?), the tenant's queued-jobs bound, then
//! the quota per `quota_enforcement` (reject: demand + job must fit quota plus
//! active burst; queue: accepted and held until it fits at dispatch).

use crate::command::{CancelJob, SubmitJob};
use crate::ids::JobId;
use crate::model::{Job, JobOptions, JobState, Tenant};
use crate::outcome::{Outcome, Rejection};
use crate::settings::ViolationPolicy;
use crate::state::State;

/// Bounds on what a submission may carry (the API checks tighter ones).
pub const MAX_COMMAND_ARGS: usize = 1_024;
pub const MAX_SELECTOR_LABELS: usize = 64;

pub(crate) fn submit(state: &mut State, now: u64, c: &SubmitJob, options: Option<&JobOptions>) -> Outcome {
    let Some(tenant) = state.tenants.get(&c.tenant_id) else {
        return Rejection::not_found(c.tenant_id.to_string());
    };
    if let Some(key) = &c.idempotency_key {
        if let Some(job) = state.idempotency.get(&(c.tenant_id, key.clone())).and_then(|id| state.jobs.get(*id)) {
            return Outcome::JobSubmitted(job.clone());
        }
    }
    if let Err(o) = check_valid(state, tenant, c, options) {
        return o;
    }
    let queued = state.queue.tenant(c.tenant_id).map_or(0, |q| q.len() as u64);
    if queued >= u64::from(tenant.max_queued_jobs) {
        return Outcome::Rejected(Rejection::QuotaExceeded {
            resource: "queued_jobs".into(),
            used: queued,
            requested: 1,
            limit: u64::from(tenant.max_queued_jobs),
        });
    }
    if let Err(r) = check_quota(state, tenant, now, c) {
        if state.settings.quota_enforcement.strict_mode {
            return Outcome::Rejected(r);
        }
        if let Some(t) = state.tenants.get_mut(&c.tenant_id) {
            t.quota_violations = t.quota_violations.saturating_add(1);
        }
    }
    state.next_job += 1;
    let options = options.filter(|o| **o != JobOptions::default()).map(|o| Box::new(o.clone()));
    let job = Job {
        id: JobId(state.next_job),
        tenant_id: c.tenant_id,
        spec: c.spec.clone(),
        state: JobState::Pending,
        idempotency_key: c.idempotency_key.clone(),
        submitted_at_ms: now,
        updated_at_ms: now,
        execution: Default::default(),
        options,
    };
    let (id, cpu, mem) = (job.id, job.spec.cpu_m, job.spec.memory_mb);
    if let Some(key) = &c.idempotency_key {
        state.idempotency.insert((c.tenant_id, key.clone()), id);
    }
    super::add_usage(&mut state.usage, c.tenant_id, cpu, mem);
    let out = job.clone();
    state.jobs.insert(job);
    super::enqueue(state, id);
    Outcome::JobSubmitted(out)
}

/// Could this job ever run? Larger than its tenant's quota plus the largest
/// possible burst, or than every declared worker shape: refused as invalid.
fn check_valid(state: &State, tenant: &Tenant, c: &SubmitJob, options: Option<&JobOptions>) -> Result<(), Outcome> {
    let spec = &c.spec;
    if spec.command.is_empty() || spec.command.len() > MAX_COMMAND_ARGS {
        return Err(Rejection::invalid("command must name a program (at most 1024 arguments)"));
    }
    if let Some(o) = options {
        if o.selector.len() > MAX_SELECTOR_LABELS || o.estimated_duration_s.is_some_and(|d| d == 0 || d > 7 * 86_400) {
            return Err(Rejection::invalid("selector has at most 64 labels; estimated_duration_s is 1..=604800"));
        }
    }
    let (burst_cpu, burst_mem) = state.settings.max_burst(&tenant.quota);
    let strict = state.settings.quota_enforcement.strict_mode;
    if strict
        && (spec.cpu_m > tenant.quota.cpu_m.saturating_add(burst_cpu)
            || spec.memory_mb > tenant.quota.memory_mb.saturating_add(burst_mem))
    {
        return Err(Rejection::invalid(format!(
            "job asks for {} cpu_m and {} memory_mb, more than the tenant's quota plus its largest burst",
            spec.cpu_m, spec.memory_mb
        )));
    }
    let fits_shape = |p: &crate::pool::Pool| {
        p.worker_shape.is_none_or(|s| spec.cpu_m <= s.cpu_m && spec.memory_mb <= s.memory_mb)
    };
    match &spec.pool {
        Some(id) => match state.pools.get(id) {
            Some(p) if !p.lifecycle.accepts_work() => {
                return Err(Rejection::conflict(format!("pool {id} is {}", p.lifecycle.as_str())));
            }
            Some(p) if !fits_shape(p) => {
                return Err(Rejection::invalid(format!("job is larger than pool {id}'s workers")));
            }
            _ => {}
        },
        None => {
            let mut open = state.pools.values().filter(|p| p.lifecycle.accepts_work()).peekable();
            let shaped_only = open.peek().is_some() && state.pools.values().all(|p| p.worker_shape.is_some());
            let fits_any_worker = state.workers.values().any(|w| spec.cpu_m <= w.cpu_m && spec.memory_mb <= w.memory_mb);
            if shaped_only && !open.any(|p| fits_shape(p)) && !fits_any_worker {
                return Err(Rejection::invalid("job is larger than any pool's workers"));
            }
        }
    }
    Ok(())
}

/// Quota layer: with `violation_policy: reject`, demand (queued and placed jobs)
/// plus this job must fit quota plus the active burst.
fn check_quota(state: &State, tenant: &Tenant, now: u64, c: &SubmitJob) -> Result<(), Rejection> {
    if state.settings.quota_enforcement.violation_policy == ViolationPolicy::Queue {
        return Ok(());
    }
    let used = state.usage(c.tenant_id);
    let (bc, bm) = state.burst_allowance(c.tenant_id, now);
    exceeds(
        tenant,
        (used.cpu_m, used.memory_mb, used.jobs),
        (c.spec.cpu_m, c.spec.memory_mb),
        (bc, bm),
    )
}

/// The first resource of (cpu, memory, jobs) that `used + requested` takes past
/// `quota + burst` (burst extends cpu and memory, not the job count).
pub(crate) fn exceeds(tenant: &Tenant, used: (u64, u64, u32), req: (u64, u64), burst: (u64, u64)) -> Result<(), Rejection> {
    let q = &tenant.quota;
    let checks = [
        ("cpu_m", used.0, req.0, q.cpu_m.saturating_add(burst.0)),
        ("memory_mb", used.1, req.1, q.memory_mb.saturating_add(burst.1)),
        ("max_concurrent_jobs", u64::from(used.2), 1, u64::from(q.max_concurrent_jobs)),
    ];
    for (resource, used, requested, limit) in checks {
        if used.saturating_add(requested) > limit {
            return Err(Rejection::QuotaExceeded { resource: resource.to_string(), used, requested, limit });
        }
    }
    Ok(())
}

pub(crate) fn cancel(state: &mut State, now: u64, c: &CancelJob) -> Outcome {
    let Some(job) = state.jobs.get(c.job_id) else {
        return Rejection::not_found(c.job_id.to_string());
    };
    if c.tenant_id.is_some_and(|t| t != job.tenant_id) {
        return Rejection::not_found(c.job_id.to_string());
    }
    if job.state.is_terminal() {
        return Rejection::conflict(format!("{} is already {}", job.id, job.state.as_str()));
    }
    // A running job is charged for its wall time so far: the worker learns of the
    // cancel from its assignment stream, and its late report is refused.
    if let Some(started) = job.execution.started_at_ms.filter(|_| job.state == JobState::Running) {
        crate::cost::charge(state, now, c.job_id, now.saturating_sub(started), None);
    }
    super::terminate(state, now, c.job_id, JobState::Cancelled);
    Outcome::JobCancelled(state.jobs.get(c.job_id).cloned().expect("just cancelled"))
}

