//! Tenant changes, quota views and burst leases.

use serde::{Deserialize, Serialize};

use hodei_domain::command::{RequestBurst, UpdateTenant};
use hodei_domain::model::MAX_WEIGHT;
use hodei_domain::{Burst, TenantId, Usage};

use super::{check_email, QuotaBody, MAX_CPU_M, MAX_MEMORY_MB};
use crate::error::ApiError;

/// Longest reason on a burst request or decision.
pub const MAX_REASON: usize = 512;

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateTenantBody {
    #[serde(default)]
    #[schema(schema_with = super::schema::email_or_null)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10_000)]
    pub weight: Option<u32>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_queued_jobs: Option<u32>,
    /// Wait target in milliseconds; 0 clears the tenant's own target.
    #[serde(default)]
    #[schema(maximum = 604_800_000)]
    pub sla_wait_ms: Option<u64>,
}

impl UpdateTenantBody {
    pub fn validate(self, tenant_id: TenantId) -> Result<UpdateTenant, ApiError> {
        if let Some(e) = &self.email {
            check_email(e)?;
        }
        if self.weight.is_some_and(|w| w == 0 || w > MAX_WEIGHT) {
            return Err(ApiError::invalid_field("weight", format!("must be 1 to {MAX_WEIGHT}")));
        }
        if self.max_queued_jobs.is_some_and(|q| q == 0 || q > 1_000_000) {
            return Err(ApiError::invalid_field("max_queued_jobs", "must be 1 to 1000000"));
        }
        if self.sla_wait_ms.is_some_and(|w| w > 7 * 86_400_000) {
            return Err(ApiError::invalid_field("sla_wait_ms", "at most 7 days"));
        }
        if self.email.is_none() && self.weight.is_none() && self.max_queued_jobs.is_none() && self.sla_wait_ms.is_none() {
            return Err(ApiError::invalid("nothing to change: give email, weight, max_queued_jobs or sla_wait_ms"));
        }
        Ok(UpdateTenant {
            tenant_id,
            email: self.email,
            weight: self.weight,
            max_queued_jobs: self.max_queued_jobs,
            sla_wait_ms: self.sla_wait_ms.map(|w| (w > 0).then_some(w)),
        })
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UsageBody {
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub jobs: u32,
}

impl From<Usage> for UsageBody {
    fn from(u: Usage) -> Self {
        UsageBody { cpu_m: u.cpu_m, memory_mb: u.memory_mb, jobs: u.jobs }
    }
}

/// `GET /api/v1/tenants/{id}/quota`: the limits and what is held against them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct QuotaView {
    pub tenant_id: u64,
    pub quota: QuotaBody,
    /// Queued and placed jobs (admission counts these).
    pub admitted: UsageBody,
    /// Assigned and running jobs.
    pub running: UsageBody,
    /// Extra cpu and memory an active burst lease grants now.
    pub burst_cpu_m: u64,
    pub burst_memory_mb: u64,
}

/// `POST /api/v1/tenants/{id}/burst`, in the seeds' field names.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BurstRequestBody {
    /// Extra cpu; with `requested_memory_mb`, at least one is positive.
    #[schema(maximum = 1_000_000)]
    pub requested_cpu_m: u64,
    #[schema(maximum = 1_048_576)]
    pub requested_memory_mb: u64,
    #[schema(minimum = 1, maximum = 10_080)]
    pub duration_minutes: u32,
    #[schema(schema_with = super::schema::reason)]
    pub reason: String,
}

impl BurstRequestBody {
    pub fn validate(self, tenant_id: TenantId) -> Result<RequestBurst, ApiError> {
        if self.requested_cpu_m > MAX_CPU_M || self.requested_memory_mb > MAX_MEMORY_MB {
            return Err(ApiError::invalid_field("requested_cpu_m", "cpu or memory beyond any worker"));
        }
        if self.requested_cpu_m == 0 && self.requested_memory_mb == 0 {
            return Err(ApiError::invalid_field("requested_cpu_m", "ask for some cpu or memory"));
        }
        if self.duration_minutes == 0 || self.duration_minutes > 7 * 24 * 60 {
            return Err(ApiError::invalid_field("duration_minutes", "must be 1 to 10080"));
        }
        check_reason("reason", &self.reason)?;
        Ok(RequestBurst {
            tenant_id,
            cpu_m: self.requested_cpu_m,
            memory_mb: self.requested_memory_mb,
            duration_minutes: self.duration_minutes,
            reason: self.reason,
        })
    }
}

/// Body of `deny` and `revoke` (optional on `approve`).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[serde(default)]
    #[schema(schema_with = super::schema::reason_or_null)]
    pub reason: Option<String>,
}

pub fn check_reason(field: &str, r: &str) -> Result<(), ApiError> {
    if r.trim().is_empty() || r.chars().count() > MAX_REASON || r.contains('\0') {
        return Err(ApiError::invalid_field(field, format!("1 to {MAX_REASON} characters, not blank, no NUL")));
    }
    Ok(())
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BurstBody {
    pub id: u64,
    pub tenant_id: u64,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub duration_ms: u64,
    pub reason: String,
    /// PENDING, ACTIVE, DENIED, REVOKED or EXPIRED.
    pub state: String,
    pub requested_at_ms: u64,
    pub starts_at_ms: Option<u64>,
    pub ends_at_ms: Option<u64>,
    pub decision_reason: Option<String>,
    pub ended_at_ms: Option<u64>,
}

impl From<&Burst> for BurstBody {
    fn from(b: &Burst) -> Self {
        BurstBody {
            id: b.id.0,
            tenant_id: b.tenant_id.0,
            cpu_m: b.cpu_m,
            memory_mb: b.memory_mb,
            duration_ms: b.duration_ms,
            reason: b.reason.clone(),
            state: b.state.as_str().to_string(),
            requested_at_ms: b.requested_at_ms,
            starts_at_ms: b.starts_at_ms,
            ends_at_ms: b.ends_at_ms,
            decision_reason: b.decision_reason.clone(),
            ended_at_ms: b.ended_at_ms,
        }
    }
}
