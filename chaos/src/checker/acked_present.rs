//! Invariant 1: a job whose submission was acknowledged is never lost. After the
//! last heal every node must hold it, under the id the acknowledgement gave and
//! with the idempotency key it was submitted with. "Every node" is every member
//! after healing: a node that joined is held to it, one that was removed is not.

use std::collections::BTreeMap;

use super::{final_states_of_members, Findings, Verdict};
use crate::history::{History, OpKind, Outcome};

pub fn check(h: &History) -> Verdict {
    let mut f = Findings::new("acked-submits-present");
    // job id -> the key its acknowledgement named.
    let mut acked: BTreeMap<u64, &str> = BTreeMap::new();
    for op in &h.ops {
        if let (OpKind::Submit { key }, Outcome::Ok { job: Some(j) }) = (&op.kind, &op.outcome) {
            acked.insert(j.id, key);
        }
    }
    for node in final_states_of_members(h, &mut f) {
        let Some(jobs) = &node.jobs else {
            f.violation(format!("node {}: its jobs could not be listed after healing", node.id));
            continue;
        };
        let by_id: BTreeMap<u64, _> = jobs.iter().map(|j| (j.id, j)).collect();
        for (id, key) in &acked {
            f.checked(1);
            match by_id.get(id) {
                None => f.violation(format!("node {}: acknowledged job {id} (key {key}) is missing", node.id)),
                Some(j) if j.key.as_deref() != Some(*key) => {
                    f.violation(format!("node {}: job {id} has key {:?}, acknowledged for {key}", node.id, j.key))
                }
                Some(_) => {}
            }
        }
    }
    f.verdict()
}
