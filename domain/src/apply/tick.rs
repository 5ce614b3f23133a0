//! `Tick`: everything that happens because time passed, decided by the
//! command's time only. Each kind of work is bounded per tick
//! ([`MAX_PER_TICK`]), so one tick never stalls the log however much is due;
//! the rest waits for the next tick.

use crate::burst::BurstState;
use crate::model::{JobState, WorkerState};
use crate::outcome::{Outcome, TickReport};
use crate::state::State;

/// Most items of each kind (expiries, prunes) handled by one tick.
pub const MAX_PER_TICK: usize = 10_000;

pub(crate) fn tick(state: &mut State, now: u64) -> Outcome {
    let mut report = TickReport::default();
    expire_bursts(state, now, &mut report);
    time_out_jobs(state, now, &mut report);
    accrue_idle(state, now);
    prune(state, now, &mut report);
    Outcome::Ticked(report)
}

/// Is work due at `now` that should not wait for the next periodic tick: a
/// lease to end, a running job past its deadline, a finished job past its
/// retention, a lost worker to forget? Idle cost accrual, ledger pruning and
/// pool lifecycle (refreshed whenever workers change anyway) are not urgent:
/// the periodic tick covers them.
pub(crate) fn due(state: &State, now: u64) -> bool {
    let r = state.settings.retention;
    state.live_bursts.values().any(|id| state.bursts.get(id).is_some_and(|b| b.is_due(now)))
        || state.deadlines.first().is_some_and(|&(d, _)| d <= now)
        || state.finished.first().is_some_and(|&(at, _)| now.saturating_sub(at) >= r.finished_job_ttl_ms)
        || state
            .workers
            .values()
            .any(|w| w.state == WorkerState::Lost && w.jobs.is_empty() && w.lost_at_ms.is_some_and(|at| now.saturating_sub(at) >= r.lost_worker_ttl_ms))
}

/// Is there anything a periodic tick would do (idle cost to accrue, ledger
/// buckets or finished jobs that will need pruning)? A cluster with none of
/// these writes no ticks at all.
pub(crate) fn periodic_useful(state: &State) -> bool {
    !state.workers.is_empty() || !state.cost.jobs.is_empty() || !state.cost.idle.is_empty() || !state.sla.buckets.is_empty() || !state.finished.is_empty()
}

fn expire_bursts(state: &mut State, now: u64, report: &mut TickReport) {
    let due: Vec<_> = state
        .live_bursts
        .values()
        .filter(|id| state.bursts.get(id).is_some_and(|b| b.is_due(now)))
        .copied()
        .take(MAX_PER_TICK)
        .collect();
    for id in due {
        super::burst::end(state, id, BurstState::Expired, None, now);
        report.bursts_expired += 1;
    }
}

/// A running job past start + timeout + grace is TIMED_OUT and charged for its
/// wall time; the worker's own timeout report usually arrives first.
fn time_out_jobs(state: &mut State, now: u64, report: &mut TickReport) {
    while report.jobs_timed_out.len() < MAX_PER_TICK {
        let Some(&(deadline, id)) = state.deadlines.first() else { break };
        if deadline > now {
            break;
        }
        state.deadlines.remove(&(deadline, id));
        let Some(job) = state.jobs.get(id) else { continue };
        if job.state != JobState::Running {
            continue;
        }
        let ran = job.execution.started_at_ms.map_or(0, |s| now.saturating_sub(s));
        crate::cost::charge(state, now, id, ran, None);
        super::terminate(state, now, id, JobState::TimedOut);
        report.jobs_timed_out.push(id);
    }
}

/// Charges idle workers up to now so long idle stretches land in the right
/// hourly buckets.
fn accrue_idle(state: &mut State, now: u64) {
    let idle: Vec<_> = state
        .workers
        .values()
        .filter(|w| w.idle_since_ms.is_some_and(|s| s < now))
        .map(|w| w.id)
        .collect();
    for id in idle {
        super::worker::stop_idle_clock(state, id, now);
        if let Some(w) = state.workers.get_mut(&id) {
            w.idle_since_ms = Some(now);
        }
    }
}

fn prune(state: &mut State, now: u64, report: &mut TickReport) {
    let r = state.settings.retention;
    while (report.jobs_pruned as usize) < MAX_PER_TICK {
        let Some(&(at, id)) = state.finished.first() else { break };
        if now.saturating_sub(at) < r.finished_job_ttl_ms {
            break;
        }
        state.finished.remove(&(at, id));
        super::forget_job(state, id);
        report.jobs_pruned += 1;
    }
    let horizon_ms = now.saturating_sub(u64::from(state.settings.cost_tracking.retention_days) * 86_400_000);
    report.buckets_pruned = crate::cost::prune(state, horizon_ms, MAX_PER_TICK) + crate::sla::prune(state, horizon_ms, MAX_PER_TICK);
    let lost: Vec<_> = state
        .workers
        .values()
        .filter(|w| w.state == WorkerState::Lost && w.jobs.is_empty())
        .filter(|w| w.lost_at_ms.is_some_and(|at| now.saturating_sub(at) >= r.lost_worker_ttl_ms))
        .map(|w| w.id)
        .take(MAX_PER_TICK)
        .collect();
    for id in lost {
        state.workers.remove(&id);
        report.workers_forgotten += 1;
    }
    let ended: Vec<_> = state
        .bursts
        .values()
        .filter(|b| b.ended_at_ms.is_some_and(|e| now.saturating_sub(e) >= r.ended_burst_ttl_ms))
        .map(|b| b.id)
        .take(MAX_PER_TICK)
        .collect();
    for id in ended {
        state.bursts.remove(&id);
    }
    let pools: Vec<_> = state.pools.keys().cloned().collect();
    for p in pools {
        let before = state.pools[&p].lifecycle;
        super::pool::refresh_lifecycle(state, &p);
        if before != state.pools[&p].lifecycle && state.pools[&p].lifecycle == crate::pool::PoolLifecycle::Deleted {
            report.pools_deleted += 1;
        }
    }
}
