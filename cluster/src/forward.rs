//! Writes a follower forwards to the leader (one hop: the leader never
//! forwards again).
//!
//! They travel on one long-lived `ForwardStream` to the leader, opened on
//! first use. Each frame carries an id this node picks; the leader answers
//! each frame when its write is done, in any order, so the concurrent writes
//! of many clients share one stream. A message on an open stream costs about
//! half a unary call's round trip here (`docs/performance.md`, session 16). A
//! leader whose build lacks the stream answers `Unimplemented` and gets unary
//! `Forward` calls, and the stream is tried again after [`STREAM_RETRY_AFTER`]
//! (a rolling upgrade may have replaced it).
//!
//! What a failure means for the write:
//! - nothing sent (no address, a cut link, no connection, the stream already
//!   gone): not applied, so `write_routed` may route it again;
//! - the frame went on the stream, then the stream ended or time ran out:
//!   maybe committed, as for a unary call that failed after connecting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hodei_domain::Command;
use hodei_proto::raft::v1::{ForwardFrame, Payload};
use hodei_raft_store::NodeId;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::codec;
use crate::error::ClusterError;
use crate::network::STREAM_RETRY_AFTER;
use crate::node::ClusterNode;
use crate::peers::PeerClient;
use crate::write::{ForwardRequest, Written};

/// Frames queued for the stream before a sender waits for room.
const FRAMES_QUEUED: usize = 1024;

/// This node's forwarding stream to the leader, and how many forwarded
/// writes were answered on it.
#[derive(Default)]
pub(crate) struct ForwardStream {
    state: tokio::sync::Mutex<State>,
    /// Writes answered on the stream (a batch counts as the writes it carries).
    streamed: AtomicU64,
}

#[derive(Default)]
enum State {
    #[default]
    Closed,
    Open(Arc<Open>),
    /// The leader at `addr` answered `Unimplemented` at `since`.
    Unsupported { addr: String, since: Instant },
}

/// An open stream to the leader at `addr`.
struct Open {
    addr: String,
    frames: mpsc::Sender<ForwardFrame>,
    waiting: Arc<Mutex<Waiting>>,
    next_id: AtomicU64,
}

/// Frames sent and not yet answered, by id. Once the stream has ended no frame
/// is added, and dropping the senders tells each waiter its answer is lost.
#[derive(Default)]
struct Waiting {
    answers: HashMap<u64, oneshot::Sender<Payload>>,
    ended: bool,
}

/// Why no answer came on the stream.
enum Failure {
    /// The frame was not sent.
    NotSent(String),
    /// The frame was sent; its answer is lost (stream ended or time ran out).
    Lost,
}

impl Failure {
    fn into_error(self, node: &ClusterNode) -> ClusterError {
        match self {
            Failure::NotSent(why) => ClusterError::unavailable(why, node.leader_hint()),
            Failure::Lost => ClusterError::MaybeCommitted,
        }
    }
}

impl ClusterNode {
    /// Forwards `command` to `leader` and returns the leader's answer.
    pub(crate) async fn forward(&self, leader: NodeId, command: &Command, deadline: Instant) -> Result<Written, ClusterError> {
        let addr = self.leader_addr(leader).await?;
        let mut client = self.inner.peers.client(&addr)?;
        let payload = codec::encode(&ForwardRequest { command: command.clone() })
            .map_err(|e| ClusterError::Invalid(e.to_string()))?;
        let request_id = crate::request_id::current();
        let forwards = &self.inner.forwards;
        let answer = match forwards.open_until(&addr, &mut client, deadline).await {
            Ok(Some(open)) => match open.exchange(payload, request_id, deadline).await {
                Ok(answer) => {
                    forwards.streamed.fetch_add(crate::batch::weight(command) as u64, Ordering::Relaxed);
                    answer
                }
                Err(failure) => return Err(failure.into_error(self)),
            },
            Ok(None) => self.forward_unary(client, payload, request_id, deadline).await?,
            Err(failure) => return Err(failure.into_error(self)),
        };
        codec::decode::<Result<Written, ClusterError>>(&answer)
            .map_err(|e| ClusterError::Stopped(format!("leader answered garbage: {e}")))?
    }

