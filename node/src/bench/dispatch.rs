//! `hodei bench dispatch`: start a 3-node cluster and `--workers` real `hodei
//! worker` processes, submit `--jobs` no-op jobs (`true`) from closed-loop
//! clients, wait until every one has finished, and report from the committed
//! job records (the leader's clock on SubmitJob, StartJob and FinishJob, never
//! sampling):
//!
//! - completed per second: jobs over the span from the first committed submit
//!   to the last committed finish, so it includes dispatch, the process run
//!   and the report, end to end;
//! - submit-to-start latency (`started_at_ms - submitted_at_ms`) and run time;
//! - submits per second and their errors as the clients saw them;
//! - CPU per job from the submits until the last job finished (`/proc`):
//!   the jobs' processes (reaped by the workers), the workers, the nodes and
//!   this bench, and how busy the whole machine was.
//!
//! Each job is a real process: the ceiling is partly what starting a process
//! costs on this machine, which the CPU split shows next to the figures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::args::{DispatchArgs, TargetArgs};
use super::cpu;
use super::local::{with_three_nodes, LocalCluster};
use super::stats::{round3, BenchReport};
use super::submit::{create_tenants, submit_count, Counted};
use super::target::HodeiClient;

#[derive(Debug, Serialize)]
pub struct DispatchReport {
    pub jobs: u32,
    pub workers: u32,
    pub slots_per_worker: u32,
    pub concurrency: u32,
    pub submitted: u64,
    pub submit_per_s: f64,
    pub submit_errors: BTreeMap<String, u64>,
    /// Final states of the submitted jobs.
    pub states: BTreeMap<String, u64>,
    /// First committed submit to last committed finish.
    pub span_s: f64,
    pub completed_per_s: f64,
    pub submit_to_start_ms: Percentiles,
    pub run_ms: Percentiles,
    /// None where `/proc` cannot be read.
    pub cpu: Option<CpuPerJob>,
}

/// Milliseconds of CPU per finished job, over the window from the first
/// submit to the moment every job had finished.
#[derive(Debug, Serialize)]
pub struct CpuPerJob {
    pub window_s: f64,
    pub machine_busy_pct: Option<f64>,
    pub jobs_ms: f64,
    pub workers_ms: f64,
    pub nodes_ms: f64,
    pub bench_ms: f64,
}

/// Splits what the processes of the snapshots used (the `nodes` first, then
/// the `workers`, then this bench) over `finished` jobs.
fn cpu_per_job(a: &cpu::Snapshot, b: &cpu::Snapshot, nodes: usize, workers: usize, finished: f64) -> Option<CpuPerJob> {
    let (used, window_s, busy) = cpu::between(a, b);
    let used: Vec<cpu::ProcessCpu> = used.into_iter().collect::<Option<_>>()?;
    let per_job = |s: f64| round3(1000.0 * s / finished.max(1.0));
    let (node_cpu, rest) = used.split_at(nodes);
    let (worker_cpu, bench_cpu) = rest.split_at(workers);
    Some(CpuPerJob {
        window_s: round3(window_s),
        machine_busy_pct: busy.map(|b| round3(100.0 * b)),
        jobs_ms: per_job(worker_cpu.iter().map(|c| c.reaped_s).sum()),
        workers_ms: per_job(worker_cpu.iter().map(|c| c.own_s).sum()),
        nodes_ms: per_job(node_cpu.iter().map(|c| c.own_s).sum()),
        bench_ms: per_job(bench_cpu.iter().map(|c| c.own_s).sum()),
    })
}

#[derive(Debug, Default, Serialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(mut v: Vec<u64>) -> Percentiles {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Percentiles { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[v.len() - 1] }
    }
}

pub async fn dispatch(args: DispatchArgs) -> anyhow::Result<DispatchReport> {
    with_three_nodes("dispatch", args.data_dir.clone(), args.config.clone(), |mut cluster, _| async move {
        run(&args, &mut cluster).await
    })
    .await
}

async fn rest(cluster: &LocalCluster, path: &str) -> anyhow::Result<Value> {
    let url = format!("http://{}{path}", cluster.nodes[0].http);
    let req = cluster.http.get(&url).bearer_auth(&cluster.admin).timeout(Duration::from_secs(10));
    let r = req.send().await.with_context(|| format!("calling {path}"))?;
    let status = r.status();
    let v: Value = r.json().await.with_context(|| format!("reading the reply of {path}"))?;
    anyhow::ensure!(status.is_success(), "{path}: {status}: {v}");
    Ok(v)
}

