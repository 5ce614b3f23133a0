//! A worker's heartbeat reaches the leader: recorded there in memory, relayed by
//! any other node over the peer service.

use std::time::{Duration, Instant};

use hodei_domain::{WorkerId, WorkerState};

use crate::codec;
use crate::error::ClusterError;
use crate::node::{wait_for_leader, ClusterNode};

const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

impl ClusterNode {
    /// Renews `worker`'s lease; answers whether the cluster knows it as a live
    /// worker (false: it was declared lost or never registered, so it must
    /// register again).
    pub async fn worker_heartbeat(&self, worker: WorkerId) -> Result<bool, ClusterError> {
        let known = self.state_machine().read(|s| s.worker(worker).is_some_and(|w| w.state != WorkerState::Lost));
        if !known {
            return Ok(false);
        }
        let deadline = Instant::now() + HEARTBEAT_TIMEOUT;
        let Some(leader) = wait_for_leader(self.raft(), deadline).await else {
            return Err(ClusterError::unavailable("no leader to renew the lease with", None));
        };
        if leader == self.id() {
            self.inner.liveness.heartbeat(worker);
            return Ok(true);
        }
        let mut client = self.leader_client(leader).await?;
        let payload = codec::encode(&worker).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        let reply = tokio::time::timeout(HEARTBEAT_TIMEOUT, client.worker_heartbeat(payload))
            .await
            .map_err(|_| ClusterError::unavailable("heartbeat relay timed out", None))?
            .map_err(|s| ClusterError::unavailable(s.message().to_string(), None))?;
        codec::decode::<Result<bool, ClusterError>>(reply.get_ref()).map_err(|e| ClusterError::Stopped(e.to_string()))?
    }

    /// On the leader: record a relayed heartbeat.
    pub(crate) fn record_heartbeat(&self, worker: WorkerId) -> Result<bool, ClusterError> {
        if !self.is_leader() {
            return Err(ClusterError::unavailable("not the leader", self.leader_hint()));
        }
        self.inner.liveness.heartbeat(worker);
        Ok(self.state_machine().read(|s| s.worker(worker).is_some_and(|w| w.state != WorkerState::Lost)))
    }
}