    /// Writes this node forwarded whose answers came on the forward stream
    /// (a batch counts as the writes it carries).
    pub fn forwards_streamed(&self) -> u64 {
        self.inner.forwards.streamed.load(Ordering::Relaxed)
    }

    /// The unary `Forward` call, for a leader without the stream.
    async fn forward_unary(
        &self,
        mut client: PeerClient,
        payload: Payload,
        request_id: Option<String>,
        deadline: Instant,
    ) -> Result<Payload, ClusterError> {
        let mut request = tonic::Request::new(payload);
        if let Some(id) = request_id.and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert(crate::request_id::HEADER, id);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, client.forward(request)).await {
            Err(_) => Err(ClusterError::MaybeCommitted),
            Ok(Err(status)) if never_sent(&status) => {
                Err(ClusterError::unavailable(format!("leader unreachable: {}", status.message()), self.leader_hint()))
            }
            Ok(Err(_)) => Err(ClusterError::MaybeCommitted),
            Ok(Ok(r)) => Ok(r.into_inner()),
        }
    }
}

/// A call that failed while connecting never reached the leader, so it is safe to
/// route again; any later failure leaves the write "maybe applied".
fn never_sent(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Unavailable && status.message().contains("connect")
}

impl ForwardStream {
    /// [`ForwardStream::open`], given up at `deadline`: opening waits for the
    /// leader's response headers, which a black-holed connection never sends.
    async fn open_until(&self, addr: &str, client: &mut PeerClient, deadline: Instant) -> Result<Option<Arc<Open>>, Failure> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(remaining, self.open(addr, client))
            .await
            .unwrap_or_else(|_| Err(Failure::NotSent("the leader did not open the forward stream before the deadline".into())))
    }

    /// The open stream to `addr`: the current one, or a new one when there is
    /// none, it ended, or the leader moved. `None`: the leader has no stream.
    async fn open(&self, addr: &str, client: &mut PeerClient) -> Result<Option<Arc<Open>>, Failure> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Open(open) if open.addr == addr && !open.ended() => return Ok(Some(open.clone())),
            State::Unsupported { addr: a, since } if a == addr && since.elapsed() < STREAM_RETRY_AFTER => return Ok(None),
            _ => {}
        }
        // The old stream (another leader, or ended) closes when its last
        // frame is answered: its reader keeps its own handle on the waiters.
        *state = State::Closed;
        let (frames, queued) = mpsc::channel(FRAMES_QUEUED);
        match client.forward_stream(ReceiverStream::new(queued)).await {
            Ok(answers) => {
                let open = Arc::new(Open { addr: addr.to_string(), frames, waiting: Default::default(), next_id: AtomicU64::new(0) });
                tokio::spawn(read_answers(answers.into_inner(), open.waiting.clone()));
                *state = State::Open(open.clone());
                Ok(Some(open))
            }
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                tracing::info!(leader = addr, "leader has no forward stream; forwards use unary calls");
                *state = State::Unsupported { addr: addr.to_string(), since: Instant::now() };
                Ok(None)
            }
            Err(status) => Err(Failure::NotSent(format!("leader unreachable: {}", status.message()))),
        }
    }
}

impl Open {
    /// Sends `payload` on this stream and waits for its answer until `deadline`.
    async fn exchange(&self, payload: Payload, request_id: Option<String>, deadline: Instant) -> Result<Payload, Failure> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            if waiting.ended {
                return Err(Failure::NotSent("the forward stream to the leader ended".into()));
            }
            waiting.answers.insert(id, answer);
        }
        // From here the frame's entry goes when this call ends, whatever ends it.
        let _forget = Forget { waiting: &self.waiting, id };
        let frame = ForwardFrame { id, payload: Some(payload), request_id: request_id.unwrap_or_default() };
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, self.frames.send(frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(Failure::NotSent("the forward stream to the leader closed".into())),
            Err(_) => return Err(Failure::NotSent("no room on the forward stream before the deadline".into())),
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, answered).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) | Err(_) => Err(Failure::Lost),
        }
    }

    fn ended(&self) -> bool {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).ended
    }
}

/// Removes a frame's entry from the waiters when its forward ends (answered,
/// timed out, or cancelled by its client).
struct Forget<'a> {
    waiting: &'a Mutex<Waiting>,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).answers.remove(&self.id);
    }
}

