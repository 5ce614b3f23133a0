//! A cluster of `hodei server` processes that a bench owns: free loopback
//! ports, data under one folder, each node's PID known so the leader can be
//! SIGKILLed and started again on the same data dir, and optionally `hodei
//! worker` processes. Dropping it kills every process it started, by PID.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use hodei_api::auth::{issue_token, Claims, Role, AUDIENCE, ISSUER};

pub struct LocalNode {
    pub id: u64,
    pub http: String,
    pub grpc: String,
    peer: String,
    child: Option<Child>,
}

pub struct LocalCluster {
    pub nodes: Vec<LocalNode>,
    pub admin: String,
    dir: PathBuf,
    config: Option<PathBuf>,
    initial: String,
    pub http: reqwest::Client,
    workers: Vec<Child>,
}

impl LocalNode {
    /// The node's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl LocalCluster {
    /// Process ids of the workers started with [`LocalCluster::spawn_worker`].
    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers.iter().map(Child::id).collect()
    }
}

/// Starts 3 nodes under `data_dir`, or under a new temp folder named after
/// the bench `what`, and runs `body` on them. The nodes stop when `body` is
/// done with the cluster; a temp folder is removed after a run that succeeded
/// (a failed run's logs stay for a look).
pub async fn with_three_nodes<T, F, Fut>(what: &str, data_dir: Option<PathBuf>, config: Option<PathBuf>, body: F) -> anyhow::Result<T>
where
    F: FnOnce(LocalCluster, PathBuf) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let owned = data_dir.is_none();
    let dir = data_dir.unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        std::env::temp_dir().join(format!("hodei-bench-{what}-{}-{stamp}", std::process::id()))
    });
    eprintln!("starting 3 nodes under {}", dir.display());
    let cluster = LocalCluster::start(&dir, 3, config).await?;
    let result = body(cluster, dir.clone()).await;
    if owned && result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

