//! The replicated records: tenants, quotas and jobs.

use crate::ids::{JobId, PoolId, TenantId};
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
}

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
}
