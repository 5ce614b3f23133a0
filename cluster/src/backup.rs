//! Consistent backups, like `etcdctl snapshot save`: a snapshot taken at or after
//! a linearizable read index, so it holds every write acknowledged before the
//! request.

use std::time::{Duration, Instant};

use crate::error::ClusterError;
use crate::node::ClusterNode;
use crate::read::Consistency;

const BACKUP_TIMEOUT: Duration = Duration::from_secs(120);

impl ClusterNode {
    /// Builds a fresh snapshot on this node covering at least the current read
    /// index, and returns its file bytes and the index it covers.
    pub async fn backup(&self) -> Result<(Vec<u8>, u64), ClusterError> {
        let index = self.read_barrier(Consistency::Linearizable).await?;
        let covered = |m: &openraft::RaftMetrics<u64, hodei_raft_store::NodeInfo>| m.snapshot.is_some_and(|s| s.index >= index);
        if !covered(&self.raft().metrics().borrow()) {
            self.raft().trigger().snapshot().await.map_err(|e| ClusterError::Stopped(e.to_string()))?;
            let deadline = Instant::now() + BACKUP_TIMEOUT;
            self.raft()
                .wait(Some(deadline.saturating_duration_since(Instant::now())))
                .metrics(covered, "a snapshot covering the read index")
                .await
                .map_err(|e| ClusterError::unavailable(format!("snapshot not built in time: {e}"), None))?;
        }
        let bytes = self
            .state_machine()
            .current_snapshot_bytes()
            .ok_or_else(|| ClusterError::Stopped("no snapshot after building one".into()))?;
        let at = self.raft().metrics().borrow().snapshot.map(|s| s.index).unwrap_or(0);
        Ok((bytes, at))
    }
}
