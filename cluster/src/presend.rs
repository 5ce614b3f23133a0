//! Presending: a leader's new entries leave for its followers as its log takes
//! them, while its own write and `fdatasync` are still running.
//!
//! openraft 0.9 runs a leader's log append inside its core task and waits
//! there for the sync (`RaftCore::append_to_log`); only then does it ask the
//! replication streams to send. So every write paid the leader's sync and the
//! followers' syncs one after the other. Raft allows the leader to write its
//! own log in parallel with replicating it (Ongaro's thesis, 10.2.1), and etcd
//! does. Here the log store tells [`Presend`] of each entry the leader appends
//! (`LogStore::on_leader_append`), and it sends that AppendEntries at once to
//! every follower known to hold the entry just before. When openraft's stream
//! then asks for exactly that request, it gets the answer of the one already
//! sent (see `PeerNetwork::append_entries`).
//!
//! Why nothing changes for safety:
//! - The request is one openraft would build: the leader's committed vote,
//!   entries of its own term from its own log, the previous entry's id, and a
//!   commit index the log saved. A follower checks it like any other
//!   AppendEntries (a stale or conflicting one is refused) and answers success
//!   only after its own sync.
//! - openraft hears of the leader's own append only when it is durable, so
//!   the leader still counts itself toward a quorum only after its sync.
//! - An answer is handed to openraft only for a request equal to the one sent
//!   (vote, previous id, first and last entry, commit index). Anything else
//!   (no answer yet, a refusal, an error) and the stream sends its own call,
//!   as before.
//! - Only followers with a replication stream (an open [`PeerNetwork`]) get
//!   presends, so a removed member stops receiving entries.
//!
//! Presends travel on one long-lived `AppendStream` per follower, not as
//! unary calls: on this machine a unary gRPC round trip costs about 0.24 ms
//! against 0.12 ms for a message and its reply on an open stream (tonic on
//! both ends, 512 bytes), and the presend's round trip is most of a lone
//! write's latency. At most one presend is normally in flight per follower
//! (the next needs this one's success), so answering in order costs nothing.
//!
//! [`PeerNetwork`]: crate::network::PeerNetwork

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hodei_raft_store::{LeaderAppend, LogId, NodeId, TypeConfig, Vote};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use tokio::sync::oneshot;

use crate::network::{AppendResult, Link, StreamSlot};
#[cfg(test)]
use crate::network::{AppendStream, STREAM_RETRY_AFTER};

/// The leader's presends, per follower.
#[derive(Default)]
pub(crate) struct Presend {
    targets: Mutex<HashMap<NodeId, Target>>,
    sent: AtomicU64,
    used: AtomicU64,
    streamed: AtomicU64,
}

/// What [`ClusterNode::presend_counts`](crate::node::ClusterNode::presend_counts) reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PresendCounts {
    /// AppendEntries this node sent as leader before its own log sync returned.
    pub sent: u64,
    /// Their answers that openraft's replication took in place of a call of its own.
    pub used: u64,
    /// Presends answered on the follower's `AppendStream` (the rest were
    /// unary calls to a build without it, or failed).
    pub streamed: u64,
}

struct Target {
    link: Link,
    /// Open networks to this node ([`Presend::opened`] minus [`Presend::closed`]).
    networks: usize,
    /// The last entry this follower is known to hold, from a success answer
    /// in the given term.
    matched: Option<(u64, LogId)>,
    /// The presend in flight or answered and not yet taken.
    pending: Option<Pending>,
    /// The presends' stream to this follower; replaced (and so closed once
    /// no call holds it) when its address changes or its last network closes.
    stream: StreamSlot,
}

struct Pending {
    key: Key,
    answer: oneshot::Receiver<AppendResult>,
}

/// What makes two AppendEntries the same request.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    vote: Vote,
    prev: Option<LogId>,
    first: Option<LogId>,
    last: Option<LogId>,
    commit: Option<LogId>,
}

impl Key {
    fn of(rpc: &AppendEntriesRequest<TypeConfig>) -> Key {
        Key {
            vote: rpc.vote,
            prev: rpc.prev_log_id,
            first: rpc.entries.first().map(|e| e.log_id),
            last: rpc.entries.last().map(|e| e.log_id),
            commit: rpc.leader_commit,
        }
    }
}

impl Presend {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Target>> {
        self.targets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A network to `link.target` was opened (its link replaces the last one).
    pub(crate) fn opened(&self, link: &Link) {
        let mut targets = self.lock();
        let t = targets.entry(link.target).or_insert_with(|| Target {
            link: link.clone(),
            networks: 0,
            matched: None,
            pending: None,
            stream: StreamSlot::default(),
        });
        if t.link.addr != link.addr {
            t.matched = None;
            t.stream = StreamSlot::default();
        }
        t.link = link.clone();
        t.networks += 1;
    }

