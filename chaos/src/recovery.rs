//! After each heal: how long until there is one leader that every node names, and
//! every node serves a write and a linearizable read again. The probe's calls are
//! recorded in the history like any client's (under [`PROBE_CLIENT`]), so the
//! checkers hold them to the same rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::client::Rest;
use crate::monitor::own_hash;
use crate::history::{OpKind, Outcome, Recorder, Recovery, PROBE_CLIENT};
use crate::workload::Traffic;

/// How long after a heal the cluster has to recover.
pub const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);

pub struct Prober<B> {
    pub(crate) backend: Arc<B>,
    pub(crate) traffic: Arc<Traffic>,
    pub(crate) recorder: Arc<Recorder>,
    /// Short-timeout admin calls: status, and membership changes.
    pub(crate) status: Rest,
}

impl<B: Backend> Prober<B> {
    pub fn new(backend: Arc<B>, traffic: Arc<Traffic>, recorder: Arc<Recorder>) -> anyhow::Result<Self> {
        let status = Rest::new(backend.admin_token(), Duration::from_secs(1))?;
        Ok(Prober { backend, traffic, recorder, status })
    }

    /// The leader a node names, asking the nodes in turn.
    pub async fn leader(&self) -> Option<u64> {
        for id in self.backend.node_ids() {
            if let Some(l) = self.leader_seen_by(id).await {
                return Some(l);
            }
        }
        None
    }

    async fn leader_seen_by(&self, id: u64) -> Option<u64> {
        let url = format!("{}/api/v1/cluster?consistency=stale", self.backend.base_url(id));
        let r = self.status.get(&url).await.ok()?;
        r.json["leader_id"].as_u64()
    }

    /// The leader every node names, if they all name the same one.
    async fn agreed_leader(&self) -> Option<u64> {
        let mut seen = None;
        for id in self.backend.node_ids() {
            let l = self.leader_seen_by(id).await?;
            if seen.is_some_and(|s| s != l) {
                return None;
            }
            seen = Some(l);
        }
        seen
    }

    /// Waits (at most [`RECOVERY_DEADLINE`]) until node `id` names a leader and has
    /// applied as far as that leader had when the wait began: a restarted node has
    /// rejoined and caught up.
    pub async fn wait_for_caught_up(&self, id: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + RECOVERY_DEADLINE;
        let mut target = None;
        let mut last = String::from("no leader named yet");
        while Instant::now() < deadline {
            if target.is_none() {
                if let Some(leader) = self.leader().await {
                    target = own_hash(&self.status, &self.backend.base_url(leader)).await.map(|(index, _, _)| index);
                }
            }
            if let (Some(t), Some((index, _, leader))) = (target, own_hash(&self.status, &self.backend.base_url(id)).await) {
                if leader.is_some() && index >= t {
                    return Ok(());
                }
                last = format!("applied {index} of {t}, leader {leader:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("node {id} did not catch up within {RECOVERY_DEADLINE:?}: {last}")
    }

    /// Probes until the cluster serves fully or the deadline passes; records and
    /// returns the result.
    pub async fn wait_for_recovery(&self, after: &str, healed_ms: u64) -> Recovery {
        let started = Instant::now();
        let deadline = started + RECOVERY_DEADLINE;
        let nodes = self.traffic.nodes();
        let n = nodes.len();
        // Per node: the probe job once its submit was acknowledged, and whether a
        // linearizable read found it.
        let mut written: Vec<Option<u64>> = vec![None; n];
        let mut read = vec![false; n];
        let mut leader = None;
        let mut last = String::from("no leader agreed yet");
        while Instant::now() < deadline {
            leader = self.agreed_leader().await;
            if leader.is_some() {
                for i in 0..n {
                    if read[i] {
                        continue;
                    }
                    let kind = match written[i] {
                        None => OpKind::Submit { key: format!("probe-{healed_ms}-{}", nodes[i].0) },
                        Some(job) => OpKind::Read { job, linearizable: true },
                    };
                    match self.traffic.run_op(PROBE_CLIENT, i, kind).await {
                        Outcome::Ok { job: Some(j) } if written[i].is_none() => written[i] = Some(j.id),
                        Outcome::Ok { job: Some(_) } => read[i] = true,
                        other => last = format!("node {}: {other:?}", nodes[i].0),
                    }
                }
                if read.iter().all(|r| *r) {
                    let r = Recovery {
                        after: after.into(),
                        healed_ms,
                        took_ms: Some(started.elapsed().as_millis() as u64),
                        leader,
                        detail: String::new(),
                    };
                    self.recorder.recovery(r.clone());
                    return r;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let r = Recovery { after: after.into(), healed_ms, took_ms: None, leader, detail: last };
        self.recorder.recovery(r.clone());
        r
    }
}
