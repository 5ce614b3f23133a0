//! `SetSlaTargets`: replace the wait targets per priority of the cluster or of
//! one tenant. The targets apply to jobs as they start and to the SLA boost
//! from the next dispatch round; recorded compliance is never recomputed.

use crate::command::SetSlaTargets;
use crate::outcome::{Outcome, Rejection};
use crate::sla::check_targets;
use crate::state::State;
use crate::version::SLA_TARGETS_GATE;

pub(crate) fn set(state: &mut State, c: &SetSlaTargets) -> Outcome {
    // Below version 4 snapshots are written in a format without targets: a
    // target recorded then would be lost at the next snapshot. The cluster's
    // gate keeps the command out of the log; this keeps the state sound.
    if state.cluster_version() < SLA_TARGETS_GATE {
        return Rejection::conflict(format!("wait targets per priority need cluster version {SLA_TARGETS_GATE}; the cluster runs {}", state.cluster_version()));
    }
    if let Err(message) = check_targets(&c.by_priority) {
        return Rejection::invalid(message);
    }
    let scope = match c.tenant_id {
        None => &mut state.sla_targets.cluster,
        Some(t) if state.tenants.contains_key(&t) => state.sla_targets.tenants.entry(t).or_default(),
        Some(t) => return Rejection::not_found(t.to_string()),
    };
    scope.clone_from(&c.by_priority);
    if let Some(t) = c.tenant_id.filter(|_| c.by_priority.is_empty()) {
        state.sla_targets.tenants.remove(&t);
    }
    Outcome::SlaTargetsSet { tenant_id: c.tenant_id, by_priority: c.by_priority.clone() }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::command::{Command, CreateTenant, SetClusterVersion, SetSlaTargets};
    use crate::ids::TenantId;
    use crate::outcome::Outcome;
    use crate::state::State;
    use crate::Proposal;

    /// A state whose cluster runs protocol 4.
    fn v4() -> State {
        let mut s = State::default();
        s.apply(0, &Proposal { at_ms: 0, command: Command::SetClusterVersion(SetClusterVersion { version: 4 }) });
        s
    }

    fn set(s: &mut State, index: u64, tenant_id: Option<TenantId>, by_priority: &[(i32, u64)]) -> Outcome {
        let by_priority: BTreeMap<i32, u64> = by_priority.iter().copied().collect();
        s.apply(index, &Proposal { at_ms: index * 1000, command: Command::SetSlaTargets(SetSlaTargets { tenant_id, by_priority }) })
    }

    #[test]
    fn bad_targets_are_refused_and_change_nothing() {
        let mut s = v4();
        assert!(matches!(set(&mut s, 1, None, &[(10, 5_000)]), Outcome::SlaTargetsSet { .. }));
        let before = s.clone();
        assert!(matches!(set(&mut s, 2, None, &[(1, 0)]), Outcome::Rejected(_)), "a zero target");
        assert!(matches!(set(&mut s, 3, None, &[(1, 8 * 86_400_000)]), Outcome::Rejected(_)), "over 7 days");
        assert!(matches!(set(&mut s, 4, None, &[(5_000, 1_000)]), Outcome::Rejected(_)), "a priority out of range");
        let many: Vec<(i32, u64)> = (0..65).map(|p| (p, 1_000)).collect();
        assert!(matches!(set(&mut s, 5, None, &many), Outcome::Rejected(_)), "over 64 targets");
        assert!(matches!(set(&mut s, 6, Some(TenantId(9)), &[(1, 1_000)]), Outcome::Rejected(_)), "an unknown tenant");
        assert_eq!(s, before);
    }

    #[test]
    fn a_set_replaces_its_scope_and_an_empty_one_clears_it() {
        let mut s = v4();
        let create = CreateTenant { name: "a".into(), email: "a@x".into(), quota: None };
        let Outcome::TenantCreated(t) = s.apply(1, &Proposal { at_ms: 1, command: Command::CreateTenant(create) }) else { panic!() };
        set(&mut s, 2, Some(t.id), &[(1, 1_000), (2, 2_000)]);
        set(&mut s, 3, Some(t.id), &[(3, 3_000)]);
        assert_eq!(s.sla_targets().tenants[&t.id], BTreeMap::from([(3, 3_000)]), "replaced, not merged");
        set(&mut s, 4, Some(t.id), &[]);
        assert!(s.sla_targets().tenants.is_empty(), "an empty set leaves no entry behind");
    }
}
