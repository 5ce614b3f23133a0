//! The traffic: several clients, each a closed loop of submits (unique
//! idempotency keys, retried with the same key after an unclear answer),
//! linearizable and stale reads, and cancels, sent round-robin over the nodes;
//! a share of the submits and reads goes through the gRPC API where the backend
//! serves it. Client 0 is also the operator: now and then it moves the tenant's
//! quota to the edge of its demand and asks for bursts ([`crate::operator`]).
//! Each client draws its choices from its own seeded generator; every call is
//! recorded with its invoke and complete times.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{classify, classify_other, CallError, Reply, Rest};
use crate::grpc::{self, Endpoints, Grpc};
use crate::history::{Api, Op, OpKind, Outcome, Recorder};
use crate::operator::Operator;

/// Attempts per idempotency key before a client moves on to a new one.
const ATTEMPTS_PER_KEY: u32 = 3;

/// The share of submits and reads a client sends through gRPC (when the node serves it).
const GRPC_SHARE: f64 = 0.3;

/// What every client shares.
pub struct Traffic {
    pub rest: Rest,
    /// The gRPC API, when the backend tells where each node serves it.
    grpc: Option<Grpc>,
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
        Traffic { rest, grpc: None, nodes: RwLock::new(nodes), tenant, seed, recorder, known: Mutex::new(Vec::new()), max_seen: AtomicU64::new(0) }
    }

    /// Sends a share of submits and reads through gRPC, to the endpoint
    /// `endpoints` names for each node (nodes it names none for get REST only).
    pub fn with_grpc(mut self, endpoints: Endpoints, token: &str) -> anyhow::Result<Self> {
        self.grpc = Some(Grpc::new(endpoints, token, Duration::from_secs(10))?);
        Ok(self)
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

    /// Sends one operation over REST to the `node`th member (modulo their number) and records it.
    pub async fn run_op(&self, client: u32, node: usize, kind: OpKind) -> Outcome {
        self.call(client, node, kind, Api::Rest).await.0
    }

    /// Sends one operation through `api` (REST when the node serves no gRPC
    /// API, or the operation has no gRPC form here) and records it; returns
    /// the outcome and, for REST, the reply's body.
    pub async fn call(&self, client: u32, node: usize, kind: OpKind, api: Api) -> (Outcome, Option<Value>) {
        let (id, base) = {
            let nodes = self.nodes.read().unwrap_or_else(|e| e.into_inner());
            nodes[node % nodes.len()].clone()
        };
        let invoke_ms = self.recorder.now_ms();
        let grpc = match api {
            Api::Grpc if matches!(kind, OpKind::Submit { .. } | OpKind::Read { .. }) => self.grpc.as_ref().and_then(|g| g.jobs(id).map(|c| (g, c))),
            _ => None,
        };
        let (api, outcome, index, body) = match grpc {
            Some((g, client)) => {
                let (outcome, index) = self.grpc_call(g, client, &kind).await;
                (Api::Grpc, outcome, index, None)
            }
            None => {
                let result = self.rest_call(&base, &kind).await;
                let outcome = match &kind {
                    OpKind::Submit { .. } | OpKind::Cancel { .. } => classify(&result, false),
                    OpKind::Read { .. } => classify(&result, true),
                    _ => classify_other(&result),
                };
                let index = result.as_ref().ok().and_then(|r| r.index);
                (Api::Rest, outcome, index, result.ok().map(|r| r.json))
            }
        };
        self.learn(&outcome, matches!(kind, OpKind::Submit { .. }));
        let complete_ms = self.recorder.now_ms();
        self.recorder.op(Op { id: 0, client, node: id, kind, api, invoke_ms, complete_ms, index, outcome: outcome.clone() });
        (outcome, body)
    }

    async fn rest_call(&self, base: &str, kind: &OpKind) -> Result<Reply, CallError> {
        let tenant = format!("{base}/api/v1/tenants/{}", self.tenant);
        match kind {
            OpKind::Submit { key } => {
                let body = json!({"tenant_id": self.tenant, "command": ["true"], "cpu_m": 1, "memory_mb": 1});
                self.rest.call(Method::POST, &format!("{base}/api/v1/jobs"), Some(&body), &[("idempotency-key", key)]).await
            }
            OpKind::Read { job, linearizable } => {
                let c = if *linearizable { "linearizable" } else { "stale" };
                self.rest.get(&format!("{base}/api/v1/jobs/{job}?consistency={c}")).await
            }
            OpKind::Cancel { job } => self.rest.call(Method::POST, &format!("{base}/api/v1/jobs/{job}/cancel"), None, &[]).await,
            OpKind::GetQuota => self.rest.get(&format!("{tenant}/quota?consistency=linearizable")).await,
            OpKind::SetQuota { cpu_m, memory_mb, max_concurrent_jobs } => {
                let body = json!({"cpu_m": cpu_m, "memory_mb": memory_mb, "max_concurrent_jobs": max_concurrent_jobs});
                self.rest.call(Method::PUT, &format!("{tenant}/quota"), Some(&body), &[]).await
            }
            OpKind::RequestBurst { cpu_m, memory_mb } => {
                let body = json!({"requested_cpu_m": cpu_m, "requested_memory_mb": memory_mb, "duration_minutes": 1, "reason": "chaos"});
                self.rest.call(Method::POST, &format!("{tenant}/burst"), Some(&body), &[]).await
            }
            OpKind::RevokeBurst { burst } => self.rest.call(Method::POST, &format!("{tenant}/bursts/{burst}/revoke"), None, &[]).await,
        }
    }

    /// A submit or read through gRPC: its outcome and the index the reply named.
    async fn grpc_call(&self, g: &Grpc, mut jobs: grpc::JobsClient, kind: &OpKind) -> (Outcome, Option<u64>) {
        use hodei_proto::v1 as pb;
        let (answer, read) = match kind {
            OpKind::Submit { key } => {
                let msg = pb::SubmitJobRequest {
                    tenant_id: Some(self.tenant),
                    command: vec!["true".into()],
                    cpu_m: 1,
                    memory_mb: 1,
                    idempotency_key: Some(key.clone()),
                    ..Default::default()
                };
                (jobs.submit_job(g.request(msg)).await, false)
            }
            OpKind::Read { job, linearizable } => {
                let consistency = if *linearizable { pb::Consistency::Linearizable } else { pb::Consistency::Stale };
                let msg = pb::GetJobRequest { id: *job, read: Some(pb::ReadOptions { consistency: consistency as i32 }) };
                (jobs.get_job(g.request(msg)).await, true)
            }
            other => unreachable!("{} has no gRPC form here", other.label()),
        };
        let answer = answer.map(tonic::Response::into_inner);
        let index = answer.as_ref().ok().map(|r| r.index);
        (grpc::classify(&answer, read), index)
    }
}

