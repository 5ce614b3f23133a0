//! Workers in the application layer: registration, leases, fenced reports, the
//! worker list and drain, and job output fetched from the job's worker.

use std::time::Duration;

use serde::Serialize;

use hodei_cluster::Consistency;
use hodei_domain::command::{DrainWorker, FinishJob, RegisterWorker, StartJob};
use hodei_domain::{Command, JobId, Outcome, PoolId, RunEnding, RunUsage, Worker, WorkerId, WorkerState};

use crate::app::{App, Read};
use crate::auth::{Principal, Role};
use crate::dto::check_name;
use crate::error::ApiError;

/// Workers renew their lease at least this often.
pub const LEASE_MS: u64 = hodei_cluster::leader::WORKER_LEASE.as_millis() as u64;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerBody {
    pub id: u64,
    pub pool: String,
    pub name: String,
    pub state: String,
    pub cpu_m: u64,
    pub memory_mb: u64,
    pub used_cpu_m: u64,
    pub used_memory_mb: u64,
    pub jobs: Vec<u64>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub registered_at_ms: u64,
}

impl From<&Worker> for WorkerBody {
    fn from(w: &Worker) -> Self {
        WorkerBody {
            id: w.id.0,
            pool: w.pool.0.clone(),
            name: w.name.clone(),
            state: w.state.as_str().to_string(),
            cpu_m: w.cpu_m,
            memory_mb: w.memory_mb,
            used_cpu_m: w.used_cpu_m,
            used_memory_mb: w.used_memory_mb,
            jobs: w.jobs.iter().map(|j| j.0).collect(),
            labels: w.labels.clone(),
            registered_at_ms: w.registered_at_ms,
        }
    }
}

/// What a worker's report answered: accepted, or refused with the reason.
/// What a heartbeat tells the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub known: bool,
    pub drain: bool,
}

pub struct Report {
    pub accepted: bool,
    pub reason: String,
}

fn require_worker(p: &Principal) -> Result<(), ApiError> {
    if p.is_admin() || p.roles.contains(&Role::Worker) {
        Ok(())
    } else {
        Err(ApiError::forbidden("this operation needs the worker or admin role"))
    }
}

impl App {
    pub async fn register_worker(&self, p: &Principal, c: RegisterWorker) -> Result<WorkerBody, ApiError> {
        require_worker(p)?;
        check_name("pool", &c.pool.0)?;
        if c.cpu_m == 0 || c.memory_mb == 0 || c.name.len() > 253 || c.logs_addr.len() > 253 || c.labels.len() > 64 {
            return Err(ApiError::invalid("a worker needs positive cpu_m and memory_mb and bounded names and labels"));
        }
        match self.cluster.write(Command::RegisterWorker(c)).await?.outcome {
            Outcome::WorkerRegistered(w) => Ok((&w).into()),
            Outcome::Rejected(r) => Err(r.into()),
            other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
        }
    }

    /// Renews the worker's lease. Answers whether the cluster still knows the
    /// worker and whether it should drain (its committed state is DRAINING).
    ///
    /// A worker that says it is draining (it got SIGTERM) is made DRAINING in
    /// the replicated state, so dispatch stops placing work on it; the command
    /// is proposed only while the committed state is still ACTIVE, and applying
    /// it twice changes nothing.
    pub async fn worker_heartbeat(&self, p: &Principal, worker: u64, draining: bool) -> Result<Heartbeat, ApiError> {
        require_worker(p)?;
        let id = WorkerId(worker);
        let known = self.cluster.worker_heartbeat(id).await?;
        let state = self.cluster.state_machine().read(|s| s.worker(id).map(|w| w.state));
        let mut drain = known && state == Some(WorkerState::Draining);
        if known && draining && state == Some(WorkerState::Active) {
            match self.cluster.write(Command::DrainWorker(DrainWorker { worker_id: id })).await?.outcome {
                Outcome::WorkerDraining(_) => {
                    tracing::info!(worker_id = worker, "the worker is draining; no new work goes to it");
                    drain = true;
                }
                other => tracing::warn!(worker_id = worker, outcome = ?other, "the worker's drain was refused"),
            }
        }
        Ok(Heartbeat { known, drain })
    }

