//! The domain gauges: registered once, set from a [`DomainSample`] at every
//! scrape. Cluster-wide and per-pool series are always exported; series with a
//! `tenant` label only while per-tenant labels are on.

use prometheus::{Gauge, GaugeVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::sample::DomainSample;
use super::{clamp, QUOTA_RESOURCES};

pub(super) struct DomainGauges {
    per_tenant_labels: bool,
    tenants: IntGauge,
    jobs: IntGaugeVec,
    workers: IntGaugeVec,
    bursts: IntGaugeVec,
    quota_utilization_max: GaugeVec,
    tenant_jobs: IntGaugeVec,
    tenant_info: IntGaugeVec,
    tenant_queued: IntGaugeVec,
    tenant_running: IntGaugeVec,
    quota_utilization: GaugeVec,
    tenant_sla_compliance: GaugeVec,
    pool_info: IntGaugeVec,
    pool_min: IntGaugeVec,
    pool_max: IntGaugeVec,
    pool_target: IntGaugeVec,
    pool_workers: IntGaugeVec,
    pool_idle: IntGaugeVec,
    pool_busy: IntGaugeVec,
    pool_cpu: GaugeVec,
    pool_memory: GaugeVec,
    pool_queue_depth: IntGaugeVec,
    pool_oldest_wait: GaugeVec,
    pool_running: IntGaugeVec,
    sla_compliance: Gauge,
    sla_p95_wait: Gauge,
    sla_pending_over_target: IntGauge,
}

struct Reg<'a>(&'a Registry);

impl Reg<'_> {
    fn add<C: prometheus::core::Collector + Clone + 'static>(&self, c: C) -> prometheus::Result<C> {
        self.0.register(Box::new(c.clone()))?;
        Ok(c)
    }
    fn int(&self, name: &str, help: &str) -> prometheus::Result<IntGauge> {
        self.add(IntGauge::new(name, help)?)
    }
    fn float(&self, name: &str, help: &str) -> prometheus::Result<Gauge> {
        self.add(Gauge::new(name, help)?)
    }
    fn ints(&self, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
        self.add(IntGaugeVec::new(Opts::new(name, help), labels)?)
    }
    fn floats(&self, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<GaugeVec> {
        self.add(GaugeVec::new(Opts::new(name, help), labels)?)
    }
}

impl DomainGauges {
    pub(super) fn register(registry: &Registry, per_tenant_labels: bool) -> prometheus::Result<DomainGauges> {
        let r = Reg(registry);
        let pool = &["pool"];
        Ok(DomainGauges {
            per_tenant_labels,
            tenants: r.int("hodei_tenants", "Tenants in this node's replicated state.")?,
            jobs: r.ints("hodei_jobs", "Jobs in this node's replicated state, by state.", &["state"])?,
            workers: r.ints("hodei_workers", "Registered workers by state.", &["state"])?,
            bursts: r.ints("hodei_bursts", "Burst leases by state (ACTIVE: in force now).", &["state"])?,
            quota_utilization_max: r.floats(
                "hodei_tenant_quota_utilization_max_ratio",
                "Highest admitted usage over quota across tenants, per resource.",
                &["resource"],
            )?,
            tenant_jobs: r.ints(
                "hodei_tenant_jobs",
                "Jobs per tenant and state (only with per-tenant labels on).",
                &["tenant", "state"],
            )?,
            tenant_info: r.ints(
                "hodei_tenant_info",
                "1 per tenant, mapping the tenant id label to its name (only with per-tenant labels on).",
                &["tenant", "name"],
            )?,
            tenant_queued: r.ints(
                "hodei_tenant_queued_jobs",
                "Pending jobs per tenant and wanted pool (\"any\": none named); only with per-tenant labels on.",
                &["tenant", "pool"],
            )?,
            tenant_running: r.ints(
                "hodei_tenant_running_jobs",
                "Assigned or running jobs per tenant and pool of their worker; only with per-tenant labels on.",
                &["tenant", "pool"],
            )?,
            quota_utilization: r.floats(
                "hodei_tenant_quota_utilization_ratio",
                "Admitted usage over quota per tenant and resource (cpu, memory, jobs); only with per-tenant labels on.",
                &["tenant", "resource"],
            )?,
            tenant_sla_compliance: r.floats(
                "hodei_tenant_sla_compliance_ratio",
                "Jobs started within their wait target over jobs started, last day, per tenant (1 when none started); only with per-tenant labels on.",
                &["tenant"],
            )?,
            pool_info: r.ints("hodei_pool_info", "1 per pool, with its kind and lifecycle.", &["pool", "kind", "lifecycle"])?,
            pool_min: r.ints("hodei_pool_min_size", "The pool's minimum size.", pool)?,
            pool_max: r.ints("hodei_pool_max_size", "The pool's maximum size.", pool)?,
            pool_target: r.ints("hodei_pool_target_size", "The size the provisioner reconciles the pool to.", pool)?,
            pool_workers: r.ints("hodei_pool_workers", "Live (not lost) workers of the pool.", pool)?,
            pool_idle: r.ints("hodei_pool_idle_workers", "Live workers of the pool that run nothing.", pool)?,
            pool_busy: r.ints("hodei_pool_busy_workers", "Live workers of the pool that run at least one job.", pool)?,
            pool_cpu: r.floats("hodei_pool_cpu_utilization_ratio", "Reserved over capacity cpu of the pool's live workers.", pool)?,
            pool_memory: r.floats(
                "hodei_pool_memory_utilization_ratio",
                "Reserved over capacity memory of the pool's live workers.",
                pool,
            )?,
            pool_queue_depth: r.ints(
                "hodei_pool_queue_depth",
                "Pending jobs the pool could take (naming it or no pool), as the autoscaler sees it.",
                pool,
            )?,
            pool_oldest_wait: r.floats(
                "hodei_pool_oldest_pending_wait_seconds",
                "How long the oldest pending job the pool could take has waited.",
                pool,
            )?,
            pool_running: r.ints("hodei_pool_running_jobs", "Assigned or running jobs on the pool's workers.", pool)?,
            sla_compliance: r.float(
                "hodei_sla_compliance_ratio",
                "Jobs started within their wait target over jobs started, last day, all tenants (1 when none started).",
            )?,
            sla_p95_wait: r.float(
                "hodei_sla_wait_p95_seconds",
                "95th percentile of the wait from submission to first start, last day (upper edge of its bin).",
            )?,
            sla_pending_over_target: r.int(
                "hodei_sla_pending_over_target_jobs",
                "Pending jobs that have already waited longer than their wait target.",
            )?,
        })
    }

