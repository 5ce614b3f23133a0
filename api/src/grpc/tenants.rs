//! `TenantService`: tenants, quotas, burst leases and SLA, each RPC one call of
//! the application layer that its REST twin also makes.

use tonic::{Request, Response, Status};

use hodei_proto::v1 as pb;
use hodei_proto::v1::tenant_service_server::TenantService;

use super::{convert, principal, view, Services};
use crate::app::tenancy::BurstAction;
use crate::dto::tenancy::{BurstRequestBody, DecisionBody, UpdateTenantBody};
use crate::dto::sla::SlaTargetsBody;
use crate::dto::CreateTenantBody;
use crate::error::ApiError;
use crate::list::TenantListQuery;

type Reply<T> = Result<Response<T>, Status>;

fn tenant_reply((t, index): (crate::dto::TenantBody, u64)) -> Response<pb::TenantReply> {
    Response::new(pb::TenantReply { tenant: Some(convert::tenant(t)), index })
}

fn burst_reply((b, index): (crate::dto::tenancy::BurstBody, u64)) -> Response<pb::BurstReply> {
    Response::new(pb::BurstReply { burst: Some(convert::burst(b)), index })
}

#[tonic::async_trait]
impl TenantService for Services {
    async fn create_tenant(&self, req: Request<pb::CreateTenantRequest>) -> Reply<pb::TenantReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = CreateTenantBody { name: r.name, email: r.email, quota: r.quota.map(convert::quota_from) };
        Ok(tenant_reply(self.app.create_tenant(&p, body).await?))
    }

    async fn get_tenant(&self, req: Request<pb::GetTenantRequest>) -> Reply<pb::TenantReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_tenant(&p, r.id, convert::consistency(r.read)).await?;
        Ok(tenant_reply((read.value, read.meta.index)))
    }

    async fn list_tenants(&self, req: Request<pb::ListTenantsRequest>) -> Reply<pb::ListTenantsReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let q = TenantListQuery { limit: convert::limit(r.limit), cursor: r.cursor, consistency: Some(convert::consistency(r.read)) };
        let read = self.app.list_tenants(&p, q).await?;
        let tenants = read.value.items.into_iter().map(convert::tenant).collect();
        Ok(Response::new(pb::ListTenantsReply { tenants, next_cursor: read.value.next_cursor, index: read.meta.index }))
    }

    async fn update_tenant(&self, req: Request<pb::UpdateTenantRequest>) -> Reply<pb::TenantReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = UpdateTenantBody { email: r.email, weight: r.weight, max_queued_jobs: r.max_queued_jobs, sla_wait_ms: r.sla_wait_ms };
        Ok(tenant_reply(self.app.update_tenant(&p, r.id, body).await?))
    }

    async fn delete_tenant(&self, req: Request<pb::DeleteTenantRequest>) -> Reply<pb::DeleteTenantReply> {
        let p = principal(&self.app, &req)?;
        let id = req.into_inner().id;
        let index = self.app.delete_tenant(&p, id).await?;
        Ok(Response::new(pb::DeleteTenantReply { deleted: id, index }))
    }

    async fn get_quota(&self, req: Request<pb::GetQuotaRequest>) -> Reply<pb::QuotaReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_quota(&p, r.id, convert::consistency(r.read)).await?;
        Ok(Response::new(convert::quota_view(read.value, read.meta.index)))
    }

    async fn set_quota(&self, req: Request<pb::SetQuotaRequest>) -> Reply<pb::TenantReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let quota = r.quota.ok_or_else(|| ApiError::invalid_field("quota", "is required"))?;
        Ok(tenant_reply(self.app.set_quota(&p, r.id, convert::quota_from(quota)).await?))
    }

    async fn request_burst(&self, req: Request<pb::RequestBurstRequest>) -> Reply<pb::BurstReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = BurstRequestBody {
            requested_cpu_m: r.requested_cpu_m,
            requested_memory_mb: r.requested_memory_mb,
            duration_minutes: r.duration_minutes,
            reason: r.reason,
        };
        Ok(burst_reply(self.app.request_burst(&p, r.tenant_id, body).await?))
    }

    async fn list_bursts(&self, req: Request<pb::ListBurstsRequest>) -> Reply<pb::ListBurstsReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.list_bursts(&p, r.tenant_id, convert::consistency(r.read)).await?;
        let bursts = read.value.into_iter().map(convert::burst).collect();
        Ok(Response::new(pb::ListBurstsReply { bursts, index: read.meta.index }))
    }

    async fn decide_burst(&self, req: Request<pb::DecideBurstRequest>) -> Reply<pb::BurstReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let action = match r.action() {
            pb::BurstAction::Approve => BurstAction::Approve,
            pb::BurstAction::Deny => BurstAction::Deny,
            pb::BurstAction::Revoke => BurstAction::Revoke,
            pb::BurstAction::Unspecified => return Err(ApiError::invalid_field("action", "one of APPROVE, DENY, REVOKE").into()),
        };
        let body = DecisionBody { reason: r.reason };
        Ok(burst_reply(self.app.decide_burst(&p, r.tenant_id, r.burst_id, action, body).await?))
    }

    async fn get_sla(&self, req: Request<pb::GetSlaRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.sla(&p, r.tenant_id, r.priority, r.period, convert::consistency(r.read)).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn get_sla_targets(&self, req: Request<pb::GetSlaTargetsRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.sla_targets(&p, r.tenant_id, convert::consistency(r.read)).await?;
        Ok(Response::new(view::reply(read)?))
    }

    async fn set_sla_targets(&self, req: Request<pb::SetSlaTargetsRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let by_priority = r.by_priority.into_iter().map(|(priority, ms)| (priority.to_string(), ms)).collect();
        let (value, index) = self.app.set_sla_targets(&p, r.tenant_id, SlaTargetsBody { by_priority }).await?;
        Ok(Response::new(pb::ViewReply { view: Some(view::to_struct(&value)?), index }))
    }
}
