//! `JobService` and `ClusterService`.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use hodei_proto::v1 as pb;
use hodei_proto::v1::cluster_service_server::ClusterService;
use hodei_proto::v1::job_service_server::JobService;

use super::{convert, principal, view, Services};
use crate::dto::{check_idempotency_key, AddMemberBody};
use crate::list::JobListQuery;

/// Snapshot bytes per streamed message, well under tonic's 4 MiB decode limit.
const SNAPSHOT_CHUNK: usize = 1 << 20;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl JobService for Services {
    async fn submit_job(&self, req: Request<pb::SubmitJobRequest>) -> Reply<pb::JobReply> {
        let p = principal(&self.app, &req)?;
        let (body, key) = convert::submit(req.into_inner());
        let key = check_idempotency_key(key.as_deref())?;
        let (job, index) = self.app.submit_job(&p, body, key).await?;
        Ok(Response::new(pb::JobReply { job: Some(convert::job(job)), index }))
    }

    async fn get_job(&self, req: Request<pb::GetJobRequest>) -> Reply<pb::JobReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let read = self.app.get_job(&p, r.id, convert::consistency(r.read)).await?;
        Ok(Response::new(pb::JobReply { job: Some(convert::job(read.value)), index: read.meta.index }))
    }

    async fn cancel_job(&self, req: Request<pb::CancelJobRequest>) -> Reply<pb::JobReply> {
        let p = principal(&self.app, &req)?;
        let (job, index) = self.app.cancel_job(&p, req.into_inner().id).await?;
        Ok(Response::new(pb::JobReply { job: Some(convert::job(job)), index }))
    }

    async fn list_jobs(&self, req: Request<pb::ListJobsRequest>) -> Reply<pb::ListJobsReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let q = JobListQuery {
            tenant_id: r.tenant_id,
            state: r.state,
            pool: r.pool,
            limit: convert::limit(r.limit),
            cursor: r.cursor,
            consistency: Some(convert::consistency(r.read)),
        };
        let read = self.app.list_jobs(&p, q).await?;
        let jobs = read.value.items.into_iter().map(convert::job).collect();
        Ok(Response::new(pb::ListJobsReply { jobs, next_cursor: read.value.next_cursor, index: read.meta.index }))
    }

    async fn explain_job(&self, req: Request<pb::ExplainJobRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        Ok(Response::new(view::reply(self.app.explain(&p, r.id, convert::consistency(r.read)).await?)?))
    }

    async fn get_queue(&self, req: Request<pb::GetQueueRequest>) -> Reply<pb::ViewReply> {
        let p = principal(&self.app, &req)?;
        let c = convert::consistency(req.into_inner().read);
        Ok(Response::new(view::reply(self.app.queue_status(&p, c).await?)?))
    }

    async fn get_job_logs(&self, req: Request<pb::GetJobLogsRequest>) -> Reply<pb::JobLogsReply> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        Ok(Response::new(pb::JobLogsReply { output: self.app.job_logs(&p, r.id, r.tail).await? }))
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::SnapshotChunk, Status>> + Send>>;

#[tonic::async_trait]
impl ClusterService for Services {
    async fn get_cluster(&self, req: Request<pb::GetClusterRequest>) -> Reply<pb::ClusterReply> {
        principal(&self.app, &req)?;
        Ok(Response::new(convert::cluster(self.app.cluster_status().await)))
    }

    async fn add_member(&self, req: Request<pb::AddMemberRequest>) -> Reply<pb::ClusterReply> {
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

    async fn remove_member(&self, req: Request<pb::RemoveMemberRequest>) -> Reply<pb::ClusterReply> {
        let p = principal(&self.app, &req)?;
        Ok(Response::new(convert::cluster(self.app.remove_member(&p, req.into_inner().id).await?)))
    }

    type SnapshotStream = ChunkStream;

    async fn snapshot(&self, req: Request<pb::SnapshotRequest>) -> Reply<ChunkStream> {
        let p = principal(&self.app, &req)?;
        let (bytes, index) = self.app.snapshot(&p).await?;
        let chunks: Vec<_> = bytes.chunks(SNAPSHOT_CHUNK).map(|c| Ok(pb::SnapshotChunk { data: c.to_vec(), index })).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }
}
