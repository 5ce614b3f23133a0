//! Membership: join (learner, then voter once caught up), removal, and keeping
//! each member's advertised addresses current. Changes run on the leader; any
//! other node forwards them there.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use hodei_raft_store::{NodeId, NodeInfo};
use openraft::error::{ClientWriteError, RaftError};
use openraft::ChangeMembers;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::{ClusterError, LeaderHint};
use crate::node::{wait_for_leader, ClusterNode};

/// Adding a node waits for it to catch up, which may take a large snapshot.
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Add as a learner, wait until it has caught up, then make it a voter unless
    /// `learner_only`.
    Add { id: NodeId, node: NodeInfo, learner_only: bool },
    /// Remove a voter or learner; the cluster goes on with the rest.
    Remove { id: NodeId },
    /// Record a member's current addresses.
    SetNode { id: NodeId, node: NodeInfo },
}

/// Applies `change` through the leader; returns the log index that committed it.
pub(crate) async fn change(node: &ClusterNode, change: MembershipChange) -> Result<u64, ClusterError> {
    let deadline = Instant::now() + MEMBERSHIP_TIMEOUT;
    loop {
        let Some(leader) = wait_for_leader(node.raft(), deadline).await else {
            return Err(ClusterError::unavailable("no leader elected", None));
        };
        let result = if leader == node.id() {
            change_as_leader(node, change.clone()).await
        } else {
            forward(node, leader, &change, deadline).await
        };
        match result {
            Err(ClusterError::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

pub(crate) async fn change_as_leader(node: &ClusterNode, change: MembershipChange) -> Result<u64, ClusterError> {
    let raft = node.raft();
    let membership = raft.metrics().borrow().membership_config.membership().clone();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let known = membership.get_node(&match &change {
        MembershipChange::Add { id, .. } | MembershipChange::Remove { id } | MembershipChange::SetNode { id, .. } => *id,
    }).is_some();
    let result = match change {
        MembershipChange::Add { id, node: info, learner_only } => {
            if voters.contains(&id) {
                return Err(ClusterError::Invalid(format!("node {id} is already a voter")));
            }
            node.check_joiner(id, &info).await?;
            tracing::info!(id, %info, "adding learner");
            let added = raft.add_learner(id, info, true).await.map_err(map_err)?;
            if learner_only {
                return Ok(added.log_id.index);
            }
            tracing::info!(id, "promoting learner to voter");
            raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false).await
        }
        MembershipChange::Remove { id } => {
            if !known {
                return Err(ClusterError::Invalid(format!("node {id} is not a member")));
            }
            let changes = if voters.contains(&id) {
                ChangeMembers::RemoveVoters(BTreeSet::from([id]))
            } else {
                ChangeMembers::RemoveNodes(BTreeSet::from([id]))
            };
            tracing::info!(id, "removing member");
            raft.change_membership(changes, false).await
        }
        MembershipChange::SetNode { id, node: info } => {
            if !known {
                return Err(ClusterError::Invalid(format!("node {id} is not a member")));
            }
            raft.change_membership(ChangeMembers::SetNodes(BTreeMap::from([(id, info)])), true).await
        }
    };
    result.map(|r| r.log_id.index).map_err(map_err)
}

fn map_err(e: RaftError<NodeId, ClientWriteError<NodeId, NodeInfo>>) -> ClusterError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => ClusterError::unavailable(
            "leadership moved",
            f.leader_id.map(|id| LeaderHint { id, node: f.leader_node }),
        ),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => ClusterError::Invalid(e.to_string()),
        RaftError::Fatal(e) => ClusterError::Stopped(e.to_string()),
    }
}

async fn forward(node: &ClusterNode, leader: NodeId, change: &MembershipChange, deadline: Instant) -> Result<u64, ClusterError> {
    let client = node.leader_client(leader).await?;
    send(client, "the leader", change, deadline).await
}

async fn send(mut client: crate::peers::PeerClient, addr: &str, change: &MembershipChange, deadline: Instant) -> Result<u64, ClusterError> {
    let payload = codec::encode(change).map_err(|e| ClusterError::Invalid(e.to_string()))?;
    let remaining = deadline.saturating_duration_since(Instant::now());
    let reply = match tokio::time::timeout(remaining, client.change_membership(payload)).await {
        Err(_) => return Err(ClusterError::MaybeCommitted),
        Ok(Err(status)) => return Err(ClusterError::unavailable(format!("{addr}: {}", status.message()), None)),
        Ok(Ok(r)) => r.into_inner(),
    };
    codec::decode::<Result<u64, ClusterError>>(&reply).map_err(|e| ClusterError::Stopped(e.to_string()))?
}

/// A new node asks a running member (by peer address) to add it, and keeps asking
/// until the change is committed.
pub(crate) async fn join_through(node: ClusterNode, target: String) {
    let change = MembershipChange::Add { id: node.id(), node: node.info().clone(), learner_only: false };
    loop {
        let deadline = Instant::now() + MEMBERSHIP_TIMEOUT;
        let sent = match node.inner.peers.client(&target) {
            Ok(client) => send(client, &target, &change, deadline).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(_) => {
                tracing::info!(id = node.id(), %target, "joined the cluster");
                return;
            }
            Err(ClusterError::Invalid(m)) if m.contains("already a voter") => return,
            Err(e) => tracing::warn!(id = node.id(), %target, error = %e, "join failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Founding members start with only their peer address in the membership; once a
/// leader exists, each records its full addresses (and refreshes them after a
/// restart on new ports).
pub(crate) async fn advertise_self(node: ClusterNode) {
    loop {
        let recorded = node.raft().metrics().borrow().membership_config.membership().get_node(&node.id()).cloned();
        match recorded {
            Some(info) if info == *node.info() => return,
            Some(_) => {
                let change = MembershipChange::SetNode { id: node.id(), node: node.info().clone() };
                match node.change_membership(change).await {
                    Ok(_) => tracing::info!(id = node.id(), "advertised own addresses"),
                    Err(e) => tracing::info!(id = node.id(), error = %e, "advertising own addresses; will retry"),
                }
            }
            // Not a member yet (joining): wait.
            None => {}
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
