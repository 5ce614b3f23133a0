//! The JSON shapes of the REST API (snake_case). Requests refuse unknown fields;
//! [`validate`](CreateTenantBody::validate) bounds every string and list before
//! anything is proposed.

pub mod observability;
pub mod pools;
pub mod schema;
pub mod sla;
pub mod tenancy;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use hodei_domain::{Job, JobSpec, PoolId, Quota, Tenant};

use crate::error::ApiError;

pub const MAX_NAME: usize = 63;
pub const MAX_EMAIL: usize = 254;
pub const MAX_ARGS: usize = 256;
pub const MAX_ARG_BYTES: usize = 4096;
pub const MAX_MAP_ENTRIES: usize = 64;
pub const MAX_KEY_BYTES: usize = 128;
pub const MAX_VALUE_BYTES: usize = 1024;
pub const MAX_IDEMPOTENCY_KEY: usize = 128;
/// 1,000 cores and 1 TiB: far beyond any worker, small enough to never overflow.
pub const MAX_CPU_M: u64 = 1_000_000;
pub const MAX_MEMORY_MB: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaBody {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub cpu_m: u64,
    #[schema(minimum = 1, maximum = 1_048_576_000)]
    pub memory_mb: u64,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_concurrent_jobs: u32,
}

impl QuotaBody {
    pub fn validate(self) -> Result<Quota, ApiError> {
        if self.cpu_m == 0 || self.cpu_m > MAX_CPU_M * 1000 {
            return Err(ApiError::invalid_field("quota.cpu_m", "must be between 1 and 1000000000"));
        }
        if self.memory_mb == 0 || self.memory_mb > MAX_MEMORY_MB * 1000 {
            return Err(ApiError::invalid_field("quota.memory_mb", "must be between 1 and 1048576000"));
        }
        if self.max_concurrent_jobs == 0 || self.max_concurrent_jobs > 1_000_000 {
            return Err(ApiError::invalid_field("quota.max_concurrent_jobs", "must be between 1 and 1000000"));
        }
        Ok(Quota { cpu_m: self.cpu_m, memory_mb: self.memory_mb, max_concurrent_jobs: self.max_concurrent_jobs })
    }
}

impl From<&Quota> for QuotaBody {
    fn from(q: &Quota) -> Self {
        QuotaBody { cpu_m: q.cpu_m, memory_mb: q.memory_mb, max_concurrent_jobs: q.max_concurrent_jobs }
    }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantBody {
    #[schema(schema_with = schema::name)]
    pub name: String,
    #[schema(schema_with = schema::email)]
    pub email: String,
    #[serde(default)]
    pub quota: Option<QuotaBody>,
}

impl CreateTenantBody {
    pub fn validate(self) -> Result<hodei_domain::command::CreateTenant, ApiError> {
        check_name("name", &self.name)?;
        check_email(&self.email)?;
        let quota = self.quota.map(QuotaBody::validate).transpose()?;
        Ok(hodei_domain::command::CreateTenant { name: self.name, email: self.email, quota })
    }
}

/// An email address as [`schema::EMAIL`] states it.
pub fn check_email(e: &str) -> Result<(), ApiError> {
    let b = e.as_bytes();
    let ok = b.len() >= 3
        && b.len() <= MAX_EMAIL
        && b.iter().all(|c| (b'!'..=b'~').contains(c))
        && b[1..b.len() - 1].contains(&b'@');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field("email", "must be an email address: visible ASCII with an @, at most 254 bytes"))
    }
}

pub fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(field, "must be 1 to 63 of [a-z0-9-_.], starting with a letter or digit"))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TenantBody {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub quota: QuotaBody,
    pub created_at_ms: u64,
    /// Fair-share weight.
    pub weight: u32,
    pub max_queued_jobs: u32,
    /// The tenant's own wait target, if it has one.
    pub sla_wait_ms: Option<u64>,
}

