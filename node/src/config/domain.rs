//! The seeds' `config.yaml` sections other than pools, typed, with the seeds'
//! values as defaults, and [`DomainSettings`], which gathers every section once
//! validated. The replicated domain settings are built from these. Every section
//! is enabled by default, as in the seeds.

use std::fmt;

use serde::Deserialize;

use super::pools::ResourcePools;
use super::ConfigError;

/// A value that must not reach logs: `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

/// The quota a tenant gets when it is created without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

/// What happens to a job that would exceed its tenant's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationPolicy {
    Reject,
    Queue,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BurstCapacity {
    pub enabled: bool,
    /// How far past its quota a bursting tenant may go, in percent of the quota.
    pub max_overage_percentage: u32,
    pub burst_duration_minutes: u32,
    pub require_approval: bool,
}

impl Default for BurstCapacity {
    fn default() -> Self {
        BurstCapacity { enabled: true, max_overage_percentage: 150, burst_duration_minutes: 60, require_approval: false }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostTracking {
    pub enabled: bool,
    pub track_by_tenant: bool,
    pub track_by_job: bool,
    pub track_by_pool: bool,
    pub retention_days: u32,
    /// Currency units per CPU core-hour.
    pub hourly_rate_cpu: f64,
    /// Currency units per GiB-hour of memory.
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

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    pub prometheus: Prometheus,
    /// Export series labelled by tenant (jobs, queue, quota, SLA and cost per
    /// tenant). Off for very large tenant counts: cluster-wide and per-pool
    /// series remain.
    pub per_tenant_labels: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { prometheus: Prometheus::default(), per_tenant_labels: true }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prometheus {
    pub enabled: bool,
    pub port: u16,
    pub path: String,
}

impl Default for Prometheus {
    fn default() -> Self {
        Prometheus { enabled: true, port: 9091, path: "/metrics".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Observability {
    pub grafana: Grafana,
    pub alerting: Alerting,
    /// The replicated metric history's sampler (see `docs/observability.md`).
    pub history: History,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct History {
    pub enabled: bool,
    pub sample_interval_ms: u64,
    pub retention_hours: u32,
    pub max_tenant_series: u32,
}

impl Default for History {
    fn default() -> Self {
        let h = hodei_domain::observability::ObservabilitySettings::default().history;
        History {
            enabled: h.enabled,
            sample_interval_ms: h.sample_interval_ms,
            retention_hours: h.retention_hours,
            max_tenant_series: h.max_tenant_series,
        }
    }
}

impl Observability {
    /// The replicated part of this section (everything but Grafana's API key),
    /// validated; a bad key is named as `observability.<key>`.
    pub fn replicated(&self) -> Result<hodei_domain::observability::ObservabilitySettings, ConfigError> {
        use hodei_domain::observability::{AlertingSettings, GrafanaSettings, HistorySettings, ObservabilitySettings};
        let (g, a, h) = (&self.grafana, &self.alerting, &self.history);
        let s = ObservabilitySettings {
            history: HistorySettings {
                enabled: h.enabled,
                sample_interval_ms: h.sample_interval_ms,
                retention_hours: h.retention_hours,
                max_tenant_series: h.max_tenant_series,
            },
            grafana: GrafanaSettings { enabled: g.enabled, url: g.url.clone(), dashboards_dir: g.dashboards_dir.clone() },
            alerting: AlertingSettings {
                enabled: a.enabled,
                prometheus_alerts_dir: a.prometheus_alerts_dir.clone(),
                alertmanager_url: a.alertmanager_url.clone(),
            },
        };
        s.validate().map_err(|e| ConfigError::invalid(format!("observability.{}", e.field), e.message))?;
        Ok(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grafana {
    pub enabled: bool,
    pub url: String,
    /// The seeds write `"${GRAFANA_API_KEY}"`; left out, the key is taken from that
    /// variable of the passed-in environment. Empty means none.
    pub api_key: Option<Secret>,
    pub dashboards_dir: String,
}

impl Default for Grafana {
    fn default() -> Self {
        Grafana { enabled: true, url: "http://grafana:3000".into(), api_key: None, dashboards_dir: "/etc/hodei/dashboards".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Alerting {
    pub enabled: bool,
    pub prometheus_alerts_dir: String,
    pub alertmanager_url: String,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting { enabled: true, prometheus_alerts_dir: "/etc/hodei/alerts".into(), alertmanager_url: "http://alertmanager:9093".into() }
    }
}

/// Every seeds section. Parsed with defaults, then [`DomainSettings::validate`]d.
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
    /// Holds: pools as [`ResourcePools::validate`]; a default quota of positive
    /// amounts; overage within 0..=1000 %; a positive burst window and retention
    /// where enabled; finite rates >= 0; an absolute metrics path on a real port;
    /// http(s) URLs for Grafana and Alertmanager where enabled.
    pub fn validate(self) -> Result<Self, ConfigError> {
        let resource_pools = self.resource_pools.validate()?;
        let q = self.multi_tenancy.default_tenant_quota;
        if q.cpu_m == 0 || q.memory_mb == 0 || q.max_concurrent_jobs == 0 {
            return Err(ConfigError::invalid(
                "multi_tenancy.default_tenant_quota",
                "cpu_m, memory_mb and max_concurrent_jobs must be positive",
            ));
        }
        let b = &self.burst_capacity;
        if b.max_overage_percentage > 1000 {
            return Err(ConfigError::invalid("burst_capacity.max_overage_percentage", "must be between 0 and 1000"));
        }
        if b.enabled && b.burst_duration_minutes == 0 {
            return Err(ConfigError::invalid("burst_capacity.burst_duration_minutes", "must be positive when bursts are enabled"));
        }
        let c = &self.cost_tracking;
        for (key, rate) in
            [("cost_tracking.hourly_rate_cpu", c.hourly_rate_cpu), ("cost_tracking.hourly_rate_memory_gb", c.hourly_rate_memory_gb)]
        {
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(ConfigError::invalid(key, format!("{rate} is not a rate >= 0")));
            }
        }
        if c.enabled && c.retention_days == 0 {
            return Err(ConfigError::invalid("cost_tracking.retention_days", "must be positive when cost tracking is enabled"));
        }
        let p = &self.metrics.prometheus;
        if p.enabled && (p.port == 0 || !p.path.starts_with('/')) {
            return Err(ConfigError::invalid("metrics.prometheus", "needs a port above 0 and a path starting with /"));
        }
        let o = &self.observability;
        if o.grafana.enabled {
            http_url("observability.grafana.url", &o.grafana.url)?;
        }
        if o.alerting.enabled {
            http_url("observability.alerting.alertmanager_url", &o.alerting.alertmanager_url)?;
        }
        Ok(DomainSettings { resource_pools, ..self })
    }
}

fn http_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) => Ok(()),
        _ => Err(ConfigError::invalid(key, format!("{url:?} is not an http:// or https:// URL"))),
    }
}
