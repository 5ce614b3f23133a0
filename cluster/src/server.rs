//! The peer service (`hodei.raft.v1.RaftService`): Raft RPCs into openraft, plus
//! forwarded writes, membership changes, read index and status for other nodes.
//! `AppendStream` carries a leader's presends (`crate::presend`) on one
//! long-lived stream, answered in order; `ForwardStream` a follower's
//! forwarded writes (`crate::forward`), answered as each is done.

use std::pin::Pin;
use std::time::Instant;

use hodei_proto::raft::v1::raft_service_server::RaftService;
use hodei_proto::raft::v1::{ForwardFrame, Payload, ReadIndexReply, ReadIndexRequest, StatusReply, StatusRequest};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use hodei_raft_store::TypeConfig;

use crate::codec;
use crate::error::ClusterError;
use crate::membership::{self, MembershipChange};
use crate::node::ClusterNode;
use crate::write::{ForwardRequest, Written};

pub(crate) struct PeerService {
    pub(crate) node: ClusterNode,
}

fn reply<T: serde::Serialize>(value: &T) -> Result<Response<Payload>, Status> {
    Ok(Response::new(codec::encode(value)?))
}

/// Answers to the AppendEntries on one `AppendStream`, in the order they came.
type AppendReplies = Pin<Box<dyn tokio_stream::Stream<Item = Result<Payload, Status>> + Send>>;

/// Answers to the writes on one `ForwardStream`, each as its write is done.
type ForwardAnswers = Pin<Box<dyn tokio_stream::Stream<Item = Result<ForwardFrame, Status>> + Send>>;

/// Answers queued for a `ForwardStream` before the writes finishing wait for room.
const ANSWERS_QUEUED: usize = 1024;

/// The next message on a peer's stream; `None` once the stream ends or
/// fails, or this node stops (a long-lived stream must not hold up its
/// shutdown).
async fn next_or_stop<T>(messages: &mut Streaming<T>, stop: &mut watch::Receiver<bool>) -> Option<T> {
    tokio::select! {
        next = messages.message() => next.ok().flatten(),
        _ = stop.wait_for(|s| *s) => None,
    }
}

impl PeerService {
    /// A write a follower forwarded, proposed here if this node leads, with
    /// the client's request id(s) on its log lines when they are valid.
    async fn forwarded(node: &ClusterNode, fwd: ForwardRequest, request_id: Option<String>) -> Result<Written, ClusterError> {
        if !node.is_leader() {
            return Err(ClusterError::unavailable("not the leader", node.leader_hint()));
        }
        let deadline = Instant::now() + node.inner.config.write_timeout;
        match request_id.filter(|id| crate::request_id::is_valid_list(id)) {
            Some(id) => {
                let span = tracing::info_span!("forwarded", request_id = %id);
                let kind = fwd.command.kind();
                let write = async {
                    tracing::info!(request_id = %id, kind, "write forwarded by a follower");
                    node.write_forwarded(fwd.command, deadline).await
                };
                crate::request_id::scope(id.clone(), write.instrument(span)).await
            }
            None => node.write_forwarded(fwd.command, deadline).await,
        }
    }

    async fn append_one(node: &ClusterNode, payload: &Payload) -> Result<Payload, Status> {
        let rpc: AppendEntriesRequest<TypeConfig> = codec::decode(payload)?;
        node.note_leader_contact();
        Ok(codec::encode(&node.raft().append_entries(rpc).await)?)
    }
}

#[tonic::async_trait]
impl RaftService for PeerService {
    async fn append_entries(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        Ok(Response::new(Self::append_one(&self.node, req.get_ref()).await?))
    }

    type AppendStreamStream = AppendReplies;