    /// A worker that runs nothing leaves; refused (not accepted) while it runs jobs.
    pub async fn deregister_worker(&self, p: &Principal, worker: u64) -> Result<Report, ApiError> {
        require_worker(p)?;
        self.report(Command::DeregisterWorker(hodei_domain::command::DeregisterWorker { worker_id: WorkerId(worker) })).await
    }

    async fn report(&self, command: Command) -> Result<Report, ApiError> {
        match self.cluster.write(command).await?.outcome {
            Outcome::Rejected(r) => Ok(Report { accepted: false, reason: ApiError::from(r).message }),
            _ => Ok(Report { accepted: true, reason: String::new() }),
        }
    }

    pub async fn job_started(&self, p: &Principal, c: StartJob) -> Result<Report, ApiError> {
        require_worker(p)?;
        self.report(Command::StartJob(c)).await
    }

    pub async fn job_finished(&self, p: &Principal, c: FinishJob) -> Result<Report, ApiError> {
        require_worker(p)?;
        self.report(Command::FinishJob(c)).await
    }

    pub async fn list_workers(&self, p: &Principal, c: Consistency) -> Result<Read<Vec<WorkerBody>>, ApiError> {
        if !p.sees_all() && !p.roles.contains(&Role::Worker) {
            return Err(ApiError::forbidden("listing workers needs the admin, viewer or worker role"));
        }
        self.read(c, |s| Ok(s.workers().map(WorkerBody::from).collect())).await
    }

    pub async fn drain_worker(&self, p: &Principal, id: u64) -> Result<WorkerBody, ApiError> {
        p.require_admin()?;
        match self.cluster.write(Command::DrainWorker(DrainWorker { worker_id: WorkerId(id) })).await?.outcome {
            Outcome::WorkerDraining(w) => Ok((&w).into()),
            Outcome::Rejected(r) => Err(r.into()),
            other => Err(ApiError::internal(format!("unexpected outcome {other:?}"))),
        }
    }

    /// The tail of a job's output, fetched from the worker that ran it.
    pub async fn job_logs(&self, p: &Principal, id: u64, tail: Option<u64>) -> Result<Vec<u8>, ApiError> {
        let job = JobId(id);
        let addr = self
            .read(Consistency::Stale, |s| match s.job(job) {
                Some(j) if p.may_see(j.tenant_id) => Ok(j.execution.placement.and_then(|pl| s.worker(pl.worker)).map(|w| w.logs_addr.clone())),
                _ => Err(ApiError::not_found(format!("{job} not found"))),
            })
            .await?
            .value
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiError::not_found(format!("{job} has not run yet")))?;
        let tail = tail.unwrap_or(64 * 1024).min(1024 * 1024);
        let url = format!("http://{addr}/logs/{id}?tail={tail}");
        let resp = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| ApiError::new(crate::error::ErrorKind::Unavailable, format!("the job's worker at {addr} did not answer: {e}")))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(ApiError::not_found(format!("{job} has no output on its worker")));
        }
        resp.bytes().await.map(|b| b.to_vec()).map_err(|e| ApiError::new(crate::error::ErrorKind::Unavailable, e.to_string()))
    }
}

/// Builds the domain report from the wire's fields.
pub fn finish_command(worker: u64, job: u64, token: u64, ending: RunEnding, usage: RunUsage) -> FinishJob {
    FinishJob { job_id: JobId(job), worker_id: WorkerId(worker), token, ending, usage }
}

pub fn register_command(pool: String, name: String, cpu_m: u64, memory_mb: u64, labels: std::collections::BTreeMap<String, String>, logs_addr: String) -> RegisterWorker {
    RegisterWorker { pool: PoolId(pool), name, cpu_m, memory_mb, labels, logs_addr }
}
