//! Pools and their scaling policies: request bodies (validated, unknown fields
//! refused) and the answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use hodei_domain::autoscale::{parse_duration_ms, ScaleAction, ScalingPolicy, Strategy};
use hodei_domain::command::{CreatePool, ScalePool, UpdatePool};
use hodei_domain::{Pool, PoolId, PoolKind, ScalingEvent, WorkerShape};

use super::tenancy::check_reason;
use super::{check_map, check_name, MAX_CPU_M, MAX_MEMORY_MB};
use crate::error::ApiError;

/// Most scaling policies a pool may carry.
pub const MAX_POLICIES: usize = 16;
/// Largest pool size accepted.
pub const MAX_POOL_SIZE: u32 = 10_000;

/// A policy in the seeds' form: `trigger: "cpu_utilization > 80"`,
/// `action: scale_up|scale_down`, `cooldown: "5m"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    #[schema(schema_with = super::schema::name)]
    pub name: String,
    /// `METRIC OP NUMBER` (`cpu_utilization > 80`, `queue_depth >= 10`), or
    /// `METRIC = NUMBER` with `action: target_value`.
    #[schema(max_length = 128)]
    pub trigger: String,
    /// `scale_up`, `scale_down` or `target_value`.
    #[schema(max_length = 32)]
    pub action: String,
    #[serde(default)]
    #[schema(schema_with = super::schema::duration_or_null)]
    pub cooldown: Option<String>,
}

impl PolicyBody {
    fn validate(&self, i: usize) -> Result<ScalingPolicy, ApiError> {
        let field = format!("scaling_policies[{i}]");
        check_name(&format!("{field}.name"), &self.name)?;
        if self.trigger.len() > 128 || self.action.len() > 32 || self.cooldown.as_ref().is_some_and(|c| c.len() > 32) {
            return Err(ApiError::invalid_field(&field, "trigger, action or cooldown is too long"));
        }
        ScalingPolicy::from_config(&self.name, &self.trigger, &self.action, self.cooldown.as_deref())
            .map_err(|e| ApiError::invalid_field(&field, e))
    }
}

impl From<&ScalingPolicy> for PolicyBody {
    fn from(p: &ScalingPolicy) -> Self {
        let (trigger, action) = match p.strategy {
            Strategy::Threshold { trigger, action, .. } => (
                trigger.to_string(),
                match action {
                    ScaleAction::ScaleUp => "scale_up".to_string(),
                    ScaleAction::ScaleDown => "scale_down".to_string(),
                },
            ),
            Strategy::TargetValue { metric, target } => (format!("{} = {target}", metric.as_str()), "target_value".into()),
        };
        PolicyBody { name: p.name.clone(), trigger, action, cooldown: p.cooldown_ms.map(|ms| format!("{ms}ms")) }
    }
}

pub fn validate_policies(policies: &[PolicyBody]) -> Result<Vec<ScalingPolicy>, ApiError> {
    if policies.len() > MAX_POLICIES {
        return Err(ApiError::invalid_field("scaling_policies", format!("at most {MAX_POLICIES} policies")));
    }
    let out: Vec<ScalingPolicy> = policies.iter().enumerate().map(|(i, p)| p.validate(i)).collect::<Result<_, _>>()?;
    let mut names: Vec<&str> = out.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(ApiError::invalid_field("scaling_policies", "policy names must be unique"));
    }
    Ok(out)
}

/// A display name as [`super::schema::DISPLAY_NAME`] states it.
fn check_display_name(n: &str) -> Result<(), ApiError> {
    let len = n.chars().count();
    if len == 0 || len > 128 || n.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("name", "1 to 128 characters, no control characters"));
    }
    Ok(())
}

fn kind(s: &str) -> Result<PoolKind, ApiError> {
    match s {
        "static" => Ok(PoolKind::Static),
        "dynamic" => Ok(PoolKind::Dynamic),
        _ => Err(ApiError::invalid_field("type", "must be static or dynamic")),
    }
}

