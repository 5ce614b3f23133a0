//! Invariants of the committed log, checked by replaying it through `domain`'s
//! own `apply` and looking at the state after every entry:
//!
//! - **fencing** (`one-worker-per-job`): no job is in the job set of two live
//!   (not lost) workers at once, a worker holds only jobs whose placement names
//!   it, and every worker report (`StartJob`, `FinishJob`) that was applied
//!   carried the worker and fencing token of the job's placement at that moment;
//! - **quota** (`running-within-quota-and-burst`): whenever an entry raised a
//!   tenant's running usage (new placements), that usage is within the tenant's
//!   quota plus the burst lease active at the entry's time: cpu, memory, and
//!   concurrent jobs. (Lowering a quota or a lease running out later does not
//!   evict running jobs, so only admissions are held to the limit.) Checked only
//!   while `quota_enforcement.strict_mode` is on, as admission is.
//!
//! Also every disagreement between nodes' committed logs, and a log that does
//! not start at the beginning (index 0 or 1) or skips an index, is a violation
//! of both: what was not replayed was not checked.

use std::collections::{BTreeMap, BTreeSet};

use hodei_domain::command::{Command, Proposal};
use hodei_domain::ids::{JobId, TenantId, WorkerId};
use hodei_domain::model::{Quota, Usage, WorkerState};
use hodei_domain::outcome::Outcome;
use hodei_domain::state::State;

use super::{Findings, Verdict};
use crate::committed::CommittedLog;

/// Both verdicts, or none when the campaign's backend could not collect the log.
pub fn check(log: Option<&CommittedLog>) -> Vec<Verdict> {
    let Some(log) = log else { return Vec::new() };
    let mut fencing = Findings::new("one-worker-per-job");
    let mut quota = Findings::new("running-within-quota-and-burst");
    for d in &log.disagreements {
        fencing.violation(d.clone());
        quota.violation(d.clone());
    }
    let mut state = State::default();
    let mut reported: BTreeSet<JobId> = BTreeSet::new();
    // openraft's first entry (the initial membership) is at index 0.
    let mut expected = log.entries.first().map_or(0, |e| e.index.min(1));
    for e in &log.entries {
        if e.index != expected {
            let gap = format!("node {}'s committed log has index {} where {expected} was due: the replay stops", log.node, e.index);
            fencing.violation(gap.clone());
            quota.violation(gap);
            break;
        }
        expected += 1;
        let Some(p) = &e.proposal else { continue };
        // A batch applies as its commands one by one at the entry's index and
        // time (domain's rule), so each is checked as an entry of its own.
        let commands = match &p.command {
            Command::Batch(commands) => commands.iter().filter(|c| c.batchable()).cloned().collect(),
            single => vec![single.clone()],
        };
        for command in commands {
            let p = Proposal { at_ms: p.at_ms, command };
            replay_one(&mut state, e.index, &p, &mut fencing, &mut quota, &mut reported);
        }
    }
    vec![fencing.verdict(), quota.verdict()]
}

/// Applies one command of entry `index` and checks it.
fn replay_one(state: &mut State, index: u64, p: &Proposal, fencing: &mut Findings, quota: &mut Findings, reported: &mut BTreeSet<JobId>) {
    let report = match &p.command {
        Command::StartJob(c) => Some((c.job_id, c.worker_id, c.token)),
        Command::FinishJob(c) => Some((c.job_id, c.worker_id, c.token)),
        _ => None,
    };
    let placed_before = report.and_then(|(job, ..)| state.job(job).and_then(|j| j.execution.placement));
    let running_before: BTreeMap<TenantId, Usage> = state.tenants().map(|t| (t.id, state.running_usage(t.id))).collect();
    let outcome = state.apply(index, p);
    let applied = !matches!(outcome, Outcome::Rejected(_));
    if let (Some((job, worker, token)), true) = (report, applied) {
        fencing.checked(1);
        if placed_before.map(|pl| (pl.worker, pl.token)) != Some((worker, token)) {
            fencing.violation(format!(
                "entry {index}: {worker}'s report of job {job} with token {token} was applied while its placement was {placed_before:?}"
            ));
        }
    }
    if let Outcome::JobsAssigned(placed) = &outcome {
        fencing.checked(placed.len() as u64);
    }
    check_workers(state, index, fencing, reported);
    check_admissions(state, index, p.at_ms, &running_before, quota);
}

/// Each job on at most one live worker, and only on the one its placement names.
fn check_workers(state: &State, index: u64, f: &mut Findings, reported: &mut BTreeSet<JobId>) {
    let holdings = state.workers().filter(|w| w.state != WorkerState::Lost).flat_map(|w| {
        w.jobs.iter().map(move |&job| (w.id, job, state.job(job).and_then(|j| j.execution.placement).map(|p| p.worker)))
    });
    for (job, problem) in holding_problems(holdings) {
        // One finding per job: a wrong holder stays wrong for many entries.
        if reported.insert(job) {
            f.violation(format!("entry {index}: {problem}"));
        }
    }
}

/// From (live worker, job it holds, worker the job's placement names): every
/// job held twice or by a worker it is not placed on.
pub(crate) fn holding_problems(holdings: impl Iterator<Item = (WorkerId, JobId, Option<WorkerId>)>) -> Vec<(JobId, String)> {
    let mut holder: BTreeMap<JobId, WorkerId> = BTreeMap::new();
    let mut found = Vec::new();
    for (worker, job, placed) in holdings {
        match holder.insert(job, worker) {
            Some(other) => found.push((job, format!("job {job} is on live workers {other} and {worker}"))),
            None if placed != Some(worker) => found.push((job, format!("job {job} is on live worker {worker} but placed on {placed:?}"))),
            None => {}
        }
    }
    found
}

/// Every tenant whose running usage this entry raised is within quota plus burst.
fn check_admissions(state: &State, index: u64, now_ms: u64, before: &BTreeMap<TenantId, Usage>, f: &mut Findings) {
    if !state.settings().quota_enforcement.strict_mode {
        return;
    }
    for t in state.tenants() {
        let now = state.running_usage(t.id);
        let was = before.get(&t.id).copied().unwrap_or_default();
        if now.jobs <= was.jobs && now.cpu_m <= was.cpu_m && now.memory_mb <= was.memory_mb {
            continue;
        }
        f.checked(1);
        for over in over_limit(now, &t.quota, state.burst_allowance(t.id, now_ms)) {
            f.violation(format!("entry {index}: tenant {} {over}", t.id));
        }
    }
}

/// What of `used` is over `quota` plus the (cpu_m, memory_mb) of a burst lease.
pub(crate) fn over_limit(used: Usage, quota: &Quota, burst: (u64, u64)) -> Vec<String> {
    let limits = [
        ("cpu_m", used.cpu_m, quota.cpu_m.saturating_add(burst.0)),
        ("memory_mb", used.memory_mb, quota.memory_mb.saturating_add(burst.1)),
        ("running jobs", u64::from(used.jobs), u64::from(quota.max_concurrent_jobs)),
    ];
    limits
        .into_iter()
        .filter(|(_, used, limit)| used > limit)
        .map(|(what, used, limit)| format!("runs {used} {what}, over its quota plus burst of {limit}"))
        .collect()
}