    /// One request at a time, each answered before the next is read, so the
    /// replies line up with the requests. Ends when the caller closes its
    /// side, after an error (answered, then the stream ends), or when this
    /// node stops (a long-lived stream must not hold up its shutdown).
    async fn append_stream(&self, req: Request<Streaming<Payload>>) -> Result<Response<AppendReplies>, Status> {
        let mut requests = req.into_inner();
        let node = self.node.clone();
        let mut stop = node.inner.stop.subscribe();
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            while let Some(payload) = next_or_stop(&mut requests, &mut stop).await {
                let reply = Self::append_one(&node, &payload).await;
                let failed = reply.is_err();
                if tx.send(reply).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn vote(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        let rpc: VoteRequest<u64> = codec::decode(req.get_ref())?;
        // Before openraft can grant it: a leader that may vote for another
        // node must not answer reads from its lease any more.
        self.node.inner.lease.vote_request_seen();
        reply(&self.node.raft().vote(rpc).await)
    }

    async fn install_snapshot(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        let rpc: InstallSnapshotRequest<TypeConfig> = codec::decode(req.get_ref())?;
        self.node.note_leader_contact();
        reply(&self.node.raft().install_snapshot(rpc).await)
    }

    async fn forward(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        let fwd: ForwardRequest = codec::decode(req.get_ref())?;
        let request_id = req.metadata().get(crate::request_id::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        reply(&Self::forwarded(&self.node, fwd, request_id).await)
    }

    type ForwardStreamStream = ForwardAnswers;

    /// Each frame's write runs in a task of its own and is answered when done,
    /// under the frame's id. A frame that does not decode is answered with
    /// the error (nothing was applied). Reading ends when the caller closes
    /// its side or this node stops; writes under way still answer.
    async fn forward_stream(&self, req: Request<Streaming<ForwardFrame>>) -> Result<Response<ForwardAnswers>, Status> {
        let mut frames = req.into_inner();
        let node = self.node.clone();
        let mut stop = node.inner.stop.subscribe();
        let (tx, rx) = mpsc::channel(ANSWERS_QUEUED);
        tokio::spawn(async move {
            while let Some(frame) = next_or_stop(&mut frames, &mut stop).await {
                let (node, tx) = (node.clone(), tx.clone());
                tokio::spawn(async move {
                    let request = frame.payload.as_ref().ok_or(codec::CodecError::Decode("no payload".into()));
                    let result = match request.and_then(codec::decode::<ForwardRequest>) {
                        Ok(fwd) => Self::forwarded(&node, fwd, Some(frame.request_id).filter(|id| !id.is_empty())).await,
                        Err(e) => Err(ClusterError::Invalid(format!("forwarded write: {e}"))),
                    };
                    let answer = codec::encode(&result).map(|payload| ForwardFrame { id: frame.id, payload: Some(payload), request_id: String::new() });
                    let _ = tx.send(answer.map_err(Status::from)).await;
                });
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn change_membership(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        let change: MembershipChange = codec::decode(req.get_ref())?;
        // A joining node may call any member; that member routes to the leader.
        let result = membership::change(&self.node, change).await;
        reply(&result)
    }

    async fn read_index(&self, _req: Request<ReadIndexRequest>) -> Result<Response<ReadIndexReply>, Status> {
        let leader_id = self.node.leader_hint().map(|h| h.id);
        if !self.node.is_leader() {
            return Ok(Response::new(ReadIndexReply { read_index: None, leader_id }));
        }
        let deadline = Instant::now() + self.node.inner.config.write_timeout;
        // Followers' calls share the leader's rounds with its own reads.
        let read_index = self.node.shared_read_index(deadline).await.ok();
        Ok(Response::new(ReadIndexReply { read_index, leader_id }))
    }

    async fn worker_heartbeat(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        let worker: hodei_domain::WorkerId = codec::decode(req.get_ref())?;
        reply(&self.node.record_heartbeat(worker))
    }

    async fn status(&self, _req: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        let reply = self.node.own_status().await.map_err(|e| Status::internal(format!("state hash: {e}")))?;
        Ok(Response::new(reply))
    }
}
