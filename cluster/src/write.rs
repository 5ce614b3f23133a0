//! Client writes. The leader stamps the command with its clock and proposes it; a
//! follower forwards it to the leader (`crate::forward`). Every write is bounded
//! by `write_timeout`.

use std::time::{Duration, Instant};

use hodei_domain::{Command, Outcome, Proposal};
use openraft::error::{ClientWriteError, RaftError};
use serde::{Deserialize, Serialize};

use crate::error::ClusterError;
use crate::node::{now_ms, wait_for_leader, ClusterNode};

/// A committed and applied write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The log index of the entry; reads at this index or later see the write.
    pub index: u64,
    pub outcome: Outcome,
}

/// The forwarded-write payload of `hodei.raft.v1.RaftService/Forward` (a wire
/// format: see the golden test).
#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardRequest {
    pub command: Command,
}


impl ClusterNode {
    /// Commits `command` through the leader and returns what `apply` answered.
    pub async fn write(&self, command: Command) -> Result<Written, ClusterError> {
        self.check_version_gate(&command)?;
        let deadline = Instant::now() + self.inner.config.write_timeout;
        if self.joins_batches(&command) {
            return self.write_batched(command, deadline).await;
        }
        self.write_routed(command, deadline).await
    }

    /// Proposes `command` on the leader (forwarding it there from a follower).
    pub(crate) async fn write_routed(&self, command: Command, deadline: Instant) -> Result<Written, ClusterError> {
        let mut last_err = ClusterError::unavailable("no leader elected", None);
        // Re-route while nothing was applied and time remains: leadership may move,
        // and a new member may learn the leader's address a moment after its id.
        while Instant::now() < deadline {
            let Some(leader) = wait_for_leader(&self.inner.raft, deadline).await else {
                return Err(last_err);
            };
            let forwarded = leader != self.id();
            let result = if forwarded {
                self.forward(leader, &command, deadline).await
            } else {
                self.write_as_leader(command.clone(), deadline).await
            };
            // A forward that reached the leader (or may have: timed out) counts
            // once per write it carries; one refused before sending is routed again.
            if forwarded && !matches!(result, Err(ClusterError::Unavailable { .. })) {
                let writes = crate::batch::weight(&command) as u64;
                self.inner.forwarded_writes.fetch_add(writes, std::sync::atomic::Ordering::Relaxed);
            }
            match result {
                // Nothing was applied and a leader may yet be found: route again.
                Err(e @ ClusterError::Unavailable { .. }) if Instant::now() < deadline => {
                    last_err = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
        Err(last_err)
    }

    /// Writes this node forwarded to the leader since it started: each write
    /// counts once when its forward reached the leader (or timed out on the way),
    /// whatever the outcome; a batch counts as the writes it carries.
    pub fn forwarded_writes(&self) -> u64 {
        self.inner.forwarded_writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Proposes on this node, which must be the leader.
    pub(crate) async fn write_as_leader(
        &self,
        command: Command,
        deadline: Instant,
    ) -> Result<Written, ClusterError> {
        let raft = &self.inner.raft;
        let stale_quorum = {
            let m = raft.metrics();
            let m = m.borrow();
            m.millis_since_quorum_ack
                .filter(|ms| *ms > self.inner.config.timing.election_timeout_max_ms)
        };
        self.check_version_gate(&command)?;
        if let Some(ms) = stale_quorum {
            // A leader cut off from its quorum would only time out; say so now.
            return Err(ClusterError::unavailable(
                format!("leader has not heard from a quorum for {ms} ms"),
                None,
            ));
        }
        let proposal = Proposal { at_ms: now_ms(), command };
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, raft.client_write(proposal)).await {
            Err(_) => Err(ClusterError::MaybeCommitted),
            Ok(Ok(resp)) => match resp.data {
                Some(outcome) => Ok(Written { index: resp.log_id.index, outcome }),
                None => Err(ClusterError::Stopped("a client write applied as a non-command entry".into())),
            },
            // openraft answers ForwardToLeader also for an entry it had appended
            // when leadership moved (its log reverted here); the next leader
            // may still commit it, so it is not "not applied". Likewise a node
            // that stopped with the write in flight.
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) | Ok(Err(RaftError::Fatal(_))) => {
                Err(ClusterError::MaybeCommitted)
            }
            Ok(Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e)))) => {
                Err(ClusterError::Invalid(e.to_string()))
            }
        }
    }
}