impl From<&Tenant> for TenantBody {
    fn from(t: &Tenant) -> Self {
        TenantBody {
            id: t.id.0,
            name: t.name.clone(),
            email: t.email.clone(),
            quota: (&t.quota).into(),
            created_at_ms: t.created_at_ms,
            weight: t.weight,
            max_queued_jobs: t.max_queued_jobs,
            sla_wait_ms: t.sla_wait_ms,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitJobBody {
    /// The tenant to run it for; a tenant token's own tenant when absent.
    #[serde(default)]
    pub tenant_id: Option<u64>,
    #[schema(schema_with = schema::command)]
    pub command: Vec<String>,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub cpu_m: u64,
    #[schema(minimum = 1, maximum = 1_048_576)]
    pub memory_mb: u64,
    #[serde(default)]
    #[schema(schema_with = schema::name_or_null)]
    pub pool: Option<String>,
    #[serde(default)]
    #[schema(minimum = -1000, maximum = 1000)]
    pub priority: Option<i32>,
    #[serde(default)]
    #[schema(schema_with = schema::string_map_or_null)]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 604_800)]
    pub timeout_s: Option<u64>,
    #[serde(default)]
    #[schema(maximum = 100)]
    pub max_retries: Option<u32>,
    #[serde(default)]
    #[schema(schema_with = schema::string_map_or_null)]
    pub labels: Option<BTreeMap<String, String>>,
}

impl SubmitJobBody {
    pub fn validate_spec(self) -> Result<JobSpec, ApiError> {
        if self.command.is_empty() || self.command.len() > MAX_ARGS {
            return Err(ApiError::invalid_field("command", "must hold 1 to 256 strings (program, then arguments)"));
        }
        if self.command[0].is_empty() {
            return Err(ApiError::invalid_field("command", "the program must not be empty"));
        }
        if self.command.iter().any(|a| a.chars().count() > MAX_ARG_BYTES || a.contains('\0')) {
            return Err(ApiError::invalid_field("command", "each argument at most 4096 characters, no NUL"));
        }
        if self.cpu_m == 0 || self.cpu_m > MAX_CPU_M {
            return Err(ApiError::invalid_field("cpu_m", "must be between 1 and 1000000"));
        }
        if self.memory_mb == 0 || self.memory_mb > MAX_MEMORY_MB {
            return Err(ApiError::invalid_field("memory_mb", "must be between 1 and 1048576"));
        }
        if let Some(p) = &self.pool {
            check_name("pool", p)?;
        }
        let priority = self.priority.unwrap_or(0);
        if !(-1000..=1000).contains(&priority) {
            return Err(ApiError::invalid_field("priority", "must be between -1000 and 1000"));
        }
        if self.timeout_s.is_some_and(|t| t == 0 || t > 7 * 24 * 3600) {
            return Err(ApiError::invalid_field("timeout_s", "must be between 1 and 604800"));
        }
        let max_retries = self.max_retries.unwrap_or(0);
        if max_retries > 100 {
            return Err(ApiError::invalid_field("max_retries", "must be at most 100"));
        }
        let env = check_map("env", self.env.unwrap_or_default())?;
        let labels = check_map("labels", self.labels.unwrap_or_default())?;
        Ok(JobSpec {
            command: self.command,
            env,
            cpu_m: self.cpu_m,
            memory_mb: self.memory_mb,
            pool: self.pool.map(PoolId),
            priority,
            timeout_s: self.timeout_s,
            max_retries,
            labels,
        })
    }
}

pub(crate) fn check_map(field: &str, m: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
    if m.len() > MAX_MAP_ENTRIES {
        return Err(ApiError::invalid_field(field, "at most 64 entries"));
    }
    for (k, v) in &m {
        let (kn, vn) = (k.chars().count(), v.chars().count());
        if kn == 0 || kn > MAX_KEY_BYTES || vn > MAX_VALUE_BYTES || k.contains(['\0', '=']) || v.contains('\0') {
            return Err(ApiError::invalid_field(field, "keys 1 to 128 characters without '=' or NUL, values at most 1024 characters without NUL"));
        }
    }
    Ok(m)
}

pub fn check_idempotency_key(key: Option<&str>) -> Result<Option<String>, ApiError> {
    match key {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_string()))
        }
        Some(_) => Err(ApiError::invalid_field("Idempotency-Key", "1 to 128 visible ASCII characters")),
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct JobBody {
    pub id: u64,
    pub tenant_id: u64,
    pub command: Vec<String>,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub pool: Option<String>,
    pub priority: i32,
    pub env: BTreeMap<String, String>,
    pub timeout_s: Option<u64>,
    pub max_retries: u32,
    pub labels: BTreeMap<String, String>,
    pub state: String,
    pub idempotency_key: Option<String>,
    pub submitted_at_ms: u64,
    pub updated_at_ms: u64,
    /// The worker of the current (or last) placement.
    pub worker_id: Option<u64>,
    /// Placements so far.
    pub attempts: u32,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub exit_code: Option<i32>,
    pub run_ms: Option<u64>,
    pub cpu_ms: Option<u64>,
    pub peak_memory_kb: Option<u64>,
}

impl From<&Job> for JobBody {
    fn from(j: &Job) -> Self {
        JobBody {
            id: j.id.0,
            tenant_id: j.tenant_id.0,
            command: j.spec.command.clone(),
            cpu_m: j.spec.cpu_m,
            memory_mb: j.spec.memory_mb,
            pool: j.spec.pool.as_ref().map(|p| p.0.clone()),
            priority: j.spec.priority,
            env: j.spec.env.clone(),
            timeout_s: j.spec.timeout_s,
            max_retries: j.spec.max_retries,
            labels: j.spec.labels.clone(),
            state: j.state.as_str().to_string(),
            idempotency_key: j.idempotency_key.clone(),
            submitted_at_ms: j.submitted_at_ms,
            updated_at_ms: j.updated_at_ms,
            worker_id: j.execution.placement.map(|p| p.worker.0),
            attempts: j.execution.attempts,
            started_at_ms: j.execution.started_at_ms,
            finished_at_ms: j.execution.finished_at_ms,
            exit_code: match j.execution.ending {
                Some(hodei_domain::RunEnding::Succeeded) => Some(0),
                Some(hodei_domain::RunEnding::Failed { exit_code }) => exit_code,
                _ => None,
            },
            run_ms: j.execution.usage.map(|u| u.run_ms),
            cpu_ms: j.execution.usage.map(|u| u.cpu_ms),
            peak_memory_kb: j.execution.usage.map(|u| u.peak_memory_kb),
        }
    }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberBody {
    pub id: u64,
    pub peer_addr: String,
    #[serde(default)]
    pub http_addr: String,
    #[serde(default)]
    pub grpc_addr: String,
    #[serde(default)]
    pub learner_only: bool,
}
