//! `SetClusterVersion`: record a raise of the cluster version. The leader
//! proposes it only when every member reports the new version; apply refuses
//! anything that is not a raise, so a deposed leader's late proposal is harmless.

use crate::command::SetClusterVersion;
use crate::outcome::{Outcome, Rejection};
use crate::state::State;

pub(crate) fn set(state: &mut State, c: &SetClusterVersion) -> Outcome {
    let current = state.cluster_version();
    if c.version <= current {
        return Rejection::conflict(format!("the cluster version is already {current}; it is never lowered"));
    }
    state.cluster_version = c.version;
    Outcome::ClusterVersionSet(c.version)
}

#[cfg(test)]
mod tests {
    use crate::command::{Command, SetClusterVersion};
    use crate::outcome::Outcome;
    use crate::state::State;
    use crate::Proposal;

    fn set(s: &mut State, index: u64, version: u32) -> Outcome {
        s.apply(index, &Proposal { at_ms: index * 1000, command: Command::SetClusterVersion(SetClusterVersion { version }) })
    }

    #[test]
    fn the_version_only_rises_and_a_refusal_changes_nothing() {
        let mut s = State::default();
        assert_eq!(s.cluster_version(), 2, "a cluster without a record runs at the oldest version");
        assert!(matches!(set(&mut s, 1, 2), Outcome::Rejected(_)));
        assert_eq!(set(&mut s, 2, 3), Outcome::ClusterVersionSet(3));
        assert_eq!(s.cluster_version(), 3);
        let before = s.clone();
        assert!(matches!(set(&mut s, 3, 3), Outcome::Rejected(_)), "a repeated raise (a deposed leader's) is refused");
        assert!(matches!(set(&mut s, 4, 2), Outcome::Rejected(_)), "never lowered");
        assert_eq!(s, before);
    }
}
