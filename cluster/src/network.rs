//! openraft's network: each Raft RPC becomes a unary gRPC call on the peer
//! service, its openraft request and reply carried as versioned payloads
//! ([`crate::codec`]). The [`TransportFilter`] sits in front of every send.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

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

use crate::codec;
use crate::filter::{TransportFilter, Verdict};
use crate::lease::ReadLease;
use crate::peers::{PeerClient, PeerClients};

/// Called with the follower and the round trip of each AppendEntries call
/// (heartbeats included) that this node made as leader and the follower
/// answered: encoding, both network legs, the follower's log append and fsync.
pub type AppendObserver = Box<dyn Fn(NodeId, Duration) + Send + Sync>;

/// Builds one [`PeerNetwork`] per replication target.
pub struct NetworkFactory {
    pub(crate) id: NodeId,
    pub(crate) peers: PeerClients,
    pub(crate) filter: TransportFilter,
    /// The least time an AppendEntries call gets; see [`PeerNetwork::min_append_ttl`].
    pub(crate) min_append_ttl: Duration,
    /// Told of every AppendEntries a follower answered, for lease reads.
    pub(crate) lease: Arc<ReadLease>,
    pub(crate) append_observer: Arc<OnceLock<AppendObserver>>,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> PeerNetwork {
        PeerNetwork {
            id: self.id,
            target,
            addr: node.peer_addr.clone(),
            client: self.peers.client(&node.peer_addr).ok(),
            filter: self.filter.clone(),
            min_append_ttl: self.min_append_ttl,
            lease: self.lease.clone(),
            append_observer: self.append_observer.clone(),
        }
    }
}

pub struct PeerNetwork {
    id: NodeId,
    target: NodeId,
    addr: String,
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

impl PeerNetwork {
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        match self.filter.verdict(self.target) {
            Verdict::Pass => {}
            Verdict::Drop => {
                let e = std::io::Error::other(format!("link {}->{} cut by filter", self.id, self.target));
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Verdict::Delay(d) => tokio::time::sleep(d).await,
        }
        let Some(client) = self.client.as_mut() else {
            let e = std::io::Error::other(format!("bad peer address {:?}", self.addr));
            return Err(RPCError::Unreachable(Unreachable::new(&e)));
        };
        let payload = codec::encode(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let ttl = match rpc {
            Rpc::Append => option.hard_ttl().max(self.min_append_ttl),
            Rpc::Vote | Rpc::Snapshot => option.hard_ttl(),
        };
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
        let result: Result<Resp, RaftError<NodeId, E>> =
            codec::decode(&reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn timeout(&self, rpc: Rpc, ttl: Duration) -> Timeout<NodeId> {
        let action = match rpc {
            Rpc::Append => RPCTypes::AppendEntries,
            Rpc::Vote => RPCTypes::Vote,
            Rpc::Snapshot => RPCTypes::InstallSnapshot,
        };
        Timeout { action, id: self.id, target: self.target, timeout: ttl }
    }
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        let sent = Instant::now();
        let reply = self.call(Rpc::Append, &rpc, &option).await;
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

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, NodeInfo, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Rpc::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}
