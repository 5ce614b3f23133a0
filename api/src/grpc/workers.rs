//! `hodei.v1.WorkerService`: registration, heartbeats, fenced reports, and the
//! assignment stream. The stream is fed from this node's own replicated copy, so
//! a worker can follow any node: it sends each placement on the worker once, and
//! a cancel for each of those jobs that was cancelled.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use hodei_domain::{JobId, JobState, RunEnding, RunUsage, State, WorkerId, WorkerState};
use hodei_proto::v1 as pb;
use hodei_proto::v1::worker_service_server::WorkerService;

use super::principal;
use crate::app::App;
use crate::workers::{finish_command, register_command, LEASE_MS};

#[derive(Clone)]
pub(super) struct Workers {
    pub(super) app: App,
}

type ItemStream = Pin<Box<dyn Stream<Item = Result<pb::WorkItem, Status>> + Send>>;

#[tonic::async_trait]
impl WorkerService for Workers {
    async fn register(&self, req: Request<pb::RegisterWorkerRequest>) -> Result<Response<pb::RegisterWorkerReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let c = register_command(r.pool, r.name, r.cpu_m, r.memory_mb, r.labels.into_iter().collect(), r.logs_addr);
        let w = self.app.register_worker(&p, c).await?;
        Ok(Response::new(pb::RegisterWorkerReply { worker_id: w.id, lease_ms: LEASE_MS }))
    }

    async fn heartbeat(&self, req: Request<pb::HeartbeatRequest>) -> Result<Response<pb::HeartbeatReply>, Status> {
        let p = principal(&self.app, &req)?;
        let hb = self.app.worker_heartbeat(&p, req.get_ref().worker_id).await?;
        Ok(Response::new(pb::HeartbeatReply { known: hb.known, drain: hb.drain }))
    }

    async fn deregister(&self, req: Request<pb::DeregisterWorkerRequest>) -> Result<Response<pb::ReportReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = self.app.deregister_worker(&p, req.get_ref().worker_id).await?;
        Ok(Response::new(pb::ReportReply { accepted: r.accepted, reason: r.reason }))
    }

    async fn list_workers(&self, req: Request<pb::ListWorkersRequest>) -> Result<Response<pb::ListWorkersReply>, Status> {
        let p = principal(&self.app, &req)?;
        let read = self.app.list_workers(&p, super::convert::consistency(req.into_inner().read)).await?;
        let workers = read.value.into_iter().map(super::convert::worker).collect();
        Ok(Response::new(pb::ListWorkersReply { workers, index: read.meta.index }))
    }

    async fn drain_worker(&self, req: Request<pb::DrainWorkerRequest>) -> Result<Response<pb::Worker>, Status> {
        let p = principal(&self.app, &req)?;
        let w = self.app.drain_worker(&p, req.into_inner().worker_id).await?;
        Ok(Response::new(super::convert::worker(w)))
    }

    type WatchAssignmentsStream = ItemStream;

    async fn watch_assignments(&self, req: Request<pb::WatchAssignmentsRequest>) -> Result<Response<ItemStream>, Status> {
        let p = principal(&self.app, &req)?;
        if !p.is_admin() && !p.roles.contains(&crate::auth::Role::Worker) {
            return Err(Status::permission_denied("this call needs the worker or admin role"));
        }
        let worker = WorkerId(req.get_ref().worker_id);
        if self.app.cluster.state_machine().read(|s| s.worker(worker).is_none()) {
            return Err(Status::not_found(format!("{worker} is not registered")));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(feed(self.app.clone(), worker, tx));
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn job_started(&self, req: Request<pb::JobStartedRequest>) -> Result<Response<pb::ReportReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let c = hodei_domain::command::StartJob { job_id: JobId(r.job_id), worker_id: WorkerId(r.worker_id), token: r.fencing_token };
        let rep = self.app.job_started(&p, c).await?;
        Ok(Response::new(pb::ReportReply { accepted: rep.accepted, reason: rep.reason }))
    }

    async fn job_finished(&self, req: Request<pb::JobFinishedRequest>) -> Result<Response<pb::ReportReply>, Status> {
        let p = principal(&self.app, &req)?;
        let r = req.into_inner();
        let ending = match r.outcome() {
            pb::JobOutcome::Succeeded => RunEnding::Succeeded,
            pb::JobOutcome::TimedOut => RunEnding::TimedOut,
            pb::JobOutcome::Cancelled => RunEnding::Cancelled,
            pb::JobOutcome::Failed => RunEnding::Failed { exit_code: r.exit_code },
            pb::JobOutcome::Unspecified => return Err(Status::invalid_argument("outcome is required")),
        };
        let usage = RunUsage { run_ms: r.run_ms, cpu_ms: r.cpu_ms, peak_memory_kb: r.peak_memory_kb };
        let rep = self.app.job_finished(&p, finish_command(r.worker_id, r.job_id, r.fencing_token, ending, usage)).await?;
        Ok(Response::new(pb::ReportReply { accepted: rep.accepted, reason: rep.reason }))
    }
}

/// What to send now, given what was sent: new placements and cancels.
fn items(s: &State, worker: WorkerId, sent: &mut HashMap<JobId, u64>) -> Result<Vec<pb::WorkItem>, Status> {
    let Some(w) = s.worker(worker) else { return Err(Status::not_found(format!("{worker} is not registered"))) };
    if w.state == WorkerState::Lost {
        return Err(Status::failed_precondition(format!("{worker} was declared lost; register again")));
    }
    let mut out = Vec::new();
    for job in w.jobs.iter().filter_map(|id| s.job(*id)) {
        let Some(pl) = job.execution.placement.filter(|pl| pl.worker == worker) else { continue };
        if sent.get(&job.id) == Some(&pl.token) {
            continue;
        }
        sent.insert(job.id, pl.token);
        out.push(pb::WorkItem {
            item: Some(pb::work_item::Item::Assign(pb::Assignment {
                job_id: job.id.0,
                fencing_token: pl.token,
                command: job.spec.command.clone(),
                env: job.spec.env.clone().into_iter().collect(),
                timeout_s: job.spec.timeout_s,
                cpu_m: job.spec.cpu_m,
                memory_mb: job.spec.memory_mb,
            })),
        });
    }
    sent.retain(|id, token| match s.job(*id) {
        Some(j) if j.state == JobState::Cancelled && j.execution.placement.is_some_and(|p| p.token == *token) => {
            out.push(pb::WorkItem { item: Some(pb::work_item::Item::Cancel(pb::CancelAssignment { job_id: id.0, fencing_token: *token })) });
            false
        }
        Some(j) => !j.state.is_terminal(),
        None => false,
    });
    Ok(out)
}

async fn feed(app: App, worker: WorkerId, tx: tokio::sync::mpsc::Sender<Result<pb::WorkItem, Status>>) {
    let mut sent = HashMap::new();
    let mut metrics = app.cluster.raft().metrics();
    loop {
        match app.cluster.state_machine().read(|s| items(s, worker, &mut sent)) {
            Ok(batch) => {
                for item in batch {
                    if tx.send(Ok(item)).await.is_err() {
                        return;
                    }
                }
            }
            Err(status) => {
                let _ = tx.send(Err(status)).await;
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::timeout(Duration::from_secs(1), metrics.changed()) => {}
            _ = tx.closed() => return,
        }
    }
}