/// Hands each answer to its waiter until the stream ends (the leader stopped,
/// the connection broke, or this node dropped the stream and every frame was
/// answered); then every frame still waiting is lost.
async fn read_answers(mut answers: tonic::Streaming<ForwardFrame>, waiting: Arc<Mutex<Waiting>>) {
    while let Ok(Some(frame)) = answers.message().await {
        let waiter = waiting.lock().unwrap_or_else(|e| e.into_inner()).answers.remove(&frame.id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(frame.payload.unwrap_or_default());
        }
    }
    let mut waiting = waiting.lock().unwrap_or_else(|e| e.into_inner());
    waiting.ended = true;
    waiting.answers.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::PeerClients;

    /// A leader whose build has no `ForwardStream` (here: a real gRPC server
    /// with no services) answers `Unimplemented`: forwards then use unary
    /// calls, and the stream is tried again only after the retry interval.
    #[tokio::test]
    async fn a_leader_without_the_forward_stream_gets_unary_calls() {
        let (addr, server) = crate::peers::serve_nothing().await;
        let mut client = PeerClients::from_listen_ip(std::net::Ipv4Addr::LOCALHOST.into()).client(&addr).expect("client");
        let forwards = ForwardStream::default();
        assert!(matches!(forwards.open(&addr, &mut client).await, Ok(None)), "no stream, and no failure: use the unary call");
        let State::Unsupported { since, .. } = *forwards.state.lock().await else { panic!("the stream is tried again at once") };

        assert!(matches!(forwards.open(&addr, &mut client).await, Ok(None)));
        assert!(matches!(*forwards.state.lock().await, State::Unsupported { since: s, .. } if s == since), "tried again too soon");
        // Another leader's address is asked at once: it may run a newer build.
        let elsewhere = "127.0.0.1:1";
        assert!(matches!(forwards.open(elsewhere, &mut client).await, Ok(None)), "the client still calls the same server");
        assert!(matches!(&*forwards.state.lock().await, State::Unsupported { addr: a, .. } if a == elsewhere), "another leader was not asked");

        let long_ago = Instant::now().checked_sub(STREAM_RETRY_AFTER).expect("an instant in the past");
        *forwards.state.lock().await = State::Unsupported { addr: addr.clone(), since: long_ago };
        assert!(matches!(forwards.open(&addr, &mut client).await, Ok(None)));
        assert!(matches!(*forwards.state.lock().await, State::Unsupported { since: s, .. } if s > long_ago), "not tried again after the interval");
        server.abort();
    }

    /// A leader whose connection accepts and then says nothing (a black
    /// hole): opening gives up at the deadline, nothing was sent, and the
    /// next forward may try again at once.
    #[tokio::test]
    async fn a_silent_leader_is_given_up_at_the_deadline() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut client = PeerClients::from_listen_ip(std::net::Ipv4Addr::LOCALHOST.into()).client(&addr).expect("client");
        let forwards = ForwardStream::default();
        let started = Instant::now();
        let deadline = started + std::time::Duration::from_millis(300);
        let failure = forwards.open_until(&addr, &mut client, deadline).await.err().expect("the leader never answers");
        assert!(matches!(failure, Failure::NotSent(ref why) if why.contains("deadline")), "nothing was sent");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "waited {:?}, past the deadline", started.elapsed());
        let state = forwards.state.try_lock().expect("the stream's lock is free again");
        assert!(matches!(*state, State::Closed), "the next forward tries to open it again");
        silent.abort();
    }

    /// A leader that cannot be reached: the frame was never sent, so the
    /// write may be routed again (not "maybe committed").
    #[tokio::test]
    async fn an_unreachable_leader_leaves_the_write_unsent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let mut client = PeerClients::from_listen_ip(std::net::Ipv4Addr::LOCALHOST.into()).client(&addr).expect("client");
        let forwards = ForwardStream::default();
        let failure = forwards.open(&addr, &mut client).await.err().expect("nothing listens there");
        assert!(matches!(failure, Failure::NotSent(ref why) if why.contains("leader unreachable")), "a failed connect is not sent");
        assert!(matches!(*forwards.state.lock().await, State::Closed), "the next forward tries to open it again");
    }
}
