//! Reads. Linearizable by default: the serving node learns the leader's read
//! index (the leader confirms its leadership with a quorum first) and waits until
//! it has applied that far, then reads its own copy. Stale reads skip all of that.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use hodei_proto::raft::v1::ReadIndexRequest;

use crate::error::ClusterError;
use crate::node::{wait_for_leader, ClusterNode};

const RETRY_PAUSE: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    #[default]
    Linearizable,
    Stale,
}

impl ClusterNode {
    /// Returns once a read of the local state is allowed at `consistency`, with the
    /// applied index the read will see.
    pub async fn read_barrier(&self, consistency: Consistency) -> Result<u64, ClusterError> {
        // Planted bug `stale-linearizable-read`: a follower answers from its own
        // copy at once, as if the read were stale.
        let stale_anyway =
            hodei_domain::planted::active(hodei_domain::planted::Bug::StaleLinearizableRead) && !self.is_leader();
        if consistency == Consistency::Linearizable && !stale_anyway {
            let deadline = Instant::now() + self.inner.config.write_timeout;
            let index = loop {
                match self.shared_read_index(deadline).await {
                    Ok(index) => break index,
                    // Leadership moved or its address is not known here yet: ask again.
                    Err(ClusterError::Unavailable { .. }) if Instant::now() + RETRY_PAUSE < deadline => {
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            self.wait_applied(index, deadline).await?;
        }
        Ok(self.inner.sm.applied_index())
    }

    /// The leader's read index: this node's own if it leads, else asked of the
    /// leader. Reads go through [`ClusterNode::shared_read_index`], which runs
    /// this once per round for all the reads waiting.
    pub(crate) async fn read_index(&self, deadline: Instant) -> Result<u64, ClusterError> {
        let Some(leader) = wait_for_leader(&self.inner.raft, deadline).await else {
            return Err(ClusterError::unavailable("no leader elected", None));
        };
        if leader == self.id() {
            return self.leader_read_index(deadline).await;
        }
        let mut client = self.leader_client(leader).await?;
        let hint = self.leader_hint();
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, client.read_index(ReadIndexRequest {})).await {
            Ok(Ok(reply)) => match reply.into_inner().read_index {
                Some(index) => Ok(index),
                None => Err(ClusterError::unavailable("leadership moved", hint)),
            },
            Ok(Err(status)) => Err(ClusterError::unavailable(format!("leader unreachable: {}", status.message()), hint)),
            Err(_) => Err(ClusterError::unavailable("read index timed out", hint)),
        }
    }

    /// On the leader: confirm leadership with a quorum and return the read index.
    pub(crate) async fn leader_read_index(&self, deadline: Instant) -> Result<u64, ClusterError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, self.inner.raft.get_read_log_id()).await {
            Ok(Ok((read_log_id, _applied))) => Ok(read_log_id.map(|l| l.index).unwrap_or(0)),
            Ok(Err(e)) => Err(ClusterError::unavailable(format!("leadership not confirmed: {e}"), self.leader_hint())),
            Err(_) => Err(ClusterError::unavailable("leader could not reach a quorum in time", None)),
        }
    }

    /// On a leader holding its read lease: the index of the last entry in its
    /// log, which holds every write acknowledged so far (no other node can
    /// have committed one since the lease began; see `crate::lease`).
    pub(crate) fn lease_read_index(&self) -> Option<u64> {
        let (term, voters) = {
            let m = self.inner.raft.metrics();
            let m = m.borrow();
            if m.state != openraft::ServerState::Leader || m.current_leader != Some(self.id()) {
                return None;
            }
            let membership = m.membership_config.membership();
            if membership.get_joint_config().len() != 1 {
                return None;
            }
            (m.current_term, membership.voter_ids().collect::<std::collections::BTreeSet<_>>())
        };
        let lease = Duration::from_millis(self.inner.config.timing.election_timeout_min_ms / 2);
        self.inner.lease.holds(self.id(), term, &voters, lease).then(|| self.inner.log.last_index())
    }

    /// Waits until the local state machine has applied `index`.
    pub async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<(), ClusterError> {
        if self.inner.sm.applied_index() >= index {
            return Ok(());
        }
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        self.inner
            .raft
            .wait(Some(remaining))
            .applied_index_at_least(Some(index), "read index applied")
            .await
            .map(|_| ())
            .map_err(|e| ClusterError::unavailable(format!("not caught up to index {index}: {e}"), self.leader_hint()))
    }
}
