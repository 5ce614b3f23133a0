//! The history of a campaign: every operation with its invoke and complete times
//! and what it returned, every fault, the state-hash samples, the recoveries after
//! each heal, and the final state of every node. Checkers read only this, so a
//! saved history (`history.json`) can be checked again without a cluster.
//!
//! An operation has three outcomes. `Ok` and `Fail` are definite: the write took
//! effect, or the server said nothing was applied. Everything else (a timeout, a
//! dropped connection after the request left, a 503 `maybe_committed`) is `Maybe`:
//! the write may or may not have been applied, and no checker may assume either.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The client id that recovery probes record under.
pub const PROBE_CLIENT: u32 = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// `POST /api/v1/jobs` with this `Idempotency-Key`.
    Submit { key: String },
    /// `GET /api/v1/jobs/{job}`, linearizable or stale.
    Read { job: u64, linearizable: bool },
    /// `POST /api/v1/jobs/{job}/cancel`.
    Cancel { job: u64 },
    /// `GET /api/v1/tenants/{id}/quota` (linearizable): the quota and the
    /// admitted usage a quota change is set against.
    GetQuota,
    /// `PUT /api/v1/tenants/{id}/quota` with these limits.
    SetQuota { cpu_m: u64, memory_mb: u64, max_concurrent_jobs: u32 },
    /// `POST /api/v1/tenants/{id}/burst` for a one-minute lease of this much.
    RequestBurst { cpu_m: u64, memory_mb: u64 },
    /// `POST /api/v1/tenants/{id}/bursts/{burst}/revoke`.
    RevokeBurst { burst: u64 },
}

impl OpKind {
    pub fn label(&self) -> &'static str {
        match self {
            OpKind::Submit { .. } => "submit",
            OpKind::Read { linearizable: true, .. } => "read-linearizable",
            OpKind::Read { linearizable: false, .. } => "read-stale",
            OpKind::Cancel { .. } => "cancel",
            OpKind::GetQuota => "quota-read",
            OpKind::SetQuota { .. } => "quota-set",
            OpKind::RequestBurst { .. } => "burst-request",
            OpKind::RevokeBurst { .. } => "burst-revoke",
        }
    }
}

/// Which front end a call went through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    #[default]
    Rest,
    /// The public gRPC API (`hodei.v1.JobService`).
    Grpc,
}

/// A job as a reply showed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSeen {
    pub id: u64,
    pub key: Option<String>,
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Definitely took effect (or, for a read, definitely observed).
    Ok { job: Option<JobSeen> },
    /// Definitely did not take effect: a 4xx, a 503 `unavailable`, or a
    /// connection that was never made. For a read, a 404 is `Ok { job: None }`.
    Fail { reason: String },
    /// May or may not have taken effect.
    Maybe { reason: String },
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok { .. } => "ok",
            Outcome::Fail { .. } => "fail",
            Outcome::Maybe { .. } => "maybe",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub id: u64,
    pub client: u32,
    /// The node the request was sent to.
    pub node: u64,
    pub kind: OpKind,
    /// The front end it went through (histories from before gRPC clients have none: REST).
    #[serde(default)]
    pub api: Api,
    /// Milliseconds since the campaign started.
    pub invoke_ms: u64,
    pub complete_ms: u64,
    /// `X-Hodei-Index` of the reply, when it had one.
    pub index: Option<u64>,
    pub outcome: Outcome,
}

