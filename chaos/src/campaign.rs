//! One campaign from start to verdict:
//!
//! ```text
//! start cluster -> create tenant -> clients + monitor + nemesis (for --duration)
//!   -> stop clients -> heal everything -> wait for full service (<= 30 s)
//!   -> wait for convergence -> list every node's jobs -> check -> report
//! ```
//!
//! The seed and the history are written to `out` before the checkers run, so a
//! failing campaign can be re-checked (`hodei-chaos check out/history.json`) or
//! replayed with the same schedule.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::json;

use crate::backend::process::NetChoice;
use crate::backend::{Backend, DockerBackend, DockerOptions, InProcessBackend, ProcessBackend, ProcessOptions};
use crate::checker::check_all;
use crate::client::{job_seen, Rest};
use crate::history::{FinalNode, History, JobSeen, Recorder};
use crate::monitor::own_hash;
use crate::nemesis::{self, Fault};
use crate::recovery::Prober;
use crate::report::Report;
use crate::workload::{run_client, Traffic};

#[derive(Clone, Debug)]
pub struct CampaignConfig {
    pub backend: String,
    pub nemeses: Vec<Fault>,
    pub nodes: usize,
    pub duration: Duration,
    pub seed: u64,
    pub bin: PathBuf,
    pub out: PathBuf,
    pub clients: usize,
    /// Print a progress line every second.
    pub progress: bool,
    /// Process backend: how network faults are made.
    pub net: NetChoice,
    /// Process backend: `hodei worker` agents that run the jobs (0: none, jobs stay queued).
    pub workers: usize,
    /// Docker backend: the image each node runs.
    pub image: String,
    /// Start every node at this protocol version; each roll (`upgrade`) brings
    /// one to this build's, so the first rolling restart is a rolling upgrade.
    pub from_protocol: Option<u32>,
}

/// Runs the campaign and writes `seed`, `history.json`, `report.json` and
/// `report.txt` into `cfg.out`.
pub async fn run(cfg: &CampaignConfig) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&cfg.out).with_context(|| format!("create {}", cfg.out.display()))?;
    std::fs::write(cfg.out.join("seed"), format!("{}\n", cfg.seed)).context("write the seed")?;
    let log_dir = cfg.out.join("logs");
    match cfg.backend.as_str() {
        "process" => {
            let opts = ProcessOptions {
                nodes: cfg.nodes,
                bin: cfg.bin.clone(),
                log_dir,
                net: cfg.net,
                workers: cfg.workers,
                from_protocol: cfg.from_protocol,
            };
            finish(cfg, Arc::new(ProcessBackend::start(opts).await.context("start the cluster")?)).await
        }
        "docker" => {
            let opts = DockerOptions { nodes: cfg.nodes, image: cfg.image.clone(), log_dir, from_protocol: cfg.from_protocol };
            finish(cfg, Arc::new(DockerBackend::start(opts).await.context("start the cluster")?)).await
        }
        "inprocess" => finish(cfg, Arc::new(InProcessBackend::start(cfg.nodes, cfg.from_protocol).await.context("start the cluster")?)).await,
        other => bail!("unknown backend {other:?}: use inprocess, process or docker"),
    }
}

/// The faults of `cfg` that `backend` can apply, and a line for each it cannot.
fn supported<B: Backend>(cfg: &CampaignConfig, backend: &B) -> (Vec<Fault>, Vec<String>) {
    let mut faults = Vec::new();
    let mut skipped = Vec::new();
    for f in &cfg.nemeses {
        match backend.unsupported(*f) {
            Some(why) => skipped.push(format!("{}: {why}", f.name())),
            None => faults.push(*f),
        }
    }
    (faults, skipped)
}