    /// A network to `target` was dropped.
    pub(crate) fn closed(&self, target: NodeId) {
        if let Some(t) = self.lock().get_mut(&target) {
            t.networks = t.networks.saturating_sub(1);
            if t.networks == 0 {
                t.matched = None;
                t.pending = None;
                t.stream = StreamSlot::default();
            }
        }
    }

    /// The log store's hook: sends `append` to every follower with an open
    /// network that is known to hold the entry before it.
    pub(crate) fn leader_appended(self: &Arc<Self>, append: LeaderAppend) {
        let term = append.vote.leader_id.term;
        let rpc = Arc::new(AppendEntriesRequest {
            vote: append.vote,
            prev_log_id: Some(append.prev),
            entries: append.entries,
            leader_commit: append.committed,
        });
        let key = Key::of(&rpc);
        let mut targets = self.lock();
        for t in targets.values_mut() {
            if t.networks == 0 || t.matched != Some((term, append.prev)) {
                continue;
            }
            let (tx, answer) = oneshot::channel();
            t.pending = Some(Pending { key: key.clone(), answer });
            self.sent.fetch_add(1, Ordering::Relaxed);
            let (mut link, stream, rpc, this) = (t.link.clone(), t.stream.clone(), rpc.clone(), self.clone());
            tokio::spawn(async move {
                // The least time an AppendEntries gets (`Link::min_append_ttl`).
                let reply = link.append(&rpc, Duration::ZERO, Some(&stream)).await;
                // Open after an answer: the answer came on the stream.
                if reply.is_ok() && stream.lock().await.is_open() {
                    this.streamed.fetch_add(1, Ordering::Relaxed);
                }
                this.answered(link.target, &rpc, &reply);
                let _ = tx.send(reply);
            });
        }
    }

    /// Notes what an answered AppendEntries to `target` says the follower
    /// holds: on success the request's last entry (or its previous one),
    /// otherwise nothing known until the next success.
    pub(crate) fn answered(&self, target: NodeId, rpc: &AppendEntriesRequest<TypeConfig>, reply: &AppendResult) {
        let mut targets = self.lock();
        let Some(t) = targets.get_mut(&target) else { return };
        let term = rpc.vote.leader_id.term;
        let holds = rpc.entries.last().map(|e| e.log_id).or(rpc.prev_log_id);
        t.matched = match (reply, holds) {
            (Ok(AppendEntriesResponse::Success), Some(holds)) => match t.matched {
                Some((t_term, m)) if t_term == term && m.index > holds.index => Some((t_term, m)),
                _ => Some((term, holds)),
            },
            _ => None,
        };
    }

    /// Counts an answer openraft took.
    pub(crate) fn used(&self) {
        self.used.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> PresendCounts {
        PresendCounts {
            sent: self.sent.load(Ordering::Relaxed),
            used: self.used.load(Ordering::Relaxed),
            streamed: self.streamed.load(Ordering::Relaxed),
        }
    }

    /// The answer of the presend to `target` if it carried exactly `rpc`.
    /// A request with other entries drops the presend (openraft has moved
    /// past it); one with none (a heartbeat) leaves it in place.
    pub(crate) fn take(&self, target: NodeId, rpc: &AppendEntriesRequest<TypeConfig>) -> Option<oneshot::Receiver<AppendResult>> {
        if rpc.entries.is_empty() {
            return None;
        }
        let pending = self.lock().get_mut(&target)?.pending.take()?;
        (pending.key == Key::of(rpc)).then_some(pending.answer)
    }
}

#[cfg(test)]
mod tests {
    use hodei_domain::{Command, Proposal};
    use hodei_raft_store::Entry;
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;

    fn id(term: u64, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn append(term: u64, index: u64) -> LeaderAppend {
        let entry = Entry { log_id: id(term, index), payload: EntryPayload::Normal(Proposal { at_ms: 1, command: Command::Batch(vec![]) }) };
        LeaderAppend { vote: Vote::new_committed(term, 1), prev: id(term, index - 1), entries: vec![entry], committed: Some(id(term, index - 2)) }
    }

    fn rpc(a: &LeaderAppend) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest { vote: a.vote, prev_log_id: Some(a.prev), entries: a.entries.clone(), leader_commit: a.committed }
    }

    fn success(p: &Presend, target: NodeId, a: &LeaderAppend) {
        p.answered(target, &rpc(a), &Ok(AppendEntriesResponse::Success));
    }

