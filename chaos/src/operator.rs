//! Client 0's other hat: the operator. Now and then it moves the campaign
//! tenant's quota to the edge of what the tenant holds, or asks for (and later
//! revokes) a burst lease, while the other clients keep submitting. Every call
//! is recorded like any other; what the calls do to admissions is the log
//! replay's to check (`running-within-quota-and-burst`), and a quota refusal of
//! a submit (429 `quota_exceeded`) is a definite failure like any 4xx.
//!
//! A quota edge: read the quota and the admitted (queued and placed) usage,
//! linearizably; set cpu and memory 1 to 3 above that usage; then 1 or 2 below
//! it (never below 1: a quota is positive); then put the tenant's first quota
//! back, retried until it is acknowledged (at most 30 s), so the clients and
//! the recovery probe are never left refused. The job count is left 3 above the
//! cpu and memory limits, so cpu and memory, which a burst lease extends, are
//! the limits that bind.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::Value;

use crate::history::{Api, OpKind, Outcome};
use crate::workload::Traffic;

/// How much further the job count is left than cpu and memory.
const JOBS_SLACK: i64 = 3;

/// How long the operator keeps trying to put the first quota back.
const RESTORE_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    cpu_m: u64,
    memory_mb: u64,
    jobs: u64,
}

impl Limits {
    fn from_json(v: &Value, jobs_field: &str) -> Option<Limits> {
        Some(Limits { cpu_m: v["cpu_m"].as_u64()?, memory_mb: v["memory_mb"].as_u64()?, jobs: v[jobs_field].as_u64()? })
    }

    fn set(&self) -> OpKind {
        OpKind::SetQuota { cpu_m: self.cpu_m, memory_mb: self.memory_mb, max_concurrent_jobs: u32::try_from(self.jobs).unwrap_or(u32::MAX) }
    }
}

/// `demand` moved by `delta` (cpu and memory) and `delta + JOBS_SLACK` (jobs), each at least 1.
fn edge(demand: Limits, delta: i64) -> Limits {
    let at = |x: u64, d: i64| (x as i64).saturating_add(d).max(1) as u64;
    Limits { cpu_m: at(demand.cpu_m, delta), memory_mb: at(demand.memory_mb, delta), jobs: at(demand.jobs, delta + JOBS_SLACK) }
}

/// What the operator remembers between turns.
#[derive(Default)]
pub struct Operator {
    /// The tenant's quota as first read: what every edge is undone to.
    original: Option<Limits>,
    /// A burst lease it was granted and has not revoked yet.
    live_burst: Option<u64>,
}

impl Operator {
    /// One turn: a quota edge or a burst call, half the time each.
    pub async fn turn(&mut self, t: &Traffic, client: u32, node: &mut usize, rng: &mut StdRng) {
        if rng.random_bool(0.5) {
            self.quota_edge(t, client, node, rng).await;
        } else {
            self.burst(t, client, *node, rng).await;
        }
    }

    async fn quota_edge(&mut self, t: &Traffic, client: u32, node: &mut usize, rng: &mut StdRng) {
        let (outcome, body) = t.call(client, *node, OpKind::GetQuota, Api::Rest).await;
        let view = body.filter(|_| matches!(outcome, Outcome::Ok { .. }));
        let read = view.as_ref().and_then(|v| Some((Limits::from_json(&v["quota"], "max_concurrent_jobs")?, Limits::from_json(&v["admitted"], "jobs")?)));
        let Some((quota, admitted)) = read else { return };
        let original = *self.original.get_or_insert(quota);
        for delta in [rng.random_range(1..=3), -rng.random_range(1..=2)] {
            *node = node.wrapping_add(1);
            t.call(client, *node, edge(admitted, delta).set(), Api::Rest).await;
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..25))).await;
        }
        let deadline = Instant::now() + RESTORE_DEADLINE;
        loop {
            *node = node.wrapping_add(1);
            let (outcome, _) = t.call(client, *node, original.set(), Api::Rest).await;
            if matches!(outcome, Outcome::Ok { .. }) || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Revokes the lease it holds, or asks for a small one-minute lease.
    async fn burst(&mut self, t: &Traffic, client: u32, node: usize, rng: &mut StdRng) {
        if let Some(burst) = self.live_burst {
            let (outcome, _) = t.call(client, node, OpKind::RevokeBurst { burst }, Api::Rest).await;
            // Unclear: revoke it again next turn (a lease already revoked answers 409).
            if !matches!(outcome, Outcome::Maybe { .. }) {
                self.live_burst = None;
            }
            return;
        }
        let kind = OpKind::RequestBurst { cpu_m: rng.random_range(1..=3), memory_mb: rng.random_range(1..=3) };
        if let (Outcome::Ok { .. }, Some(body)) = t.call(client, node, kind, Api::Rest).await {
            self.live_burst = body["id"].as_u64();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_moves_cpu_and_memory_by_delta_and_leaves_jobs_slack_never_below_one() {
        let demand = Limits { cpu_m: 10, memory_mb: 12, jobs: 10 };
        assert_eq!(edge(demand, 2), Limits { cpu_m: 12, memory_mb: 14, jobs: 15 });
        assert_eq!(edge(demand, -2), Limits { cpu_m: 8, memory_mb: 10, jobs: 11 });
        let idle = Limits { cpu_m: 0, memory_mb: 1, jobs: 0 };
        assert_eq!(edge(idle, -2), Limits { cpu_m: 1, memory_mb: 1, jobs: 1 });
    }

    #[test]
    fn limits_read_from_the_quota_view() {
        let view = serde_json::json!({"quota": {"cpu_m": 4, "memory_mb": 5, "max_concurrent_jobs": 6}, "admitted": {"cpu_m": 1, "memory_mb": 2, "jobs": 3}});
        assert_eq!(Limits::from_json(&view["quota"], "max_concurrent_jobs"), Some(Limits { cpu_m: 4, memory_mb: 5, jobs: 6 }));
        assert_eq!(Limits::from_json(&view["admitted"], "jobs"), Some(Limits { cpu_m: 1, memory_mb: 2, jobs: 3 }));
        assert_eq!(
            Limits { cpu_m: 4, memory_mb: 5, jobs: 6 }.set(),
            OpKind::SetQuota { cpu_m: 4, memory_mb: 5, max_concurrent_jobs: 6 }
        );
    }
}
