//! The cluster version after healing: every member records the same one, and
//! it is the lowest protocol version the members speak. Higher means it was
//! raised while an older member remained (that member could not apply what
//! followed); lower means a finished rolling upgrade never took effect.

use super::{final_states_of_members, Findings, Verdict};
use crate::history::History;

pub fn check(h: &History) -> Verdict {
    let mut f = Findings::new("cluster-version");
    let finals = final_states_of_members(h, &mut f);
    let spoken: Option<Vec<u32>> = finals.iter().map(|n| n.protocol_version).collect();
    let Some(lowest) = spoken.and_then(|v| v.into_iter().min()) else {
        for n in finals.iter().filter(|n| n.protocol_version.is_none()) {
            f.violation(format!("node {}: its protocol version was not read after healing", n.id));
        }
        return f.verdict();
    };
    for n in &finals {
        f.checked(1);
        match n.cluster_version {
            Some(v) if v == lowest => {}
            Some(v) => f.violation(format!("node {} records cluster version {v}; the lowest member speaks {lowest}", n.id)),
            None => f.violation(format!("node {}: no cluster version after healing", n.id)),
        }
    }
    f.verdict()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::FinalNode;

    fn history(nodes: &[(Option<u32>, Option<u32>)]) -> History {
        let finals = (1..).zip(nodes).map(|(id, &(cluster_version, protocol_version))| FinalNode { id, cluster_version, protocol_version, ..Default::default() });
        History { nodes: (1..=nodes.len() as u64).collect(), final_nodes: finals.collect(), ..Default::default() }
    }

    #[test]
    fn the_recorded_version_must_be_the_lowest_spoken() {
        assert!(check(&history(&[(Some(3), Some(3)), (Some(3), Some(3)), (Some(3), Some(3))])).ok);
        assert!(check(&history(&[(Some(2), Some(2)), (Some(2), Some(3)), (Some(2), Some(3))])).ok);
        let raised_early = check(&history(&[(Some(3), Some(2)), (Some(3), Some(3)), (Some(3), Some(3))]));
        assert_eq!(raised_early.violation_count, 3);
        let never_raised = check(&history(&[(Some(2), Some(3)), (Some(2), Some(3)), (Some(2), Some(3))]));
        assert!(!never_raised.ok);
        assert!(!check(&history(&[(Some(3), None), (Some(3), Some(3)), (Some(3), Some(3))])).ok);
    }
}
