//! Nodes as `hodei server` OS processes, each on its own loopback address
//! (`127.77.<pid % 250>.<10 + id>`) with its own data dir.
//!
//! - cut, isolate, loss: iptables rules on those addresses ([`super::iptables`])
//!   when iptables is usable; otherwise cuts go through each node's transport
//!   filter ([`super::filter`]) and loss is not available;
//! - delay: with iptables, `tc netem` on `lo` for those addresses only
//!   ([`super::netem`]); otherwise the transport filter;
//! - kill and restart: SIGKILL, then the same command on the same data dir;
//! - pause and resume: SIGSTOP and SIGCONT;
//! - roll: SIGTERM (the node's clean shutdown), then the same command again;
//! - add a node: `hodei server --join <a member's peer address>` with the next
//!   id, its own address and an empty data dir; retire: SIGTERM once the
//!   cluster removed it, never started again (its data dir stays);
//! - optionally, `hodei worker` agents that run the campaign's jobs ([`super::workers`]).

use std::fs::OpenOptions;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::filter::TransportFilters;
use super::iptables::Iptables;
use super::netem::{self, LoopbackDelay};
use super::process_node::{Node, NodeGuard, Spec};
use super::workers::Workers;
use super::{lock, new_secret, tail, wait_until_ready, Backend};
use crate::client::Rest;
use crate::nemesis::Fault;

/// How the process backend makes network faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetChoice {
    /// iptables when usable, else the transport filter.
    Auto,
    /// iptables, or the campaign does not start.
    Iptables,
    /// The transport filter, even where iptables would work.
    Filter,
}

pub struct ProcessOptions {
    pub nodes: usize,
    /// The `hodei` binary.
    pub bin: PathBuf,
    /// Where each node's log goes (`node<id>.log`, appended across restarts).
    pub log_dir: PathBuf,
    pub net: NetChoice,
    /// `hodei worker` agents to start once the nodes are ready.
    pub workers: usize,
    /// Start every node at this protocol version (a roll upgrades it).
    pub from_protocol: Option<u32>,
}

enum Net {
    Iptables(Iptables),
    /// The filter, and why iptables is not used.
    Filter(TransportFilters, String),
}

pub struct ProcessBackend {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    log_dir: PathBuf,
    secret_file: PathBuf,
    initial_cluster: String,
    admin: String,
    rest: Rest,
    /// Every node ever started, retired ones included.
    nodes: Mutex<Vec<Node>>,
    /// The third octet of every node's loopback address.
    block: u8,
    net: Net,
    /// Delays between the nodes' addresses, with `Net::Iptables`.
    netem: LoopbackDelay,
    workers: Option<Workers>,
    versions: super::versions::Versions,
}

fn free_port(ip: Ipv4Addr) -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0)).with_context(|| format!("bind {ip}:0"))?.local_addr()?.port())
}

fn start_net(choice: NetChoice, rest: &Rest) -> anyhow::Result<Net> {
    let filter = |why: String| Net::Filter(TransportFilters::new(rest.clone()), why);
    if choice == NetChoice::Filter {
        return Ok(filter("--net filter was asked for".into()));
    }
    match Iptables::start() {
        Ok(ipt) => Ok(Net::Iptables(ipt)),
        Err(e) if choice == NetChoice::Auto => Ok(filter(format!("iptables is not usable: {e}"))),
        Err(e) => bail!("--net iptables, but iptables is not usable: {e}"),
    }
}

