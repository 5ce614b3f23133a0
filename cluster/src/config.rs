//! What a cluster node needs to start, and the Raft timing it runs with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use hodei_raft_store::NodeInfo;

use crate::error::ClusterError;

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub id: u64,
    /// This node's addresses, as other nodes and clients should use them.
    pub info: NodeInfo,
    pub data_dir: PathBuf,
    /// id -> peer address of every founding member. Used only by a node whose data
    /// dir holds no cluster yet, and only when `join` is not set.
    pub initial_cluster: BTreeMap<u64, String>,
    /// The peer address of a running member to join through (learner, then voter).
    pub join: Option<String>,
    pub timing: RaftTiming,
    /// The protocol version this node speaks (`hodei_domain::PROTOCOL_VERSION`,
    /// or the previous one to run as the previous release).
    pub protocol_version: u32,
    /// Most client writes one Raft entry carries (1: one entry per write);
    /// see [`crate::batch`].
    pub max_batch: usize,
    /// Bound on a client write, from arrival to answer, forwarding included.
    pub write_timeout: Duration,
    /// What the configuration declares; a leader proposes what is missing.
    pub bootstrap: hodei_domain::Bootstrap,
}

/// Raft timing, etcd-like by default: heartbeat 100 ms, election 1 s to 2 s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftTiming {
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Per snapshot chunk; generous so a large snapshot never loops on re-sends.
    pub install_snapshot_timeout_ms: u64,
    pub snapshot_chunk_bytes: u64,
    /// Take a snapshot after this many entries since the last one.
    pub snapshot_logs_since_last: u64,
    /// Entries kept behind a snapshot, so a slightly lagging follower needs none.
    pub max_in_snapshot_log_to_keep: u64,
}

impl Default for RaftTiming {
    fn default() -> Self {
        RaftTiming {
            heartbeat_ms: 100,
            election_timeout_min_ms: 1000,
            election_timeout_max_ms: 2000,
            install_snapshot_timeout_ms: 30_000,
            snapshot_chunk_bytes: 4 * 1024 * 1024,
            snapshot_logs_since_last: 20_000,
            max_in_snapshot_log_to_keep: 1000,
        }
    }
}

impl RaftTiming {
    pub(crate) fn to_openraft(&self) -> Result<openraft::Config, ClusterError> {
        let config = openraft::Config {
            cluster_name: "hodei".to_string(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            install_snapshot_timeout: self.install_snapshot_timeout_ms,
            snapshot_max_chunk_size: self.snapshot_chunk_bytes,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_logs_since_last),
            max_in_snapshot_log_to_keep: self.max_in_snapshot_log_to_keep,
            max_payload_entries: 512,
            ..Default::default()
        };
        config.validate().map_err(|e| ClusterError::Invalid(format!("raft timing: {e}")))
    }
}
