//! What `GET /api/v1/cluster` shows: members, leader, term, commit index, and each
//! member's applied index (asked of each member, briefly; a silent member shows
//! none).

use std::time::Duration;

use futures::future::join_all;
use hodei_proto::raft::v1::{StatusReply, StatusRequest};
use hodei_raft_store::{NodeId, NodeInfo};
use serde::{Deserialize, Serialize};

use crate::node::ClusterNode;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: NodeId,
    pub leader_id: Option<NodeId>,
    pub term: u64,
    pub commit_index: Option<u64>,
    /// The last index covered by this node's snapshot.
    pub snapshot_index: Option<u64>,
    /// The last index this node removed from its log.
    pub purged_index: Option<u64>,
    pub members: Vec<MemberStatus>,
    /// The cluster version recorded in this node's replicated state: the
    /// protocol version every member speaks (see `docs/reliability.md`).
    pub cluster_version: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberStatus {
    pub id: NodeId,
    pub peer_addr: String,
    pub http_addr: String,
    pub grpc_addr: String,
    pub voter: bool,
    pub applied_index: Option<u64>,
    pub state_hash: Option<u64>,
    /// The protocol version the member speaks (none: it did not answer).
    pub protocol_version: Option<u32>,
}

const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

impl ClusterNode {
    pub async fn cluster_status(&self) -> ClusterStatus {
        let (leader_id, term, membership, snapshot_index, purged_index) = {
            let m = self.raft().metrics();
            let m = m.borrow();
            (
                m.current_leader,
                m.current_term,
                m.membership_config.membership().clone(),
                m.snapshot.map(|l| l.index),
                m.purged.map(|l| l.index),
            )
        };
        let commit_index = self.raft().with_raft_state(|s| s.committed.map(|l| l.index)).await.ok().flatten();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let nodes: Vec<(NodeId, NodeInfo)> = membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
        let members = join_all(nodes.into_iter().map(|(id, info)| {
            let voter = voters.contains(&id);
            async move {
                let reply = self.member_status(id, &info).await;
                let (applied_index, state_hash, protocol_version) = match reply {
                    Some(r) => (Some(r.applied_index), Some(r.state_hash), Some(r.protocol_version)),
                    None => (None, None, None),
                };
                MemberStatus {
                    id,
                    peer_addr: info.peer_addr,
                    http_addr: info.http_addr,
                    grpc_addr: info.grpc_addr,
                    voter,
                    applied_index,
                    state_hash,
                    protocol_version,
                }
            }
        }))
        .await;
        let cluster_version = self.state_machine().read(hodei_domain::State::cluster_version);
        ClusterStatus { node_id: self.id(), leader_id, term, commit_index, snapshot_index, purged_index, members, cluster_version }
    }

    /// What a member says of itself (this node answers from memory), or none
    /// if it does not answer within [`STATUS_TIMEOUT`].
    pub(crate) async fn member_status(&self, id: NodeId, info: &NodeInfo) -> Option<StatusReply> {
        if id == self.id() {
            return self.own_status().await.ok();
        }
        let mut client = self.inner.peers.client(&info.peer_addr).ok()?;
        let reply = tokio::time::timeout(STATUS_TIMEOUT, client.status(StatusRequest {})).await.ok()?.ok()?;
        Some(reply.into_inner())
    }

    /// This node's answer to `RaftService/Status`. The state hash walks the
    /// whole state, so it is computed on the blocking pool, not on the runtime
    /// that drives Raft.
    pub(crate) async fn own_status(&self) -> Result<StatusReply, tokio::task::JoinError> {
        let sm = self.state_machine().clone();
        let (applied_index, state_hash) = tokio::task::spawn_blocking(move || sm.state_hash()).await?;
        Ok(StatusReply {
            node_id: self.id(),
            applied_index,
            state_hash,
            protocol_version: self.state_machine().protocol_version(),
            build_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }
}
