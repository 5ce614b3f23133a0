//! The worker agent's main loop: register through any endpoint, keep the lease
//! by heartbeat, follow the assignment stream of whichever node it is connected
//! to (reconnecting to the next endpoint when that node dies), run each job as a
//! process, and report with the assignment's fencing token. SIGTERM drains: the
//! heartbeat tells the cluster, which stops placing work here; running jobs
//! finish and are reported, then the agent deregisters and exits 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Request;

use hodei_proto::v1 as pb;
use hodei_proto::v1::worker_service_client::WorkerServiceClient;

use super::retention::{job_dir, log_path, Retention};
use super::runner::{self, Ending, RunSpec};
use super::WorkerArgs;

mod drain;

use drain::drain;

type Client = WorkerServiceClient<Channel>;

struct Agent {
    args: WorkerArgs,
    /// `--name`, or one unique to this process: how a registration whose
    /// answer was lost is found again instead of made twice.
    name: String,
    /// A registration was sent: before sending another, look for it.
    registered_once: std::sync::atomic::AtomicBool,
    token: Option<String>,
    worker_id: Mutex<Option<u64>>,
    /// job id -> (fencing token, cancel switch) of jobs running here.
    running: Mutex<HashMap<u64, (u64, watch::Sender<bool>)>>,
    /// Set on SIGTERM or when the cluster asks: heartbeats say so.
    draining: watch::Sender<bool>,
    /// Set once a heartbeat answer says the committed state is DRAINING: from
    /// then on no new placement can come to this worker.
    drain_confirmed: watch::Sender<bool>,
    logs_addr: String,
    /// One connection per endpoint for reports, opened on first use and
    /// dropped when a call through it fails: a job's start and finish reports
    /// do not each pay a TCP and HTTP/2 handshake.
    report_clients: Mutex<HashMap<String, Client>>,
    retention: Retention,
}

fn authed<T>(agent: &Agent, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(t) = &agent.token {
        if let Ok(v) = MetadataValue::try_from(format!("Bearer {t}")) {
            r.metadata_mut().insert("authorization", v);
        }
    }
    r
}

async fn connect(endpoint: &str) -> Option<Client> {
    let url = if endpoint.starts_with("http") { endpoint.to_string() } else { format!("http://{endpoint}") };
    let ch = Channel::from_shared(url).ok()?.connect_timeout(Duration::from_secs(2)).connect().await.ok()?;
    Some(WorkerServiceClient::new(ch))
}

