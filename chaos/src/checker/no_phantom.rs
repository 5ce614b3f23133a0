//! No phantom job: every job any reply or final listing showed was submitted by
//! the campaign, i.e. carries an idempotency key some submit used; it is the one
//! job of that key (the id every acknowledgement of the key named, and no second
//! job with the key on any node); and its key was not refused by every attempt
//! (a 4xx or a 503 `unavailable` promises that nothing was applied).

use std::collections::{BTreeMap, BTreeSet};

use super::{Findings, Verdict};
use crate::history::{History, JobSeen, OpKind, Outcome};

#[derive(Default)]
struct KeyFacts {
    acked_ids: BTreeSet<u64>,
    /// Some attempt was acknowledged or left unclear.
    maybe_applied: bool,
}

pub fn check(h: &History) -> Verdict {
    let mut f = Findings::new("no-phantom-jobs");
    let mut keys: BTreeMap<&str, KeyFacts> = BTreeMap::new();
    for op in &h.ops {
        if let OpKind::Submit { key } = &op.kind {
            let k = keys.entry(key.as_str()).or_default();
            match &op.outcome {
                Outcome::Ok { job } => {
                    k.maybe_applied = true;
                    k.acked_ids.extend(job.as_ref().map(|j| j.id));
                }
                Outcome::Maybe { .. } => k.maybe_applied = true,
                Outcome::Fail { .. } => {}
            }
        }
    }
    for (key, k) in &keys {
        if k.acked_ids.len() > 1 {
            f.violation(format!("key {key} was acknowledged as different jobs {:?}", k.acked_ids));
        }
    }
    // Every job seen anywhere, with where it was seen.
    let mut seen: BTreeMap<u64, (JobSeen, String)> = BTreeMap::new();
    for op in &h.ops {
        if let Outcome::Ok { job: Some(j) } = &op.outcome {
            seen.entry(j.id).or_insert_with(|| (j.clone(), format!("op {} on node {}", op.id, op.node)));
        }
    }
    for node in &h.final_nodes {
        let mut per_key: BTreeMap<&str, u64> = BTreeMap::new();
        for j in node.jobs.iter().flatten() {
            seen.entry(j.id).or_insert_with(|| (j.clone(), format!("final list of node {}", node.id)));
            if let Some(k) = &j.key {
                if let Some(other) = per_key.insert(k, j.id) {
                    f.violation(format!("node {}: jobs {other} and {} share key {k}", node.id, j.id));
                }
            }
        }
    }
    for (id, (job, where_)) in &seen {
        f.checked(1);
        let Some(key) = &job.key else {
            f.violation(format!("job {id} ({where_}) has no idempotency key: no submit of the campaign made it"));
            continue;
        };
        match keys.get(key.as_str()) {
            None => f.violation(format!("job {id} ({where_}) has key {key}, which nobody submitted")),
            Some(k) if !k.maybe_applied => {
                f.violation(format!("job {id} ({where_}) exists, but every submit of key {key} was refused as not applied"))
            }
            Some(k) if !k.acked_ids.is_empty() && !k.acked_ids.contains(id) => {
                f.violation(format!("job {id} ({where_}) has key {key}, acknowledged as job {:?}", k.acked_ids))
            }
            Some(_) => {}
        }
    }
    f.verdict()
}
