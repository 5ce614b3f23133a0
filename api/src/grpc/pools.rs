//! `PoolService`: the pools of `/api/v1/pools`, each RPC one call of the
//! application layer that its REST twin also makes.

use tonic::{Request, Response, Status};

use hodei_proto::v1 as pb;
use hodei_proto::v1::pool_service_server::PoolService;

use super::{convert, principal, Services};
use crate::dto::pools::{CreatePoolBody, PoliciesBody, PolicyBody, PoolBody, ScalePoolBody, ScalingEventBody, UpdatePoolBody};

type Reply<T> = Result<Response<T>, Status>;

fn policy_from(p: pb::ScalingPolicy) -> PolicyBody {
    PolicyBody { name: p.name, trigger: p.trigger, action: p.action, cooldown: p.cooldown }
}

fn policy(p: PolicyBody) -> pb::ScalingPolicy {
    pb::ScalingPolicy { name: p.name, trigger: p.trigger, action: p.action, cooldown: p.cooldown }
}

fn pool(p: PoolBody) -> pb::Pool {
    pb::Pool {
        id: p.id,
        name: p.name,
        pool_type: p.pool_type,
        lifecycle: p.lifecycle,
        min_size: p.min_size,
        max_size: p.max_size,
        target_size: p.target_size,
        labels: p.labels.into_iter().collect(),
        worker_cpu_m: p.worker_cpu_m,
        worker_memory_mb: p.worker_memory_mb,
        worker_hourly_cost_nanos: p.worker_hourly_cost_nanos,
        auto_scaling_enabled: p.auto_scaling_enabled,
        scaling_policies: p.scaling_policies.into_iter().map(policy).collect(),
        scale_up_cooldown_ms: p.scale_up_cooldown_ms,
        scale_down_cooldown_ms: p.scale_down_cooldown_ms,
        min_worker_lifetime_ms: p.min_worker_lifetime_ms,
        created_at_ms: p.created_at_ms,
        implicit: p.implicit,
    }
}

fn event(e: ScalingEventBody) -> pb::ScalingEvent {
    pb::ScalingEvent { at_ms: e.at_ms, from: e.from, to: e.to, reason: e.reason, automatic: e.automatic, policy: e.policy }
}

fn pool_reply((p, index): (PoolBody, u64)) -> Response<pb::PoolReply> {
    Response::new(pb::PoolReply { pool: Some(pool(p)), index })
}

