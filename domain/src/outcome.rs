//! The result of applying one command. Rejections that follow from replicated
//! state are values, replicated like any result, never errors of `apply`.

use crate::burst::Burst;
use crate::ids::{JobId, TenantId, WorkerId};
use crate::model::{Job, Tenant, Worker};
use crate::pool::Pool;
use crate::observability::ObservabilitySettings;
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    TenantCreated(Tenant),
    QuotaSet(Tenant),
    /// A new job, or the job a retried submission with the same key created.
    JobSubmitted(Job),
    JobCancelled(Job),
    Rejected(Rejection),
    WorkerRegistered(Worker),
    /// The placements that held, each with its fencing token.
    JobsAssigned(Vec<(JobId, WorkerId, u64)>),
    JobStarted(Job),
    JobFinished(Job),
    /// The worker's jobs: re-queued ones, then those that ran out of retries.
    WorkerLost { requeued: Vec<JobId>, lost: Vec<JobId> },
    WorkerDraining(Worker),
    SettingsSet(Settings),
    TenantUpdated(Tenant),
    TenantDeleted(TenantId),
    /// A requested, approved, denied or revoked lease, as it now stands.
    BurstUpdated(Burst),
    PoolUpdated(Pool),
    WorkerDeregistered(WorkerId),
    Ticked(TickReport),
    ObservabilitySet(ObservabilitySettings),
    /// How many pool and tenant series one `RecordSamples` added to.
    SamplesRecorded { pools: u32, tenants: u32 },
    /// The cluster version now recorded.
    ClusterVersionSet(u32),
    /// The outcome of each command of a `Batch`, in order.
    Batch(Vec<Outcome>),
    /// The targets per priority of one scope, as they now stand.
    SlaTargetsSet { tenant_id: Option<TenantId>, by_priority: BTreeMap<i32, u64> },
}

/// What one `Tick` did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickReport {
    pub bursts_expired: u32,
    pub jobs_timed_out: Vec<JobId>,
    pub jobs_pruned: u32,
    pub buckets_pruned: u32,
    pub workers_forgotten: u32,
    pub pools_deleted: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// The command names something that does not exist.
    NotFound { what: String },
    /// A unique name is taken, or the target is in a state that forbids the change.
    Conflict { message: String },
    /// The command is malformed or could never succeed (a job larger than any quota).
    Invalid { message: String },
    /// Admitting the job would take the tenant past its quota.
    QuotaExceeded { resource: String, used: u64, requested: u64, limit: u64 },
}

impl Rejection {
    pub fn not_found(what: impl Into<String>) -> Outcome {
        Outcome::Rejected(Rejection::NotFound { what: what.into() })
    }
    pub fn conflict(message: impl Into<String>) -> Outcome {
        Outcome::Rejected(Rejection::Conflict { message: message.into() })
    }
    pub fn invalid(message: impl Into<String>) -> Outcome {
        Outcome::Rejected(Rejection::Invalid { message: message.into() })
    }
}