    /// Sets every gauge from `d`; tenants and pools gone since the last scrape
    /// lose their series.
    pub(super) fn set(&self, d: &DomainSample) {
        self.tenants.set(clamp(d.tenants.len() as u64));
        for (v, rows) in [(&self.jobs, &d.jobs), (&self.workers, &d.workers), (&self.bursts, &d.bursts)] {
            for (state, n) in rows {
                v.with_label_values(&[state]).set(clamp(*n));
            }
        }
        for resource in QUOTA_RESOURCES {
            let max = d
                .tenants
                .iter()
                .flat_map(|t| t.utilization.iter())
                .filter(|(r, _)| r == resource)
                .map(|(_, v)| *v)
                .fold(0.0_f64, f64::max);
            self.quota_utilization_max.with_label_values(&[resource]).set(max);
        }
        self.set_tenants(d);
        self.set_pools(d);
        self.sla_compliance.set(d.sla.compliance);
        self.sla_p95_wait.set(d.sla.p95_wait_seconds);
        self.sla_pending_over_target.set(clamp(d.sla.pending_over_target));
    }

    fn set_tenants(&self, d: &DomainSample) {
        for v in [&self.tenant_jobs, &self.tenant_info, &self.tenant_queued, &self.tenant_running] {
            v.reset();
        }
        self.quota_utilization.reset();
        self.tenant_sla_compliance.reset();
        if !self.per_tenant_labels {
            return;
        }
        for t in &d.tenants {
            let id = t.id.as_str();
            self.tenant_info.with_label_values(&[id, t.name.as_str()]).set(1);
            for (state, n) in &t.jobs {
                self.tenant_jobs.with_label_values(&[id, state]).set(clamp(*n));
            }
            for (pool, n) in &t.queued {
                self.tenant_queued.with_label_values(&[id, pool.as_str()]).set(clamp(*n));
            }
            for (pool, n) in &t.running {
                self.tenant_running.with_label_values(&[id, pool.as_str()]).set(clamp(*n));
            }
            for (resource, v) in &t.utilization {
                self.quota_utilization.with_label_values(&[id, resource]).set(*v);
            }
            self.tenant_sla_compliance.with_label_values(&[id]).set(t.sla_compliance);
        }
    }

    fn set_pools(&self, d: &DomainSample) {
        let ints = [
            &self.pool_info,
            &self.pool_min,
            &self.pool_max,
            &self.pool_target,
            &self.pool_workers,
            &self.pool_idle,
            &self.pool_busy,
            &self.pool_queue_depth,
            &self.pool_running,
        ];
        for v in ints {
            v.reset();
        }
        for v in [&self.pool_cpu, &self.pool_memory, &self.pool_oldest_wait] {
            v.reset();
        }
        for p in &d.pools {
            let id = &[p.id.as_str()];
            self.pool_info.with_label_values(&[p.id.as_str(), p.kind, p.lifecycle]).set(1);
            self.pool_min.with_label_values(id).set(i64::from(p.min_size));
            self.pool_max.with_label_values(id).set(i64::from(p.max_size));
            self.pool_target.with_label_values(id).set(i64::from(p.target_size));
            self.pool_workers.with_label_values(id).set(i64::from(p.live_workers));
            self.pool_idle.with_label_values(id).set(i64::from(p.idle_workers));
            self.pool_busy.with_label_values(id).set(i64::from(p.live_workers.saturating_sub(p.idle_workers)));
            self.pool_cpu.with_label_values(id).set(p.cpu_utilization);
            self.pool_memory.with_label_values(id).set(p.memory_utilization);
            self.pool_queue_depth.with_label_values(id).set(clamp(p.queue_depth));
            self.pool_oldest_wait.with_label_values(id).set(p.oldest_wait_seconds);
            self.pool_running.with_label_values(id).set(clamp(p.running_jobs));
        }
    }
}
