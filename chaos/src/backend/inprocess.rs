//! Nodes inside this process: each a [`ClusterNode`] with its REST router on a
//! loopback port, its own data dir, and its transport filter for cuts. Nothing
//! to build or install, and no process to spawn, so a campaign starts in
//! milliseconds; the fault schedule and the clients' choices are seeded as for
//! any backend (thread scheduling is not).
//!
//! - cut: the sender's [`TransportFilter`] drops Raft messages to the target;
//! - kill and roll: the node is stopped (REST server, then Raft) and started
//!   again on the same data dir and ports. Both are clean stops here: no torn
//!   write, unlike a SIGKILL;
//! - add a node: a fresh `ClusterNode` with the next id and its own data dir,
//!   joining through a member (`join`); retire: stopped for good after the
//!   cluster removed it (its data dir stays for the committed log);
//! - pause and packet loss are not available (one process cannot freeze one
//!   node; the filter drops whole links only).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use hodei_api::{App, Authenticator};
use hodei_cluster::{ClusterConfig, ClusterNode, LinkRule, NodeInfo, RaftTiming};

use super::{lock, new_secret, wait_until_ready, Backend};
use crate::client::Rest;
use crate::nemesis::Fault;

struct Running {
    node: ClusterNode,
    rest: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

struct Spec {
    peer: SocketAddr,
    http: SocketAddr,
    data_dir: PathBuf,
    /// The member's peer address a node added later joins through; `None` for
    /// the founding members.
    join: Option<String>,
    /// The sockets that picked `peer` and `http`, held until the first launch
    /// so that no other socket (a connection's ephemeral port) can take them.
    reserved_peer: Reserved,
    reserved_http: Reserved,
}

type Reserved = std::sync::Mutex<Option<std::net::TcpListener>>;

impl Spec {
    fn new(data_dir: PathBuf, join: Option<String>) -> anyhow::Result<Spec> {
        let (peer, http) = (std::net::TcpListener::bind("127.0.0.1:0")?, std::net::TcpListener::bind("127.0.0.1:0")?);
        Ok(Spec {
            peer: peer.local_addr()?,
            http: http.local_addr()?,
            data_dir,
            join,
            reserved_peer: std::sync::Mutex::new(Some(peer)),
            reserved_http: std::sync::Mutex::new(Some(http)),
        })
    }
}

/// The listener reserved for `addr` on its first use, else a new bind.
async fn listen(reserved: &Reserved, addr: SocketAddr, deadline: Instant) -> anyhow::Result<TcpListener> {
    let held = reserved.lock().unwrap_or_else(|e| e.into_inner()).take();
    match held {
        Some(l) => {
            l.set_nonblocking(true)?;
            Ok(TcpListener::from_std(l)?)
        }
        None => bind(addr, deadline).await,
    }
}

/// One node, running or not, for the whole campaign.
struct Slot {
    id: u64,
    spec: Spec,
    running: Mutex<Option<Running>>,
    /// Removed from the cluster and stopped for good.
    retired: AtomicBool,
}

pub struct InProcessBackend {
    _dir: tempfile::TempDir,
    secret: Vec<u8>,
    admin: String,
    rest: Rest,
    initial_cluster: BTreeMap<u64, String>,
    /// Every node ever started; node `id` is at index `id - 1`.
    slots: RwLock<Vec<Arc<Slot>>>,
    /// from -> to -> what happens to what `from` sends to `to`.
    cuts: std::sync::Mutex<BTreeMap<u64, BTreeMap<u64, LinkRule>>>,
    versions: super::versions::Versions,
}

/// Binds `addr`, retrying for up to 10 s while a stopped node's socket lingers.
async fn bind(addr: SocketAddr, deadline: Instant) -> anyhow::Result<TcpListener> {
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) if Instant::now() >= deadline => return Err(e).with_context(|| format!("bind {addr}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

impl InProcessBackend {
    /// Sets what `from` does with what it sends to `to`; a drop is never
    /// weakened to a delay.
    async fn set_rule(&self, from: u64, to: u64, rule: LinkRule) -> anyhow::Result<()> {
        let rules = {
            let mut cuts = lock(&self.cuts);
            let r = cuts.entry(from).or_default().entry(to).or_insert(rule);
            if *r != LinkRule::Drop {
                *r = rule;
            }
            cuts[&from].clone()
        };
        let Some(node) = self.node(from).await? else { bail!("node {from} is not running") };
        node.filter().set_rules(rules);
        Ok(())
    }

    /// Starts `nodes` nodes (at protocol version `from_protocol`, or this
    /// build's) and waits (at most 30 s) until each answers `/ready`.
    pub async fn start(nodes: usize, from_protocol: Option<u32>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("temp dir for the nodes")?;
        let (secret, admin) = new_secret()?;
        let mut specs = Vec::new();
        for id in 1..=nodes as u64 {
            specs.push(Spec::new(dir.path().join(format!("node{id}")), None)?);
        }
        let initial_cluster = (1..).zip(&specs).map(|(id, s)| (id, s.peer.to_string())).collect();
        let slots = (1..).zip(specs).map(|(id, spec)| Arc::new(Slot::new(id, spec))).collect();
        let backend = InProcessBackend {
            _dir: dir,
            secret,
            rest: Rest::new(admin.clone(), Duration::from_secs(2))?,
            admin,
            initial_cluster,
            slots: RwLock::new(slots),
            cuts: std::sync::Mutex::new(BTreeMap::new()),
            versions: super::versions::Versions::new(from_protocol, 1..=nodes as u64)?,
        };
        for id in backend.node_ids() {
            backend.launch(id).await?;
        }
        for id in backend.node_ids() {
            backend.wait_for_ready(id).await?;
        }
        Ok(backend)
    }

    fn slot(&self, id: u64) -> anyhow::Result<Arc<Slot>> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.get((id as usize).wrapping_sub(1)).cloned().with_context(|| format!("no node {id}"))
    }

    fn all_slots(&self) -> Vec<Arc<Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn wait_for_ready(&self, id: u64) -> anyhow::Result<()> {
        wait_until_ready(&self.rest, id, &self.base_url(id), Instant::now() + Duration::from_secs(30), || None).await
    }

    /// Starts node `id` and waits until it answers `/ready`.
    async fn start_node(&self, id: u64) -> anyhow::Result<()> {
        self.launch(id).await?;
        self.wait_for_ready(id).await
    }

    /// Starts node `id` on its data dir, unless it runs or was retired; storage
    /// a just-stopped node still holds is retried for up to 10 s.
    async fn launch(&self, id: u64) -> anyhow::Result<()> {
        let slot = self.slot(id)?;
        let spec = &slot.spec;
        let mut running = slot.running.lock().await;
        if running.is_some() || slot.retired.load(Ordering::Relaxed) {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let info = NodeInfo { peer_addr: spec.peer.to_string(), http_addr: spec.http.to_string(), grpc_addr: String::new() };
        let config = ClusterConfig {
            id,
            info,
            data_dir: spec.data_dir.clone(),
            initial_cluster: self.initial_cluster.clone(),
            join: spec.join.clone(),
            timing: RaftTiming::default(),
            protocol_version: self.versions.of(id),
            max_batch: hodei_cluster::batch::DEFAULT_MAX_BATCH,
            write_timeout: Duration::from_secs(5),
            // No declared pools or settings: the campaign's workload creates what it uses.
            bootstrap: Default::default(),
        };
        let node = loop {
            let peer = listen(&spec.reserved_peer, spec.peer, deadline).await?;
            match ClusterNode::start(config.clone(), peer).await {
                Ok(node) => break node,
                Err(e) if Instant::now() >= deadline => bail!("node {id} did not start: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let http = listen(&spec.reserved_http, spec.http, deadline).await?;
        let app = App { cluster: node.clone(), auth: Authenticator::hs256(&self.secret), fault_injection: true };
        let (stop, mut stopped) = watch::channel(false);
        let router = hodei_api::rest::router(app, 1024 * 1024);
        let rest = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let _ = axum::serve(http, router).with_graceful_shutdown(shutdown).await;
        });
        *running = Some(Running { node, rest, stop });
        Ok(())
    }

    /// Stops node `id`: its REST server (up to 5 s for calls in flight), then Raft.
    async fn stop_node(&self, id: u64) -> anyhow::Result<()> {
        let Some(r) = self.slot(id)?.running.lock().await.take() else { return Ok(()) };
        let _ = r.stop.send(true);
        let mut rest = r.rest;
        if tokio::time::timeout(Duration::from_secs(5), &mut rest).await.is_err() {
            rest.abort();
        }
        r.node.shutdown().await;
        lock(&self.cuts).remove(&id);
        Ok(())
    }

    /// Node `id`'s handle while it runs: for scenarios that propose commands
    /// (worker reports, placements) no REST route offers.
    pub async fn node(&self, id: u64) -> anyhow::Result<Option<ClusterNode>> {
        Ok(self.slot(id)?.running.lock().await.as_ref().map(|r| r.node.clone()))
    }
}

impl Slot {
    fn new(id: u64, spec: Spec) -> Self {
        Slot { id, spec, running: Mutex::new(None), retired: AtomicBool::new(false) }
    }
}

impl Backend for InProcessBackend {
    fn node_ids(&self) -> Vec<u64> {
        self.all_slots().iter().filter(|s| !s.retired.load(Ordering::Relaxed)).map(|s| s.id).collect()
    }

    fn base_url(&self, id: u64) -> String {
        self.slot(id).map(|s| format!("http://{}", s.spec.http)).unwrap_or_default()
    }

    fn admin_token(&self) -> String {
        self.admin.clone()
    }

    fn network_faults(&self) -> String {
        "transport filter (in-process)".into()
    }

    fn unsupported(&self, fault: Fault) -> Option<String> {
        match fault {
            Fault::PauseResume => Some("one process cannot freeze one of its nodes".into()),
            Fault::PacketLoss => Some("the transport filter drops whole links, not a share of packets".into()),
            _ => None,
        }
    }

    async fn cut(&self, from: u64, to: u64) -> anyhow::Result<()> {
        self.set_rule(from, to, LinkRule::Drop).await
    }

    async fn delay(&self, from: u64, to: u64, ms: u64) -> anyhow::Result<()> {
        self.set_rule(from, to, LinkRule::Delay { ms }).await
    }

    async fn lose(&self, _a: u64, _b: u64, _probability: f64) -> anyhow::Result<()> {
        bail!("in-process backend: packet loss is not available")
    }

    async fn heal_network(&self) -> anyhow::Result<()> {
        lock(&self.cuts).clear();
        for id in self.node_ids() {
            if let Some(node) = self.node(id).await? {
                node.filter().heal();
            }
        }
        Ok(())
    }

    async fn kill(&self, id: u64) -> anyhow::Result<()> {
        self.stop_node(id).await
    }

    async fn restart(&self, id: u64) -> anyhow::Result<()> {
        self.start_node(id).await
    }

    async fn pause(&self, _id: u64) -> anyhow::Result<()> {
        bail!("in-process backend: pause is not available")
    }

    async fn resume(&self, _id: u64) -> anyhow::Result<()> {
        Ok(())
    }

    async fn roll(&self, id: u64) -> anyhow::Result<()> {
        self.stop_node(id).await?;
        self.versions.upgrade(id);
        self.start_node(id).await
    }

    fn protocol_version(&self, id: u64) -> u32 {
        self.versions.of(id)
    }

    async fn add_node(&self, via: u64) -> anyhow::Result<u64> {
        let join = Some(self.slot(via)?.spec.peer.to_string());
        let id = {
            let mut slots = self.slots.write().unwrap_or_else(|e| e.into_inner());
            let id = slots.len() as u64 + 1;
            let spec = Spec::new(self._dir.path().join(format!("node{id}")), join)?;
            slots.push(Arc::new(Slot::new(id, spec)));
            id
        };
        self.launch(id).await?;
        Ok(id)
    }

    async fn retire(&self, id: u64) -> anyhow::Result<()> {
        self.slot(id)?.retired.store(true, Ordering::Relaxed);
        self.stop_node(id).await
    }

    async fn heal_all(&self) -> anyhow::Result<()> {
        for id in self.node_ids() {
            self.launch(id).await?;
        }
        self.heal_network().await
    }

    fn logs(&self) -> String {
        "(in-process nodes log through this process's tracing subscriber, if any)".into()
    }

    fn data_dirs(&self) -> Vec<(u64, std::path::PathBuf)> {
        self.all_slots().iter().map(|s| (s.id, s.spec.data_dir.clone())).collect()
    }
}

impl Drop for InProcessBackend {
    fn drop(&mut self) {
        // Drop cannot wait: each node's stop runs on the runtime, if one is left.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        for slot in self.all_slots() {
            if let Some(r) = slot.running.try_lock().ok().and_then(|mut s| s.take()) {
                let _ = r.stop.send(true);
                r.rest.abort();
                runtime.spawn(async move { r.node.shutdown().await });
            }
        }
    }
}