fn cost_nanos(dollars: Option<f64>) -> Result<Option<u64>, ApiError> {
    dollars
        .map(|d| hodei_domain::settings::dollars_to_nanos(d).ok_or_else(|| ApiError::invalid_field("worker_hourly_cost", "a price from 0 to 1000000")))
        .transpose()
}

fn sizes(min: u32, max: u32) -> Result<(), ApiError> {
    if max == 0 || max > MAX_POOL_SIZE {
        return Err(ApiError::invalid_field("max_size", format!("must be 1 to {MAX_POOL_SIZE}")));
    }
    if min > max {
        return Err(ApiError::invalid_field("min_size", "must not exceed max_size"));
    }
    Ok(())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePoolBody {
    #[schema(schema_with = super::schema::name)]
    pub id: String,
    #[serde(default)]
    #[schema(schema_with = super::schema::display_name_or_null)]
    pub name: Option<String>,
    /// `static` (default) or `dynamic`.
    #[serde(default, rename = "type")]
    #[schema(pattern = "^(static|dynamic)$")]
    pub pool_type: Option<String>,
    /// At most `max_size`.
    #[serde(default)]
    #[schema(maximum = 10_000)]
    pub min_size: u32,
    #[schema(minimum = 1, maximum = 10_000)]
    pub max_size: u32,
    #[serde(default)]
    #[schema(schema_with = super::schema::string_map_or_null)]
    pub labels: Option<BTreeMap<String, String>>,
    /// The shape of the workers a provisioner starts; with `worker_memory_mb`, or neither.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub worker_cpu_m: Option<u64>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_048_576)]
    pub worker_memory_mb: Option<u64>,
    /// Dollars per worker-hour.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub worker_hourly_cost: Option<f64>,
    #[serde(default)]
    pub auto_scaling_enabled: bool,
    #[serde(default)]
    pub scaling_policies: Vec<PolicyBody>,
}

impl CreatePoolBody {
    pub fn validate(self) -> Result<CreatePool, ApiError> {
        check_name("id", &self.id)?;
        let name = self.name.unwrap_or_else(|| self.id.clone());
        check_display_name(&name)?;
        sizes(self.min_size, self.max_size)?;
        let worker_shape = match (self.worker_cpu_m, self.worker_memory_mb) {
            (None, None) => None,
            (Some(c), Some(m)) if (1..=MAX_CPU_M).contains(&c) && (1..=MAX_MEMORY_MB).contains(&m) => {
                Some(WorkerShape { cpu_m: c, memory_mb: m })
            }
            _ => return Err(ApiError::invalid_field("worker_cpu_m", "worker_cpu_m and worker_memory_mb go together, each positive and bounded")),
        };
        Ok(CreatePool {
            id: PoolId(self.id),
            name,
            kind: kind(self.pool_type.as_deref().unwrap_or("static"))?,
            min_size: self.min_size,
            max_size: self.max_size,
            labels: check_map("labels", self.labels.unwrap_or_default())?,
            worker_shape,
            worker_hourly_cost_nanos: cost_nanos(self.worker_hourly_cost)?,
            auto_scaling_enabled: self.auto_scaling_enabled,
            policies: validate_policies(&self.scaling_policies)?,
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePoolBody {
    #[serde(default)]
    #[schema(schema_with = super::schema::display_name_or_null)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(maximum = 10_000)]
    pub min_size: Option<u32>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10_000)]
    pub max_size: Option<u32>,
    #[serde(default)]
    #[schema(schema_with = super::schema::string_map_or_null)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub worker_hourly_cost: Option<f64>,
    #[serde(default)]
    pub auto_scaling_enabled: Option<bool>,
    #[serde(default)]
    #[schema(schema_with = super::schema::duration_or_null)]
    pub scale_up_cooldown: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::schema::duration_or_null)]
    pub scale_down_cooldown: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::schema::duration_or_null)]
    pub min_worker_lifetime: Option<String>,
}

