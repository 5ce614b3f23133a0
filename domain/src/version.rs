//! Protocol versions and the cluster version.
//!
//! Every build speaks one protocol version, [`PROTOCOL_VERSION`]: the command
//! kinds, entry layouts and snapshot formats it can read. A cluster mid-upgrade
//! has members of two adjacent versions, so the *cluster version* is the lowest
//! version all members report. It is part of the replicated state: the leader
//! raises it with a `SetClusterVersion` entry once every member reports a
//! higher one, and never lowers it. Nothing newer than the cluster version is
//! written: a command whose [`crate::Command::min_version`] exceeds it is not
//! proposed, and snapshots keep the format the cluster version can read.
//!
//! History:
//! - 2: the first release. Every command kind up to `RecordSamples`; state
//!   snapshot format 3. Clusters without a recorded version run at 2.
//! - 3: `SetClusterVersion` itself; state snapshot format 4 (the recorded
//!   cluster version after the format-3 body); `Batch` entries (many
//!   commands in one entry).
//! - 4: `SetSlaTargets` (wait targets per priority); state snapshot format 5
//!   (the targets and the per-priority SLA ledger after format 4).

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 4;
/// The oldest protocol version this build runs beside (and can be capped to).
pub const OLDEST_PROTOCOL_VERSION: u32 = 2;
/// The version that added `SetClusterVersion`, `Batch` entries and state
/// snapshot format 4: none of them is written while the cluster is older.
pub const BATCH_AND_VERSION_GATE: u32 = 3;
/// The version that added `SetSlaTargets` and state snapshot format 5.
pub const SLA_TARGETS_GATE: u32 = 4;

/// The cluster version the leader should record, given the current one and
/// what each member reports (`None`: a member that did not answer). Only ever
/// a raise, and only when every member answered.
pub fn next_cluster_version(current: u32, reports: &[Option<u32>]) -> Option<u32> {
    let lowest = reports.iter().copied().collect::<Option<Vec<u32>>>()?.into_iter().min()?;
    (lowest > current).then_some(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_version_rises_only_when_every_member_reports_higher() {
        assert_eq!(next_cluster_version(2, &[Some(3), Some(3), Some(3)]), Some(3));
        assert_eq!(next_cluster_version(2, &[Some(3), Some(2), Some(3)]), None);
        assert_eq!(next_cluster_version(2, &[Some(3), None, Some(3)]), None, "a silent member may be old");
        assert_eq!(next_cluster_version(3, &[Some(3), Some(3)]), None, "already there");
        assert_eq!(next_cluster_version(3, &[Some(2), Some(3)]), None, "never lowered");
        assert_eq!(next_cluster_version(2, &[Some(4), Some(3)]), Some(3), "the lowest member decides");
        assert_eq!(next_cluster_version(2, &[]), None);
    }
}
