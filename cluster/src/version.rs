//! The cluster version on the leader: what each member speaks, raising the
//! recorded version once all of them speak a newer one, and the gate that keeps
//! a command kind out of the log until every member can apply it. The rules
//! are in `hodei_domain::version`; `docs/reliability.md` tells the upgrade story.

use futures::future::join_all;
use hodei_domain::command::SetClusterVersion;
use hodei_domain::version::next_cluster_version;
use hodei_domain::{Command, Outcome, State};
use hodei_raft_store::{NodeId, NodeInfo};

use crate::error::ClusterError;
use crate::node::ClusterNode;

impl ClusterNode {
    /// The version recorded in this node's replicated state.
    pub fn cluster_version(&self) -> u32 {
        self.state_machine().read(State::cluster_version)
    }

    /// Refuses a command the cluster version does not allow yet. A refusal is
    /// retryable: it ends when the last member runs the newer build.
    pub(crate) fn check_version_gate(&self, command: &Command) -> Result<(), ClusterError> {
        // Raising the version is guarded by asking every member (below).
        if matches!(command, Command::SetClusterVersion(_)) {
            return Ok(());
        }
        let (needs, cluster) = (command.min_version(), self.cluster_version());
        if needs > cluster {
            return Err(ClusterError::unavailable(
                format!(
                    "{} needs cluster version {needs}; the cluster runs {cluster} until every member speaks {needs} (finish the rolling upgrade)",
                    command.kind()
                ),
                None,
            ));
        }
        Ok(())
    }

    /// Every member (voters and learners) with the protocol version it reports.
    pub async fn member_versions(&self) -> Vec<(NodeId, Option<u32>)> {
        let members: Vec<(NodeId, NodeInfo)> = {
            let m = self.raft().metrics();
            let m = m.borrow();
            m.membership_config.membership().nodes().map(|(id, n)| (*id, n.clone())).collect()
        };
        join_all(members.into_iter().map(|(id, info)| async move {
            (id, self.member_status(id, &info).await.map(|s| s.protocol_version))
        }))
        .await
    }

    /// On the leader: records a higher cluster version if every member speaks it.
    /// Returns the version recorded now, if any.
    pub(crate) async fn raise_cluster_version(&self) -> Option<u32> {
        let current = self.cluster_version();
        if current >= self.state_machine().protocol_version() {
            return None;
        }
        let reports: Vec<Option<u32>> = self.member_versions().await.into_iter().map(|(_, v)| v).collect();
        let version = next_cluster_version(current, &reports)?;
        tracing::info!(from = current, to = version, "every member speaks a newer protocol: raising the cluster version");
        match self.write(Command::SetClusterVersion(SetClusterVersion { version })).await {
            Ok(w) if w.outcome == Outcome::ClusterVersionSet(version) => Some(version),
            Ok(w) => {
                tracing::debug!(outcome = ?w.outcome, "cluster version raise refused by apply");
                None
            }
            Err(e) => {
                tracing::info!(error = %e, "cluster version raise not committed; will retry");
                None
            }
        }
    }

    /// A node may join only if it speaks the cluster version: an older build
    /// could not apply what the log already holds.
    pub(crate) async fn check_joiner(&self, id: NodeId, info: &NodeInfo) -> Result<(), ClusterError> {
        let cluster = self.cluster_version();
        match self.member_status(id, info).await {
            None => Err(ClusterError::unavailable(format!("node {id} at {} does not answer its status", info.peer_addr), None)),
            Some(s) if s.protocol_version < cluster => Err(ClusterError::Invalid(format!(
                "node {id} speaks protocol version {}, the cluster runs {cluster}: it cannot join (upgrade it first)",
                s.protocol_version
            ))),
            Some(_) => Ok(()),
        }
    }
}