pub async fn run(args: WorkerArgs, logs_addr: String) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work_dir)?;
    let retention = Retention::open(&args.work_dir, args.keep_finished_jobs)?;
    let token = args.token.clone();
    let (draining, _) = watch::channel(false);
    let (drain_confirmed, _) = watch::channel(false);
    let name = match args.name.is_empty() {
        true => format!("worker-{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() % 1_000_000_000)),
        false => args.name.clone(),
    };
    let agent = Arc::new(Agent {
        args,
        name,
        registered_once: Default::default(),
        token,
        worker_id: Mutex::new(None),
        running: Default::default(),
        draining,
        drain_confirmed,
        logs_addr,
        report_clients: Default::default(),
        retention,
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut asked = agent.draining.subscribe();
    let main = tokio::spawn(serve(agent.clone()));
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
        _ = asked.wait_for(|d| *d) => tracing::info!("the cluster asked this worker to drain"),
    }
    tracing::info!("draining: asking the cluster for no new work, waiting for running jobs");
    let _ = agent.draining.send(true);
    drain(&agent).await;
    main.abort();
    tracing::info!("drained; exiting");
    Ok(())
}

/// Connects, registers and follows the stream; on any failure moves to the next
/// endpoint after a short pause. Never returns.
async fn serve(agent: Arc<Agent>) {
    let mut attempt = 0usize;
    loop {
        let endpoint = agent.args.endpoints[attempt % agent.args.endpoints.len()].clone();
        attempt += 1;
        let Some(client) = connect(&endpoint).await else {
            tracing::warn!(%endpoint, "cannot reach endpoint; trying the next");
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        };
        tracing::info!(%endpoint, "connected; following this node's assignment stream");
        match session(&agent, client.clone()).await {
            Ok(()) => tracing::warn!(%endpoint, "assignment stream ended; reconnecting"),
            Err(e) => tracing::warn!(%endpoint, error = %e, "session failed; reconnecting"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn register(agent: &Agent, client: &mut Client) -> Result<u64, tonic::Status> {
    let a = &agent.args;
    if agent.registered_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // The last registration may have committed with its answer lost (a
        // write that timed out is maybe applied): adopt it, or its worker
        // would take placements nobody runs until its lease ran out.
        let listed = client.list_workers(authed(agent, pb::ListWorkersRequest::default())).await?.into_inner();
        if let Some(w) = listed.workers.iter().find(|w| w.name == agent.name && w.state == "ACTIVE") {
            *agent.worker_id.lock().unwrap_or_else(|e| e.into_inner()) = Some(w.id);
            tracing::info!(worker_id = w.id, "found this worker's earlier registration");
            return Ok(w.id);
        }
    }
    let reply = client
        .register(authed(agent, pb::RegisterWorkerRequest {
            pool: a.pool.clone(),
            cpu_m: a.cpu_m,
            memory_mb: a.memory_mb,
            labels: a.label_map().into_iter().collect(),
            name: agent.name.clone(),
            logs_addr: agent.logs_addr.clone(),
        }))
        .await?
        .into_inner();
    *agent.worker_id.lock().unwrap_or_else(|e| e.into_inner()) = Some(reply.worker_id);
    tracing::info!(worker_id = reply.worker_id, pool = %a.pool, "registered");
    Ok(reply.worker_id)
}

async fn session(agent: &Arc<Agent>, mut client: Client) -> Result<(), tonic::Status> {
    let known = *agent.worker_id.lock().unwrap_or_else(|e| e.into_inner());
    let worker_id = match known {
        Some(id) => id,
        None => register(agent, &mut client).await?,
    };
    let mut heartbeat = tokio::spawn(heartbeats(agent.clone(), client.clone(), worker_id));
    // The session ends when the stream does, or when heartbeats stop getting
    // through this node (it lost the leader, or the cluster forgot us): then
    // `serve` moves to the next endpoint while the lease still holds.
    let result = tokio::select! {
        r = follow(agent, &mut client, worker_id) => r,
        ended = &mut heartbeat => Err(tonic::Status::unavailable(match ended {
            Ok(why) => why,
            Err(e) => format!("heartbeat task ended: {e}"),
        })),
    };
    heartbeat.abort();
    result
}

/// How long heartbeats may keep failing through one node before the agent
/// moves to the next: well inside the leader's worker lease (5 s), so a node
/// cut off from the leader does not cost the worker its lease and its jobs.
/// Counted from the start of the first call that failed; a call that hangs
/// gets only what is left of it, so a node that holds calls cannot stretch
/// the silence past this.
const HEARTBEAT_GIVE_UP: Duration = Duration::from_secs(2);
/// The least a heartbeat call is given, and the least pause between calls.
const MIN_HEARTBEAT_WAIT: Duration = Duration::from_millis(100);

/// Heartbeats until they stop getting through; returns why.
async fn heartbeats(agent: Arc<Agent>, mut client: Client, worker_id: u64) -> String {
    let mut failing_since: Option<tokio::time::Instant> = None;
    loop {
        let running: Vec<u64> = agent.running.lock().unwrap_or_else(|e| e.into_inner()).keys().copied().collect();
        let req = pb::HeartbeatRequest { worker_id, running_jobs: running, draining: *agent.draining.borrow() };
        let told_draining = req.draining;
        let started = tokio::time::Instant::now();
        let left = |since: Option<tokio::time::Instant>| HEARTBEAT_GIVE_UP.saturating_sub(since.map_or(Duration::ZERO, |s| s.elapsed()));
        // A node that cannot reach the leader may hold the call; count that as a failure.
        let call = tokio::time::timeout(left(failing_since).max(MIN_HEARTBEAT_WAIT), client.heartbeat(authed(&agent, req)));
        let reply = call.await.unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("no heartbeat answer in time")));
        let pause = match reply {
            Ok(r) if !r.get_ref().known && *agent.draining.borrow() => {
                tracing::warn!(worker_id, "the cluster forgot this draining worker");
                agent.draining.send_replace(true);
                agent.drain_confirmed.send_replace(true);
                agent.args.heartbeat
            }
            Ok(r) if !r.get_ref().known => {
                tracing::warn!(worker_id, "the cluster forgot this worker; registering again");
                let _ = register(&agent, &mut client).await;
                return "registered again".into();
            }
            Ok(r) => {
                failing_since = None;
                if r.get_ref().drain {
                    agent.draining.send_if_modified(|d| !std::mem::replace(d, true));
                    agent.drain_confirmed.send_if_modified(|c| !std::mem::replace(c, true));
                }
                agent.args.heartbeat
            }
            Err(e) => {
                tracing::debug!(error = %e, "heartbeat failed");
                let since = *failing_since.get_or_insert(started);
                if since.elapsed() >= HEARTBEAT_GIVE_UP {
                    return format!("heartbeats failing for {:?} through this node: {}", since.elapsed(), e.message());
                }
                agent.args.heartbeat.min(left(failing_since)).max(MIN_HEARTBEAT_WAIT)
            }
        };
        // A drain starting now is told to the cluster at once, not a period later.
        let mut draining = agent.draining.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = draining.wait_for(|d| *d), if !told_draining => {}
        }
    }
}

async fn follow(agent: &Arc<Agent>, client: &mut Client, worker_id: u64) -> Result<(), tonic::Status> {
    let mut stream = client.watch_assignments(authed(agent, pb::WatchAssignmentsRequest { worker_id })).await?.into_inner();
    while let Some(item) = stream.message().await? {
        match item.item {
            // Run it even while draining: a placement can only have been made
            // before the drain committed, and dropping it would leave the job
            // on this worker until its lease ran out.
            Some(pb::work_item::Item::Assign(a)) => {
                let fresh = {
                    let mut running = agent.running.lock().unwrap_or_else(|e| e.into_inner());
                    if running.contains_key(&a.job_id) {
                        false
                    } else {
                        let (tx, _) = watch::channel(false);
                        running.insert(a.job_id, (a.fencing_token, tx));
                        true
                    }
                };
                if fresh {
                    tokio::spawn(execute(agent.clone(), worker_id, a));
                }
            }
            Some(pb::work_item::Item::Cancel(c)) => {
                if let Some((token, tx)) = agent.running.lock().unwrap_or_else(|e| e.into_inner()).get(&c.job_id) {
                    if *token == c.fencing_token {
                        let _ = tx.send(true);
                    }
                }
            }
            None => {}
        }
    }
    Ok(())
}

/// Runs one assignment and reports its start and end, retrying reports over
/// every endpoint until one answers.
async fn execute(agent: Arc<Agent>, worker_id: u64, a: pb::Assignment) {
    let cancel = match agent.running.lock().unwrap_or_else(|e| e.into_inner()).get(&a.job_id) {
        Some((_, tx)) => tx.subscribe(),
        None => return,
    };
    let started = pb::JobStartedRequest { worker_id, job_id: a.job_id, fencing_token: a.fencing_token };
    let accepted = report(&agent, |mut c, agent| {
        let req = started.clone();
        async move { c.job_started(authed(&agent, req)).await.map(|r| r.into_inner()) }
    })
    .await;
    if accepted.is_some_and(|r| r.accepted) {
        agent.retention.started(a.job_id);
        let spec = RunSpec {
            command: a.command.clone(),
            env: a.env.clone().into_iter().collect(),
            work_dir: job_dir(&agent.args.work_dir, a.job_id),
            output: log_path(&agent.args.work_dir, a.job_id),
            timeout: a.timeout_s.map(Duration::from_secs),
            memory_mb: a.memory_mb,
            grace: Duration::from_secs(5),
        };
        let r = runner::run(spec, cancel).await;
        let (outcome, exit_code) = match r.ending {
            Ending::Exited(0) => (pb::JobOutcome::Succeeded, Some(0)),
            Ending::Exited(code) => (pb::JobOutcome::Failed, Some(code)),
            Ending::Signalled(_) | Ending::SpawnFailed => (pb::JobOutcome::Failed, None),
            Ending::TimedOut => (pb::JobOutcome::TimedOut, None),
            Ending::Cancelled => (pb::JobOutcome::Cancelled, None),
        };
        let finished = pb::JobFinishedRequest {
            worker_id,
            job_id: a.job_id,
            fencing_token: a.fencing_token,
            outcome: outcome as i32,
            exit_code,
            run_ms: r.run_ms,
            cpu_ms: r.cpu_ms,
            peak_memory_kb: r.peak_memory_kb,
            error: r.error.unwrap_or_default(),
        };
        let reply = report(&agent, |mut c, agent| {
            let req = finished.clone();
            async move { c.job_finished(authed(&agent, req)).await.map(|r| r.into_inner()) }
        })
        .await;
        if let Some(r) = reply.filter(|r| !r.accepted) {
            tracing::warn!(job_id = a.job_id, reason = %r.reason, "finish report refused");
        }
        agent.retention.finished(a.job_id).await;
    } else {
        tracing::warn!(job_id = a.job_id, "start refused; not running it");
    }
    agent.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&a.job_id);
}

async fn report<F, Fut>(agent: &Arc<Agent>, call: F) -> Option<pb::ReportReply>
where
    F: Fn(Client, Arc<Agent>) -> Fut,
    Fut: std::future::Future<Output = Result<pb::ReportReply, tonic::Status>>,
{
    for attempt in 0..(agent.args.endpoints.len() * 20) {
        let endpoint = &agent.args.endpoints[attempt % agent.args.endpoints.len()];
        if let Some(c) = report_client(agent, endpoint).await {
            match call(c, agent.clone()).await {
                Ok(r) => return Some(r),
                Err(e) => {
                    tracing::debug!(%endpoint, error = %e, "report failed; retrying");
                    agent.report_clients.lock().unwrap_or_else(|e| e.into_inner()).remove(endpoint);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

/// The report connection to `endpoint`, opened if there is none.
async fn report_client(agent: &Agent, endpoint: &str) -> Option<Client> {
    if let Some(c) = agent.report_clients.lock().unwrap_or_else(|e| e.into_inner()).get(endpoint) {
        return Some(c.clone());
    }
    let c = connect(endpoint).await?;
    agent.report_clients.lock().unwrap_or_else(|e| e.into_inner()).insert(endpoint.to_string(), c.clone());
    Some(c)
}
