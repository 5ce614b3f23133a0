//! Real `hodei worker` agents for a campaign of the process backend: they
//! register in `pool-default` through any node's gRPC endpoint, take the
//! campaign's jobs, run them and report, so the log holds assignments, fencing
//! tokens and worker reports for the replay checkers. Faults are made to the
//! nodes only; a worker whose node dies reconnects to the next endpoint.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use anyhow::Context;

use super::lock;

pub struct Workers {
    children: Mutex<Vec<Child>>,
}

impl Workers {
    /// Starts `n` agents; `endpoints` are the nodes' gRPC `host:port`s. Each
    /// works in `dir/worker<i>` and logs to `log_dir/worker<i>.log`.
    pub fn start(bin: &Path, n: usize, endpoints: &[String], token: &str, dir: &Path, log_dir: &Path) -> anyhow::Result<Self> {
        let workers = Workers { children: Mutex::new(Vec::new()) };
        for i in 1..=n {
            let work_dir = dir.join(format!("worker{i}"));
            std::fs::create_dir_all(&work_dir).context("create a worker's work dir")?;
            let log_path = log_dir.join(format!("worker{i}.log"));
            let log = OpenOptions::new().create(true).append(true).open(&log_path).context("open a worker's log")?;
            let child = Command::new(bin)
                .args(["worker", "--endpoints", &endpoints.join(","), "--pool", "pool-default", "--heartbeat", "500ms"])
                .arg("--work-dir")
                .arg(&work_dir)
                .env("HODEI_TOKEN", token)
                .env("HODEI_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("spawn {} worker", bin.display()))?;
            lock(&workers.children).push(child);
        }
        Ok(workers)
    }

    /// How many agents were started.
    pub fn count(&self) -> usize {
        lock(&self.children).len()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for mut c in lock(&self.children).drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
