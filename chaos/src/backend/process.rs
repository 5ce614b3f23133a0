//! Nodes as `hodei server` OS processes on loopback, each with its own data dir.
//!
//! - cut and heal: each node's transport filter (`PUT /api/v1/debug/transport-filter`,
//!   enabled by `HODEI_FAULT_INJECTION=1`), which drops what that node sends to a
//!   target, so a cut is one-way and a partition is two cuts;
//! - kill and restart: SIGKILL, then the same command on the same data dir;
//! - pause and resume: SIGSTOP and SIGCONT.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::{json, Value};

use hodei_api::auth::{issue_token, Claims, Role, AUDIENCE, ISSUER};

use super::Backend;
use crate::client::Rest;

pub struct ProcessOptions {
    pub nodes: usize,
    /// The `hodei` binary.
    pub bin: PathBuf,
    /// Where each node's log goes (`node<id>.log`, appended across restarts).
    pub log_dir: PathBuf,
}

struct Spec {
    id: u64,
    http: String,
    grpc: String,
    peer: String,
    data_dir: PathBuf,
}

struct Node {
    spec: Spec,
    child: Option<Child>,
    paused: bool,
}

pub struct ProcessBackend {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    log_dir: PathBuf,
    secret_file: PathBuf,
    initial_cluster: String,
    admin: String,
    rest: Rest,
    nodes: Vec<Mutex<Node>>,
    /// from -> the targets it drops messages to.
    cuts: Mutex<BTreeMap<u64, BTreeSet<u64>>>,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn admin_token(secret: &[u8]) -> anyhow::Result<String> {
    let claims = Claims {
        sub: "hodei-chaos".into(),
        hodei_tenant: None,
        hodei_roles: vec![Role::Admin],
        exp: 4_000_000_000,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    Ok(issue_token(secret, &claims)?)
}

impl ProcessBackend {
    /// Starts every node and waits (at most 30 s) until each answers `/ready`.
    pub async fn start(opts: ProcessOptions) -> anyhow::Result<Self> {
        if !opts.bin.exists() {
            bail!("{} is missing: build it first (cargo build --release -p hodei) or pass --bin", opts.bin.display());
        }
        std::fs::create_dir_all(&opts.log_dir).context("create the log dir")?;
        let dir = tempfile::tempdir().context("temp dir for the nodes")?;
        let secret: Vec<u8> = (0..32).map(|_| rand::random::<u8>() % 26 + b'a').collect();
        let secret_file = dir.path().join("jwt.secret");
        std::fs::write(&secret_file, &secret).context("write the jwt secret")?;
        let mut specs = Vec::new();
        for id in 1..=opts.nodes as u64 {
            specs.push(Spec {
                id,
                http: format!("127.0.0.1:{}", free_port()?),
                grpc: format!("127.0.0.1:{}", free_port()?),
                peer: format!("127.0.0.1:{}", free_port()?),
                data_dir: dir.path().join(format!("node{id}")),
            });
        }
        let initial_cluster = specs.iter().map(|s| format!("{}={}", s.id, s.peer)).collect::<Vec<_>>().join(",");
        let admin = admin_token(&secret)?;
        let backend = ProcessBackend {
            bin: opts.bin,
            log_dir: opts.log_dir,
            secret_file,
            initial_cluster,
            rest: Rest::new(admin.clone(), Duration::from_secs(2))?,
            admin,
            nodes: specs.into_iter().map(|spec| Mutex::new(Node { spec, child: None, paused: false })).collect(),
            cuts: Mutex::new(BTreeMap::new()),
            _dir: dir,
        };
        for id in backend.node_ids() {
            backend.spawn(id)?;
        }
        backend.wait_for_ready(Duration::from_secs(30)).await?;
        Ok(backend)
    }

    fn node(&self, id: u64) -> anyhow::Result<std::sync::MutexGuard<'_, Node>> {
        let i = self.nodes.iter().position(|n| lock(n).spec.id == id).with_context(|| format!("no node {id}"))?;
        Ok(lock(&self.nodes[i]))
    }

    fn spawn(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        if n.child.is_some() {
            bail!("node {id} is already running");
        }
        let log_path = self.log_dir.join(format!("node{id}.log"));
        let log = OpenOptions::new().create(true).append(true).open(&log_path).context("open node log")?;
        let s = &n.spec;
        let child = Command::new(&self.bin)
            .arg("server")
            .args(["--id", &s.id.to_string()])
            .arg("--data-dir")
            .arg(&s.data_dir)
            .args(["--http", &s.http, "--grpc", &s.grpc, "--peer", &s.peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .arg("--jwt-secret-file")
            .arg(&self.secret_file)
            .env("HODEI_FAULT_INJECTION", "1")
            .env("HODEI_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn {}", self.bin.display()))?;
        n.child = Some(child);
        n.paused = false;
        Ok(())
    }

    /// Waits until every running node answers `/ready`, failing early if one exits.
    pub async fn wait_for_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        for id in self.node_ids() {
            loop {
                if let Some(status) = self.node(id)?.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                    bail!("node {id} exited ({status}) before it was ready\n{}", self.logs());
                }
                let ready = self.rest.get(&format!("{}/ready", self.base_url(id))).await;
                if ready.is_ok_and(|r| r.status == 200) {
                    break;
                }
                if Instant::now() >= deadline {
                    bail!("timed out after {timeout:?} waiting for node {id} to be ready\n{}", self.logs());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    fn running(&self, id: u64) -> bool {
        self.node(id).map(|n| n.child.is_some() && !n.paused).unwrap_or(false)
    }

    /// Installs `from`'s whole rule set, retrying for up to 5 s.
    async fn push_rules(&self, from: u64, targets: &BTreeSet<u64>) -> anyhow::Result<()> {
        let rules: serde_json::Map<String, Value> = targets.iter().map(|t| (t.to_string(), json!("drop"))).collect();
        let url = format!("{}/api/v1/debug/transport-filter", self.base_url(from));
        let body = json!({ "rules": rules });
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.rest.call(Method::PUT, &url, Some(&body), &[]).await {
                Ok(r) if r.status == 200 => return Ok(()),
                Ok(r) if Instant::now() >= deadline => bail!("set the filter on node {from}: {} {}", r.status, r.json),
                Err(e) if Instant::now() >= deadline => bail!("set the filter on node {from}: {e:?}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn signal(child: &Child, sig: i32) -> anyhow::Result<()> {
    // SAFETY: kill(2) on the pid of a child we own and have not reaped.
    if unsafe { libc::kill(child.id() as i32, sig) } != 0 {
        bail!("kill({}, {sig}): {}", child.id(), std::io::Error::last_os_error());
    }
    Ok(())
}

impl Backend for ProcessBackend {
    fn node_ids(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| lock(n).spec.id).collect()
    }

    fn base_url(&self, id: u64) -> String {
        self.node(id).map(|n| format!("http://{}", n.spec.http)).unwrap_or_default()
    }

    fn admin_token(&self) -> String {
        self.admin.clone()
    }

    async fn cut(&self, from: u64, to: u64) -> anyhow::Result<()> {
        let targets = {
            let mut cuts = lock(&self.cuts);
            let t = cuts.entry(from).or_default();
            t.insert(to);
            t.clone()
        };
        self.push_rules(from, &targets).await
    }

    async fn heal_network(&self) -> anyhow::Result<()> {
        let froms: Vec<u64> = std::mem::take(&mut *lock(&self.cuts)).into_keys().collect();
        for from in froms {
            // A dead node comes back with no rules; a paused one is resumed first by heal_all.
            if self.running(from) {
                self.push_rules(from, &BTreeSet::new()).await?;
            }
        }
        Ok(())
    }

    fn kill(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        if let Some(mut c) = n.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        n.paused = false;
        drop(n);
        // Its filter lived in memory: it restarts with none.
        lock(&self.cuts).remove(&id);
        Ok(())
    }

    fn restart(&self, id: u64) -> anyhow::Result<()> {
        self.spawn(id)
    }

    fn pause(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        let Some(c) = n.child.as_ref() else { bail!("node {id} is not running") };
        signal(c, libc::SIGSTOP)?;
        n.paused = true;
        Ok(())
    }

    fn resume(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        if let Some(c) = n.child.as_ref() {
            signal(c, libc::SIGCONT)?;
        }
        n.paused = false;
        Ok(())
    }

    async fn heal_all(&self) -> anyhow::Result<()> {
        for id in self.node_ids() {
            let (dead, paused) = {
                let mut n = self.node(id)?;
                let exited = n.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_some());
                if exited {
                    n.child = None;
                }
                (n.child.is_none(), n.paused)
            };
            if paused {
                self.resume(id)?;
            }
            if dead {
                lock(&self.cuts).remove(&id);
                self.spawn(id)?;
            }
        }
        self.heal_network().await
    }

    fn logs(&self) -> String {
        self.node_ids()
            .into_iter()
            .map(|id| format!("--- node {id} ---\n{}", log_tail(&self.log_dir.join(format!("node{id}.log")))))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        for n in &self.nodes {
            if let Some(mut c) = lock(n).child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