    #[tokio::test]
    async fn entries_go_only_to_open_followers_known_to_hold_the_entry_before() {
        let p = Arc::new(Presend::default());
        for target in [2, 3, 4] {
            p.opened(&Link::unreachable(target, "127.0.0.1:1"));
        }
        p.closed(4);
        success(&p, 2, &append(2, 9)); // node 2 holds 9
        success(&p, 3, &append(2, 8)); // node 3 holds 8 only
        success(&p, 4, &append(2, 9)); // node 4 holds 9, but no network is open
        p.leader_appended(append(2, 10));
        assert_eq!(p.counts().sent, 1, "only node 2 holds entry 9 and has an open network");

        // An answer held in an earlier term says nothing in this one.
        success(&p, 3, &append(1, 11));
        p.leader_appended(append(2, 12));
        assert_eq!(p.counts().sent, 1);
    }

    #[tokio::test]
    async fn an_answer_is_handed_on_only_for_the_same_request() {
        let p = Arc::new(Presend::default());
        p.opened(&Link::unreachable(2, "127.0.0.1:1"));
        success(&p, 2, &append(2, 4));
        p.leader_appended(append(2, 5));
        let mut heartbeat = rpc(&append(2, 5));
        heartbeat.entries.clear();
        assert!(p.take(2, &heartbeat).is_none(), "a heartbeat is not the presend");
        let answer = p.take(2, &rpc(&append(2, 5))).expect("a heartbeat leaves the presend in place");
        // The link has no client: the follower was not reached, and nothing is
        // known of it until the next success.
        assert!(answer.await.expect("answered").is_err());
        p.leader_appended(append(2, 6));
        assert_eq!(p.counts().sent, 1, "after a failed call no presend goes out until a success");

        success(&p, 2, &append(2, 4));
        p.leader_appended(append(2, 5));
        let mut other = rpc(&append(2, 5));
        other.leader_commit = Some(id(2, 4));
        assert!(p.take(2, &other).is_none(), "a request with another commit index is not the same");
        assert!(p.take(2, &rpc(&append(2, 5))).is_none(), "a mismatch drops the presend");
        assert_eq!(p.counts().sent, 2);
    }

    #[test]
    fn a_later_success_in_the_same_term_is_not_undone_by_an_earlier_one() {
        let p = Presend::default();
        p.opened(&Link::unreachable(2, "127.0.0.1:1"));
        success(&p, 2, &append(2, 7));
        success(&p, 2, &append(2, 5));
        assert_eq!(p.lock()[&2].matched, Some((2, id(2, 7))));
        p.answered(2, &rpc(&append(2, 8)), &Ok(AppendEntriesResponse::Conflict));
        assert_eq!(p.lock()[&2].matched, None, "a refusal forgets what the follower held");
        // A new address is a new node as far as anyone knows.
        success(&p, 2, &append(2, 7));
        p.opened(&Link::unreachable(2, "127.0.0.1:2"));
        assert_eq!(p.lock()[&2].matched, None);
    }

    /// A follower whose build has no `AppendStream` answers `Unimplemented`:
    /// the link remembers it and makes the unary call instead, and tries the
    /// stream again only after an interval (here a server with no services at
    /// all, so the unary call is refused too, over real TCP).
    #[tokio::test]
    async fn a_follower_without_the_append_stream_gets_unary_calls() {
        let (addr, server) = crate::peers::serve_nothing().await;
        let mut link = Link::to(2, &addr);
        let stream = StreamSlot::default();
        let reply = link.append(&rpc(&append(2, 5)), Duration::ZERO, Some(&stream)).await;
        let e = reply.expect_err("nothing here answers AppendEntries");
        assert!(matches!(e, openraft::error::RPCError::Unreachable(_)) && e.to_string().contains("not implemented"), "{e}");
        let AppendStream::Unsupported { since } = *stream.lock().await else { panic!("the stream is tried again at once") };

        // Unary calls until the retry interval has passed; then the stream
        // is tried again (the follower may have been upgraded meanwhile).
        assert!(link.append(&rpc(&append(2, 5)), Duration::ZERO, Some(&stream)).await.is_err());
        assert!(matches!(*stream.lock().await, AppendStream::Unsupported { since: s } if s == since), "tried again too soon");
        let long_ago = since.checked_sub(STREAM_RETRY_AFTER).expect("an instant in the past");
        *stream.lock().await = AppendStream::Unsupported { since: long_ago };
        assert!(link.append(&rpc(&append(2, 5)), Duration::ZERO, Some(&stream)).await.is_err());
        assert!(matches!(*stream.lock().await, AppendStream::Unsupported { since: s } if s > long_ago), "not tried again after the interval");
        server.abort();
    }
}
