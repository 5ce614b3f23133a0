//! Pools: declared by admins, read by every role (a tenant needs to know which
//! pools it may name), scaled by hand or by the leader's autoscaler.

use serde::{Deserialize, Serialize};

use hodei_cluster::Consistency;
use hodei_domain::autoscale::{self, PoolMetrics};
use hodei_domain::command::{DeletePool, UpdatePool};
use hodei_domain::{Command, Outcome, PoolId, State, WorkerState};

use super::{unexpected, App, Read};
use crate::auth::Principal;
use crate::dto::check_name;
use crate::dto::pools::{validate_policies, CreatePoolBody, PoliciesBody, PolicyBody, PoolBody, ScalePoolBody, ScalingEventBody, UpdatePoolBody};
use crate::error::ApiError;

/// `GET /api/v1/pools/{id}/status`: the pool, its workers by state, and what
/// the autoscaler would decide now and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PoolStatus {
    pub pool: PoolBody,
    pub workers_active: u32,
    pub workers_draining: u32,
    pub workers_idle: u32,
    pub workers_busy: u32,
    pub autoscaler: ScalingPreview,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ScalingPreview {
    pub from: u32,
    pub to: u32,
    pub reason: String,
    pub policy: Option<String>,
}

/// `GET /api/v1/pools/{id}/metrics`: what the autoscaler's triggers read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PoolMetricsBody {
    pub pool_id: String,
    pub live_workers: u32,
    pub idle_workers: u32,
    pub capacity_cpu_m: u64,
    pub reserved_cpu_m: u64,
    pub capacity_memory_mb: u64,
    pub reserved_memory_mb: u64,
    pub cpu_utilization_percent: u64,
    pub memory_utilization_percent: u64,
    pub queue_depth: u64,
    pub oldest_wait_ms: u64,
}

impl PoolMetricsBody {
    fn new(id: &PoolId, m: PoolMetrics) -> Self {
        PoolMetricsBody {
            pool_id: id.0.clone(),
            live_workers: m.live_workers,
            idle_workers: m.idle_workers,
            capacity_cpu_m: m.capacity_cpu_m,
            reserved_cpu_m: m.reserved_cpu_m,
            capacity_memory_mb: m.capacity_memory_mb,
            reserved_memory_mb: m.reserved_memory_mb,
            cpu_utilization_percent: m.value(autoscale::Metric::CpuUtilization),
            memory_utilization_percent: m.value(autoscale::Metric::MemoryUtilization),
            queue_depth: m.queue_depth,
            oldest_wait_ms: m.oldest_wait_ms,
        }
    }
}

pub fn pool_id(raw: &str) -> Result<PoolId, ApiError> {
    check_name("pool_id", raw)?;
    Ok(PoolId(raw.to_string()))
}

fn find<'a>(s: &'a State, id: &PoolId) -> Result<&'a hodei_domain::Pool, ApiError> {
    s.pool(id).ok_or_else(|| ApiError::not_found(format!("pool {} not found", id.0)))
}

impl App {
    async fn pool_write(&self, command: Command) -> Result<(PoolBody, u64), ApiError> {
        match self.write(command).await? {
            (Outcome::PoolUpdated(pool), index) => Ok(((&pool).into(), index)),
            (other, _) => Err(unexpected(other)),
        }
    }

    pub async fn create_pool(&self, p: &Principal, body: CreatePoolBody) -> Result<(PoolBody, u64), ApiError> {
        p.require_admin()?;
        self.pool_write(Command::CreatePool(body.validate()?)).await
    }

    pub async fn update_pool(&self, p: &Principal, id: &str, body: UpdatePoolBody) -> Result<(PoolBody, u64), ApiError> {
        p.require_admin()?;
        self.pool_write(Command::UpdatePool(body.validate(pool_id(id)?)?)).await
    }

    /// Starts draining; the pool is deleted once its last worker is gone.
    pub async fn delete_pool(&self, p: &Principal, id: &str) -> Result<(PoolBody, u64), ApiError> {
        p.require_admin()?;
        self.pool_write(Command::DeletePool(DeletePool { id: pool_id(id)? })).await
    }

    pub async fn scale_pool(&self, p: &Principal, id: &str, body: ScalePoolBody) -> Result<(PoolBody, u64), ApiError> {
        p.require_admin()?;
        self.pool_write(Command::ScalePool(body.validate(pool_id(id)?)?)).await
    }

    pub async fn set_policies(&self, p: &Principal, id: &str, body: PoliciesBody) -> Result<(PoolBody, u64), ApiError> {
        p.require_admin()?;
        let policies = validate_policies(&body.scaling_policies)?;
        self.pool_write(Command::UpdatePool(UpdatePool { id: pool_id(id)?, policies: Some(policies), ..UpdatePool::default() })).await
    }

    /// Every pool (a cluster has few: the list is bounded by [`crate::list::MAX_LIMIT`]).
    pub async fn list_pools(&self, c: Consistency) -> Result<Read<Vec<PoolBody>>, ApiError> {
        self.read(c, |s| Ok(s.pools().take(crate::list::MAX_LIMIT).map(PoolBody::from).collect())).await
    }

    pub async fn get_pool(&self, id: &str, c: Consistency) -> Result<Read<PoolBody>, ApiError> {
        let id = pool_id(id)?;
        self.read(c, |s| find(s, &id).map(PoolBody::from)).await
    }

    pub async fn get_policies(&self, id: &str, c: Consistency) -> Result<Read<PoliciesBody>, ApiError> {
        let id = pool_id(id)?;
        self.read(c, |s| Ok(PoliciesBody { scaling_policies: find(s, &id)?.policies.iter().map(PolicyBody::from).collect() })).await
    }

    pub async fn scaling_history(&self, id: &str, c: Consistency) -> Result<Read<Vec<ScalingEventBody>>, ApiError> {
        let id = pool_id(id)?;
        self.read(c, |s| Ok(find(s, &id)?.history.iter().rev().map(ScalingEventBody::from).collect())).await
    }

    pub async fn pool_metrics(&self, id: &str, c: Consistency) -> Result<Read<PoolMetricsBody>, ApiError> {
        let id = pool_id(id)?;
        self.read(c, |s| {
            find(s, &id)?;
            Ok(PoolMetricsBody::new(&id, autoscale::pool_metrics(s, &id, s.clock_ms())))
        })
        .await
    }

    pub async fn pool_status(&self, id: &str, c: Consistency) -> Result<Read<PoolStatus>, ApiError> {
        let id = pool_id(id)?;
        self.read(c, |s| {
            let pool = find(s, &id)?;
            let workers: Vec<_> = s.workers().filter(|w| w.pool == id).collect();
            let count = |f: &dyn Fn(&&hodei_domain::Worker) -> bool| workers.iter().filter(|w| f(w)).count() as u32;
            let d = autoscale::should_scale(s, &id, s.clock_ms());
            Ok(PoolStatus {
                pool: pool.into(),
                workers_active: count(&|w| w.state == WorkerState::Active),
                workers_draining: count(&|w| w.state == WorkerState::Draining),
                workers_idle: count(&|w| w.state == WorkerState::Active && w.jobs.is_empty()),
                workers_busy: count(&|w| w.state != WorkerState::Lost && !w.jobs.is_empty()),
                autoscaler: ScalingPreview { from: d.from, to: d.to, reason: d.reason, policy: d.policy },
            })
        })
        .await
    }
}
