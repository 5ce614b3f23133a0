//! The replicated records: tenants, quotas and jobs.

use crate::ids::{JobId, PoolId, TenantId, WorkerId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a tenant may hold at once: its admitted (queued and running) jobs count
/// against every field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub max_concurrent_jobs: u32,
}

impl Default for Quota {
    /// `multi_tenancy.default_tenant_quota` of the seeds' `config.yaml`.
    fn default() -> Self {
        Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub email: String,
    pub quota: Quota,
    /// Leader time at creation, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Fair-share weight: backlogged tenants receive service in proportion to it.
    pub weight: u32,
    /// Jobs this tenant may hold queued at once (bounds the queue's memory).
    pub max_queued_jobs: u32,
    /// Wait target (enqueue to start) for this tenant's jobs of any priority
    /// the tenant names no target for; `None` uses the cluster's target for
    /// the priority, else the cluster default (see [`crate::sla`]).
    pub sla_wait_ms: Option<u64>,
    /// Admissions beyond quota accepted while `strict_mode` is off.
    pub quota_violations: u64,
}

/// Bounds on a tenant's weight.
pub const MAX_WEIGHT: u32 = 10_000;

/// Resources a tenant's admitted jobs hold, compared with its quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub jobs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JobState {
    Pending,
    Assigned,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    Lost,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 8] = [
        JobState::Pending,
        JobState::Assigned,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::TimedOut,
        JobState::Lost,
    ];

    /// A terminal job never changes again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded
                | JobState::Failed
                | JobState::Cancelled
                | JobState::TimedOut
                | JobState::Lost
        )
    }

    /// The upper-case name clients see (`PENDING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "PENDING",
            JobState::Assigned => "ASSIGNED",
            JobState::Running => "RUNNING",
            JobState::Succeeded => "SUCCEEDED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
            JobState::TimedOut => "TIMED_OUT",
            JobState::Lost => "LOST",
        }
    }
}

/// What the submitter asked for. Validated by the API before proposal and again,
/// for the state-dependent parts, inside `apply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Program and arguments; never empty.
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub pool: Option<PoolId>,
    pub priority: i32,
    pub timeout_s: Option<u64>,
    pub max_retries: u32,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub spec: JobSpec,
    pub state: JobState,
    pub idempotency_key: Option<String>,
    pub submitted_at_ms: u64,
    /// Leader time of the last state change.
    pub updated_at_ms: u64,
    pub execution: Execution,
    /// Scheduling hints beyond the spec; boxed because most jobs have none and
    /// every queued job's bytes count.
    pub options: Option<Box<JobOptions>>,
}

impl Job {
    pub fn estimated_duration_s(&self) -> Option<u64> {
        self.options.as_ref().and_then(|o| o.estimated_duration_s)
    }

    /// Worker labels this job requires (empty: any).
    pub fn selector(&self) -> Option<&BTreeMap<String, String>> {
        self.options.as_ref().map(|o| &o.selector).filter(|s| !s.is_empty())
    }
}

/// Optional scheduling inputs of a submission (`SubmitJobWithOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    /// Used for the fair-queuing cost and the start estimate.
    pub estimated_duration_s: Option<u64>,
    /// Labels a worker (or its pool) must carry to run the job.
    pub selector: BTreeMap<String, String>,
}

/// Where a job is placed. `token` is the log index of the `AssignJobs` entry that
/// placed it: reports must carry it, so a worker that lost the job to a newer
/// assignment cannot change it (fencing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub worker: WorkerId,
    pub token: u64,
    pub assigned_at_ms: u64,
    /// Admitted beyond the tenant's base quota, under its burst lease.
    pub under_burst: bool,
}

/// How a run ended, as its worker reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunEnding {
    Succeeded,
    Failed { exit_code: Option<i32> },
    TimedOut,
    Cancelled,
}

/// What the worker measured of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUsage {
    pub run_ms: u64,
    pub cpu_ms: u64,
    pub peak_memory_kb: u64,
}

/// The execution history of a job: placement, attempts and the last run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub placement: Option<Placement>,
    /// Placements so far, including the current one.
    pub attempts: u32,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub ending: Option<RunEnding>,
    pub usage: Option<RunUsage>,
    /// Cost of every attempt so far, nano-dollars (see `cost`).
    pub cost_nanos: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerState {
    Active,
    /// Takes no new work; finishes what it runs.
    Draining,
    /// Its lease ran out; its jobs went back to the queue or failed.
    Lost,
}

impl WorkerState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Active => "ACTIVE",
            WorkerState::Draining => "DRAINING",
            WorkerState::Lost => "LOST",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    pub id: WorkerId,
    pub pool: PoolId,
    pub name: String,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub labels: BTreeMap<String, String>,
    /// Where the agent serves job output.
    pub logs_addr: String,
    pub state: WorkerState,
    pub registered_at_ms: u64,
    /// Jobs placed here and not finished.
    pub jobs: std::collections::BTreeSet<JobId>,
    /// Resources those jobs hold.
    pub used_cpu_m: u64,
    pub used_memory_mb: u64,
    /// Since when the worker has run nothing (idle cost accrues to its pool).
    pub idle_since_ms: Option<u64>,
    /// When its lease ran out (lost workers are forgotten after a retention).
    pub lost_at_ms: Option<u64>,
}

impl Worker {
    /// Can this worker take `spec` now (state, pool, free capacity)? A job's own
    /// labels describe it; the pool is its selector.
    pub fn fits(&self, spec: &JobSpec) -> bool {
        self.fits_resources(spec.pool.as_ref(), spec.cpu_m, spec.memory_mb)
    }

    /// Active, in the wanted pool (if any), with room for the resources.
    pub fn fits_resources(&self, pool: Option<&PoolId>, cpu_m: u64, memory_mb: u64) -> bool {
        self.state == WorkerState::Active
            && pool.is_none_or(|p| *p == self.pool)
            && self.used_cpu_m.saturating_add(cpu_m) <= self.cpu_m
            && self.used_memory_mb.saturating_add(memory_mb) <= self.memory_mb
    }
}
