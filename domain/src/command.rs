//! Commands: the only way the replicated state changes.
//!
//! The enum is append-only. A new variant goes at the end, so entries written by
//! an older build keep their encoding; an old build that meets a variant it does
//! not know fails to decode loudly, and the cluster version keeps that from
//! happening during a rolling upgrade (see [`Command::min_version`]).

use std::collections::BTreeMap;

use crate::ids::{JobId, PoolId, TenantId, WorkerId};
use crate::model::{JobSpec, Quota, RunEnding, RunUsage};
use serde::{Deserialize, Serialize};

/// A command stamped by the leader with its wall-clock time. `apply` reads time
/// only from here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub at_ms: u64,
    pub command: Command,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    CreateTenant(CreateTenant),
    SetQuota(SetQuota),
    SubmitJob(SubmitJob),
    CancelJob(CancelJob),
    RegisterWorker(RegisterWorker),
    AssignJobs(AssignJobs),
    StartJob(StartJob),
    FinishJob(FinishJob),
    MarkWorkerLost(MarkWorkerLost),
    DrainWorker(DrainWorker),
}

impl Command {
    /// The lowest cluster protocol version whose members can apply this command.
    pub fn min_version(&self) -> u32 {
        1
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::CreateTenant(_) => "create_tenant",
            Command::SetQuota(_) => "set_quota",
            Command::SubmitJob(_) => "submit_job",
            Command::CancelJob(_) => "cancel_job",
            Command::RegisterWorker(_) => "register_worker",
            Command::AssignJobs(_) => "assign_jobs",
            Command::StartJob(_) => "start_job",
            Command::FinishJob(_) => "finish_job",
            Command::MarkWorkerLost(_) => "mark_worker_lost",
            Command::DrainWorker(_) => "drain_worker",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTenant {
    pub name: String,
    pub email: String,
    /// `None` takes the default quota.
    pub quota: Option<Quota>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetQuota {
    pub tenant_id: TenantId,
    pub quota: Quota,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitJob {
    pub tenant_id: TenantId,
    pub spec: JobSpec,
    /// A retried submission with the same key (per tenant) returns the first job.
    pub idempotency_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelJob {
    pub job_id: JobId,
    /// When set, the job must belong to this tenant (a tenant token cancels only
    /// its own jobs); a mismatch answers `NotFound`.
    pub tenant_id: Option<TenantId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterWorker {
    pub pool: PoolId,
    pub name: String,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub labels: BTreeMap<String, String>,
    pub logs_addr: String,
}

/// Placements chosen by the leader's dispatch; `apply` re-checks each one (the
/// job still pending, the worker active with room) and skips those that no longer
/// hold, so a deposed leader's late proposal breaks nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignJobs {
    pub assignments: Vec<(JobId, WorkerId)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartJob {
    pub job_id: JobId,
    pub worker_id: WorkerId,
    /// The fencing token of the assignment being started.
    pub token: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishJob {
    pub job_id: JobId,
    pub worker_id: WorkerId,
    pub token: u64,
    pub ending: RunEnding,
    pub usage: RunUsage,
}

/// Proposed by the leader when a worker's lease runs out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkWorkerLost {
    pub worker_id: WorkerId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainWorker {
    pub worker_id: WorkerId,
}
