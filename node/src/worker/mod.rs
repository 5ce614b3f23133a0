//! `hodei worker`: the agent that runs jobs as real processes.
//!
//! - [`agent`]: register, heartbeat, follow assignments, run, report, drain.
//! - [`runner`]: one job as an OS process, with limits, timeout, cancel and usage.
//! - [`logs`]: the agent's small HTTP server for job output.
//! - [`retention`]: which finished jobs' work dirs and output stay on disk.

pub mod agent;
pub mod logs;
pub mod retention;
pub mod runner;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::duration::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// gRPC endpoints of cluster nodes, comma separated; the next is tried when one dies.
    #[arg(long, env = "HODEI_WORKER_ENDPOINTS", value_delimiter = ',', default_value = "127.0.0.1:9091")]
    pub endpoints: Vec<String>,
    /// The pool this worker serves.
    #[arg(long, default_value = "pool-default")]
    pub pool: String,
    /// Bearer token (a worker or admin token).
    #[arg(long, env = "HODEI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CPU this worker offers, in millicores.
    #[arg(long, default_value_t = 2000)]
    pub cpu_m: u64,
    /// Memory this worker offers, in MiB.
    #[arg(long, default_value_t = 2048)]
    pub memory_mb: u64,
    /// Labels jobs can select on: `k=v,k2=v2`.
    #[arg(long, value_delimiter = ',', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Where jobs run and their output is kept.
    #[arg(long, default_value = "./hodei-worker")]
    pub work_dir: PathBuf,
    /// A name for logs and listings.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Where to serve job output (host:port; port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub logs_addr: String,
    /// How often to renew the lease.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub heartbeat: Duration,
    /// Finished jobs whose work dir and output stay on disk; older ones are
    /// cleared away, oldest first (0 clears each as soon as it is reported).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub keep_finished_jobs: usize,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("label {s:?} must be key=value"))?;
    if k.is_empty() {
        return Err(format!("label {s:?} has an empty key"));
    }
    Ok((k.to_string(), v.to_string()))
}

impl WorkerArgs {
    pub fn label_map(&self) -> BTreeMap<String, String> {
        self.labels.iter().cloned().collect()
    }
}

/// Runs the agent until SIGTERM or Ctrl-C, then drains.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.endpoints.is_empty(), "--endpoints names no node");
    let listener = tokio::net::TcpListener::bind(&args.logs_addr).await.map_err(|e| anyhow::anyhow!("--logs-addr {}: {e}", args.logs_addr))?;
    let logs_addr = listener.local_addr()?.to_string();
    tokio::spawn(logs::serve(listener, args.work_dir.clone()));
    agent::run(args, logs_addr).await
}
