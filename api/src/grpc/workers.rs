//! `hodei.v1.WorkerService`: registration, heartbeats, fenced reports, and the
//! assignment stream. The stream is fed from this node's own replicated copy, so
//! a worker can follow any node: it sends each placement on the worker once, and
//! a cancel for each of those jobs that was cancelled or timed out.

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
        let r = req.get_ref();
        let hb = self.app.worker_heartbeat(&p, r.worker_id, r.draining).await?;
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

/// A job the cluster ended while its worker may still run it: the worker must
/// stop the process (cancelled by a user, or timed out by the leader's `Tick`
/// when the worker's own timeout did not end it).
fn stops_the_process(state: JobState) -> bool {
    matches!(state, JobState::Cancelled | JobState::TimedOut)
}

/// What to send now, given what was sent: new placements and stops.
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
        Some(j) if stops_the_process(j.state) && j.execution.placement.is_some_and(|p| p.token == *token) => {
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

#[cfg(test)]
mod tests {
    use hodei_domain::command::{AssignJobs, CreateTenant, RegisterWorker, StartJob, SubmitJob, Tick};
    use hodei_domain::{Command, JobSpec, Outcome, PoolId, Proposal};

    use super::*;

    /// Applies each command at `at_ms`, as the next log entry.
    fn apply(s: &mut State, index: &mut u64, at_ms: u64, command: Command) -> Outcome {
        *index += 1;
        s.apply(*index, &Proposal { at_ms, command })
    }

    fn stops(items: &[pb::WorkItem]) -> Vec<u64> {
        items.iter().filter_map(|i| match &i.item { Some(pb::work_item::Item::Cancel(c)) => Some(c.job_id), _ => None }).collect()
    }

    #[test]
    fn a_job_the_leader_times_out_is_stopped_on_its_worker() {
        let (mut s, mut i, t0) = (State::default(), 0, 1_000_000);
        let Outcome::TenantCreated(t) = apply(&mut s, &mut i, t0, Command::CreateTenant(CreateTenant { name: "acme".into(), email: "a@b.c".into(), quota: None })) else { panic!("tenant") };
        let reg = RegisterWorker { pool: PoolId("p".into()), name: "w".into(), cpu_m: 1000, memory_mb: 1024, labels: Default::default(), logs_addr: String::new() };
        let Outcome::WorkerRegistered(w) = apply(&mut s, &mut i, t0, Command::RegisterWorker(reg)) else { panic!("worker") };
        let spec = JobSpec { command: vec!["sleep".into(), "60".into()], cpu_m: 100, memory_mb: 64, timeout_s: Some(1), ..JobSpec::default() };
        let Outcome::JobSubmitted(job) = apply(&mut s, &mut i, t0, Command::SubmitJob(SubmitJob { tenant_id: t.id, spec, idempotency_key: None })) else { panic!("submit") };
        let Outcome::JobsAssigned(placed) = apply(&mut s, &mut i, t0, Command::AssignJobs(AssignJobs { assignments: vec![(job.id, w.id)] })) else { panic!("assign") };
        let token = placed[0].2;
        let mut sent = HashMap::new();
        let first = items(&s, w.id, &mut sent).unwrap();
        assert_eq!((first.len(), stops(&first)), (1, vec![]), "the placement is sent, nothing stopped");
        apply(&mut s, &mut i, t0, Command::StartJob(StartJob { job_id: job.id, worker_id: w.id, token }));
        assert!(items(&s, w.id, &mut sent).unwrap().is_empty(), "a running job is not sent again");
        let late = t0 + 1_000 + s.settings().scheduling.timeout_grace_ms + 1;
        apply(&mut s, &mut i, late, Command::Tick(Tick {}));
        assert_eq!(s.job(job.id).unwrap().state, JobState::TimedOut);
        assert_eq!(stops(&items(&s, w.id, &mut sent).unwrap()), vec![job.id.0], "the timed-out job is stopped");
        assert!(items(&s, w.id, &mut sent).unwrap().is_empty(), "and only once");
    }
}