impl Op {
    /// The kind's label, with `-grpc` when it went through gRPC (for the report).
    pub fn label(&self) -> String {
        match self.api {
            Api::Rest => self.kind.label().to_string(),
            Api::Grpc => format!("{}-grpc", self.kind.label()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEvent {
    pub name: String,
    pub detail: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// False when applying it failed (`detail` says why): nothing was done.
    #[serde(default = "yes")]
    pub applied: bool,
}

fn yes() -> bool {
    true
}

/// One node's own (applied index, state hash), read together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashSample {
    pub node: u64,
    pub at_ms: u64,
    pub applied_index: u64,
    pub state_hash: u64,
}

/// How long the cluster took to give one leader and full service after a heal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub after: String,
    pub healed_ms: u64,
    /// `None`: not recovered within the probe's deadline.
    pub took_ms: Option<u64>,
    pub leader: Option<u64>,
    pub detail: String,
}

/// A change of the cluster's members, made by a membership fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    /// The node joined and became a voter.
    Added { node: u64, at_ms: u64 },
    /// The cluster committed the node's removal (it was stopped after).
    Removed { node: u64, at_ms: u64 },
}

/// What one node held once the campaign ended and everything was healed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalNode {
    pub id: u64,
    pub applied_index: Option<u64>,
    pub state_hash: Option<u64>,
    /// Every job of the campaign's tenant, read with `consistency=stale` after
    /// convergence; `None` if the node could not be listed.
    pub jobs: Option<Vec<JobSeen>>,
    /// The cluster version the node records, and the protocol version it
    /// speaks, read after healing.
    #[serde(default)]
    pub cluster_version: Option<u32>,
    #[serde(default)]
    pub protocol_version: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub seed: u64,
    pub nodes: Vec<u64>,
    pub ops: Vec<Op>,
    pub faults: Vec<FaultEvent>,
    pub samples: Vec<HashSample>,
    pub recoveries: Vec<Recovery>,
    pub final_nodes: Vec<FinalNode>,
    /// Members added and removed during the campaign, in order; `nodes` are
    /// the founding members.
    #[serde(default)]
    pub membership: Vec<MemberChange>,
    /// The committed log, when the backend can read the nodes' data dirs.
    #[serde(default)]
    pub committed: Option<crate::committed::CommittedLog>,
}

impl History {
    /// The members once every change was made: the founding nodes, plus those
    /// added, less those removed. The checkers of the final state hold these.
    pub fn final_members(&self) -> Vec<u64> {
        let mut members = self.nodes.clone();
        for c in &self.membership {
            match c {
                MemberChange::Added { node, .. } => members.push(*node),
                MemberChange::Removed { node, .. } => members.retain(|m| m != node),
            }
        }
        members
    }

    /// When `node` was removed, if it was.
    pub fn removed_at(&self, node: u64) -> Option<u64> {
        self.membership.iter().find_map(|c| match c {
            MemberChange::Removed { node: n, at_ms } if *n == node => Some(*at_ms),
            _ => None,
        })
    }
}

/// Shared by every task of a campaign; cheap to append to.
pub struct Recorder {
    start: Instant,
    next_op: AtomicU64,
    history: Mutex<History>,
    /// What the nemesis is doing now, for the progress line.
    phase: Mutex<String>,
}

impl Recorder {
    pub fn new(seed: u64, nodes: Vec<u64>) -> Self {
        Recorder {
            start: Instant::now(),
            next_op: AtomicU64::new(1),
            history: Mutex::new(History { seed, nodes, ..History::default() }),
            phase: Mutex::new("starting".into()),
        }
    }

    /// Milliseconds since the campaign started.
    pub fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn with<T>(&self, f: impl FnOnce(&mut History) -> T) -> T {
        f(&mut self.history.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records a completed operation; `op.id` is assigned here.
    pub fn op(&self, mut op: Op) {
        op.id = self.next_op.fetch_add(1, Ordering::Relaxed);
        self.with(|h| h.ops.push(op));
    }

    pub fn fault(&self, f: FaultEvent) {
        self.with(|h| h.faults.push(f));
    }

    pub fn sample(&self, s: HashSample) {
        self.with(|h| h.samples.push(s));
    }

    pub fn recovery(&self, r: Recovery) {
        self.with(|h| h.recoveries.push(r));
    }

    pub fn final_nodes(&self, nodes: Vec<FinalNode>) {
        self.with(|h| h.final_nodes = nodes);
    }

    /// How many members the campaign started with.
    pub fn founding_count(&self) -> usize {
        self.with(|h| h.nodes.len())
    }

    pub fn member_change(&self, c: MemberChange) {
        self.with(|h| h.membership.push(c));
    }

    pub fn committed(&self, log: crate::committed::CommittedLog) {
        self.with(|h| h.committed = Some(log));
    }

    pub fn set_phase(&self, phase: impl Into<String>) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = phase.into();
    }

    pub fn phase(&self) -> String {
        self.phase.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn faults_applied(&self) -> usize {
        self.with(|h| h.faults.iter().filter(|f| f.applied).count())
    }

    /// Operations so far by outcome: (ok, fail, maybe).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.with(|h| {
            h.ops.iter().fold((0, 0, 0), |(o, f, m), op| match op.outcome {
                Outcome::Ok { .. } => (o + 1, f, m),
                Outcome::Fail { .. } => (o, f + 1, m),
                Outcome::Maybe { .. } => (o, f, m + 1),
            })
        })
    }

    pub fn snapshot(&self) -> History {
        self.with(|h| h.clone())
    }
}