impl LocalCluster {
    /// Starts `n` founding members under `dir` and waits until all are ready.
    pub async fn start(dir: &Path, n: u64, config: Option<PathBuf>) -> anyhow::Result<LocalCluster> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let secret = format!("bench-{}-{:x}", std::process::id(), rand::random::<u64>());
        std::fs::write(dir.join("jwt.secret"), &secret).context("writing the JWT secret")?;
        let claims = Claims {
            sub: "bench".into(),
            hodei_tenant: None,
            hodei_roles: vec![Role::Admin],
            exp: now_s() + 24 * 3600,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let admin = issue_token(secret.as_bytes(), &claims)?;
        let mut addrs = free_addrs(3 * n as usize)?.into_iter();
        let mut nodes = Vec::new();
        for id in 1..=n {
            let mut next = || addrs.next().context("too few free addresses");
            nodes.push(LocalNode { id, http: next()?, grpc: next()?, peer: next()?, child: None });
        }
        let initial = nodes.iter().map(|n| format!("{}={}", n.id, n.peer)).collect::<Vec<_>>().join(",");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let mut cluster = LocalCluster { nodes, admin, dir: dir.to_path_buf(), config, initial, http, workers: Vec::new() };
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i)?;
        }
        for i in 0..cluster.nodes.len() {
            cluster.wait_ready(i, Instant::now() + Duration::from_secs(60)).await?;
        }
        Ok(cluster)
    }

    /// Starts node `i` (again) on its data dir and ports.
    pub fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("locating the hodei binary")?;
        let n = &self.nodes[i];
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(format!("node{}.log", n.id)))?;
        let mut cmd = Command::new(exe);
        cmd.arg("server").args(["--id", &n.id.to_string(), "--http", &n.http, "--grpc", &n.grpc, "--peer", &n.peer]);
        cmd.arg("--data-dir").arg(self.dir.join(format!("node{}", n.id)));
        cmd.args(["--initial-cluster", &self.initial]).arg("--jwt-secret-file").arg(self.dir.join("jwt.secret"));
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        let child = cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).spawn().with_context(|| format!("starting node {}", n.id))?;
        self.nodes[i].child = Some(child);
        Ok(())
    }

    /// Starts a `hodei worker` of `pool-default` offering `slots` millicores and
    /// MiB, named `bench-w<n>`, its work dir and log under the cluster's folder.
    pub fn spawn_worker(&mut self, n: u32, slots: u32) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("locating the hodei binary")?;
        let work = self.dir.join(format!("worker{n}"));
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let log = std::fs::File::create(self.dir.join(format!("worker{n}.log")))?;
        let endpoints = self.nodes.iter().map(|n| n.grpc.as_str()).collect::<Vec<_>>().join(",");
        let child = Command::new(exe)
            .args(["worker", "--endpoints", &endpoints, "--pool", "pool-default", "--name", &format!("bench-w{n}")])
            .args(["--cpu-m", &slots.to_string(), "--memory-mb", &slots.to_string()])
            .arg("--work-dir")
            .arg(&work)
            .env("HODEI_TOKEN", &self.admin)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting a bench worker")?;
        self.workers.push(child);
        Ok(())
    }

    /// SIGKILL, as a crash: no shutdown path runs.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub async fn wait_ready(&mut self, i: usize, deadline: Instant) -> anyhow::Result<()> {
        let url = format!("http://{}/ready", self.nodes[i].http);
        loop {
            if let Some(Ok(Some(status))) = self.nodes[i].child.as_mut().map(Child::try_wait) {
                anyhow::bail!("node {} exited ({status}); see {}/node{}.log", self.nodes[i].id, self.dir.display(), self.nodes[i].id);
            }
            if self.http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "node {} was not ready in time; see {}/node{}.log", self.nodes[i].id, self.dir.display(), self.nodes[i].id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until node `i` has applied everything the leader had committed when
    /// the wait began. A restarted node is ready before it has caught up, and a
    /// kill of the leader then would measure the lagging node's doomed
    /// candidacies (its log is behind, so the others refuse it) rather than
    /// failover of a healthy cluster.
    pub async fn wait_caught_up(&self, i: usize, deadline: Instant) -> anyhow::Result<()> {
        let leader = self.wait_for_leader(deadline).await?;
        let status = |n: usize| {
            let url = format!("http://{}/api/v1/cluster?consistency=stale", self.nodes[n].http);
            let req = self.http.get(url).bearer_auth(&self.admin);
            async move { req.send().await.ok()?.json::<Value>().await.ok() }
        };
        let target = loop {
            if let Some(c) = status(leader).await.and_then(|v| v["commit_index"].as_u64()) {
                break c;
            }
            anyhow::ensure!(Instant::now() < deadline, "the leader did not report its commit index in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let id = self.nodes[i].id;
        loop {
            let applied = status(i).await.and_then(|v| {
                v["members"].as_array()?.iter().find(|m| m["id"].as_u64() == Some(id))?["applied_index"].as_u64()
            });
            if applied.is_some_and(|a| a >= target) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "node {id} did not catch up to index {target} in time (applied {applied:?})");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The highest Raft term any running node reports (`hodei_raft_term`).
    pub async fn highest_term(&self) -> anyhow::Result<u64> {
        let mut highest = 0;
        for n in self.nodes.iter().filter(|n| n.child.is_some()) {
            let url = format!("http://{}/metrics", n.http);
            let text = self.http.get(&url).send().await.and_then(|r| r.error_for_status()).with_context(|| format!("reading {url}"))?.text().await?;
            let term = text
                .lines()
                .find_map(|l| l.strip_prefix("hodei_raft_term ")?.trim().parse::<f64>().ok())
                .with_context(|| format!("no hodei_raft_term in {url}"))?;
            highest = highest.max(term as u64);
        }
        Ok(highest)
    }

    /// Index of the leader that every running node names, waiting until they agree.
    pub async fn wait_for_leader(&self, deadline: Instant) -> anyhow::Result<usize> {
        loop {
            if let Some(i) = self.agreed_leader().await {
                return Ok(i);
            }
            anyhow::ensure!(Instant::now() < deadline, "the running nodes did not agree on a leader in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn agreed_leader(&self) -> Option<usize> {
        let mut seen = None;
        for n in self.nodes.iter().filter(|n| n.child.is_some()) {
            let url = format!("http://{}/api/v1/cluster?consistency=stale", n.http);
            let v: Value = self.http.get(&url).bearer_auth(&self.admin).send().await.ok()?.json().await.ok()?;
            let id = v["leader_id"].as_u64()?;
            if seen.is_some_and(|s| s != id) {
                return None;
            }
            seen = Some(id);
        }
        let id = seen?;
        self.nodes.iter().position(|n| n.id == id && n.child.is_some())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// `n` distinct loopback addresses whose ports were free a moment ago. All are
/// held until the last is found: a port bound and let go at once can be handed
/// out again by the very next bind, and two nodes would then fight for it.
fn free_addrs(n: usize) -> anyhow::Result<Vec<String>> {
    let held = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")).collect::<anyhow::Result<Vec<_>>>()?;
    held.iter().map(|l| Ok(l.local_addr()?.to_string())).collect()
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