#[tonic::async_trait]
impl PoolService for Services {
    async fn create_pool(&self, req: Request<pb::CreatePoolRequest>) -> Reply<pb::PoolReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = CreatePoolBody {
            id: r.id,
            name: r.name,
            pool_type: r.pool_type,
            min_size: r.min_size,
            max_size: r.max_size,
            labels: Some(r.labels.into_iter().collect()),
            worker_cpu_m: r.worker_cpu_m,
            worker_memory_mb: r.worker_memory_mb,
            worker_hourly_cost: r.worker_hourly_cost,
            auto_scaling_enabled: r.auto_scaling_enabled,
            scaling_policies: r.scaling_policies.into_iter().map(policy_from).collect(),
        };
        Ok(pool_reply(self.app.create_pool(&p, body).await?))
    }

    async fn list_pools(&self, req: Request<pb::ListPoolsRequest>) -> Reply<pb::ListPoolsReply> {
        principal(&self.app, &req)?;
        let read = self.app.list_pools(convert::consistency(req.into_inner().read)).await?;
        Ok(Response::new(pb::ListPoolsReply { pools: read.value.into_iter().map(pool).collect(), index: read.meta.index }))
    }

    async fn get_pool(&self, req: Request<pb::PoolRequest>) -> Reply<pb::PoolReply> {
        principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_pool(&r.id, convert::consistency(r.read)).await?;
        Ok(pool_reply((read.value, read.meta.index)))
    }

    async fn update_pool(&self, req: Request<pb::UpdatePoolRequest>) -> Reply<pb::PoolReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = UpdatePoolBody {
            name: r.name,
            min_size: r.min_size,
            max_size: r.max_size,
            labels: r.labels.map(|l| l.labels.into_iter().collect()),
            worker_hourly_cost: r.worker_hourly_cost,
            auto_scaling_enabled: r.auto_scaling_enabled,
            scale_up_cooldown: r.scale_up_cooldown,
            scale_down_cooldown: r.scale_down_cooldown,
            min_worker_lifetime: r.min_worker_lifetime,
        };
        Ok(pool_reply(self.app.update_pool(&p, &r.id, body).await?))
    }

    async fn delete_pool(&self, req: Request<pb::DeletePoolRequest>) -> Reply<pb::PoolReply> {
        let p = principal(&self.app, &req)?;
        Ok(pool_reply(self.app.delete_pool(&p, &req.into_inner().id).await?))
    }

    async fn get_pool_metrics(&self, req: Request<pb::PoolRequest>) -> Reply<pb::PoolMetricsReply> {
        principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.pool_metrics(&r.id, convert::consistency(r.read)).await?;
        let m = read.value;
        Ok(Response::new(pb::PoolMetricsReply {
            pool_id: m.pool_id,
            live_workers: m.live_workers,
            idle_workers: m.idle_workers,
            capacity_cpu_m: m.capacity_cpu_m,
            reserved_cpu_m: m.reserved_cpu_m,
            capacity_memory_mb: m.capacity_memory_mb,
            reserved_memory_mb: m.reserved_memory_mb,
            cpu_utilization_percent: m.cpu_utilization_percent,
            memory_utilization_percent: m.memory_utilization_percent,
            queue_depth: m.queue_depth,
            oldest_wait_ms: m.oldest_wait_ms,
            index: read.meta.index,
        }))
    }

    async fn get_pool_status(&self, req: Request<pb::PoolRequest>) -> Reply<pb::PoolStatusReply> {
        principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.pool_status(&r.id, convert::consistency(r.read)).await?;
        let s = read.value;
        let a = s.autoscaler;
        Ok(Response::new(pb::PoolStatusReply {
            pool: Some(pool(s.pool)),
            workers_active: s.workers_active,
            workers_draining: s.workers_draining,
            workers_idle: s.workers_idle,
            workers_busy: s.workers_busy,
            autoscaler: Some(pb::ScalingPreview { from: a.from, to: a.to, reason: a.reason, policy: a.policy }),
            index: read.meta.index,
        }))
    }

    async fn scale_pool(&self, req: Request<pb::ScalePoolRequest>) -> Reply<pb::PoolReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = ScalePoolBody { target_size: r.target_size, reason: r.reason };
        Ok(pool_reply(self.app.scale_pool(&p, &r.id, body).await?))
    }

    async fn get_scaling_history(&self, req: Request<pb::PoolRequest>) -> Reply<pb::ScalingHistoryReply> {
        principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.scaling_history(&r.id, convert::consistency(r.read)).await?;
        Ok(Response::new(pb::ScalingHistoryReply { events: read.value.into_iter().map(event).collect(), index: read.meta.index }))
    }

    async fn get_scaling_policies(&self, req: Request<pb::PoolRequest>) -> Reply<pb::PoliciesReply> {
        principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_policies(&r.id, convert::consistency(r.read)).await?;
        let scaling_policies = read.value.scaling_policies.into_iter().map(policy).collect();
        Ok(Response::new(pb::PoliciesReply { scaling_policies, index: read.meta.index }))
    }

    async fn set_scaling_policies(&self, req: Request<pb::SetPoliciesRequest>) -> Reply<pb::PoolReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = PoliciesBody { scaling_policies: r.scaling_policies.into_iter().map(policy_from).collect() };
        Ok(pool_reply(self.app.set_policies(&p, &r.id, body).await?))
    }
}
