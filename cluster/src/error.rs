//! What a cluster operation can answer besides success. Clients need three cases
//! kept apart: "not here, try the leader", "not applied" (no quorum, nothing
//! changed), and "maybe applied" (the write was proposed, then time ran out).

use hodei_raft_store::NodeInfo;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ClusterError {
    /// No leader is known, or the leader could not be reached or could not reach a
    /// quorum in time. The command was not applied.
    #[error("no leader or no quorum: {message}")]
    Unavailable { message: String, leader: Option<LeaderHint> },
    /// The write was handed to Raft, but no result arrived in time: it may yet be
    /// applied. Retry with the same idempotency key.
    #[error("timed out after the write was proposed; it may or may not be applied")]
    MaybeCommitted,
    /// The request is not valid for the cluster (e.g. removing an unknown member).
    #[error("{0}")]
    Invalid(String),
    /// This node is shutting down or its storage failed.
    #[error("node stopped: {0}")]
    Stopped(String),
}

/// Where the leader is, for a client to retry there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderHint {
    pub id: u64,
    pub node: Option<NodeInfo>,
}

impl ClusterError {
    pub fn unavailable(message: impl Into<String>, leader: Option<LeaderHint>) -> Self {
        ClusterError::Unavailable { message: message.into(), leader }
    }
}
