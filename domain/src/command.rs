//! Commands: the only way the replicated state changes.
//!
//! The enum is append-only. A new variant goes at the end, so entries written by
//! an older build keep their encoding; an old build that meets a variant it does
//! not know fails to decode loudly, and the cluster version keeps that from
//! happening during a rolling upgrade (see [`Command::min_version`]).

use crate::ids::{JobId, TenantId};
use crate::model::{JobSpec, Quota};
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
