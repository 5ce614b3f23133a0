//! Provisioners reconcile real workers to each pool: a dynamic pool to its
//! committed target, a static pool to its `min_size` warm workers (a lost or
//! drained one is replaced; workers the operator adds beyond it stay theirs).
//!
//! The loop runs on every node and acts only while the node leads. Every two
//! seconds, for each pool it starts what is missing and proposes
//! `DrainWorker` for idle workers beyond a dynamic pool's target ([`plan`]); a drained
//! worker hears it on its next heartbeat, finishes, deregisters and exits.
//! Counts come from the committed state (registered workers) plus this node's
//! spawns still registering, so a leader change neither orphans workers (they
//! are registered facts whoever started them) nor doubles them beyond the
//! spawns in flight at the moment of the change, which the next rounds drain.
//!
//! Provisioners implement [`Provisioner`]: start one worker of a pool with a
//! name, a shape and the cluster's endpoints, without blocking the loop; the
//! rest (counting, draining, leader changes) is here, shared. Two ship:
//! [`process`] (local `hodei worker` children, the embedded default) and
//! [`docker`] (one container per worker). Another backend (Kubernetes pods,
//! cloud VMs) is one more implementation: its worker only has to run
//! `hodei worker --endpoints .. --pool .. --name ..` with a worker token, and
//! the name it was given lets this loop tell a registered worker from a spawn
//! still on its way.

pub mod docker;
pub mod plan;
pub mod process;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hodei_cluster::ClusterNode;
use hodei_domain::command::DrainWorker;
use hodei_domain::{Command, PoolId, WorkerShape};

/// Starts and stops the machines workers run on.
pub trait Provisioner: Send {
    /// Starts one worker of `pool` named `name`, reaching the cluster through
    /// `endpoints`. Must return quickly: slow work (pulling, booting) happens
    /// after, and the worker counts as pending until it registers.
    fn start(&mut self, pool: &PoolId, name: &str, shape: WorkerShape, endpoints: &[String]) -> anyhow::Result<()>;
    /// Collects what finished since the last call (exited children, clients).
    fn reap(&mut self);
    /// On node shutdown: asks the workers this node started to drain and leave.
    fn stop_all(&mut self);
}

/// How often the provisioner reconciles.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(2);
/// A spawn that has not registered by then no longer counts.
pub const REGISTER_WITHIN: Duration = Duration::from_secs(30);
/// The shape of a provisioned worker when its pool declares none.
pub const DEFAULT_SHAPE: WorkerShape = WorkerShape { cpu_m: 2000, memory_mb: 2048 };

pub async fn run(node: ClusterNode, mut p: Box<dyn Provisioner>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut pending: BTreeMap<PoolId, Vec<(String, Instant)>> = BTreeMap::new();
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RECONCILE_EVERY) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        p.reap();
        if !node.is_leader() {
            pending.clear();
            continue;
        }
        let pools: Vec<(PoolId, WorkerShape)> = node.state_machine().read(|s| {
            s.pools().map(|p| (p.id.clone(), p.worker_shape.unwrap_or(DEFAULT_SHAPE))).collect()
        });
        let endpoints = endpoints(&node);
        for (pool, shape) in pools {
            let waiting = pending.entry(pool.clone()).or_default();
            let registered = |name: &str| node.state_machine().read(|s| s.workers().any(|w| w.name == name));
            waiting.retain(|(name, at)| at.elapsed() < REGISTER_WITHIN && !registered(name));
            let plan = node.state_machine().read(|s| plan::plan(s, &pool, waiting.len() as u32));
            for _ in 0..plan.start {
                seq += 1;
                let name = format!("{}-n{}-{}-{seq}", pool.0, node.id(), std::process::id());
                match p.start(&pool, &name, shape, &endpoints) {
                    Ok(()) => waiting.push((name, Instant::now())),
                    Err(e) => tracing::warn!(pool = %pool.0, error = %e, "could not start a worker"),
                }
            }
            for worker_id in plan.drain {
                tracing::info!(pool = %pool.0, %worker_id, "draining a worker beyond the pool's target");
                if let Err(e) = node.write(Command::DrainWorker(DrainWorker { worker_id })).await {
                    tracing::warn!(%worker_id, error = %e, "could not propose the drain");
                }
            }
        }
    }
    p.stop_all();
}

/// Every member's gRPC address from the membership (this node's first).
fn endpoints(node: &ClusterNode) -> Vec<String> {
    let mut out = vec![node.info().grpc_addr.clone()];
    let metrics = node.raft().metrics().borrow().clone();
    for (_, info) in metrics.membership_config.nodes() {
        if !info.grpc_addr.is_empty() && !out.contains(&info.grpc_addr) {
            out.push(info.grpc_addr.clone());
        }
    }
    out
}