async fn run(args: &DispatchArgs, cluster: &mut LocalCluster) -> anyhow::Result<DispatchReport> {
    let target = TargetArgs { endpoints: cluster.nodes.iter().map(|n| n.grpc.clone()).collect(), token: Some(cluster.admin.clone()), grpc: true, rest: false };
    let client = HodeiClient::new(&target, args.concurrency)?;
    // Bench tenants get the largest quotas and queue bound the API allows.
    let tenants = create_tenants(&client, args.tenants, args.concurrency).await?;
    for n in 0..args.workers {
        cluster.spawn_worker(n, args.slots)?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let workers = rest(cluster, "/api/v1/workers?consistency=stale").await?;
        let active = workers.as_array().map_or(0, |w| w.iter().filter(|w| w["state"] == "ACTIVE").count());
        if active as u32 >= args.workers {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {active} of {} workers registered within 60 s", args.workers);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let node_pids: Vec<u32> = cluster.nodes.iter().filter_map(|n| n.pid()).collect();
    let worker_pids = cluster.worker_pids();
    let pids: Vec<u32> = node_pids.iter().chain(&worker_pids).copied().chain([std::process::id()]).collect();
    let before = cpu::snapshot(&pids);
    let (submitted, errors, submit_s) = submit_all(args, client, &tenants, cluster).await;
    eprintln!("submitted {submitted} jobs in {submit_s:.1} s; waiting for them to finish");
    let deadline = Instant::now() + args.drain_timeout;
    loop {
        let q = rest(cluster, "/api/v1/queue?consistency=stale").await?;
        let running: u64 = q["tenants"].as_array().map_or(0, |ts| ts.iter().filter_map(|t| t["running_jobs"].as_u64()).sum());
        let queued = q["queued_jobs"].as_u64().unwrap_or(0);
        if queued == 0 && running == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "{queued} jobs still queued and {running} running {:?} after the last submit", args.drain_timeout);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = cpu::snapshot(&pids);

    let jobs = all_jobs(cluster, &tenants).await?;
    let mut states = BTreeMap::new();
    for j in &jobs {
        *states.entry(j["state"].as_str().unwrap_or("?").to_string()).or_insert(0) += 1;
    }
    let field = |j: &Value, k: &str| j[k].as_u64();
    let first_submit = jobs.iter().filter_map(|j| field(j, "submitted_at_ms")).min().unwrap_or(0);
    let last_finish = jobs.iter().filter_map(|j| field(j, "finished_at_ms")).max().unwrap_or(first_submit);
    let span_s = (last_finish.saturating_sub(first_submit)) as f64 / 1000.0;
    let finished = jobs.iter().filter(|j| field(j, "finished_at_ms").is_some()).count() as f64;
    let waits = jobs.iter().filter_map(|j| Some(field(j, "started_at_ms")?.saturating_sub(field(j, "submitted_at_ms")?))).collect();
    let runs = jobs.iter().filter_map(|j| Some(field(j, "finished_at_ms")?.saturating_sub(field(j, "started_at_ms")?))).collect();
    Ok(DispatchReport {
        jobs: args.jobs,
        workers: args.workers,
        slots_per_worker: args.slots,
        concurrency: args.concurrency,
        submitted,
        submit_per_s: round3(submitted as f64 / submit_s.max(1e-9)),
        submit_errors: errors,
        states,
        span_s: round3(span_s),
        completed_per_s: round3(if span_s > 0.0 { finished / span_s } else { 0.0 }),
        submit_to_start_ms: Percentiles::of(waits),
        run_ms: Percentiles::of(runs),
        cpu: cpu_per_job(&before, &after, node_pids.len(), worker_pids.len(), finished),
    })
}

/// Submits `args.jobs` no-op jobs with a progress line each second: the
/// acknowledged count and the queue as node 1 reports it.
async fn submit_all(args: &DispatchArgs, client: HodeiClient, tenants: &[u64], cluster: &LocalCluster) -> Counted {
    let (http, url, admin) = (cluster.http.clone(), format!("http://{}/api/v1/queue?consistency=stale", cluster.nodes[0].http), cluster.admin.clone());
    let tick = move |acked: u64, elapsed: Duration| {
        let req = http.get(&url).bearer_auth(&admin);
        async move {
            let q: Option<Value> = async { req.send().await.ok()?.json().await.ok() }.await;
            let pending = q.as_ref().and_then(|q| q["queued_jobs"].as_u64()).map_or("?".into(), |n| n.to_string());
            eprintln!("[{:>4.0}s] submitted {acked:>8}  queued {pending:>8}", elapsed.as_secs_f64());
        }
    };
    submit_count(&client, tenants, u64::from(args.jobs), args.concurrency, vec!["true".to_string()], tick).await
}

/// Every job of the bench tenants, page by page.
async fn all_jobs(cluster: &LocalCluster, tenants: &[u64]) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for t in tenants {
        let mut cursor: Option<u64> = None;
        loop {
            let after = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
            let page = rest(cluster, &format!("/api/v1/jobs?tenant_id={t}&limit=1000&consistency=stale{after}")).await?;
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_u64() {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

impl BenchReport for DispatchReport {
    fn table(&self) -> String {
        let p = |x: &Percentiles| format!("p50 {} ms  p90 {} ms  p99 {} ms  max {} ms", x.p50, x.p90, x.p99, x.max);
        let mut s = format!(
            "dispatch: {} no-op jobs (`true`, one real process each) on {} workers x {} slots, {} submitting clients\n",
            self.jobs, self.workers, self.slots_per_worker, self.concurrency
        );
        s += &format!("  submitted         {} ({:.0}/s)\n", self.submitted, self.submit_per_s);
        for (kind, n) in &self.submit_errors {
            s += &format!("    submit error {kind:<16} {n}\n");
        }
        let states: Vec<String> = self.states.iter().map(|(k, v)| format!("{k} {v}")).collect();
        s += &format!("  final states      {}\n", states.join(", "));
        s += &format!("  completed         {:.0} jobs/s over {:.2} s (first committed submit to last committed finish)\n", self.completed_per_s, self.span_s);
        s += &format!("  submit to start   {}\n", p(&self.submit_to_start_ms));
        s += &format!("  run (start to finish report) {}\n", p(&self.run_ms));
        if let Some(c) = &self.cpu {
            let busy = c.machine_busy_pct.map_or(String::new(), |b| format!(", machine {b:.0} % busy"));
            s += &format!(
                "  CPU per job       jobs' processes {:.2} ms, workers {:.2} ms, nodes {:.2} ms, bench {:.2} ms (/proc, over {:.1} s{busy})\n",
                c.jobs_ms, c.workers_ms, c.nodes_ms, c.bench_ms, c.window_s
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks_of_the_sorted_values() {
        let p = Percentiles::of((1..=100).rev().collect());
        assert_eq!((p.p50, p.p90, p.p99, p.max), (51, 90, 99, 100));
        assert_eq!(Percentiles::of(vec![]).max, 0);
    }
}
