//! Linearizability of the campaign tenant's jobs: submits (every attempt,
//! acknowledged or unclear), linearizable reads and cancels must have one order,
//! consistent with real time, that the sequential job model
//! ([`job_model`]) accepts.
//!
//! The tenant's state is a map from job to job; every call touches one job (a
//! submit through its idempotency key, which names one job), so by locality
//! (Herlihy and Wing) the tenant's history is linearizable exactly when each
//! job's is. Each job is searched on its own ([`search`]); a search that runs
//! out of budget is a violation ("unknown" is not a pass).
//!
//! What is left out, and why: stale reads (allowed to lag); refused submits (a
//! 4xx or 503 `unavailable` promises nothing was applied and shows nothing);
//! reads and cancels with no reply (they changed nothing, or for a cancel, may
//! have: kept as optional); other refusals of a cancel (403, 503: nothing seen);
//! quota and burst calls (they touch no job: what they do to admissions is the
//! log replay's to check).

mod job_model;
pub(crate) mod search;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use super::{Findings, Verdict};
use crate::history::{History, Op, OpKind, Outcome};
pub use job_model::{Job, JobCall};
use search::{Answer, Timed};

/// States explored per job before the search gives up (an "unknown").
pub const BUDGET: u64 = 200_000;

pub fn check(h: &History) -> Verdict {
    check_with_budget(h, BUDGET)
}

pub fn check_with_budget(h: &History, budget: u64) -> Verdict {
    let mut f = Findings::new("linearizable-per-tenant");
    for (job, ops) in per_job(h) {
        let calls: Vec<Timed<JobCall>> = ops.iter().map(|(t, _)| t.clone()).collect();
        f.checked(calls.len() as u64);
        match search::check(Job::Absent, &calls, budget) {
            Answer::Linearizable => {}
            Answer::Unknown { explored } => {
                f.violation(format!("job {job}: unknown after {explored} states ({} calls): counted as a failure", calls.len()))
            }
            Answer::Not { placed, stuck } => {
                let ids: Vec<u64> = stuck.iter().map(|&i| ops[i].1).collect();
                f.violation(format!(
                    "job {job}: no linear order of its {} calls; at most {placed} could be ordered, then none of ops {ids:?} fits",
                    calls.len()
                ))
            }
        }
    }
    f.verdict()
}

/// Which job each idempotency key created, from every reply and final listing.
fn jobs_of_keys(h: &History) -> BTreeMap<&str, BTreeSet<u64>> {
    let mut keys: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let replies = h.ops.iter().filter_map(|op| match &op.outcome {
        Outcome::Ok { job: Some(j) } => Some(j),
        _ => None,
    });
    let listed = h.final_nodes.iter().flat_map(|n| n.jobs.iter().flatten());
    for j in replies.chain(listed) {
        if let Some(k) = &j.key {
            keys.entry(k.as_str()).or_default().insert(j.id);
        }
    }
    keys
}

/// The call an operation contributes to its job's history, if any.
fn call_of(op: &Op) -> Option<Timed<JobCall>> {
    let definite = |call| Some(Timed { invoke: op.invoke_ms, complete: Some(op.complete_ms), call });
    let unclear = |call| Some(Timed { invoke: op.invoke_ms, complete: None, call });
    let seen = |o: &Outcome| match o {
        Outcome::Ok { job } => job.as_ref().map(|j| j.state.clone()),
        _ => None,
    };
    match (&op.kind, &op.outcome) {
        (OpKind::Submit { .. }, o @ Outcome::Ok { .. }) => definite(JobCall::Submit(seen(o))),
        (OpKind::Submit { .. }, Outcome::Maybe { .. }) => unclear(JobCall::Submit(None)),
        (OpKind::Read { linearizable: true, .. }, o @ Outcome::Ok { .. }) => definite(JobCall::Read(seen(o))),
        (OpKind::Cancel { .. }, Outcome::Ok { .. }) => definite(JobCall::Cancelled),
        (OpKind::Cancel { .. }, Outcome::Maybe { .. }) => unclear(JobCall::MaybeCancel),
        (OpKind::Cancel { .. }, Outcome::Fail { reason }) if reason.starts_with("404 ") => definite(JobCall::CancelNotFound),
        (OpKind::Cancel { .. }, Outcome::Fail { reason }) if reason.starts_with("409 ") => definite(JobCall::CancelConflict),
        _ => None,
    }
}

/// Every job's calls with the id of the operation each came from.
fn per_job(h: &History) -> BTreeMap<u64, Vec<(Timed<JobCall>, u64)>> {
    let keys = jobs_of_keys(h);
    let mut jobs: BTreeMap<u64, Vec<(Timed<JobCall>, u64)>> = BTreeMap::new();
    for op in &h.ops {
        let Some(call) = call_of(op) else { continue };
        let targets: Vec<u64> = match (&op.kind, &op.outcome) {
            (OpKind::Submit { .. }, Outcome::Ok { job: Some(j) }) => vec![j.id],
            (OpKind::Submit { key }, _) => keys.get(key.as_str()).into_iter().flatten().copied().collect(),
            (OpKind::Read { job, .. } | OpKind::Cancel { job }, _) => vec![*job],
            // Quota and burst calls touch no job (`call_of` gave none).
            (OpKind::GetQuota | OpKind::SetQuota { .. } | OpKind::RequestBurst { .. } | OpKind::RevokeBurst { .. }, _) => continue,
        };
        for job in targets {
            jobs.entry(job).or_default().push((call.clone(), op.id));
        }
    }
    jobs
}
