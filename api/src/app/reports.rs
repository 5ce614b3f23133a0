//! Read-only views computed from the replicated state: the queue, why a job
//! waits, SLA compliance, cost reports and recommendations, and the metric
//! series kept in the hourly ledgers. Every node computes the same answer from
//! its own copy; a tenant sees only its own figures.
//!
//! Cost reports are not stored separately: the ledger is replicated and a
//! report is a pure function of it, so a report's id names its period and
//! filters (`last_day`, `last_week:tenant=3`, `1764000000000-1764086400000:pool=gpu`)
//! and reading it again gives the same figures while its hours are closed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use hodei_cluster::Consistency;
use hodei_domain::cost_report::{self, CostReport, Period, Recommendation};
use hodei_domain::sla::{self, SlaReport};
use hodei_domain::{why_pending, JobId, JobState, PendingExplanation, PoolId, State, TenantId};

use super::{App, Read};
use crate::auth::Principal;
use crate::error::ApiError;

/// A cost report request: a named period or a range, optionally one tenant or pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// `last_day` (default), `last_week` or `last_month`; or give `from_ms` and `to_ms`.
    #[serde(default)]
    #[schema(pattern = "^(last_day|last_week|last_month)$")]
    pub period: Option<String>,
    #[serde(default)]
    pub from_ms: Option<u64>,
    #[serde(default)]
    pub to_ms: Option<u64>,
    #[serde(default)]
    pub tenant_id: Option<u64>,
    #[serde(default)]
    #[schema(schema_with = crate::dto::schema::name_or_null)]
    pub pool_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CostReportBody {
    pub id: String,
    pub from_ms: u64,
    pub to_ms: u64,
    pub tenant_id: Option<u64>,
    pub pool_id: Option<String>,
    pub total_cost_nanos: u128,
    pub job_cost_nanos: u128,
    pub idle_cost_nanos: u128,
    pub by_tenant: BTreeMap<u64, u128>,
    pub by_pool: BTreeMap<String, u128>,
    pub idle_by_pool: BTreeMap<String, u128>,
    pub attempts: u64,
    pub run_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct QueueStatus {
    pub queued_jobs: u64,
    pub tenants: Vec<TenantQueue>,
    /// Queued jobs per pool they name (`*`: any pool). Admins and viewers only.
    pub pools: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TenantQueue {
    pub tenant_id: u64,
    pub weight: u32,
    pub queued: u64,
    pub running_jobs: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SlaBody {
    pub tenant_id: Option<u64>,
    /// The priority the figures are for (only jobs whose priority had a wait
    /// target are counted per priority); `null`: every job.
    pub priority: Option<i32>,
    pub from_ms: u64,
    pub to_ms: u64,
    #[serde(flatten)]
    pub report: SlaReport,
}

/// `GET /api/v1/metrics/tenants/{id}`: the tenant's quota use, last day's
/// cost and SLA, and its sampled history.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TenantMetrics {
    pub tenant_id: u64,
    pub quota: crate::dto::tenancy::QuotaView,
    pub cost_last_day: CostReportBody,
    pub sla_last_day: SlaBody,
    pub history: crate::dto::observability::HistoryBody,
}

const HOUR_MS: u64 = hodei_domain::cost::HOUR_MS;

impl ReportSpec {
    /// Parses a report id back into its spec.
    pub fn from_id(id: &str) -> Result<ReportSpec, ApiError> {
        let bad = || ApiError::not_found(format!("cost report {id:?} not found (ids look like last_day, last_week:tenant=3)"));
        let mut parts = id.split(':');
        let period = parts.next().ok_or_else(bad)?;
        let mut spec = match period.split_once('-') {
            Some((a, b)) => ReportSpec { from_ms: Some(a.parse().map_err(|_| bad())?), to_ms: Some(b.parse().map_err(|_| bad())?), ..Default::default() },
            None => ReportSpec { period: Some(period.to_string()), ..Default::default() },
        };
        for part in parts {
            match part.split_once('=') {
                Some(("tenant", t)) => spec.tenant_id = Some(t.parse().map_err(|_| bad())?),
                Some(("pool", p)) => spec.pool_id = Some(p.to_string()),
                _ => return Err(bad()),
            }
        }
        Ok(spec)
    }

    fn period(&self) -> Result<Period, ApiError> {
        match (self.period.as_deref(), self.from_ms, self.to_ms) {
            (None, Some(from_ms), Some(to_ms)) if from_ms < to_ms && to_ms - from_ms <= 366 * 24 * HOUR_MS => {
                Ok(Period::Range { from_ms, to_ms })
            }
            (None, Some(_), Some(_)) => Err(ApiError::invalid_field("to_ms", "must be after from_ms, at most 366 days later")),
            (p, None, None) => {
                Period::parse(p.unwrap_or("last_day")).ok_or_else(|| ApiError::invalid_field("period", "last_day, last_week or last_month"))
            }
            _ => Err(ApiError::invalid_field("period", "give a period, or both from_ms and to_ms")),
        }
    }

    fn id(&self, period: Period) -> String {
        let mut id = match period {
            Period::Range { from_ms, to_ms } => format!("{from_ms}-{to_ms}"),
            _ => self.period.clone().unwrap_or_else(|| "last_day".into()),
        };
        if let Some(t) = self.tenant_id {
            id.push_str(&format!(":tenant={t}"));
        }
        if let Some(p) = &self.pool_id {
            id.push_str(&format!(":pool={p}"));
        }
        id
    }

    /// A tenant's token is confined to its own tenant.
    fn scoped(mut self, p: &Principal) -> Result<ReportSpec, ApiError> {
        if !p.sees_all() {
            let own = p.tenant.ok_or_else(|| ApiError::forbidden("this token names no tenant"))?;
            match self.tenant_id {
                Some(t) if t != own.0 => return Err(ApiError::not_found(format!("{} not found", TenantId(t)))),
                _ => self.tenant_id = Some(own.0),
            }
        }
        if let Some(pool) = &self.pool_id {
            crate::dto::check_name("pool_id", pool)?;
        }
        Ok(self)
    }
}

fn report_body(id: String, spec: &ReportSpec, r: CostReport) -> CostReportBody {
    CostReportBody {
        id,
        from_ms: r.from_ms,
        to_ms: r.to_ms,
        tenant_id: spec.tenant_id,
        pool_id: spec.pool_id.clone(),
        total_cost_nanos: r.job_cost_nanos + r.idle_cost_nanos,
        job_cost_nanos: r.job_cost_nanos,
        idle_cost_nanos: r.idle_cost_nanos,
        by_tenant: r.by_tenant.into_iter().map(|(t, c)| (t.0, c)).collect(),
        by_pool: r.by_pool.into_iter().map(|(p, c)| (p.0, c)).collect(),
        idle_by_pool: r.idle_by_pool.into_iter().map(|(p, c)| (p.0, c)).collect(),
        attempts: r.attempts,
        run_ms: r.run_ms,
    }
}

fn sla_period(period: Option<&str>, now: u64) -> Result<(u64, u64), ApiError> {
    let p = Period::parse(period.unwrap_or("last_day")).ok_or_else(|| ApiError::invalid_field("period", "last_day, last_week or last_month"))?;
    Ok(p.bounds(now))
}

impl App {
    pub async fn cost_report(&self, p: &Principal, spec: ReportSpec, c: Consistency) -> Result<Read<CostReportBody>, ApiError> {
        let spec = spec.scoped(p)?;
        let period = spec.period()?;
        let id = spec.id(period);
        self.read(c, |s| {
            let pool = spec.pool_id.clone().map(PoolId);
            let r = cost_report::report(s, period, spec.tenant_id.map(TenantId), pool.as_ref(), s.clock_ms());
            Ok(report_body(id, &spec, r))
        })
        .await
    }

    /// The standing reports (last day, week, month) in the caller's scope.
    pub async fn cost_reports(&self, p: &Principal, c: Consistency) -> Result<Read<Vec<CostReportBody>>, ApiError> {
        let base = ReportSpec::default().scoped(p)?;
        self.read(c, |s| {
            Ok(["last_day", "last_week", "last_month"]
                .into_iter()
                .map(|name| {
                    let spec = ReportSpec { period: Some(name.into()), ..base.clone() };
                    let period = Period::parse(name).expect("a known period");
                    let r = cost_report::report(s, period, spec.tenant_id.map(TenantId), None, s.clock_ms());
                    report_body(spec.id(period), &spec, r)
                })
                .collect())
        })
        .await
    }

    pub async fn recommendations(&self, p: &Principal, pool: Option<String>, c: Consistency) -> Result<Read<Vec<Recommendation>>, ApiError> {
        if !p.sees_all() {
            return Err(ApiError::forbidden("recommendations span tenants: admin or viewer role needed"));
        }
        let pool = pool.map(|p| super::pools::pool_id(&p)).transpose()?;
        self.read(c, |s| Ok(cost_report::recommendations(s, pool.as_ref(), s.clock_ms()))).await
    }

    pub async fn explain(&self, p: &Principal, id: u64, c: Consistency) -> Result<Read<PendingExplanation>, ApiError> {
        let id = JobId(id);
        self.read(c, |s| {
            let job = s.job(id).filter(|j| p.may_see(j.tenant_id)).ok_or_else(|| ApiError::not_found(format!("{id} not found")))?;
            if job.state != JobState::Pending {
                return Err(ApiError::new(crate::error::ErrorKind::Conflict, format!("{id} is {}, not pending", job.state.as_str())));
            }
            why_pending(s, id, s.clock_ms()).ok_or_else(|| ApiError::not_found(format!("{id} not found")))
        })
        .await
    }

    pub async fn queue_status(&self, p: &Principal, c: Consistency) -> Result<Read<QueueStatus>, ApiError> {
        let p = p.clone();
        self.read(c, move |s| Ok(queue_status(s, &p))).await
    }

    pub async fn sla(&self, p: &Principal, tenant: Option<u64>, priority: Option<i32>, period: Option<String>, c: Consistency) -> Result<Read<SlaBody>, ApiError> {
        if priority.is_some_and(|x| !sla::PRIORITY_RANGE.contains(&x)) {
            return Err(ApiError::invalid_field("priority", "an integer from -1000 to 1000"));
        }
        let tenant = match (tenant.map(TenantId), p.sees_all()) {
            (Some(t), _) if !p.may_see(t) => return Err(ApiError::not_found(format!("{t} not found"))),
            (Some(t), _) => Some(t),
            (None, true) => None,
            (None, false) => Some(p.tenant.ok_or_else(|| ApiError::forbidden("this token names no tenant"))?),
        };
        self.read(c, |s| {
            if let Some(t) = tenant {
                s.tenant(t).ok_or_else(|| ApiError::not_found(format!("{t} not found")))?;
            }
            let (from_ms, to_ms) = sla_period(period.as_deref(), s.clock_ms())?;
            let report = sla::report(s, tenant, priority, from_ms, to_ms, s.clock_ms());
            Ok(SlaBody { tenant_id: tenant.map(|t| t.0), priority, from_ms, to_ms, report })
        })
        .await
    }

    /// The quota read at `c`; cost, SLA and the sampled history (the last hour
    /// by default) from the same node's copy right after.
    pub async fn tenant_metrics(&self, p: &Principal, id: u64, window: (Option<u64>, Option<u64>, Option<u64>), c: Consistency) -> Result<Read<TenantMetrics>, ApiError> {
        let quota = self.get_quota(p, id, c).await?;
        let spec = ReportSpec { tenant_id: Some(id), ..ReportSpec::default() };
        let cost_last_day = self.cost_report(p, spec, Consistency::Stale).await?.value;
        let sla_last_day = self.sla(p, Some(id), None, None, Consistency::Stale).await?.value;
        let (start, end, step) = window;
        let history = self.tenant_history(p, id, start, end, step, Consistency::Stale).await?.value;
        let value = TenantMetrics { tenant_id: id, quota: quota.value, cost_last_day, sla_last_day, history };
        Ok(Read { value, meta: quota.meta })
    }
}

fn queue_status(s: &State, p: &Principal) -> QueueStatus {
    let visible = |t: TenantId| p.may_see(t);
    let tenants: Vec<TenantQueue> = s
        .queue()
        .heads()
        .map(|&(_, t)| t)
        .chain(s.tenants().map(|t| t.id))
        .filter(|t| visible(*t))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .take(crate::list::MAX_LIMIT)
        .filter_map(|t| {
            let tenant = s.tenant(t)?;
            Some(TenantQueue {
                tenant_id: t.0,
                weight: tenant.weight,
                queued: s.queue().tenant(t).map_or(0, |q| q.len() as u64),
                running_jobs: s.running_usage(t).jobs,
            })
        })
        .collect();
    let mut pools = BTreeMap::new();
    if p.sees_all() {
        pools.insert("*".to_string(), s.pending_for_pool(None));
        for pool in s.pools() {
            pools.insert(pool.id.0.clone(), s.pending_for_pool(Some(&pool.id)));
        }
    }
    let queued_jobs = if p.sees_all() { s.queued_jobs() } else { tenants.iter().map(|t| t.queued).sum() };
    QueueStatus { queued_jobs, tenants, pools }
}
