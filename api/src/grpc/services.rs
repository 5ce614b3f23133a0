//! `TenantService`, `JobService` and `ClusterService`.

use tonic::{Request, Response, Status};

use hodei_proto::v1 as pb;
use hodei_proto::v1::cluster_service_server::ClusterService;
use hodei_proto::v1::job_service_server::JobService;
use hodei_proto::v1::tenant_service_server::TenantService;

use super::{convert, principal};
use crate::app::App;
use crate::dto::{check_idempotency_key, AddMemberBody, CreateTenantBody};

#[derive(Clone)]
pub(super) struct Services {
    pub(super) app: App,
}

#[tonic::async_trait]
impl TenantService for Services {
    async fn create_tenant(&self, req: Request<pb::CreateTenantRequest>) -> Result<Response<pb::TenantReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = CreateTenantBody { name: r.name, email: r.email, quota: r.quota.map(convert::quota_from) };
        let (t, index) = self.app.create_tenant(&p, body).await?;
        Ok(Response::new(pb::TenantReply { tenant: Some(convert::tenant(t)), index }))
    }

    async fn get_tenant(&self, req: Request<pb::GetTenantRequest>) -> Result<Response<pb::TenantReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_tenant(&p, r.id, convert::consistency(r.read)).await?;
        Ok(Response::new(pb::TenantReply { tenant: Some(convert::tenant(read.value)), index: read.meta.index }))
    }
}

#[tonic::async_trait]
impl JobService for Services {
    async fn submit_job(&self, req: Request<pb::SubmitJobRequest>) -> Result<Response<pb::JobReply>, Status> {
        let p = principal(&self.app, &req)?;
        let (body, key) = convert::submit(req.into_inner());
        let key = check_idempotency_key(key.as_deref())?;
        let (job, index) = self.app.submit_job(&p, body, key).await?;
        Ok(Response::new(pb::JobReply { job: Some(convert::job(job)), index }))
    }

    async fn get_job(&self, req: Request<pb::GetJobRequest>) -> Result<Response<pb::JobReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_job(&p, r.id, convert::consistency(r.read)).await?;
        Ok(Response::new(pb::JobReply { job: Some(convert::job(read.value)), index: read.meta.index }))
    }

    async fn cancel_job(&self, req: Request<pb::CancelJobRequest>) -> Result<Response<pb::JobReply>, Status> {
        let p = principal(&self.app, &req)?;
        let (job, index) = self.app.cancel_job(&p, req.into_inner().id).await?;
        Ok(Response::new(pb::JobReply { job: Some(convert::job(job)), index }))
    }
}

#[tonic::async_trait]
impl ClusterService for Services {
    async fn get_cluster(&self, req: Request<pb::GetClusterRequest>) -> Result<Response<pb::ClusterReply>, Status> {
        principal(&self.app, &req)?;
        Ok(Response::new(convert::cluster(self.app.cluster_status().await)))
    }

    async fn add_member(&self, req: Request<pb::AddMemberRequest>) -> Result<Response<pb::ClusterReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let body = AddMemberBody {
            id: r.id,
            peer_addr: r.peer_addr,
            http_addr: r.http_addr,
            grpc_addr: r.grpc_addr,
            learner_only: r.learner_only,
        };
        Ok(Response::new(convert::cluster(self.app.add_member(&p, body).await?)))
    }

    async fn remove_member(&self, req: Request<pb::RemoveMemberRequest>) -> Result<Response<pb::ClusterReply>, Status> {
        let p = principal(&self.app, &req)?;
        Ok(Response::new(convert::cluster(self.app.remove_member(&p, req.into_inner().id).await?)))
    }
}
