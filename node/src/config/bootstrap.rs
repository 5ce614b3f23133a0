//! From the seeds' sections to what the cluster replicates: the domain
//! [`Settings`] and the declared pools, which the leader proposes where the
//! state lacks them (see `hodei_domain::bootstrap` for the policy).

use hodei_domain::autoscale::ScalingPolicy as DomainPolicy;
use hodei_domain::command::CreatePool;
use hodei_domain::settings::{dollars_to_nanos, ViolationPolicy as DomainViolation};
use hodei_domain::{Bootstrap, PoolId, PoolKind, Quota, Settings};

use super::domain::{DomainSettings, ViolationPolicy};
use super::pools::{PoolConfig, PoolType, ScalingAction, ScalingPolicy};
use super::ConfigError;

impl DomainSettings {
    /// The replicated settings and pools these sections declare. Fails, naming
    /// the key, where a value has no meaning for the domain (an unknown trigger
    /// metric, a fractional or negative threshold, settings out of bounds).
    pub fn bootstrap(&self) -> Result<Bootstrap, ConfigError> {
        let mut s = Settings::default();
        let q = self.multi_tenancy.default_tenant_quota;
        s.default_tenant_quota = Quota { cpu_m: q.cpu_m, memory_mb: q.memory_mb, max_concurrent_jobs: q.max_concurrent_jobs };
        let e = self.multi_tenancy.quota_enforcement;
        s.quota_enforcement.strict_mode = e.strict_mode;
        s.quota_enforcement.violation_policy = match e.violation_policy {
            ViolationPolicy::Reject => DomainViolation::Reject,
            ViolationPolicy::Queue => DomainViolation::Queue,
        };
        let b = &self.burst_capacity;
        s.burst_capacity.enabled = b.enabled;
        s.burst_capacity.max_overage_percentage = b.max_overage_percentage;
        s.burst_capacity.burst_duration_minutes = b.burst_duration_minutes.max(1);
        s.burst_capacity.require_approval = b.require_approval;
        let c = &self.cost_tracking;
        s.cost_tracking.enabled = c.enabled;
        s.cost_tracking.track_by_tenant = c.track_by_tenant;
        s.cost_tracking.track_by_job = c.track_by_job;
        s.cost_tracking.track_by_pool = c.track_by_pool;
        s.cost_tracking.retention_days = c.retention_days.max(1);
        let rate = |key: &str, v: f64| dollars_to_nanos(v).ok_or_else(|| ConfigError::invalid(key, format!("{v} is not a rate")));
        s.cost_tracking.hourly_rate_cpu_nanos = rate("cost_tracking.hourly_rate_cpu", c.hourly_rate_cpu)?;
        s.cost_tracking.hourly_rate_memory_gb_nanos = rate("cost_tracking.hourly_rate_memory_gb", c.hourly_rate_memory_gb)?;
        s.validate().map_err(|e| ConfigError::invalid("multi_tenancy/burst_capacity/cost_tracking", e))?;
        let pools = if self.resource_pools.enabled {
            self.resource_pools.pools.iter().map(pool).collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Bootstrap { settings: s, pools, observability: self.observability.replicated()? })
    }
}

fn pool(p: &PoolConfig) -> Result<CreatePool, ConfigError> {
    let policies = p
        .scaling_policies
        .iter()
        .map(|sp| policy(sp).map_err(|e| ConfigError::invalid(format!("resource_pools.pools[{}].scaling_policies[{}]", p.id, sp.name), e)))
        .collect::<Result<_, _>>()?;
    Ok(CreatePool {
        id: PoolId(p.id.clone()),
        name: p.name.clone(),
        kind: match p.pool_type {
            PoolType::Static => PoolKind::Static,
            PoolType::Dynamic => PoolKind::Dynamic,
        },
        min_size: p.min_size,
        max_size: p.max_size,
        labels: Default::default(),
        worker_shape: None,
        worker_hourly_cost_nanos: None,
        auto_scaling_enabled: p.auto_scaling_enabled,
        policies,
    })
}

fn policy(sp: &ScalingPolicy) -> Result<DomainPolicy, String> {
    let t = &sp.trigger;
    if t.threshold < 0.0 || t.threshold.fract() != 0.0 || t.threshold > 1e12 {
        return Err(format!("threshold {} must be a whole number >= 0", t.threshold));
    }
    let action = match sp.action {
        ScalingAction::ScaleUp => "scale_up",
        ScalingAction::ScaleDown => "scale_down",
    };
    // The domain reads the seeds' own `metric op number` form.
    let trigger = format!("{} {} {}", t.metric, t.op.symbol(), t.threshold as u64);
    let mut out = DomainPolicy::from_config(&sp.name, &trigger, action, None)?;
    out.cooldown_ms = Some(u64::try_from(sp.cooldown.as_millis()).unwrap_or(u64::MAX));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_defaults_declare_the_default_pool_and_the_seed_settings() {
        let b = DomainSettings::default().bootstrap().unwrap();
        assert_eq!(b.settings, Settings::default(), "the seeds' values are the domain defaults");
        assert_eq!(b.pools.len(), 1);
        let p = &b.pools[0];
        assert_eq!((p.id.0.as_str(), p.kind, p.min_size, p.max_size), ("pool-default", PoolKind::Static, 2, 20));
        assert_eq!(p.policies.len(), 1);
        assert_eq!(p.policies[0].cooldown_ms, Some(300_000));
    }

    #[test]
    fn an_unknown_trigger_metric_is_a_config_error_naming_the_policy() {
        let mut d = DomainSettings::default();
        d.resource_pools.pools[0].scaling_policies[0].trigger.metric = "gpu_heat".into();
        let e = d.bootstrap().unwrap_err().to_string();
        assert!(e.contains("cpu-scaling") && e.contains("gpu_heat"), "{e}");
        let mut d = DomainSettings::default();
        d.resource_pools.pools[0].scaling_policies[0].trigger.threshold = 80.5;
        assert!(d.bootstrap().unwrap_err().to_string().contains("whole number"));
    }
}
