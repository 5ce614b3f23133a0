//! [`DomainSample`]: one pure reading of a node's replicated state, taken under
//! the state's read lock at scrape time, from which the domain gauges are set.
//!
//! Cost is one pass over the jobs, the workers (once per pool) and the last
//! day's SLA buckets: every label set it produces is bounded by the tenants,
//! pools and fixed state names of the state, never by jobs.

use std::collections::BTreeMap;

use hodei_domain::autoscale::pool_metrics;
use hodei_domain::cost_report::Period;
use hodei_domain::{BurstState, JobState, PoolKind, State, TenantId, WorkerState};

/// The `pool` label of queued jobs that name no pool (any pool may take them).
pub const ANY_POOL: &str = "any";

const WORKER_STATES: [WorkerState; 3] = [WorkerState::Active, WorkerState::Draining, WorkerState::Lost];
const BURST_STATES: [BurstState; 5] =
    [BurstState::Pending, BurstState::Active, BurstState::Denied, BurstState::Revoked, BurstState::Expired];

/// What the domain gauges are set from, read from the replicated state in one go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DomainSample {
    pub tenants: Vec<TenantSample>,
    /// Jobs per state name (`PENDING`, ...), every known state present.
    pub jobs: Vec<(&'static str, u64)>,
    /// Workers per state name, every state present.
    pub workers: Vec<(&'static str, u64)>,
    /// Burst leases per state name, every state present.
    pub bursts: Vec<(&'static str, u64)>,
    pub pools: Vec<PoolSample>,
    pub sla: SlaSample,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantSample {
    /// The tenant id as clients see it (`tenant-3`).
    pub id: String,
    pub name: String,
    /// Jobs per state name, only states with at least one job.
    pub jobs: Vec<(&'static str, u64)>,
    /// Pending jobs per wanted pool ([`ANY_POOL`] for none), only non-zero.
    pub queued: Vec<(String, u64)>,
    /// Assigned or running jobs per pool of their worker, only non-zero.
    pub running: Vec<(String, u64)>,
    /// Utilisation per resource (`cpu`, `memory`, `jobs`); a zero quota gives none.
    pub utilization: Vec<(&'static str, f64)>,
    /// SLA compliance over the last day (met / started; 1 when nothing started).
    pub sla_compliance: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolSample {
    pub id: String,
    pub kind: &'static str,
    pub lifecycle: &'static str,
    pub min_size: u32,
    pub max_size: u32,
    pub target_size: u32,
    pub live_workers: u32,
    pub idle_workers: u32,
    pub cpu_utilization: f64,
    pub memory_utilization: f64,
    /// Pending jobs the pool could take (naming it or no pool), as the autoscaler sees it.
    pub queue_depth: u64,
    pub oldest_wait_seconds: f64,
    pub running_jobs: u64,
}

/// Cluster-wide SLA figures over the last day (the domain's `LastDay` period).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlaSample {
    pub compliance: f64,
    pub p95_wait_seconds: f64,
    pub pending_over_target: u64,
}

impl DomainSample {
    /// Reads tenants, jobs, workers, bursts, pools and SLA figures from `state`,
    /// at the state's own clock.
    pub fn of(state: &State) -> DomainSample {
        let now = state.clock_ms();
        let mut jobs: BTreeMap<&'static str, u64> = JobState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut per_tenant: BTreeMap<TenantId, TenantCounts> = BTreeMap::new();
        let mut running_by_pool: BTreeMap<String, u64> = BTreeMap::new();
        for job in state.jobs() {
            let name = job.state.as_str();
            *jobs.entry(name).or_default() += 1;
            let t = per_tenant.entry(job.tenant_id).or_default();
            *t.jobs.entry(name).or_default() += 1;
            match job.state {
                JobState::Pending => {
                    let pool = job.spec.pool.as_ref().map_or(ANY_POOL.to_string(), |p| p.0.clone());
                    *t.queued.entry(pool).or_default() += 1;
                }
                JobState::Assigned | JobState::Running => {
                    let worker = job.execution.placement.and_then(|p| state.worker(p.worker));
                    if let Some(w) = worker {
                        *t.running.entry(w.pool.0.clone()).or_default() += 1;
                        *running_by_pool.entry(w.pool.0.clone()).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        let window = Period::LastDay.bounds(now);
        let mut sla_by_tenant: BTreeMap<TenantId, (u64, u64)> = BTreeMap::new();
        let first = (hodei_domain::cost::hour_of(window.0), TenantId(0));
        for ((_, t), b) in state.sla_ledger().buckets.range(first..) {
            let e = sla_by_tenant.entry(*t).or_default();
            e.0 += b.started;
            e.1 += b.met;
        }
        let tenants = state
            .tenants()
            .map(|t| {
                let counts = per_tenant.remove(&t.id).unwrap_or_default();
                let (started, met) = sla_by_tenant.get(&t.id).copied().unwrap_or_default();
                TenantSample {
                    id: t.id.to_string(),
                    name: t.name.clone(),
                    jobs: counts.jobs.into_iter().collect(),
                    queued: counts.queued.into_iter().collect(),
                    running: counts.running.into_iter().collect(),
                    utilization: utilization(state, t),
                    sla_compliance: ratio_or_one(met, started),
                }
            })
            .collect();
        let report = hodei_domain::sla::report(state, None, None, window.0, window.1, now);
        DomainSample {
            tenants,
            jobs: jobs.into_iter().collect(),
            workers: WORKER_STATES
                .iter()
                .map(|s| (s.as_str(), state.workers().filter(|w| w.state == *s).count() as u64))
                .collect(),
            bursts: BURST_STATES
                .iter()
                .map(|s| (s.as_str(), state.bursts().filter(|b| b.state == *s).count() as u64))
                .collect(),
            pools: pools(state, now, &running_by_pool),
            sla: SlaSample {
                compliance: report.compliance_percent / 100.0,
                p95_wait_seconds: report.p95_wait_ms as f64 / 1000.0,
                pending_over_target: report.pending_over_target,
            },
        }
    }
}

#[derive(Default)]
struct TenantCounts {
    jobs: BTreeMap<&'static str, u64>,
    queued: BTreeMap<String, u64>,
    running: BTreeMap<String, u64>,
}

fn ratio_or_one(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// `part / whole`, 0 for no capacity.
fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn utilization(state: &State, t: &hodei_domain::Tenant) -> Vec<(&'static str, f64)> {
    let usage = state.usage(t.id);
    let ratio = |used: u64, quota: u64| (quota > 0).then(|| used as f64 / quota as f64);
    [
        ("cpu", ratio(usage.cpu_m, t.quota.cpu_m)),
        ("memory", ratio(usage.memory_mb, t.quota.memory_mb)),
        ("jobs", ratio(u64::from(usage.jobs), u64::from(t.quota.max_concurrent_jobs))),
    ]
    .into_iter()
    .filter_map(|(r, v)| v.map(|v| (r, v)))
    .collect()
}

fn pools(state: &State, now: u64, running: &BTreeMap<String, u64>) -> Vec<PoolSample> {
    state
        .pools()
        .map(|p| {
            let m = pool_metrics(state, &p.id, now);
            PoolSample {
                id: p.id.0.clone(),
                kind: match p.kind {
                    PoolKind::Static => "static",
                    PoolKind::Dynamic => "dynamic",
                },
                lifecycle: p.lifecycle.as_str(),
                min_size: p.min_size,
                max_size: p.max_size,
                target_size: p.target_size,
                live_workers: m.live_workers,
                idle_workers: m.idle_workers,
                cpu_utilization: fraction(m.reserved_cpu_m, m.capacity_cpu_m),
                memory_utilization: fraction(m.reserved_memory_mb, m.capacity_memory_mb),
                queue_depth: m.queue_depth,
                oldest_wait_seconds: m.oldest_wait_ms as f64 / 1000.0,
                running_jobs: running.get(&p.id.0).copied().unwrap_or(0),
            }
        })
        .collect()
}
