//! Worker reports, fenced by the placement's token: `StartJob`, `FinishJob`.
//! A report whose worker and token are not the job's current placement is
//! refused (`Conflict`, "stale report"): that worker lost the job to a newer
//! assignment, a lost-worker requeue, a cancel or a timeout.

use crate::command::{FinishJob, StartJob};
use crate::ids::{JobId, WorkerId};
use crate::model::{JobState, RunEnding};
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

/// Checks the report's fencing token against the job's current placement.
fn fenced(state: &State, job_id: JobId, worker: WorkerId, token: u64) -> Result<(), Outcome> {
    let Some(job) = state.jobs.get(job_id) else {
        return Err(Rejection::not_found(job_id.to_string()));
    };
    // Planted bug `no-fencing-check`: any report on a placed, live job passes.
    let unfenced = crate::planted::active(crate::planted::Bug::NoFencingCheck);
    match job.execution.placement {
        Some(p) if (unfenced || p.worker == worker && p.token == token) && !job.state.is_terminal() && job.state != JobState::Pending => {
            Ok(())
        }
        _ => Err(Rejection::conflict(format!(
            "stale report: {job_id} is not placed on {worker} with fencing token {token}"
        ))),
    }
}

pub(crate) fn start(state: &mut State, now: u64, c: &StartJob) -> Outcome {
    if let Err(o) = fenced(state, c.job_id, c.worker_id, c.token) {
        // A retried start of a job that has since finished on this placement.
        return o;
    }
    let job = state.jobs.get_mut(c.job_id).expect("fenced");
    match job.state {
        JobState::Assigned => {
            let first_start = job.execution.started_at_ms.is_none();
            job.state = JobState::Running;
            job.updated_at_ms = now;
            job.execution.started_at_ms = Some(now);
            let job = job.clone();
            if first_start {
                crate::sla::record_start(state, &job, now);
            }
            if let Some(d) = super::deadline_of(state, &job) {
                state.deadlines.insert((d, job.id));
            }
            Outcome::JobStarted(job)
        }
        // A retried report of a start that was applied.
        _ => Outcome::JobStarted(job.clone()),
    }
}

/// A failed run is retried (back to PENDING, a fresh placement needed) while
/// attempts <= `max_retries`; every other ending is final. Each attempt's run
/// time is charged.
pub(crate) fn finish(state: &mut State, now: u64, c: &FinishJob) -> Outcome {
    if let Err(o) = fenced(state, c.job_id, c.worker_id, c.token) {
        return o;
    }
    let job = state.jobs.get(c.job_id).expect("fenced");
    // Never charge more than the wall time since the placement.
    let wall = job.execution.placement.map_or(0, |p| now.saturating_sub(p.assigned_at_ms));
    let run_ms = c.usage.run_ms.min(wall);
    let retry = matches!(c.ending, RunEnding::Failed { .. }) && job.execution.attempts <= job.spec.max_retries;
    crate::cost::charge(state, now, c.job_id, run_ms, Some(c.usage));
    let job = state.jobs.get_mut(c.job_id).expect("fenced");
    job.execution.ending = Some(c.ending);
    job.execution.usage = Some(c.usage);
    if retry {
        super::unplace(state, now, c.job_id);
        let job = state.jobs.get_mut(c.job_id).expect("fenced");
        job.state = JobState::Pending;
        job.updated_at_ms = now;
        job.execution.placement = None;
        super::enqueue(state, c.job_id);
    } else {
        let to = match c.ending {
            RunEnding::Succeeded => JobState::Succeeded,
            RunEnding::TimedOut => JobState::TimedOut,
            RunEnding::Cancelled => JobState::Cancelled,
            RunEnding::Failed { .. } => JobState::Failed,
        };
        super::terminate(state, now, c.job_id, to);
    }
    Outcome::JobFinished(state.jobs.get(c.job_id).cloned().expect("the job just finished is retained"))
}
