//! Cluster-wide settings, replicated so every node decides admission, bursts,
//! fair queuing and cost the same way. Defaults are the seeds' `config.yaml`
//! (`multi_tenancy`, `burst_capacity`, `cost_tracking`); `SetSettings` replaces
//! them whole after [`Settings::validate`].
//!
//! Money is integer nano-dollars (`$0.05` = 50,000,000): floating point would
//! make cost totals depend on summation order, and totals must equal the sum of
//! their records exactly.

use crate::model::Quota;
use serde::{Deserialize, Serialize};

/// Nano-dollars in one dollar.
pub const NANOS_PER_DOLLAR: u64 = 1_000_000_000;

/// Converts a configured dollar amount (`hourly_rate_cpu: 0.05`) to nano-dollars.
/// `None` for negative, non-finite or absurd (over a million dollars) amounts.
pub fn dollars_to_nanos(dollars: f64) -> Option<u64> {
    if !dollars.is_finite() || !(0.0..=1_000_000.0).contains(&dollars) {
        return None;
    }
    Some((dollars * NANOS_PER_DOLLAR as f64).round() as u64)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViolationPolicy {
    /// A submission beyond quota (plus active burst) is refused (HTTP 429).
    Reject,
    /// It is accepted and held in the queue until it fits.
    Queue,
}

/// `multi_tenancy.quota_enforcement`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaEnforcement {
    /// Strict: quota plus active burst is a hard bound (DESIGN invariant 3).
    /// Not strict: quota is advisory; admissions beyond it are allowed and
    /// counted in the tenant's `quota_violations`.
    pub strict_mode: bool,
    pub violation_policy: ViolationPolicy,
}

/// `burst_capacity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurstSettings {
    pub enabled: bool,
    /// A burst adds at most this percentage of the base quota (cpu and memory).
    pub max_overage_percentage: u32,
    /// The longest lease granted.
    pub burst_duration_minutes: u32,
    /// Requests wait for an admin's approval instead of starting at once.
    pub require_approval: bool,
}

/// `cost_tracking`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostSettings {
    pub enabled: bool,
    pub track_by_tenant: bool,
    pub track_by_job: bool,
    pub track_by_pool: bool,
    /// Hourly buckets older than this are pruned by `Tick`.
    pub retention_days: u32,
    /// Price of one core for one hour, nano-dollars.
    pub hourly_rate_cpu_nanos: u64,
    /// Price of one GiB of memory for one hour, nano-dollars.
    pub hourly_rate_memory_gb_nanos: u64,
}

/// Weighted fair queuing and SLA parameters (see `docs/scheduling.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulingSettings {
    /// The capacity a job's dominant resource share is measured against.
    pub reference_cpu_m: u64,
    pub reference_memory_mb: u64,
    /// Duration assumed for a job that gives no estimate.
    pub default_estimated_duration_s: u64,
    /// Wait target for jobs whose tenant sets none.
    pub default_sla_wait_ms: u64,
    /// A job that has waited this percentage of its target is boosted.
    pub sla_boost_threshold_percent: u32,
    /// The boost: how far ahead (in cost units, ppm x seconds at weight 1) a
    /// boosted tenant may jump. It bounds the extra lag it can cause others.
    pub sla_boost_cost: u64,
    /// How many jobs past a tenant's head dispatch may look for one that fits a
    /// free worker, so one huge job does not block its tenant's small ones.
    pub backfill_depth: u32,
    /// Extra time past `timeout_s` before `Tick` times a running job out; the
    /// worker's own timeout report normally comes first.
    pub timeout_grace_ms: u64,
}

/// Bounds that keep the replicated state's memory finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSettings {
    /// Finished jobs (and their idempotency keys) are kept this long...
    pub finished_job_ttl_ms: u64,
    /// ...and never more than this many; the oldest finished go first.
    pub max_finished_jobs: u64,
    /// Lost workers are forgotten after this long.
    pub lost_worker_ttl_ms: u64,
    /// Scaling events kept per pool.
    pub scaling_history_len: u32,
    /// Ended burst leases are forgotten after this long.
    pub ended_burst_ttl_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `multi_tenancy.default_tenant_quota`.
    pub default_tenant_quota: Quota,
    /// Queued jobs a tenant may hold unless its own bound says otherwise.
    pub default_max_queued_jobs: u32,
    pub quota_enforcement: QuotaEnforcement,
    pub burst_capacity: BurstSettings,
    pub cost_tracking: CostSettings,
    pub scheduling: SchedulingSettings,
    pub retention: RetentionSettings,
}

