//! Commands: the only way the replicated state changes.
//!
//! The enum is append-only. A new variant goes at the end, so entries written by
//! an older build keep their encoding; an old build that meets a variant it does
//! not know fails to decode loudly, and the cluster version keeps that from
//! happening during a rolling upgrade (see [`Command::min_version`]).

use std::collections::BTreeMap;

use crate::autoscale::ScalingPolicy;
use crate::ids::{BurstId, JobId, PoolId, TenantId, WorkerId};
use crate::model::{JobOptions, JobSpec, Quota, RunEnding, RunUsage};
use crate::observability::ObservabilitySettings;
use crate::pool::{PoolKind, WorkerShape};
use crate::settings::Settings;
use crate::version::{BATCH_AND_VERSION_GATE, SLA_TARGETS_GATE};
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
    SetSettings(SetSettings),
    UpdateTenant(UpdateTenant),
    DeleteTenant(DeleteTenant),
    SubmitJobWithOptions(SubmitJobWithOptions),
    RequestBurst(RequestBurst),
    DecideBurst(DecideBurst),
    CreatePool(CreatePool),
    UpdatePool(UpdatePool),
    DeletePool(DeletePool),
    ScalePool(ScalePool),
    RecordScaling(RecordScaling),
    DeregisterWorker(DeregisterWorker),
    Tick(Tick),
    SetObservability(SetObservability),
    RecordSamples(RecordSamples),
    SetClusterVersion(SetClusterVersion),
    /// Several commands in one entry, proposed together by a node's batcher
    /// (many client writes, one Raft entry); applied in order.
    Batch(Vec<Command>),
    /// Replaces the wait targets per priority of one scope: the cluster's
    /// (`tenant_id: None`) or a tenant's. An empty map clears the scope.
    SetSlaTargets(SetSlaTargets),
}

impl Command {
    /// The lowest cluster protocol version whose members can apply this command
    /// (see [`crate::version`]; 2 is the first release).
    pub fn min_version(&self) -> u32 {
        match self {
            // Raising to v needs every member to speak v, and the kind itself is new.
            Command::SetClusterVersion(c) => c.version.max(BATCH_AND_VERSION_GATE),
            Command::Batch(commands) => commands.iter().map(Command::min_version).fold(BATCH_AND_VERSION_GATE, u32::max),
            Command::SetSlaTargets(_) => SLA_TARGETS_GATE,
            _ => 2,
        }
    }

    /// Whether the command may share an entry with others. Not an assignment
    /// (its fencing token is the entry's index, which must name one decision),
    /// not a batch, and not a cluster-version raise (proposed alone, after
    /// asking every member).
    pub fn batchable(&self) -> bool {
        !matches!(self, Command::AssignJobs(_) | Command::Batch(_) | Command::SetClusterVersion(_))
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
            Command::SetSettings(_) => "set_settings",
            Command::UpdateTenant(_) => "update_tenant",
            Command::DeleteTenant(_) => "delete_tenant",
            Command::SubmitJobWithOptions(_) => "submit_job_with_options",
            Command::RequestBurst(_) => "request_burst",
            Command::DecideBurst(_) => "decide_burst",
            Command::CreatePool(_) => "create_pool",
            Command::UpdatePool(_) => "update_pool",
            Command::DeletePool(_) => "delete_pool",
            Command::ScalePool(_) => "scale_pool",
            Command::RecordScaling(_) => "record_scaling",
            Command::DeregisterWorker(_) => "deregister_worker",
            Command::Tick(_) => "tick",
            Command::SetObservability(_) => "set_observability",
            Command::RecordSamples(_) => "record_samples",
            Command::SetClusterVersion(_) => "set_cluster_version",
            Command::Batch(_) => "batch",
            Command::SetSlaTargets(_) => "set_sla_targets",
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

/// Replaces the cluster-wide settings (validated inside apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSettings {
    pub settings: Settings,
}

/// Changes the given fields of a tenant; `None` keeps a field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateTenant {
    pub tenant_id: TenantId,
    pub email: Option<String>,
    pub weight: Option<u32>,
    pub max_queued_jobs: Option<u32>,
    /// `Some(None)` clears the tenant's own wait target.
    pub sla_wait_ms: Option<Option<u64>>,
}

/// Refused while the tenant has queued or placed jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTenant {
    pub tenant_id: TenantId,
}

/// `SubmitJob` with scheduling hints (estimated duration, worker selector).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitJobWithOptions {
    pub submit: SubmitJob,
    pub options: JobOptions,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestBurst {
    pub tenant_id: TenantId,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub duration_minutes: u32,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BurstDecision {
    /// Starts a pending lease now.
    Approve,
    /// Refuses a pending lease.
    Deny { reason: String },
    /// Ends a pending or active lease now.
    Revoke { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideBurst {
    pub burst_id: BurstId,
    pub decision: BurstDecision,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePool {
    pub id: PoolId,
    pub name: String,
    pub kind: PoolKind,
    pub min_size: u32,
    pub max_size: u32,
    pub labels: BTreeMap<String, String>,
    pub worker_shape: Option<WorkerShape>,
    pub worker_hourly_cost_nanos: Option<u64>,
    pub auto_scaling_enabled: bool,
    pub policies: Vec<ScalingPolicy>,
}

/// Changes the given fields of a pool; `None` keeps a field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePool {
    pub id: PoolId,
    pub name: Option<String>,
    pub min_size: Option<u32>,
    pub max_size: Option<u32>,
    pub labels: Option<BTreeMap<String, String>>,
    pub worker_hourly_cost_nanos: Option<Option<u64>>,
    pub auto_scaling_enabled: Option<bool>,
    pub policies: Option<Vec<ScalingPolicy>>,
    pub scale_up_cooldown_ms: Option<u64>,
    pub scale_down_cooldown_ms: Option<u64>,
    pub min_worker_lifetime_ms: Option<u64>,
}

/// Starts draining the pool; it is deleted once its last worker is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletePool {
    pub id: PoolId,
}

/// A manual scale with its reason (recorded in the scaling history).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalePool {
    pub id: PoolId,
    pub target_size: u32,
    pub reason: String,
}

/// An autoscaler decision (from [`crate::autoscale::should_scale`]). `from` must
/// still be the pool's target, so a stale decision is refused; cooldowns and
/// bounds are checked again; `drain` workers still idle start draining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordScaling {
    pub id: PoolId,
    pub from: u32,
    pub to: u32,
    pub reason: String,
    pub policy: Option<String>,
    pub drain: Vec<WorkerId>,
}

/// Removes a worker that runs nothing (after a drain, or a lost one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeregisterWorker {
    pub worker_id: WorkerId,
}

/// Time passes: burst leases end, running jobs past their timeout time out,
/// idle worker cost accrues, pools finish draining, and retention prunes old
/// jobs, cost and SLA buckets. The leader proposes it periodically.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {}

/// Replaces the observability settings (validated inside apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetObservability {
    pub settings: ObservabilitySettings,
}

/// The leader's periodic metric sample. It carries nothing but the proposal's
/// time: `apply` computes every value from the state (see `crate::sampling`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSamples {}

/// Records the cluster version: proposed by the leader once every member
/// reports at least `version`. Refused unless it is a raise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetClusterVersion {
    pub version: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSlaTargets {
    /// `None`: the cluster-wide targets.
    pub tenant_id: Option<TenantId>,
    /// Priority -> wait target in ms.
    pub by_priority: BTreeMap<i32, u64>,
}
