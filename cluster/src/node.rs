//! [`ClusterNode`]: one Raft member with its storage, peer service and client
//! paths. Start-up order: open storage, start Raft, serve peers, then bootstrap
//! (founding members), join (new members) or simply rejoin (existing data).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hodei_proto::raft::v1::raft_service_server::RaftServiceServer;
use hodei_raft_store::{LogStore, NodeId, NodeInfo, Raft, StateMachineStore};
use openraft::ServerState;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ClusterConfig;
use crate::error::{ClusterError, LeaderHint};
use crate::filter::TransportFilter;
use crate::membership::{self, MembershipChange};
use crate::network::NetworkFactory;
use crate::peers::{PeerClients, MAX_MESSAGE};
use crate::server::PeerService;

/// A running cluster member. Cheap to clone; every clone is the same node.
#[derive(Clone)]
pub struct ClusterNode {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) id: NodeId,
    pub(crate) info: NodeInfo,
    pub(crate) raft: Raft,
    pub(crate) sm: StateMachineStore,
    /// A handle on the log Raft owns, for its write-round observer.
    pub(crate) log: LogStore,
    pub(crate) peers: PeerClients,
    pub(crate) filter: TransportFilter,
    pub(crate) config: ClusterConfig,
    /// Milliseconds since `started` at the last append-entries from a leader.
    pub(crate) last_leader_contact_ms: AtomicU64,
    /// Writes forwarded to the leader (see [`ClusterNode::forwarded_writes`]).
    pub(crate) forwarded_writes: AtomicU64,
    /// This node's stream of forwarded writes to the leader.
    pub(crate) forwards: crate::forward::ForwardStream,
    pub(crate) started: Instant,
    /// Worker leases (meaningful on the leader only).
    pub(crate) liveness: crate::liveness::Liveness,
    pub(crate) batcher: crate::batch::Batcher,
    /// Linearizable reads waiting for a shared read-index round.
    pub(crate) reads: crate::read_batch::ReadRounds,
    /// The leader's read lease, fed by the network's AppendEntries answers.
    pub(crate) lease: Arc<crate::lease::ReadLease>,
    /// The observer of this node's AppendEntries round trips as leader.
    append_observer: Arc<std::sync::OnceLock<crate::network::AppendObserver>>,
    presend: Arc<crate::presend::Presend>,
    /// Set once when the node stops; long-lived peer streams end on it.
    pub(crate) stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl ClusterNode {
    /// Opens storage under `config.data_dir`, starts Raft and serves the peer
    /// service on `peer_listener`. Returns once the node is serving; leadership
    /// and joining proceed in the background.
    pub async fn start(config: ClusterConfig, peer_listener: TcpListener) -> Result<Self, ClusterError> {
        let raft_config = Arc::new(config.timing.to_openraft()?);
        let storage_err = |e: hodei_raft_store::StorageError| ClusterError::Stopped(format!("storage: {e}"));
        let log = LogStore::open(&config.data_dir).await.map_err(storage_err)?;
        let sm = StateMachineStore::open(&config.data_dir).await.map_err(storage_err)?;
        sm.speak_protocol(config.protocol_version).map_err(ClusterError::Invalid)?;
        // Entries committed before this start are re-applied, not new assignments.
        sm.count_assignments_after(log.committed_index());
        let listen_ip = peer_listener.local_addr().map_err(|e| ClusterError::Stopped(format!("peer listener: {e}")))?.ip();
        let peers = PeerClients::from_listen_ip(listen_ip);
        let filter = TransportFilter::default();
        let min_append_ttl = Duration::from_millis(config.timing.election_timeout_min_ms);
        let lease = Arc::new(crate::lease::ReadLease::default());
        let append_observer = Arc::new(std::sync::OnceLock::new());
        let presend = Arc::new(crate::presend::Presend::default());
        let hook = presend.clone();
        log.on_leader_append(config.id, Box::new(move |append| hook.leader_appended(append)));
        let network = NetworkFactory {
            id: config.id,
            peers: peers.clone(),
            filter: filter.clone(),
            min_append_ttl,
            lease: lease.clone(),
            append_observer: append_observer.clone(),
            presend: presend.clone(),
        };
        let raft = Raft::new(config.id, raft_config, network, log.clone(), sm.clone())
            .await
            .map_err(|e| ClusterError::Stopped(format!("raft did not start: {e}")))?;
        let (stop, stop_rx) = watch::channel(false);
        let (batcher, batch_rx) = crate::batch::Batcher::new();
        let max_batch = config.max_batch.max(1);
        let node = ClusterNode {
            inner: Arc::new(Inner {
                id: config.id,
                info: config.info.clone(),
                raft,
                sm,
                log,
                peers,
                filter,
                config,
                last_leader_contact_ms: AtomicU64::new(u64::MAX),
                forwarded_writes: AtomicU64::new(0),
                forwards: Default::default(),
                started: Instant::now(),
                liveness: Default::default(),
                batcher,
                reads: Default::default(),
                lease,
                append_observer,
                presend,
                stop,
                tasks: Default::default(),
            }),
        };
        node.serve_peers(peer_listener, stop_rx);
        let batcher = tokio::spawn(crate::batch::run(Arc::downgrade(&node.inner), batch_rx, max_batch));
        node.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(batcher);
        node.bootstrap_or_join().await?;
        let advertiser = tokio::spawn(membership::advertise_self(node.clone()));
        let leader_loops = tokio::spawn(crate::leader::run(node.clone()));
        node.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()).extend([advertiser, leader_loops]);
        Ok(node)
    }

    fn serve_peers(&self, listener: TcpListener, mut stop: watch::Receiver<bool>) {
        let svc = RaftServiceServer::new(PeerService { node: self.clone() })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        // Nodelay on each accepted socket: the builder's setting does not reach an
        // incoming stream passed in, and Nagle would hold replies' trailers.
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let handle = tokio::spawn(async move {
            let result = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "peer service stopped");
            }
        });
        self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
    }

    async fn bootstrap_or_join(&self) -> Result<(), ClusterError> {
        let inner = &self.inner;
        let initialized = inner.raft.is_initialized().await.map_err(|e| ClusterError::Stopped(e.to_string()))?;
        if initialized {
            tracing::info!(id = inner.id, "data dir holds a cluster; rejoining it");
            return Ok(());
        }
        if let Some(target) = inner.config.join.clone() {
            let node = self.clone();
            let handle = tokio::spawn(async move { membership::join_through(node, target).await });
            inner.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
            return Ok(());
        }
        if !inner.config.initial_cluster.contains_key(&inner.id) {
            return Err(ClusterError::Invalid(format!(
                "node {} is not in the initial cluster and has no --join address",
                inner.id
            )));
        }
        // Every founding member proposes the same membership, so the entries at
        // index 0 are identical; addresses other than the peer's are filled in later
        // by `advertise_self`.
        let members: BTreeMap<NodeId, NodeInfo> = inner
            .config
            .initial_cluster
            .iter()
            .map(|(id, peer)| (*id, NodeInfo { peer_addr: peer.clone(), ..Default::default() }))
            .collect();
        match inner.raft.initialize(members).await {
            Ok(()) => tracing::info!(id = inner.id, "bootstrapped a new cluster"),
            Err(e) => tracing::info!(id = inner.id, error = %e, "cluster already initialized by a peer"),
        }
        Ok(())
    }

    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    pub fn info(&self) -> &NodeInfo {
        &self.inner.info
    }

    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// AppendEntries this node sent as leader before its own log sync, and how
    /// many of their answers openraft used (see `presend.rs`).
    pub fn presend_counts(&self) -> crate::presend::PresendCounts {
        self.inner.presend.counts()
    }

    /// Registers the observer of the AppendEntries round trips this node makes
    /// as leader; only the first call takes effect, later ones return false.
    pub fn observe_peer_appends(&self, observer: crate::network::AppendObserver) -> bool {
        self.inner.append_observer.set(observer).is_ok()
    }

    /// Registers the observer of the Raft log's write rounds (append and fsync
    /// latency); only the first call takes effect, later ones return false.
    pub fn observe_log_rounds(&self, observer: hodei_raft_store::log::RoundObserver) -> bool {
        self.inner.log.observe_rounds(observer)
    }

    /// Registers the observer of snapshots built and installed (size and
    /// duration); only the first call takes effect, later ones return false.
    pub fn observe_snapshots(&self, observer: hodei_raft_store::sm::SnapshotObserver) -> bool {
        self.inner.sm.observe_snapshots(observer)
    }

    /// The last log index this node knows to be committed: what openraft saved
    /// in the log store before applying (a follower learns it from the leader,
    /// so it may trail the leader's; 0: none).
    pub fn committed_index(&self) -> u64 {
        self.inner.log.committed_index()
    }

    pub fn state_machine(&self) -> &StateMachineStore {
        &self.inner.sm
    }

    /// The fault-injection filter on this node's outgoing peer messages.
    pub fn filter(&self) -> &TransportFilter {
        &self.inner.filter
    }

    pub fn is_leader(&self) -> bool {
        let m = self.inner.raft.metrics();
        let m = m.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.inner.id)
    }

    /// The leader as this node last heard of it, with its addresses when known.
    pub fn leader_hint(&self) -> Option<LeaderHint> {
        let m = self.inner.raft.metrics();
        let m = m.borrow();
        let id = m.current_leader?;
        let node = m.membership_config.membership().get_node(&id).cloned();
        Some(LeaderHint { id, node })
    }

    /// A client for the leader's peer service, past this node's transport filter
    /// (a cut link answers `Unavailable` with the leader hint, as a dead one would).
    pub(crate) async fn leader_client(&self, leader: NodeId) -> Result<crate::peers::PeerClient, ClusterError> {
        let addr = self.leader_addr(leader).await?;
        self.inner.peers.client(&addr)
    }

    /// The leader's peer address, past this node's transport filter (see
    /// [`ClusterNode::leader_client`]).
    pub(crate) async fn leader_addr(&self, leader: NodeId) -> Result<String, ClusterError> {
        let hint = self.leader_hint();
        let Some(addr) = hint.as_ref().and_then(|h| h.node.as_ref()).map(|n| n.peer_addr.clone()).filter(|a| !a.is_empty()) else {
            return Err(ClusterError::unavailable(format!("no address for leader {leader}"), hint));
        };
        match self.inner.filter.verdict(leader) {
            crate::filter::Verdict::Pass => {}
            crate::filter::Verdict::Drop => return Err(ClusterError::unavailable("leader unreachable", hint)),
            crate::filter::Verdict::Delay(d) => tokio::time::sleep(d).await,
        }
        Ok(addr)
    }

    /// Milliseconds since a leader last sent this node entries or a heartbeat
    /// (0 on the leader itself; `None` if never).
    pub fn last_leader_contact_ms(&self) -> Option<u64> {
        if self.is_leader() {
            return Some(0);
        }
        let at = self.inner.last_leader_contact_ms.load(Ordering::Relaxed);
        (at != u64::MAX).then(|| (self.inner.started.elapsed().as_millis() as u64).saturating_sub(at))
    }

    pub(crate) fn note_leader_contact(&self) {
        let now = self.inner.started.elapsed().as_millis() as u64;
        self.inner.last_leader_contact_ms.store(now, Ordering::Relaxed);
    }

    /// Applies a membership change through the leader (forwarded if needed) and
    /// waits until this node has applied it, so its own view shows the change.
    /// A node removing itself does not wait: it will never apply its own removal.
    pub async fn change_membership(&self, change: MembershipChange) -> Result<u64, ClusterError> {
        let removes_self = change == MembershipChange::Remove { id: self.id() };
        let index = membership::change(self, change).await?;
        if !removes_self {
            self.wait_applied(index, Instant::now() + self.inner.config.write_timeout).await?;
        }
        Ok(index)
    }

    /// Stops Raft and the peer service. Idempotent.
    pub async fn shutdown(&self) {
        let _ = self.inner.stop.send(true);
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        let tasks: Vec<_> = std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
    }
}

/// The leader's wall clock, the only time that enters the replicated state.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Waits until this node knows a leader, or the deadline passes.
pub(crate) async fn wait_for_leader(raft: &Raft, until: Instant) -> Option<NodeId> {
    // The usual case, without the waiter's copy of the metrics.
    if let Some(leader) = raft.metrics().borrow().current_leader {
        return Some(leader);
    }
    let remaining = until.saturating_duration_since(Instant::now());
    let m = raft
        .wait(Some(remaining.max(Duration::from_millis(1))))
        .metrics(|m| m.current_leader.is_some(), "a leader is known")
        .await
        .ok()?;
    m.current_leader
}