impl UpdatePoolBody {
    pub fn validate(self, id: PoolId) -> Result<UpdatePool, ApiError> {
        if let Some(n) = &self.name {
            check_display_name(n)?;
        }
        if let Some(max) = self.max_size {
            sizes(self.min_size.unwrap_or(0), max)?;
        }
        let duration = |field: &str, v: Option<String>| {
            v.map(|s| parse_duration_ms(&s).map_err(|e| ApiError::invalid_field(field, e))).transpose()
        };
        let labels = self.labels.map(|l| check_map("labels", l)).transpose()?;
        Ok(UpdatePool {
            id,
            name: self.name,
            min_size: self.min_size,
            max_size: self.max_size,
            labels,
            worker_hourly_cost_nanos: cost_nanos(self.worker_hourly_cost)?.map(Some),
            auto_scaling_enabled: self.auto_scaling_enabled,
            policies: None,
            scale_up_cooldown_ms: duration("scale_up_cooldown", self.scale_up_cooldown)?,
            scale_down_cooldown_ms: duration("scale_down_cooldown", self.scale_down_cooldown)?,
            min_worker_lifetime_ms: duration("min_worker_lifetime", self.min_worker_lifetime)?,
        })
    }
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalePoolBody {
    #[schema(maximum = 10_000)]
    pub target_size: u32,
    #[schema(schema_with = super::schema::reason)]
    pub reason: String,
}

impl ScalePoolBody {
    pub fn validate(self, id: PoolId) -> Result<ScalePool, ApiError> {
        if self.target_size > MAX_POOL_SIZE {
            return Err(ApiError::invalid_field("target_size", format!("at most {MAX_POOL_SIZE}")));
        }
        check_reason("reason", &self.reason)?;
        Ok(ScalePool { id, target_size: self.target_size, reason: self.reason })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoliciesBody {
    pub scaling_policies: Vec<PolicyBody>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PoolBody {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub pool_type: String,
    pub lifecycle: String,
    pub min_size: u32,
    pub max_size: u32,
    pub target_size: u32,
    pub labels: BTreeMap<String, String>,
    pub worker_cpu_m: Option<u64>,
    pub worker_memory_mb: Option<u64>,
    pub worker_hourly_cost_nanos: Option<u64>,
    pub auto_scaling_enabled: bool,
    pub scaling_policies: Vec<PolicyBody>,
    pub scale_up_cooldown_ms: u64,
    pub scale_down_cooldown_ms: u64,
    pub min_worker_lifetime_ms: u64,
    pub created_at_ms: u64,
    /// Created by a worker's registration rather than declared.
    pub implicit: bool,
}

impl From<&Pool> for PoolBody {
    fn from(p: &Pool) -> Self {
        PoolBody {
            id: p.id.0.clone(),
            name: p.name.clone(),
            pool_type: match p.kind {
                PoolKind::Static => "static".into(),
                PoolKind::Dynamic => "dynamic".into(),
            },
            lifecycle: p.lifecycle.as_str().to_string(),
            min_size: p.min_size,
            max_size: p.max_size,
            target_size: p.target_size,
            labels: p.labels.clone(),
            worker_cpu_m: p.worker_shape.map(|s| s.cpu_m),
            worker_memory_mb: p.worker_shape.map(|s| s.memory_mb),
            worker_hourly_cost_nanos: p.worker_hourly_cost_nanos,
            auto_scaling_enabled: p.auto_scaling_enabled,
            scaling_policies: p.policies.iter().map(PolicyBody::from).collect(),
            scale_up_cooldown_ms: p.scale_up_cooldown_ms,
            scale_down_cooldown_ms: p.scale_down_cooldown_ms,
            min_worker_lifetime_ms: p.min_worker_lifetime_ms,
            created_at_ms: p.created_at_ms,
            implicit: p.implicit,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ScalingEventBody {
    pub at_ms: u64,
    pub from: u32,
    pub to: u32,
    pub reason: String,
    pub automatic: bool,
    pub policy: Option<String>,
}

impl From<&ScalingEvent> for ScalingEventBody {
    fn from(e: &ScalingEvent) -> Self {
        ScalingEventBody { at_ms: e.at_ms, from: e.from, to: e.to, reason: e.reason.clone(), automatic: e.automatic, policy: e.policy.clone() }
    }
}