/// Runs the campaign on a started cluster, saves the history, checks it and
/// writes the report. The backend is dropped (and cleans up) on return.
async fn finish<B: Backend>(cfg: &CampaignConfig, backend: Arc<B>) -> anyhow::Result<Report> {
    let (faults, skipped) = supported(cfg, &*backend);
    for s in &skipped {
        eprintln!("hodei-chaos: skipping {s}");
    }
    if faults.is_empty() {
        bail!("the {} backend can apply none of the faults asked for", cfg.backend);
    }
    let network = backend.network_faults();
    eprintln!("hodei-chaos: network faults by {network}");
    let backend_workers = backend.workers();
    let history = drive(cfg, &faults, backend).await?;
    let json = serde_json::to_vec_pretty(&history)?;
    std::fs::write(cfg.out.join("history.json"), json).context("write the history")?;
    let names = faults.iter().map(|f| f.name().to_string()).collect();
    let mut report = Report::new(&cfg.backend, names, cfg.duration.as_secs_f64(), &history, check_all(&history));
    report.network = network;
    report.skipped = skipped;
    if cfg.workers > backend_workers {
        report.skipped.push(format!("workers: the {} backend starts none (jobs stay queued)", cfg.backend));
    }
    report.workers = backend_workers;
    if history.committed.is_none() {
        report.skipped.push(format!("log replay (fencing, quota): the {} backend cannot read the nodes' data dirs", cfg.backend));
    }
    std::fs::write(cfg.out.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    std::fs::write(cfg.out.join("report.txt"), report.text())?;
    Ok(report)
}

/// Runs traffic and faults against a started cluster; returns the full history.
async fn drive<B: Backend>(cfg: &CampaignConfig, faults: &[Fault], backend: Arc<B>) -> anyhow::Result<History> {
    let rest = Rest::new(backend.admin_token(), Duration::from_secs(10))?;
    let nodes: Vec<(u64, String)> = backend.node_ids().into_iter().map(|id| (id, backend.base_url(id))).collect();
    let tenant = create_tenant(&rest, &nodes, cfg.seed).await?;
    allow_a_deep_queue(&rest, &nodes, tenant).await?;
    let recorder = Arc::new(Recorder::new(cfg.seed, backend.node_ids()));
    let grpc_endpoints: crate::grpc::Endpoints = { let b = backend.clone(); Arc::new(move |id| b.grpc_url(id)) };
    let traffic = Traffic::new(rest.clone(), nodes.clone(), tenant, cfg.seed, recorder.clone());
    let traffic = Arc::new(traffic.with_grpc(grpc_endpoints, &backend.admin_token())?);
    let prober = Arc::new(Prober::new(backend.clone(), traffic.clone(), recorder.clone())?);

    let stop_clients = Arc::new(AtomicBool::new(false));
    let stop_monitor = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> =
        (0..cfg.clients as u32).map(|c| tokio::spawn(run_client(traffic.clone(), c, stop_clients.clone()))).collect();
    let monitor = tokio::spawn(crate::monitor::run(backend.clone(), recorder.clone(), stop_monitor.clone()));
    let progress = cfg.progress.then(|| tokio::spawn(progress_lines(recorder.clone(), cfg.duration)));

    let end = Instant::now() + cfg.duration;
    let steps = nemesis::schedule(cfg.seed, faults, cfg.duration);
    nemesis::run(backend.clone(), prober.clone(), recorder.clone(), steps, end).await;
    tokio::time::sleep_until(end.into()).await;
    stop_clients.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }

    recorder.set_phase("final heal");
    backend.heal_all().await.context("final heal")?;
    prober.wait_for_recovery("final heal", recorder.now_ms()).await;
    recorder.set_phase("cluster version");
    wait_for_cluster_version(&*backend, Duration::from_secs(10)).await;
    recorder.set_phase("converging");
    let converged = wait_for_converged(&*backend, Duration::from_secs(30)).await;
    stop_monitor.store(true, Ordering::Relaxed);
    let _ = monitor.await;
    if let Some(p) = progress {
        p.abort();
    }
    record_final_state(&*backend, &rest, tenant, &recorder, &converged).await?;
    Ok(recorder.snapshot())
}

/// Waits (at most 30 s) until every node shows the same applied index and
/// state hash, then records each node's jobs of `tenant` and the committed log:
/// what the checkers read after the last heal.
pub async fn settle<B: Backend>(backend: &B, rest: &Rest, tenant: u64, recorder: &Recorder) -> anyhow::Result<()> {
    wait_for_cluster_version(backend, Duration::from_secs(10)).await;
    let converged = wait_for_converged(backend, Duration::from_secs(30)).await;
    record_final_state(backend, rest, tenant, recorder, &converged).await
}

async fn record_final_state<B: Backend>(
    backend: &B,
    rest: &Rest,
    tenant: u64,
    recorder: &Recorder,
    converged: &[(u64, u64, u64)],
) -> anyhow::Result<()> {
    let mut finals = Vec::new();
    for id in backend.node_ids() {
        let (applied_index, state_hash) = converged.iter().find(|c| c.0 == id).map_or((None, None), |c| (Some(c.1), Some(c.2)));
        let base = backend.base_url(id);
        let (cluster_version, protocol_version) = crate::monitor::versions(rest, &base).await.unzip();
        finals.push(FinalNode { id, applied_index, state_hash, jobs: list_jobs(rest, &base, tenant).await, cluster_version, protocol_version });
    }
    recorder.final_nodes(finals);
    let dirs = backend.data_dirs();
    if !dirs.is_empty() {
        recorder.committed(tokio::task::spawn_blocking(move || crate::committed::collect(&dirs)).await?);
    }
    Ok(())
}

