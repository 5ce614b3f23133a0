//! The seeds' `config.yaml` sections, typed, with the seeds' values as defaults.
//! They are validated here; the replicated domain settings are built from them.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ResourcePools {
    pub enabled: bool,
    pub default_pool_type: PoolType,
    pub pools: Vec<PoolConfig>,
}

impl Default for ResourcePools {
    fn default() -> Self {
        ResourcePools { enabled: true, default_pool_type: PoolType::Static, pools: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PoolType {
    Static,
    Dynamic,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub pool_type: PoolType,
    pub min_size: u32,
    pub max_size: u32,
    #[serde(default)]
    pub auto_scaling_enabled: bool,
    #[serde(default)]
    pub scaling_policies: Vec<ScalingPolicyConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicyConfig {
    pub name: String,
    /// `metric > threshold`, e.g. `cpu_utilization > 80`.
    pub trigger: String,
    /// `scale_up` or `scale_down`.
    pub action: String,
    /// `5m`, `90s`, ...
    pub cooldown: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MultiTenancy {
    pub enabled: bool,
    pub default_tenant_quota: QuotaConfig,
    pub quota_enforcement: QuotaEnforcement,
}

impl Default for MultiTenancy {
    fn default() -> Self {
        MultiTenancy { enabled: true, default_tenant_quota: QuotaConfig::default(), quota_enforcement: QuotaEnforcement::default() }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub max_concurrent_jobs: u32,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaEnforcement {
    pub strict_mode: bool,
    pub violation_policy: ViolationPolicy,
}

impl Default for QuotaEnforcement {
    fn default() -> Self {
        QuotaEnforcement { strict_mode: true, violation_policy: ViolationPolicy::Reject }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ViolationPolicy {
    Reject,
    Queue,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BurstCapacity {
    pub enabled: bool,
    pub max_overage_percentage: u32,
    pub burst_duration_minutes: u32,
    pub require_approval: bool,
}

impl Default for BurstCapacity {
    fn default() -> Self {
        BurstCapacity { enabled: true, max_overage_percentage: 150, burst_duration_minutes: 60, require_approval: false }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CostTracking {
    pub enabled: bool,
    pub track_by_tenant: bool,
    pub track_by_job: bool,
    pub track_by_pool: bool,
    pub retention_days: u32,
    pub hourly_rate_cpu: f64,
    pub hourly_rate_memory_gb: f64,
}

impl Default for CostTracking {
    fn default() -> Self {
        CostTracking {
            enabled: true,
            track_by_tenant: true,
            track_by_job: true,
            track_by_pool: true,
            retention_days: 90,
            hourly_rate_cpu: 0.05,
            hourly_rate_memory_gb: 0.01,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    pub prometheus: PrometheusConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusConfig {
    pub enabled: bool,
    pub port: u16,
    pub path: String,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig { enabled: true, port: 9091, path: "/metrics".into() }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Observability {
    pub grafana: GrafanaConfig,
    pub alerting: AlertingConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct GrafanaConfig {
    pub enabled: bool,
    pub url: String,
    pub api_key: String,
    pub dashboards_dir: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AlertingConfig {
    pub enabled: bool,
    pub prometheus_alerts_dir: String,
    pub alertmanager_url: String,
}

/// Every seeds section, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DomainSettings {
    pub resource_pools: ResourcePools,
    pub multi_tenancy: MultiTenancy,
    pub burst_capacity: BurstCapacity,
    pub cost_tracking: CostTracking,
    pub metrics: Metrics,
    pub observability: Observability,
}

impl DomainSettings {
    pub fn validate(self) -> Result<Self, String> {
        for p in &self.resource_pools.pools {
            if p.id.is_empty() {
                return Err("resource_pools.pools: a pool has an empty id".into());
            }
            if p.min_size > p.max_size {
                return Err(format!("resource_pools.pools[{}]: min_size {} > max_size {}", p.id, p.min_size, p.max_size));
            }
            for s in &p.scaling_policies {
                super::duration::parse_duration(&s.cooldown)
                    .map_err(|e| format!("resource_pools.pools[{}].scaling_policies[{}].cooldown: {e}", p.id, s.name))?;
                if s.action != "scale_up" && s.action != "scale_down" {
                    return Err(format!("resource_pools.pools[{}].scaling_policies[{}].action must be scale_up or scale_down", p.id, s.name));
                }
            }
        }
        let q = self.multi_tenancy.default_tenant_quota;
        if q.cpu_m == 0 || q.memory_mb == 0 || q.max_concurrent_jobs == 0 {
            return Err("multi_tenancy.default_tenant_quota: every field must be positive".into());
        }
        if self.burst_capacity.max_overage_percentage > 1000 {
            return Err("burst_capacity.max_overage_percentage must be at most 1000".into());
        }
        let c = &self.cost_tracking;
        if !(c.hourly_rate_cpu.is_finite() && c.hourly_rate_cpu >= 0.0 && c.hourly_rate_memory_gb.is_finite() && c.hourly_rate_memory_gb >= 0.0) {
            return Err("cost_tracking: hourly rates must be non-negative numbers".into());
        }
        Ok(self)
    }
}
