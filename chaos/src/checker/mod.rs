//! Checkers: one invariant a file, each a pure function of a [`History`].
//!
//! | file | invariant |
//! | --- | --- |
//! | `acked_present` | every acknowledged submit is on every node after healing |
//! | `no_phantom` | every job seen was submitted, once per idempotency key, and not after a definite refusal only |
//! | `monotonic_reads` | linearizable reads never go back in time (index, existence, terminal state) |
//! | `linear` | submits, linearizable reads and cancels have one real-time order the job model accepts (Wing–Gong search; "unknown" fails) |
//! | `state_hash` | nodes at the same applied index have the same state hash; all converge after healing |
//! | `recovery` | one leader and full service within 30 s of every heal |
//! | `cluster_version` | after healing every member records one cluster version, the lowest protocol version they speak |
//! | `replay` | replaying the committed log through `domain`: no job on two live workers, reports fenced, admissions within quota plus burst |

mod acked_present;
mod cluster_version;
pub mod linear;
mod monotonic_reads;
mod no_phantom;
mod recovery;
pub(crate) mod replay;
mod state_hash;

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::history::{FinalNode, History};

/// At most this many violations are kept per checker (the count is exact).
const MAX_SHOWN: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub checker: String,
    pub ok: bool,
    /// How many things it checked (operations, jobs, samples: see each checker).
    pub checked: u64,
    pub violation_count: u64,
    pub violations: Vec<String>,
}

/// Collects a checker's findings.
pub(crate) struct Findings {
    checker: &'static str,
    checked: u64,
    violations: Vec<String>,
    count: u64,
}

impl Findings {
    pub(crate) fn new(checker: &'static str) -> Self {
        Findings { checker, checked: 0, violations: Vec::new(), count: 0 }
    }

    pub(crate) fn checked(&mut self, n: u64) {
        self.checked += n;
    }

    pub(crate) fn violation(&mut self, what: String) {
        self.count += 1;
        if self.violations.len() < MAX_SHOWN {
            self.violations.push(what);
        }
    }

    pub(crate) fn verdict(self) -> Verdict {
        Verdict {
            checker: self.checker.into(),
            ok: self.count == 0,
            checked: self.checked,
            violation_count: self.count,
            violations: self.violations,
        }
    }
}

/// The final state of every member after healing (the founding nodes, plus
/// those added, less those removed: [`History::final_members`]). A member whose
/// final state is missing is a violation; a node that left is not held to the
/// final state any more (its copy stopped when it was removed).
pub(crate) fn final_states_of_members<'h>(h: &'h History, f: &mut Findings) -> Vec<&'h FinalNode> {
    if h.final_nodes.is_empty() {
        f.violation("no final state was collected from any node".into());
        return Vec::new();
    }
    let mut states = Vec::new();
    for id in h.final_members() {
        match h.final_nodes.iter().find(|n| n.id == id) {
            Some(n) => states.push(n),
            None => f.violation(format!("node {id} is a member after healing but its final state was not collected")),
        }
    }
    states
}

/// Every checker's verdict on `h`.
pub fn check_all(h: &History) -> Vec<Verdict> {
    let mut verdicts = vec![
        acked_present::check(h),
        no_phantom::check(h),
        monotonic_reads::check(h),
        linear::check(h),
        state_hash::check(h),
        recovery::check(h),
        cluster_version::check(h),
    ];
    verdicts.extend(replay::check(h.committed.as_ref()));
    verdicts
}
