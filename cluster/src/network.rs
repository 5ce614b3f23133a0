//! openraft's network: each Raft RPC becomes a unary gRPC call on the peer
//! service, its openraft request and reply carried as versioned payloads
//! ([`crate::codec`]); a leader's presends go on one `AppendStream` per
//! follower instead ([`Link::append`]). The [`TransportFilter`] sits in front
//! of every send.
//!
//! **Commit-only heartbeats go in the background.** When the leader's commit
//! index moves and a follower's replication stream has nothing else to send,
//! openraft 0.9 sends it an empty AppendEntries carrying the new commit index,
//! and keeps one call in flight per follower: the next entry waits until that
//! heartbeat is answered, so every entry cost two round trips. Such a call
//! (no entries, a commit index this stream has not sent before, the follower's
//! last answered call a success) is now sent from a task of its own and
//! reported to openraft as a success at once; the next entry goes out while
//! it flies. At most one is in flight per follower; while it is, the next
//! such heartbeat is sent the usual way. Safe because:
//! - The follower learns the commit index as before (Raft tolerates the two
//!   calls arriving in either order: a follower's commit and accepted ids only
//!   grow, and an empty AppendEntries truncates nothing).
//! - Only a real answer extends the read lease ([`ReadLease::acked`]).
//!   openraft's own leadership check (`get_read_log_id`) builds a fresh
//!   network per call, whose first call is always awaited.
//! - The commit it carries was acknowledged by a quorum a round trip earlier;
//!   openraft's `millis_since_quorum_ack` can read at most that much younger.
//! - A failed or refused background call marks the follower unhealthy, so the
//!   next heartbeat is awaited and openraft sees the failure (a higher vote
//!   included) and backs off or steps down as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hodei_proto::raft::v1::Payload;
use hodei_raft_store::{NodeId, NodeInfo, TypeConfig};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::codec;
use crate::filter::{TransportFilter, Verdict};
use crate::lease::ReadLease;
use crate::peers::{PeerClient, PeerClients};
use crate::presend::Presend;

/// Called with the follower and the round trip of each AppendEntries call
/// (heartbeats included) that this node made as leader and the follower
/// answered: encoding, both network legs, the follower's log append and fsync.
pub type AppendObserver = Box<dyn Fn(NodeId, Duration) + Send + Sync>;

/// Builds one [`PeerNetwork`] per replication target.
pub struct NetworkFactory {
    pub(crate) id: NodeId,
    pub(crate) peers: PeerClients,
    pub(crate) filter: TransportFilter,
    /// The least time an AppendEntries call gets; see `Link::min_append_ttl`.
    pub(crate) min_append_ttl: Duration,
    /// Told of every AppendEntries a follower answered, for lease reads.
    pub(crate) lease: Arc<ReadLease>,
    pub(crate) append_observer: Arc<OnceLock<AppendObserver>>,
    /// A leader's entries sent before its own sync (see [`crate::presend`]).
    pub(crate) presend: Arc<Presend>,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> PeerNetwork {
        let network = PeerNetwork {
            link: Link {
                id: self.id,
                target,
                addr: node.peer_addr.clone(),
                client: self.peers.client(&node.peer_addr).ok(),
                filter: self.filter.clone(),
                min_append_ttl: self.min_append_ttl,
                lease: self.lease.clone(),
                append_observer: self.append_observer.clone(),
            },
            commit_sent: None,
            healthy: Arc::new(AtomicBool::new(false)),
            background: Arc::new(AtomicBool::new(false)),
            presend: self.presend.clone(),
        };
        self.presend.opened(&network.link);
        network
    }
}

/// openraft's network to one peer: a replication stream, or one call of a
/// leadership check.
pub struct PeerNetwork {
    link: Link,
    /// The highest commit index this network has sent.
    commit_sent: Option<u64>,
    /// The last AppendEntries answered was a success (false until one is).
    healthy: Arc<AtomicBool>,
    /// A commit-only heartbeat is in flight in the background.
    background: Arc<AtomicBool>,
    presend: Arc<Presend>,
}

impl Drop for PeerNetwork {
    fn drop(&mut self) {
        self.presend.closed(self.link.target);
    }
}

/// Everything a call to one peer needs; cheap to clone into a background task.
#[derive(Clone)]
pub(crate) struct Link {
    id: NodeId,
    pub(crate) target: NodeId,
    pub(crate) addr: String,
    /// `None` when the address in the membership does not parse.
    client: Option<PeerClient>,
    filter: TransportFilter,
    /// openraft gives an AppendEntries call one heartbeat interval. A batch
    /// that takes longer (a busy follower, a slow fsync) then times out and is
    /// sent again, over and over, and commits stall while every node is up: seen
    /// with a 50 ms heartbeat under load. The election timeout's minimum is the
    /// floor: a call slower than that has failed by any measure.
    min_append_ttl: Duration,
    lease: Arc<ReadLease>,
    append_observer: Arc<OnceLock<AppendObserver>>,
}

