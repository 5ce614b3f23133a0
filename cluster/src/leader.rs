//! The leader's loops: dispatch and worker-lease expiry. They run on every node
//! but act only while it leads, and they only propose: `apply` re-checks every
//! placement and every loss, so a deposed leader's late proposal is harmless.

use std::time::Duration;

use hodei_domain::command::{AssignJobs, MarkWorkerLost};
use hodei_domain::{dispatch, Command, Outcome, WorkerId, WorkerState};

use crate::node::ClusterNode;

/// How long a worker may stay silent before the leader proposes it lost.
pub const WORKER_LEASE: Duration = Duration::from_secs(5);
/// Placements per proposal.
const DISPATCH_BATCH: usize = 256;
const TICK: Duration = Duration::from_millis(100);

pub(crate) async fn run(node: ClusterNode) {
    let mut metrics = node.raft().metrics();
    loop {
        // Wake on any applied change (a submit, a finish) or on the tick.
        let _ = tokio::time::timeout(TICK, metrics.changed()).await;
        if !node.is_leader() {
            continue;
        }
        expire_workers(&node).await;
        dispatch_round(&node).await;
    }
}

async fn dispatch_round(node: &ClusterNode) {
    let plan = node.state_machine().read(|s| dispatch::plan(s, DISPATCH_BATCH));
    if plan.is_empty() {
        return;
    }
    match node.write(Command::AssignJobs(AssignJobs { assignments: plan })).await {
        Ok(w) => {
            if let Outcome::JobsAssigned(p) = &w.outcome {
                tracing::debug!(placed = p.len(), index = w.index, "dispatched");
            }
        }
        Err(e) => tracing::debug!(error = %e, "dispatch proposal failed"),
    }
}

async fn expire_workers(node: &ClusterNode) {
    let term = node.raft().metrics().borrow().current_term;
    let registered: Vec<WorkerId> =
        node.state_machine().read(|s| s.workers().filter(|w| w.state != WorkerState::Lost).map(|w| w.id).collect());
    for worker_id in node.inner.liveness.expired(term, &registered, WORKER_LEASE) {
        tracing::warn!(%worker_id, "worker lease expired; proposing it lost");
        if let Err(e) = node.write(Command::MarkWorkerLost(MarkWorkerLost { worker_id })).await {
            tracing::warn!(%worker_id, error = %e, "could not propose the worker lost");
        }
    }
}
