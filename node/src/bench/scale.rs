//! `hodei bench scale`: the state-size goal. Starts its own 3-node cluster,
//! creates `--tenants` tenants, queues `--jobs` jobs over them (no workers, so
//! every job stays queued), and reports:
//!
//! - resident memory of each node (`VmRSS` and its peak `VmHWM` from
//!   `/proc/<pid>/status`) once every node has applied everything;
//! - a consistent snapshot (`GET /api/v1/cluster/snapshot` on the leader: read
//!   index, build, transfer), its size and time;
//! - `hodei restore` of that file into an empty data dir (decode, check, write);
//! - a follower killed and started again on its data dir: time until it is
//!   ready (snapshot file loaded, log tail replayed) and caught up.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::args::{ScaleArgs, TargetArgs};
use super::local::{with_three_nodes, LocalCluster};
use super::stats::{round3, BenchReport};
use super::submit::{create_tenants, submit_count, Counted};
use super::target::{job_command, HodeiClient};

#[derive(Debug, Serialize)]
pub struct ScaleReport {
    pub jobs: u32,
    pub tenants: u32,
    pub concurrency: u32,
    pub payload_bytes: u64,
    pub tenants_s: f64,
    pub submitted: u64,
    pub submit_s: f64,
    pub submit_per_s: f64,
    pub submit_errors: BTreeMap<String, u64>,
    /// Jobs queued in the committed state at the end, as the leader reports them.
    pub queued: u64,
    pub nodes: Vec<NodeMemory>,
    pub snapshot_bytes: u64,
    pub snapshot_index: u64,
    pub snapshot_s: f64,
    pub restore_file_s: f64,
    pub restart_node: u64,
    pub restart_ready_s: f64,
    pub restart_caught_up_s: f64,
    pub restart_rss_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct NodeMemory {
    pub id: u64,
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
}

pub async fn scale(args: ScaleArgs) -> anyhow::Result<ScaleReport> {
    with_three_nodes("scale", args.data_dir.clone(), args.config.clone(), |mut cluster, dir| async move {
        run(&args, &mut cluster, &dir).await
    })
    .await
}

async fn run(args: &ScaleArgs, cluster: &mut LocalCluster, dir: &Path) -> anyhow::Result<ScaleReport> {
    let target = TargetArgs { endpoints: cluster.nodes.iter().map(|n| n.grpc.clone()).collect(), token: Some(cluster.admin.clone()), grpc: true, rest: false };
    let client = HodeiClient::new(&target, args.concurrency)?;
    let started = Instant::now();
    let tenants = create_tenants(&client, args.tenants, args.concurrency).await?;
    let tenants_s = started.elapsed().as_secs_f64();
    eprintln!("created {} tenants in {tenants_s:.1} s", tenants.len());

    let (submitted, submit_errors, submit_s) = submit_all(args, &client, &tenants, cluster).await;
    eprintln!("submitted {submitted} jobs in {submit_s:.1} s; waiting for every node to apply them");
    let deadline = Instant::now() + Duration::from_secs(300);
    for i in 0..cluster.nodes.len() {
        cluster.wait_caught_up(i, deadline).await?;
    }
    let nodes = cluster.nodes.iter().filter_map(|n| Some((n.id, n.pid()?))).map(|(id, pid)| memory(id, pid)).collect::<anyhow::Result<Vec<_>>>()?;
    let leader = cluster.wait_for_leader(deadline).await?;
    let queue = get(cluster, leader, "/api/v1/queue?consistency=stale", Duration::from_secs(60)).await?;
    let queued = queue["queued_jobs"].as_u64().unwrap_or(0);

    eprintln!("taking a snapshot through node {}", cluster.nodes[leader].id);
    let backup = dir.join("scale.snapshot");
    let t = Instant::now();
    let (bytes, snapshot_index) = fetch_snapshot(cluster, leader).await?;
    let snapshot_s = t.elapsed().as_secs_f64();
    std::fs::write(&backup, &bytes).with_context(|| format!("writing {}", backup.display()))?;

    let t = Instant::now();
    let restore_args = crate::restore::RestoreArgs {
        snapshot: backup.clone(),
        data_dir: dir.join("restored"),
        initial_cluster: "1=127.0.0.1:1".into(),
    };
    let restored = tokio::task::spawn_blocking(move || crate::restore::restore(&restore_args)).await??;
    let restore_file_s = t.elapsed().as_secs_f64();
    eprintln!("{restored} in {restore_file_s:.2} s");

    let follower = (leader + 1) % cluster.nodes.len();
    let restart_node = cluster.nodes[follower].id;
    eprintln!("restarting node {restart_node} on its data dir");
    cluster.kill(follower);
    let t = Instant::now();
    cluster.spawn(follower)?;
    cluster.wait_ready(follower, Instant::now() + Duration::from_secs(300)).await?;
    let restart_ready_s = t.elapsed().as_secs_f64();
    cluster.wait_caught_up(follower, Instant::now() + Duration::from_secs(300)).await?;
    let restart_caught_up_s = t.elapsed().as_secs_f64();
    let pid = cluster.nodes[follower].pid().context("the restarted node has no process")?;
    let restart_rss_mib = memory(restart_node, pid)?.rss_mib;

    Ok(ScaleReport {
        jobs: args.jobs,
        tenants: args.tenants,
        concurrency: args.concurrency,
        payload_bytes: args.payload_bytes,
        tenants_s: round3(tenants_s),
        submitted,
        submit_s: round3(submit_s),
        submit_per_s: round3(submitted as f64 / submit_s.max(1e-9)),
        submit_errors,
        queued,
        nodes,
        snapshot_bytes: bytes.len() as u64,
        snapshot_index,
        snapshot_s: round3(snapshot_s),
        restore_file_s: round3(restore_file_s),
        restart_node,
        restart_ready_s: round3(restart_ready_s),
        restart_caught_up_s: round3(restart_caught_up_s),
        restart_rss_mib,
    })
}

/// Submits `args.jobs` jobs with a progress line each second: the rate and
/// each node's resident memory.
async fn submit_all(args: &ScaleArgs, client: &HodeiClient, tenants: &[u64], cluster: &LocalCluster) -> Counted {
    let pids: Vec<(u64, u32)> = cluster.nodes.iter().filter_map(|n| Some((n.id, n.pid()?))).collect();
    let mut last = 0;
    let tick = move |acked: u64, elapsed: Duration| {
        let rss: Vec<String> = pids.iter().map(|&(id, pid)| memory(id, pid).map_or(format!("n{id} ?"), |m| format!("n{id} {:.0} MiB", m.rss_mib))).collect();
        eprintln!("[{:>4.0}s] submitted {acked:>8} ({:>5}/s)  rss {}", elapsed.as_secs_f64(), acked - last, rss.join(", "));
        last = acked;
        std::future::ready(())
    };
    let command = job_command(args.payload_bytes as usize);
    submit_count(client, tenants, u64::from(args.jobs), args.concurrency, command, tick).await
}

/// Resident and peak resident memory of a process, from `/proc/<pid>/status`.
fn memory(id: u64, pid: u32) -> anyhow::Result<NodeMemory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(round3(kib / 1024.0))
    };
    Ok(NodeMemory {
        id,
        rss_mib: field("VmRSS:").with_context(|| format!("no VmRSS in {path}"))?,
        peak_rss_mib: field("VmHWM:").with_context(|| format!("no VmHWM in {path}"))?,
    })
}

