//! The openraft type configuration shared by every crate above this one.

use hodei_domain::{Outcome, Proposal};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Cursor;

/// Raft node ids are small integers chosen by the operator (`--id N`).
pub type NodeId = u64;

/// What the cluster knows of each member; kept in the Raft membership so every
/// node can name the leader's client addresses in a redirect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Raft peer service (`host:port`).
    pub peer_addr: String,
    /// Public REST API (`host:port`).
    pub http_addr: String,
    /// Public gRPC API (`host:port`).
    pub grpc_addr: String,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer={} http={} grpc={}", self.peer_addr, self.http_addr, self.grpc_addr)
    }
}

openraft::declare_raft_types!(
    /// Hodei's Raft types: entries carry a leader-stamped [`Proposal`], apply
    /// answers an [`Outcome`], snapshots are whole in-memory buffers.
    pub TypeConfig:
        D = Proposal,
        R = Option<Outcome>,
        NodeId = NodeId,
        Node = NodeInfo,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeInfo>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeInfo>;
pub type StorageError = openraft::StorageError<NodeId>;
