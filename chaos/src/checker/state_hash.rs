//! Invariant 4: every node that has applied index i has the same state at i.
//! Checked on every sample taken during the campaign (two nodes seen at the same
//! applied index must show the same hash) and on the final state (after healing,
//! every member at one applied index with one hash). A removed node's samples
//! count until its removal; a node that joined counts from its first sample.

use std::collections::BTreeMap;

use super::{final_states_of_members, Findings, Verdict};
use crate::history::History;

pub fn check(h: &History) -> Verdict {
    let mut f = Findings::new("same-state-at-same-index");
    // applied index -> (hash, node that showed it first)
    let mut at: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for s in &h.samples {
        if h.removed_at(s.node).is_some_and(|removed| s.at_ms > removed) {
            continue;
        }
        f.checked(1);
        match at.get(&s.applied_index) {
            None => {
                at.insert(s.applied_index, (s.state_hash, s.node));
            }
            Some((hash, node)) if *hash != s.state_hash => f.violation(format!(
                "at applied index {}: node {node} has hash {hash:#x}, node {} has {:#x}",
                s.applied_index, s.node, s.state_hash
            )),
            Some(_) => {}
        }
    }
    let mut finals = Vec::new();
    for n in final_states_of_members(h, &mut f) {
        f.checked(1);
        match (n.applied_index, n.state_hash) {
            (Some(i), Some(s)) => finals.push((n.id, i, s)),
            _ => f.violation(format!("node {}: no applied index and hash after healing", n.id)),
        }
    }
    if let Some((first, rest)) = finals.split_first() {
        for other in rest {
            if (other.1, other.2) != (first.1, first.2) {
                f.violation(format!(
                    "after healing node {} is at ({}, {:#x}) but node {} is at ({}, {:#x})",
                    first.0, first.1, first.2, other.0, other.1, other.2
                ));
            }
        }
    }
    f.verdict()
}
