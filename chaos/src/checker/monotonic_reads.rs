//! Linearizable reads never go back in time. Every definite observation (an
//! acknowledged submit or cancel, any read that returned) is a fact about
//! committed state from the moment it completed; a linearizable read invoked
//! after that moment must not contradict it:
//! - its index (`X-Hodei-Index`) is not below the index of any earlier observation;
//! - a job seen to exist is not missing;
//! - a job seen in a terminal state is still in that state.
//!
//! Stale reads are facts too (a node only applies what is committed) but are not
//! held to the rule themselves: they may lag.

use std::collections::BTreeMap;

use super::{Findings, Verdict};
use crate::history::{History, Op, OpKind, Outcome};
use crate::model::JobFacts;

/// The job an operation is about, and what it saw (`None` = not found).
fn observation(op: &Op) -> Option<(u64, Option<&str>)> {
    match (&op.kind, &op.outcome) {
        (_, Outcome::Ok { job: Some(j) }) => Some((j.id, Some(j.state.as_str()))),
        (OpKind::Read { job, .. }, Outcome::Ok { job: None }) => Some((*job, None)),
        _ => None,
    }
}

pub fn check(h: &History) -> Verdict {
    let mut f = Findings::new("linearizable-reads-monotonic");
    let mut witnesses: Vec<&Op> = h.ops.iter().filter(|op| matches!(op.outcome, Outcome::Ok { .. })).collect();
    witnesses.sort_by_key(|op| op.complete_ms);
    let mut reads: Vec<&Op> = h
        .ops
        .iter()
        .filter(|op| matches!(op.kind, OpKind::Read { linearizable: true, .. }) && matches!(op.outcome, Outcome::Ok { .. }))
        .collect();
    reads.sort_by_key(|op| op.invoke_ms);

    let mut next = 0;
    let mut max_index: Option<(u64, u64)> = None; // (index, op id)
    let mut facts: BTreeMap<u64, (JobFacts, u64)> = BTreeMap::new(); // job -> (facts, last op id)
    for read in reads {
        // Take in every observation that completed strictly before this read began.
        while next < witnesses.len() && witnesses[next].complete_ms < read.invoke_ms {
            let w = witnesses[next];
            next += 1;
            if let Some(i) = w.index {
                if max_index.is_none_or(|(m, _)| i > m) {
                    max_index = Some((i, w.id));
                }
            }
            if let Some((job, Some(state))) = observation(w) {
                let e = facts.entry(job).or_default();
                e.0.observe(state);
                e.1 = w.id;
            }
        }
        f.checked(1);
        if let (Some(i), Some((m, by))) = (read.index, max_index) {
            if i < m {
                f.violation(format!("op {} (node {}) read at index {i}, after op {by} had seen index {m}", read.id, read.node));
            }
        }
        if let Some((job, seen)) = observation(read) {
            if let Some((fact, by)) = facts.get(&job) {
                if let Some(why) = fact.contradiction(seen) {
                    f.violation(format!("op {} (node {}): job {job} {why} (op {by})", read.id, read.node));
                }
            }
        }
    }
    f.verdict()
}