#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

pub(crate) type AppendResult = Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>>;

impl Link {
    /// The transport filter's verdict on a send to this peer: `Err` when it
    /// cuts the link; a delay is waited out here.
    async fn filter(&self) -> Result<(), Unreachable> {
        match self.filter.verdict(self.target) {
            Verdict::Pass => Ok(()),
            Verdict::Drop => {
                let e = std::io::Error::other(format!("link {}->{} cut by filter", self.id, self.target));
                Err(Unreachable::new(&e))
            }
            Verdict::Delay(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }

    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        ttl: Duration,
    ) -> Result<Resp, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        self.filter().await.map_err(RPCError::Unreachable)?;
        let Some(client) = self.client.as_mut() else {
            let e = std::io::Error::other(format!("bad peer address {:?}", self.addr));
            return Err(RPCError::Unreachable(Unreachable::new(&e)));
        };
        let payload = codec::encode(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let fut = async {
            match rpc {
                Rpc::Append => client.append_entries(payload).await,
                Rpc::Vote => client.vote(payload).await,
                Rpc::Snapshot => client.install_snapshot(payload).await,
            }
        };
        let reply = match tokio::time::timeout(ttl, fut).await {
            Err(_) => return Err(RPCError::Timeout(self.timeout(rpc, ttl))),
            Ok(Err(status)) => return Err(RPCError::Unreachable(Unreachable::new(&status))),
            Ok(Ok(reply)) => reply.into_inner(),
        };
        self.decode_reply(&reply)
    }

    fn decode_reply<Resp, E>(&self, reply: &Payload) -> Result<Resp, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>
    where
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let result: Result<Resp, RaftError<NodeId, E>> =
            codec::decode(reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// An AppendEntries on the follower's `AppendStream`, opened on first use
    /// and closed after any failure or timeout (a late reply must not be
    /// taken for the next request's). A follower whose build lacks the
    /// stream gets unary calls, and the stream is tried again after
    /// [`STREAM_RETRY_AFTER`] (a rolling upgrade may have replaced it).
    async fn append_streamed(&mut self, slot: &StreamSlot, rpc: &AppendEntriesRequest<TypeConfig>, ttl: Duration) -> AppendResult {
        let mut stream = slot.lock().await;
        if let AppendStream::Unsupported { since } = *stream {
            if since.elapsed() < STREAM_RETRY_AFTER {
                drop(stream);
                return self.call(Rpc::Append, rpc, ttl).await;
            }
            *stream = AppendStream::Closed;
        }
        self.filter().await.map_err(RPCError::Unreachable)?;
        let payload = codec::encode(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        match tokio::time::timeout(ttl, self.exchange(&mut stream, payload)).await {
            Ok(Ok(reply)) => self.decode_reply(&reply),
            Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => {
                tracing::info!(target = self.target, "peer has no append stream; presends use unary calls");
                *stream = AppendStream::Unsupported { since: Instant::now() };
                drop(stream);
                self.call(Rpc::Append, rpc, ttl).await
            }
            Ok(Err(status)) => {
                *stream = AppendStream::Closed;
                Err(RPCError::Unreachable(Unreachable::new(&status)))
            }
            Err(_) => {
                *stream = AppendStream::Closed;
                Err(RPCError::Timeout(self.timeout(Rpc::Append, ttl)))
            }
        }
    }

    /// Sends one request on the stream (opening it if closed) and reads the
    /// reply at the same position.
    async fn exchange(&mut self, stream: &mut AppendStream, payload: Payload) -> Result<Payload, tonic::Status> {
        if let AppendStream::Closed = stream {
            let Some(client) = self.client.as_mut() else {
                return Err(tonic::Status::unavailable(format!("bad peer address {:?}", self.addr)));
            };
            let (requests, rx) = mpsc::channel(1);
            let replies = client.append_stream(ReceiverStream::new(rx)).await?.into_inner();
            *stream = AppendStream::Open { requests, replies };
        }
        let AppendStream::Open { requests, replies } = stream else {
            return Err(tonic::Status::internal("append stream not open"));
        };
        requests.send(payload).await.map_err(|_| tonic::Status::unavailable("append stream closed"))?;
        replies.message().await?.ok_or_else(|| tonic::Status::unavailable("append stream ended by the peer"))
    }

    fn timeout(&self, rpc: Rpc, ttl: Duration) -> Timeout<NodeId> {
        let action = match rpc {
            Rpc::Append => RPCTypes::AppendEntries,
            Rpc::Vote => RPCTypes::Vote,
            Rpc::Snapshot => RPCTypes::InstallSnapshot,
        };
        Timeout { action, id: self.id, target: self.target, timeout: ttl }
    }

    /// One AppendEntries, unary or on `stream` when given (see
    /// [`Link::append_streamed`]); a real answer feeds the observer and the lease.
    pub(crate) async fn append(
        &mut self,
        rpc: &AppendEntriesRequest<TypeConfig>,
        ttl: Duration,
        stream: Option<&StreamSlot>,
    ) -> AppendResult {
        let sent = Instant::now();
        let ttl = ttl.max(self.min_append_ttl);
        let reply = match stream {
            Some(slot) => self.append_streamed(slot, rpc, ttl).await,
            None => self.call(Rpc::Append, rpc, ttl).await,
        };
        if let (Ok(_), Some(observe)) = (&reply, self.append_observer.get()) {
            observe(self.target, sent.elapsed());
        }
        // Any answer but a higher vote means the follower took this leader's
        // term at some time after `sent`.
        if rpc.vote.is_committed() && matches!(&reply, Ok(r) if !matches!(r, AppendEntriesResponse::HigherVote(_))) {
            self.lease.acked(self.target, rpc.vote.leader_id().term, sent);
        }
        reply
    }
}

/// A leader's `AppendStream` to one follower (see `raft.proto`).
#[derive(Default)]
pub(crate) enum AppendStream {
    #[default]
    Closed,
    Open { requests: mpsc::Sender<Payload>, replies: tonic::Streaming<Payload> },
    /// The follower answered `Unimplemented` (an older build) at `since`:
    /// unary calls until [`STREAM_RETRY_AFTER`] has passed.
    Unsupported { since: Instant },
}

/// How long a follower without `AppendStream` gets unary presends before the
/// stream is tried again.
pub(crate) const STREAM_RETRY_AFTER: Duration = Duration::from_secs(30);

impl AppendStream {
    pub(crate) fn is_open(&self) -> bool {
        matches!(self, AppendStream::Open { .. })
    }
}

/// One stream's state, held while a request on it waits for its reply.
pub(crate) type StreamSlot = Arc<tokio::sync::Mutex<AppendStream>>;

#[cfg(test)]
impl Link {
    /// A link to `target` with no client: every call fails as unreachable.
    pub(crate) fn unreachable(target: NodeId, addr: &str) -> Link {
        Link::with_client(target, addr, None)
    }

    /// A link to the peer service at `addr` (connected on first use; call
    /// within a Tokio runtime).
    pub(crate) fn to(target: NodeId, addr: &str) -> Link {
        let client = PeerClients::from_listen_ip(std::net::Ipv4Addr::LOCALHOST.into()).client(addr).ok();
        Link::with_client(target, addr, client)
    }

    fn with_client(target: NodeId, addr: &str, client: Option<PeerClient>) -> Link {
        Link {
            id: 1,
            target,
            addr: addr.into(),
            client,
            filter: TransportFilter::default(),
            min_append_ttl: Duration::from_millis(100),
            lease: Arc::default(),
            append_observer: Arc::default(),
        }
    }
}

/// A success: the follower holds what the call asked it to.
fn succeeded(reply: &AppendResult) -> bool {
    matches!(reply, Ok(AppendEntriesResponse::Success | AppendEntriesResponse::PartialSuccess(_)))
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(&mut self, rpc: AppendEntriesRequest<TypeConfig>, option: RPCOption) -> AppendResult {
        let commit = rpc.leader_commit.map(|c| c.index);
        let new_commit = commit > self.commit_sent;
        self.commit_sent = self.commit_sent.max(commit);
        let commit_only = rpc.entries.is_empty() && new_commit && self.healthy.load(Ordering::Acquire);
        if commit_only && self.background.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            let (mut link, healthy, background) = (self.link.clone(), self.healthy.clone(), self.background.clone());
            let ttl = option.hard_ttl();
            tokio::spawn(async move {
                if !succeeded(&link.append(&rpc, ttl, None).await) {
                    healthy.store(false, Ordering::Release);
                }
                background.store(false, Ordering::Release);
            });
            return Ok(AppendEntriesResponse::Success);
        }
        if let Some(answer) = self.presend.take(self.link.target, &rpc) {
            // The same request went out when the leader's log took its entries.
            let ttl = option.hard_ttl().max(self.link.min_append_ttl);
            if let Ok(Ok(reply @ Ok(AppendEntriesResponse::Success))) = tokio::time::timeout(ttl, answer).await {
                self.healthy.store(true, Ordering::Release);
                self.presend.used();
                return reply;
            }
        }
        let reply = self.link.append(&rpc, option.hard_ttl(), None).await;
        self.healthy.store(succeeded(&reply), Ordering::Release);
        self.presend.answered(self.link.target, &rpc, &reply);
        reply
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, NodeInfo, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.link.call(Rpc::Snapshot, &rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        self.link.call(Rpc::Vote, &rpc, option.hard_ttl()).await
    }
}
