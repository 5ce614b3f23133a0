//! One reading of openraft's metrics, what the `hodei_raft_*` gauges are set from.

use hodei_cluster::ClusterNode;

/// What the Raft gauges are set from: one reading of openraft's `RaftMetrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftSample {
    /// This node's id.
    pub id: u64,
    pub term: u64,
    pub leader: Option<u64>,
    pub last_log_index: u64,
    /// The last index this node knows to be committed (the log store's saved
    /// committed id; a follower's trails the leader's by a heartbeat or so).
    pub committed_index: u64,
    pub applied_index: u64,
    pub snapshot_index: u64,
    /// Voters and learners in the effective membership.
    pub members: u64,
    pub voters: u64,
}

impl RaftSample {
    /// Reads the node's current Raft metrics.
    pub fn of(node: &ClusterNode) -> RaftSample {
        let rx = node.raft().metrics();
        let m = rx.borrow();
        let membership = m.membership_config.membership();
        RaftSample {
            id: m.id,
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index.unwrap_or(0),
            committed_index: node.committed_index(),
            applied_index: m.last_applied.map(|l| l.index).unwrap_or(0),
            snapshot_index: m.snapshot.map(|l| l.index).unwrap_or(0),
            members: membership.nodes().count() as u64,
            voters: membership.voter_ids().count() as u64,
        }
    }
}