async fn get(cluster: &LocalCluster, node: usize, path: &str, timeout: Duration) -> anyhow::Result<Value> {
    let url = format!("http://{}{path}", cluster.nodes[node].http);
    let r = cluster.http.get(&url).bearer_auth(&cluster.admin).timeout(timeout).send().await.with_context(|| format!("calling {path}"))?;
    let status = r.status();
    let v: Value = r.json().await.with_context(|| format!("reading the reply of {path}"))?;
    anyhow::ensure!(status.is_success(), "{path}: {status}: {v}");
    Ok(v)
}

/// The backup route's body and the index it covers (its `x-hodei-index` header).
async fn fetch_snapshot(cluster: &LocalCluster, node: usize) -> anyhow::Result<(Vec<u8>, u64)> {
    let url = format!("http://{}/api/v1/cluster/snapshot", cluster.nodes[node].http);
    let r = cluster.http.get(&url).bearer_auth(&cluster.admin).timeout(Duration::from_secs(300)).send().await.context("calling the snapshot route")?;
    let status = r.status();
    let index = r.headers().get("x-hodei-index").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0);
    let bytes = r.bytes().await.context("reading the snapshot")?;
    anyhow::ensure!(status.is_success(), "snapshot route: {status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)]));
    Ok((bytes.to_vec(), index))
}

impl BenchReport for ScaleReport {
    fn table(&self) -> String {
        let mut s = format!(
            "scale: {} jobs over {} tenants ({} B of arguments each), {} clients, no workers\n",
            self.jobs, self.tenants, self.payload_bytes, self.concurrency
        );
        s += &format!("  tenants created   in {:.1} s\n", self.tenants_s);
        s += &format!("  submitted         {} in {:.1} s ({:.0}/s); queued at the end {}\n", self.submitted, self.submit_s, self.submit_per_s, self.queued);
        for (kind, n) in &self.submit_errors {
            s += &format!("    submit error {kind:<16} {n}\n");
        }
        for n in &self.nodes {
            s += &format!("  node {} memory     resident {:.0} MiB, peak {:.0} MiB\n", n.id, n.rss_mib, n.peak_rss_mib);
        }
        s += &format!("  snapshot          {:.1} MiB at index {} in {:.2} s (read index, build, transfer)\n", self.snapshot_bytes as f64 / 1048576.0, self.snapshot_index, self.snapshot_s);
        s += &format!("  restore (file)    {:.2} s (`hodei restore`: decode, check, write)\n", self.restore_file_s);
        s += &format!(
            "  restart node {}    ready in {:.2} s, caught up in {:.2} s, resident {:.0} MiB\n",
            self.restart_node, self.restart_ready_s, self.restart_caught_up_s, self.restart_rss_mib
        );
        s
    }
}