/// Without workers the campaign's jobs stay queued (and with them, a partition
/// can hold many back): lift the tenant's queued-job bound (1,000 by default) to
/// the API's largest, or a long campaign would see its own submissions refused
/// with 429.
async fn allow_a_deep_queue(rest: &Rest, nodes: &[(u64, String)], tenant: u64) -> anyhow::Result<()> {
    let body = json!({"max_queued_jobs": 1_000_000u32});
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    for (_, base) in nodes.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        match rest.call(Method::PATCH, &format!("{base}/api/v1/tenants/{tenant}"), Some(&body), &[]).await {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) if (400..500).contains(&r.status) => bail!("raising the campaign tenant's queue bound was refused: {} {}", r.status, r.json),
            Ok(r) => last = format!("{} {}", r.status, r.json),
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("could not raise the campaign tenant's queue bound within 30 s: {last}")
}

/// Creates the tenant `chaos-<seed>` (quota far above any campaign's needs)
/// through any node, retrying for up to 30 s; returns its id.
pub async fn create_tenant(rest: &Rest, nodes: &[(u64, String)], seed: u64) -> anyhow::Result<u64> {
    let name = format!("chaos-{seed}");
    let body = json!({"name": name, "email": "chaos@example.com",
        "quota": {"cpu_m": 100_000_000u64, "memory_mb": 100_000_000u64, "max_concurrent_jobs": 1_000_000u64}});
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    for (_, base) in nodes.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        match rest.call(Method::POST, &format!("{base}/api/v1/tenants"), Some(&body), &[]).await {
            Ok(r) if r.status == 201 => return r.json["id"].as_u64().context("tenant id"),
            // An earlier attempt was applied after all: find it.
            Ok(r) if r.status == 409 => {
                let list = rest.get(&format!("{base}/api/v1/tenants?limit=1000")).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
                let found = list.json["items"].as_array().into_iter().flatten().find(|t| t["name"] == name.as_str());
                return found.and_then(|t| t["id"].as_u64()).context("tenant exists but was not listed");
            }
            Ok(r) if (400..500).contains(&r.status) => bail!("creating the campaign's tenant was refused: {} {}", r.status, r.json),
            other => last = format!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("could not create the campaign's tenant within 30 s: {last}")
}

/// Waits until every node shows the same (applied index, state hash); returns
/// the last (id, index, hash) seen per node either way.
async fn wait_for_converged<B: Backend>(backend: &B, timeout: Duration) -> Vec<(u64, u64, u64)> {
    let Ok(rest) = Rest::new(backend.admin_token(), Duration::from_secs(2)) else { return Vec::new() };
    let deadline = Instant::now() + timeout;
    loop {
        let mut seen = Vec::new();
        for id in backend.node_ids() {
            if let Some((i, h, _)) = own_hash(&rest, &backend.base_url(id)).await {
                seen.push((id, i, h));
            }
        }
        let agreed = seen.len() == backend.node_ids().len() && seen.windows(2).all(|w| (w[0].1, w[0].2) == (w[1].1, w[1].2));
        if agreed || Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every node records the lowest protocol version the nodes
/// speak as the cluster version (the leader raises it about a second after
/// the last roll); the `cluster-version` checker judges what is seen after.
async fn wait_for_cluster_version<B: Backend>(backend: &B, timeout: Duration) {
    let Ok(rest) = Rest::new(backend.admin_token(), Duration::from_secs(2)) else { return };
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let mut seen = Vec::new();
        for id in backend.node_ids() {
            seen.extend(crate::monitor::versions(&rest, &backend.base_url(id)).await);
        }
        let lowest = seen.iter().map(|v| v.1).min();
        if seen.len() == backend.node_ids().len() && seen.iter().all(|v| Some(v.0) == lowest) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every job of `tenant` on one node, read from its own copy (`stale`).
async fn list_jobs(rest: &Rest, base: &str, tenant: u64) -> Option<Vec<JobSeen>> {
    let mut jobs = Vec::new();
    let mut cursor: Option<u64> = None;
    loop {
        let mut url = format!("{base}/api/v1/jobs?tenant_id={tenant}&limit=1000&consistency=stale");
        if let Some(c) = cursor {
            url += &format!("&cursor={c}");
        }
        let r = rest.get(&url).await.ok().filter(|r| r.status == 200)?;
        for item in r.json["items"].as_array()? {
            jobs.push(job_seen(item)?);
        }
        match r.json["next_cursor"].as_u64() {
            Some(c) => cursor = Some(c),
            None => return Some(jobs),
        }
    }
}

async fn progress_lines(recorder: Arc<Recorder>, duration: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let (ok, fail, maybe) = recorder.counts();
        eprintln!(
            "[{:>4}s/{}s] ops {:>6} (ok {ok}, fail {fail}, maybe {maybe})  faults {}  now: {}",
            recorder.now_ms() / 1000,
            duration.as_secs(),
            ok + fail + maybe,
            recorder.faults_applied(),
            recorder.phase()
        );
    }
}
