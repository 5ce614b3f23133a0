//! The drain after SIGTERM (or the cluster's request): wait for the cluster to
//! confirm it, let every running job finish, then deregister.

use std::sync::Arc;
use std::time::Duration;

use hodei_proto::v1 as pb;

use super::{authed, report, Agent};

/// How long a draining agent waits for the cluster to confirm the drain (a
/// heartbeat answer saying DRAINING) before it goes on regardless.
const DRAIN_CONFIRM: Duration = Duration::from_secs(5);
/// How long a deregistration may keep being refused while nothing runs here:
/// a job placed just before the drain committed is still on its way down the
/// stream, and runs here when it arrives.
const DEREGISTER_REFUSALS: Duration = Duration::from_secs(10);

/// The drain: once the cluster has confirmed it (so no new placement can come),
/// finish everything that runs (including placements made before the drain
/// committed, which still arrive on the stream), then deregister. A refusal
/// means the cluster still holds jobs on this worker: wait for them and retry.
pub(super) async fn drain(agent: &Arc<Agent>) {
    let mut confirmed = agent.drain_confirmed.subscribe();
    if tokio::time::timeout(DRAIN_CONFIRM, confirmed.wait_for(|c| *c)).await.is_err() {
        tracing::warn!("the cluster did not confirm the drain in time; going on");
    }
    let mut refused_since: Option<tokio::time::Instant> = None;
    loop {
        while !agent.running.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            refused_since = None;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match deregister(agent).await {
            Some(true) | None => return,
            Some(false) => {
                let since = *refused_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= DEREGISTER_REFUSALS {
                    tracing::warn!("deregistration still refused; leaving it to the lease");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Leaves the cluster through any endpoint that answers: `Some(accepted)`, or
/// `None` when none answers (the lease runs out and the leader marks the
/// worker lost).
async fn deregister(agent: &Arc<Agent>) -> Option<bool> {
    let worker_id = (*agent.worker_id.lock().unwrap_or_else(|e| e.into_inner()))?;
    let req = pb::DeregisterWorkerRequest { worker_id };
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        report(agent, |mut c, agent| {
            let req = req.clone();
            async move { c.deregister(authed(&agent, req)).await.map(|r| r.into_inner()) }
        }),
    )
    .await;
    match reply {
        Ok(Some(r)) if r.accepted => {
            tracing::info!(worker_id, "deregistered");
            Some(true)
        }
        Ok(Some(r)) => {
            tracing::info!(worker_id, reason = %r.reason, "deregistration refused");
            Some(false)
        }
        _ => {
            tracing::warn!(worker_id, "could not deregister; the lease will run out");
            None
        }
    }
}