impl ProcessBackend {
    /// Starts every node and waits (at most 30 s) until each answers `/ready`.
    pub async fn start(opts: ProcessOptions) -> anyhow::Result<Self> {
        if !opts.bin.exists() {
            bail!("{} is missing: build it first (cargo build --release -p hodei) or pass --bin", opts.bin.display());
        }
        std::fs::create_dir_all(&opts.log_dir).context("create the log dir")?;
        let dir = tempfile::tempdir().context("temp dir for the nodes")?;
        let (secret, admin) = new_secret()?;
        let secret_file = dir.path().join("jwt.secret");
        std::fs::write(&secret_file, &secret).context("write the jwt secret")?;
        let block = (std::process::id() % 250) as u8;
        let mut specs = Vec::new();
        for id in 1..=opts.nodes as u64 {
            let ip = Ipv4Addr::new(127, 77, block, 10 + id as u8);
            let (http, grpc, peer) = (free_port(ip)?, free_port(ip)?, free_port(ip)?);
            specs.push(Spec { id, ip, http, grpc, peer, data_dir: dir.path().join(format!("node{id}")), join: None });
        }
        let initial_cluster = specs.iter().map(|s| format!("{}={}:{}", s.id, s.ip, s.peer)).collect::<Vec<_>>().join(",");
        let rest = Rest::new(admin.clone(), Duration::from_secs(2))?;
        let workers = opts.workers;
        let mut backend = ProcessBackend {
            bin: opts.bin,
            log_dir: opts.log_dir,
            secret_file,
            initial_cluster,
            net: start_net(opts.net, &rest)?,
            rest,
            admin,
            nodes: Mutex::new(specs.into_iter().map(Node::new).collect()),
            block,
            netem: LoopbackDelay::new(),
            workers: None,
            versions: super::versions::Versions::new(opts.from_protocol, 1..=opts.nodes as u64)?,
            _dir: dir,
        };
        for id in backend.node_ids() {
            backend.spawn(id)?;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for id in backend.node_ids() {
            backend.wait_for_ready(id, deadline).await?;
        }
        if workers > 0 {
            let endpoints: Vec<String> = lock(&backend.nodes).iter().map(|n| format!("{}:{}", n.spec.ip, n.spec.grpc)).collect();
            let dir = backend._dir.path().to_path_buf();
            backend.workers = Some(Workers::start(&backend.bin, workers, &endpoints, &backend.admin, &dir, &backend.log_dir)?);
        }
        Ok(backend)
    }

    fn node(&self, id: u64) -> anyhow::Result<NodeGuard<'_>> {
        let all = lock(&self.nodes);
        let i = all.iter().position(|n| n.spec.id == id).with_context(|| format!("no node {id}"))?;
        Ok(NodeGuard { all, i })
    }

    fn spawn(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        if n.child.is_some() {
            bail!("node {id} is already running");
        }
        let log_path = self.log_dir.join(format!("node{id}.log"));
        let log = OpenOptions::new().create(true).append(true).open(&log_path).context("open node log")?;
        let s = &n.spec;
        let cluster = match &s.join {
            Some(via) => ["--join", via.as_str()],
            None => ["--initial-cluster", self.initial_cluster.as_str()],
        };
        let child = Command::new(&self.bin)
            .envs(self.versions.env(id))
            .arg("server")
            .args(["--id", &s.id.to_string()])
            .arg("--data-dir")
            .arg(&s.data_dir)
            .args(["--http", &format!("{}:{}", s.ip, s.http)])
            .args(["--grpc", &format!("{}:{}", s.ip, s.grpc)])
            .args(["--peer", &format!("{}:{}", s.ip, s.peer)])
            .args(cluster)
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

    /// Waits until node `id` answers `/ready`, failing early if it exits.
    async fn wait_for_ready(&self, id: u64, deadline: Instant) -> anyhow::Result<()> {
        let exited = || {
            let mut n = self.node(id).ok()?;
            n.child.as_mut().and_then(|c| c.try_wait().ok().flatten()).map(|s| format!("exited ({s})"))
        };
        wait_until_ready(&self.rest, id, &self.base_url(id), deadline, exited)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}\n{}", self.logs()))
    }

    fn running(&self, id: u64) -> bool {
        self.node(id).map(|n| n.child.is_some() && !n.paused).unwrap_or(false)
    }

    fn addr(&self, id: u64) -> anyhow::Result<(Ipv4Addr, u16)> {
        let n = self.node(id)?;
        Ok((n.spec.ip, n.spec.peer))
    }

    /// Stops the process: SIGTERM and up to 10 s for its clean shutdown, else SIGKILL.
    async fn stop(&self, id: u64) -> anyhow::Result<()> {
        let Some(mut child) = self.node(id)?.child.take() else { return Ok(()) };
        signal(&child, libc::SIGTERM)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("node {id} did not stop within 10 s of SIGTERM; killed");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
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
        lock(&self.nodes).iter().filter(|n| !n.retired).map(|n| n.spec.id).collect()
    }

    fn base_url(&self, id: u64) -> String {
        self.node(id).map(|n| format!("http://{}:{}", n.spec.ip, n.spec.http)).unwrap_or_default()
    }

    fn grpc_url(&self, id: u64) -> Option<String> {
        self.node(id).ok().map(|n| format!("http://{}:{}", n.spec.ip, n.spec.grpc))
    }

    fn admin_token(&self) -> String {
        self.admin.clone()
    }

    fn network_faults(&self) -> String {
        match &self.net {
            Net::Iptables(ipt) => format!("iptables (chain {})", ipt.chain()),
            Net::Filter(_, why) => format!("transport filter ({why})"),
        }
    }

    fn unsupported(&self, fault: Fault) -> Option<String> {
        match (&self.net, fault) {
            (Net::Filter(_, why), Fault::PacketLoss) => Some(format!("packet loss needs iptables; {why}")),
            (Net::Iptables(_), Fault::PacketDelay) => netem::unusable().map(|why| format!("{why}; or use --net filter")),
            _ => None,
        }
    }