/// The share of client 0's turns it spends as the operator (quota edges, bursts).
const OPERATOR_SHARE: f64 = 0.08;

/// One client's loop; returns when `stop` is set (after finishing its current
/// call, or the operator's current quota edge, which ends with the quota put back).
pub async fn run_client(traffic: Arc<Traffic>, client: u32, stop: Arc<AtomicBool>) {
    let mut rng = StdRng::seed_from_u64(traffic.seed.wrapping_mul(1_000_003).wrapping_add(client as u64));
    let mut node = client as usize;
    let mut next_key = 0u64;
    let mut operator = (client == 0).then(Operator::default);
    // A key whose submit got no definite answer: retried before a new one.
    let mut retry: Option<(String, u32)> = None;
    while !stop.load(Ordering::Relaxed) {
        let roll: f64 = rng.random();
        let api = if rng.random_bool(GRPC_SHARE) { Api::Grpc } else { Api::Rest };
        let kind = if roll < 0.4 || retry.is_some() && roll < 0.6 {
            let key = match &retry {
                Some((k, _)) => k.clone(),
                None => {
                    next_key += 1;
                    format!("c{client}-s{}-{next_key}", traffic.seed)
                }
            };
            OpKind::Submit { key }
        } else if let Some(op) = operator.as_mut().filter(|_| roll < 0.4 + OPERATOR_SHARE) {
            op.turn(&traffic, client, &mut node, &mut rng).await;
            node = node.wrapping_add(1);
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..25))).await;
            continue;
        } else if roll < 0.75 {
            OpKind::Read { job: traffic.pick_job(&mut rng), linearizable: true }
        } else if roll < 0.9 {
            OpKind::Read { job: traffic.pick_job(&mut rng), linearizable: false }
        } else {
            OpKind::Cancel { job: traffic.pick_job(&mut rng) }
        };
        let (outcome, _) = traffic.call(client, node, kind.clone(), api).await;
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