const DAY_MS: u64 = 24 * 3_600_000;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_tenant_quota: Quota::default(),
            default_max_queued_jobs: 1_000,
            quota_enforcement: QuotaEnforcement { strict_mode: true, violation_policy: ViolationPolicy::Reject },
            burst_capacity: BurstSettings {
                enabled: true,
                max_overage_percentage: 150,
                burst_duration_minutes: 60,
                require_approval: false,
            },
            cost_tracking: CostSettings {
                enabled: true,
                track_by_tenant: true,
                track_by_job: true,
                track_by_pool: true,
                retention_days: 90,
                hourly_rate_cpu_nanos: 50_000_000,
                hourly_rate_memory_gb_nanos: 10_000_000,
            },
            scheduling: SchedulingSettings {
                reference_cpu_m: 64_000,
                reference_memory_mb: 262_144,
                default_estimated_duration_s: 60,
                default_sla_wait_ms: 30_000,
                sla_boost_threshold_percent: 80,
                sla_boost_cost: 4 * 15_625 * 60,
                backfill_depth: 16,
                timeout_grace_ms: 30_000,
            },
            retention: RetentionSettings {
                finished_job_ttl_ms: 7 * DAY_MS,
                max_finished_jobs: 100_000,
                lost_worker_ttl_ms: 3_600_000,
                scaling_history_len: 100,
                ended_burst_ttl_ms: 30 * DAY_MS,
            },
        }
    }
}

impl Settings {
    /// Checks every bound; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        let q = &self.default_tenant_quota;
        let s = &self.scheduling;
        let r = &self.retention;
        let c = &self.cost_tracking;
        let checks: [(bool, &str); 14] = [
            (q.cpu_m > 0 && q.memory_mb > 0 && q.max_concurrent_jobs > 0, "default_tenant_quota must be positive"),
            ((1..=1_000_000).contains(&self.default_max_queued_jobs), "default_max_queued_jobs must be 1..=1000000"),
            (self.burst_capacity.max_overage_percentage <= 1_000, "burst_capacity.max_overage_percentage must be at most 1000"),
            ((1..=7 * 24 * 60).contains(&self.burst_capacity.burst_duration_minutes), "burst_capacity.burst_duration_minutes must be 1..=10080"),
            ((1..=3_650).contains(&c.retention_days), "cost_tracking.retention_days must be 1..=3650"),
            (c.hourly_rate_cpu_nanos <= 1_000 * NANOS_PER_DOLLAR, "cost_tracking.hourly_rate_cpu must be at most 1000"),
            (c.hourly_rate_memory_gb_nanos <= 1_000 * NANOS_PER_DOLLAR, "cost_tracking.hourly_rate_memory_gb must be at most 1000"),
            (s.reference_cpu_m > 0 && s.reference_memory_mb > 0, "scheduling reference capacity must be positive"),
            ((1..=7 * 86_400).contains(&s.default_estimated_duration_s), "scheduling.default_estimated_duration_s must be 1..=604800"),
            (s.default_sla_wait_ms > 0, "scheduling.default_sla_wait_ms must be positive"),
            (s.sla_boost_threshold_percent <= 100, "scheduling.sla_boost_threshold_percent must be at most 100"),
            ((1..=1_024).contains(&s.backfill_depth), "scheduling.backfill_depth must be 1..=1024"),
            ((1..=10_000_000).contains(&r.max_finished_jobs), "retention.max_finished_jobs must be 1..=10000000"),
            ((1..=10_000).contains(&r.scaling_history_len), "retention.scaling_history_len must be 1..=10000"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, msg)) => Err((*msg).to_string()),
            None => Ok(()),
        }
    }

    /// The most a burst may add to `quota` (cpu_m, memory_mb), or nothing when
    /// bursts are off.
    pub fn max_burst(&self, quota: &Quota) -> (u64, u64) {
        if !self.burst_capacity.enabled {
            return (0, 0);
        }
        let pct = u64::from(self.burst_capacity.max_overage_percentage);
        (quota.cpu_m.saturating_mul(pct) / 100, quota.memory_mb.saturating_mul(pct) / 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_config_and_validate() {
        let s = Settings::default();
        assert_eq!(s.default_tenant_quota, Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 });
        assert!(s.quota_enforcement.strict_mode);
        assert_eq!(s.quota_enforcement.violation_policy, ViolationPolicy::Reject);
        assert_eq!((s.burst_capacity.max_overage_percentage, s.burst_capacity.burst_duration_minutes), (150, 60));
        assert_eq!(s.cost_tracking.retention_days, 90);
        assert_eq!(Some(s.cost_tracking.hourly_rate_cpu_nanos), dollars_to_nanos(0.05));
        assert_eq!(Some(s.cost_tracking.hourly_rate_memory_gb_nanos), dollars_to_nanos(0.01));
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn invalid_settings_name_their_key() {
        let mut s = Settings::default();
        s.burst_capacity.burst_duration_minutes = 0;
        assert!(s.validate().unwrap_err().contains("burst_duration_minutes"));
        assert_eq!(dollars_to_nanos(-1.0), None);
        assert_eq!(dollars_to_nanos(f64::NAN), None);
    }
}