    async fn cut(&self, from: u64, to: u64) -> anyhow::Result<()> {
        match &self.net {
            Net::Iptables(ipt) => {
                let ((f, _), (t, port)) = (self.addr(from)?, self.addr(to)?);
                ipt.cut(f, t, port)
            }
            Net::Filter(filters, _) => filters.cut(from, &self.base_url(from), to).await,
        }
    }

    async fn delay(&self, from: u64, to: u64, ms: u64) -> anyhow::Result<()> {
        match &self.net {
            Net::Filter(filters, _) => filters.delay(from, &self.base_url(from), to, ms).await,
            Net::Iptables(_) => self.netem.delay(self.addr(from)?.0, self.addr(to)?.0, ms),
        }
    }

    async fn lose(&self, a: u64, b: u64, probability: f64) -> anyhow::Result<()> {
        match &self.net {
            Net::Iptables(ipt) => ipt.lose(self.addr(a)?.0, self.addr(b)?.0, probability),
            Net::Filter(_, why) => bail!("packet loss needs iptables; {why}"),
        }
    }

    async fn heal_network(&self) -> anyhow::Result<()> {
        match &self.net {
            Net::Iptables(ipt) => {
                let delays = self.netem.clear();
                ipt.clear()?;
                delays
            }
            Net::Filter(filters, _) => {
                for from in filters.take_all() {
                    // A dead node comes back with no rules; a paused one is resumed first by heal_all.
                    if self.running(from) {
                        filters.clear(&self.base_url(from)).await?;
                    }
                }
                Ok(())
            }
        }
    }

    async fn kill(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        if let Some(mut c) = n.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        n.paused = false;
        drop(n);
        if let Net::Filter(filters, _) = &self.net {
            filters.forget(id);
        }
        Ok(())
    }

    async fn restart(&self, id: u64) -> anyhow::Result<()> {
        self.spawn(id)
    }

    async fn pause(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        let Some(c) = n.child.as_ref() else { bail!("node {id} is not running") };
        signal(c, libc::SIGSTOP)?;
        n.paused = true;
        Ok(())
    }

    async fn resume(&self, id: u64) -> anyhow::Result<()> {
        let mut n = self.node(id)?;
        if let Some(c) = n.child.as_ref() {
            signal(c, libc::SIGCONT)?;
        }
        n.paused = false;
        Ok(())
    }

    async fn roll(&self, id: u64) -> anyhow::Result<()> {
        self.stop(id).await?;
        if let Net::Filter(filters, _) = &self.net {
            filters.forget(id);
        }
        self.versions.upgrade(id);
        self.spawn(id)?;
        self.wait_for_ready(id, Instant::now() + Duration::from_secs(30)).await
    }

    fn protocol_version(&self, id: u64) -> u32 {
        self.versions.of(id)
    }

    async fn add_node(&self, via: u64) -> anyhow::Result<u64> {
        let (via_ip, via_peer) = self.addr(via)?;
        let id = {
            let mut all = lock(&self.nodes);
            let id = all.iter().map(|n| n.spec.id).max().unwrap_or(0) + 1;
            let ip = Ipv4Addr::new(127, 77, self.block, u8::try_from(10 + id).context("no loopback address left for a new node")?);
            let (http, grpc, peer) = (free_port(ip)?, free_port(ip)?, free_port(ip)?);
            let data_dir = self._dir.path().join(format!("node{id}"));
            all.push(Node::new(Spec { id, ip, http, grpc, peer, data_dir, join: Some(format!("{via_ip}:{via_peer}")) }));
            id
        };
        self.spawn(id)?;
        Ok(id)
    }

    async fn retire(&self, id: u64) -> anyhow::Result<()> {
        self.node(id)?.retired = true;
        if let Net::Filter(filters, _) = &self.net {
            filters.forget(id);
        }
        self.stop(id).await
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
                self.resume(id).await?;
            }
            if dead {
                self.kill(id).await?;
                self.spawn(id)?;
            }
        }
        self.heal_network().await
    }

    fn logs(&self) -> String {
        self.node_ids()
            .into_iter()
            .map(|id| format!("--- node {id} ---\n{}", tail(&self.log_dir.join(format!("node{id}.log")))))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn workers(&self) -> usize {
        self.workers.as_ref().map_or(0, Workers::count)
    }

    fn data_dirs(&self) -> Vec<(u64, PathBuf)> {
        lock(&self.nodes).iter().map(|n| (n.spec.id, n.spec.data_dir.clone())).collect()
    }
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        for n in lock(&self.nodes).iter_mut() {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
