//! The traffic: several clients, each a closed loop of submits (unique
//! idempotency keys, retried with the same key after an unclear answer),
//! linearizable and stale reads, and cancels, sent round-robin over the nodes.
//! Each client draws its choices from its own seeded generator; every call is
//! recorded with its invoke and complete times.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;

use crate::client::{classify, Rest};
use crate::history::{Op, OpKind, Outcome, Recorder};

/// Attempts per idempotency key before a client moves on to a new one.
const ATTEMPTS_PER_KEY: u32 = 3;

/// What every client shares.
pub struct Traffic {
    pub rest: Rest,
    /// (node id, base URL) of the members clients talk to, in order; a
    /// membership fault changes it.
    nodes: RwLock<Vec<(u64, String)>>,
    pub tenant: u64,
    pub seed: u64,
    pub recorder: Arc<Recorder>,
    /// Ids of jobs whose submit was acknowledged, for reads and cancels.
    known: Mutex<Vec<u64>>,
    /// The largest job id any reply showed.
    max_seen: AtomicU64,
}

impl Traffic {
    pub fn new(rest: Rest, nodes: Vec<(u64, String)>, tenant: u64, seed: u64, recorder: Arc<Recorder>) -> Self {
        Traffic { rest, nodes: RwLock::new(nodes), tenant, seed, recorder, known: Mutex::new(Vec::new()), max_seen: AtomicU64::new(0) }
    }

    /// The members clients talk to now.
    pub fn nodes(&self) -> Vec<(u64, String)> {
        self.nodes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Points the clients at `nodes` from their next call on (a node that joined,
    /// or one about to be removed, leaves the rotation before it goes).
    pub fn set_nodes(&self, nodes: Vec<(u64, String)>) {
        *self.nodes.write().unwrap_or_else(|e| e.into_inner()) = nodes;
    }

    fn learn(&self, outcome: &Outcome, acked_submit: bool) {
        if let Outcome::Ok { job: Some(j) } = outcome {
            self.max_seen.fetch_max(j.id, Ordering::Relaxed);
            if acked_submit {
                self.known.lock().unwrap_or_else(|e| e.into_inner()).push(j.id);
            }
        }
    }

    /// A job id to read or cancel: mostly a known one (recent ones more often),
    /// sometimes just past the largest id seen, to catch jobs nobody was told of.
    fn pick_job(&self, rng: &mut StdRng) -> u64 {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.is_empty() || rng.random_bool(0.15) {
            return self.max_seen.load(Ordering::Relaxed) + rng.random_range(1..=3);
        }
        let n = known.len();
        let i = if rng.random_bool(0.5) { n - 1 - rng.random_range(0..n.min(20)) } else { rng.random_range(0..n) };
        known[i]
    }

    /// Sends one operation to the `node`th member (modulo their number) and records it.
    pub async fn run_op(&self, client: u32, node: usize, kind: OpKind) -> Outcome {
        let (id, base) = {
            let nodes = self.nodes.read().unwrap_or_else(|e| e.into_inner());
            nodes[node % nodes.len()].clone()
        };
        let invoke_ms = self.recorder.now_ms();
        let (result, read) = match &kind {
            OpKind::Submit { key } => {
                let body = json!({"tenant_id": self.tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1});
                let r = self.rest.call(Method::POST, &format!("{base}/api/v1/jobs"), Some(&body), &[("idempotency-key", key)]).await;
                (r, false)
            }
            OpKind::Read { job, linearizable } => {
                let c = if *linearizable { "linearizable" } else { "stale" };
                (self.rest.get(&format!("{base}/api/v1/jobs/{job}?consistency={c}")).await, true)
            }
            OpKind::Cancel { job } => (self.rest.call(Method::POST, &format!("{base}/api/v1/jobs/{job}/cancel"), None, &[]).await, false),
        };
        let outcome = classify(&result, read);
        self.learn(&outcome, matches!(kind, OpKind::Submit { .. }));
        let index = result.as_ref().ok().and_then(|r| r.index);
        let complete_ms = self.recorder.now_ms();
        self.recorder.op(Op { id: 0, client, node: id, kind, invoke_ms, complete_ms, index, outcome: outcome.clone() });
        outcome
    }
}

/// One client's loop; returns when `stop` is set (after finishing its current call).
pub async fn run_client(traffic: Arc<Traffic>, client: u32, stop: Arc<AtomicBool>) {
    let mut rng = StdRng::seed_from_u64(traffic.seed.wrapping_mul(1_000_003).wrapping_add(client as u64));
    let mut node = client as usize;
    let mut next_key = 0u64;
    // A key whose submit got no definite answer: retried before a new one.
    let mut retry: Option<(String, u32)> = None;
    while !stop.load(Ordering::Relaxed) {
        let roll: f64 = rng.random();
        let kind = if roll < 0.4 || retry.is_some() && roll < 0.6 {
            let key = match &retry {
                Some((k, _)) => k.clone(),
                None => {
                    next_key += 1;
                    format!("c{client}-s{}-{next_key}", traffic.seed)
                }
            };
            OpKind::Submit { key }
        } else if roll < 0.75 {
            OpKind::Read { job: traffic.pick_job(&mut rng), linearizable: true }
        } else if roll < 0.9 {
            OpKind::Read { job: traffic.pick_job(&mut rng), linearizable: false }
        } else {
            OpKind::Cancel { job: traffic.pick_job(&mut rng) }
        };
        let outcome = traffic.run_op(client, node, kind.clone()).await;
        if let OpKind::Submit { key } = kind {
            let attempts = retry.as_ref().map_or(0, |(_, a)| *a) + 1;
            retry = match outcome {
                Outcome::Ok { .. } => None,
                _ if attempts >= ATTEMPTS_PER_KEY => None,
                _ => Some((key, attempts)),
            };
        }
        node = node.wrapping_add(1);
        // A short think time keeps the history a readable size.
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..25))).await;
    }
}
