//! Read-index batching: concurrent linearizable reads on one node share
//! confirmation rounds instead of each running its own.
//!
//! A round is one read index: on the leader, a heartbeat to a quorum that
//! confirms it still leads (openraft's `get_read_log_id`); on a follower, one
//! `ReadIndex` call to the leader (where it joins the leader's rounds). A read
//! joins the waiting list; if no round runs, it starts one. A round takes the
//! whole list when it *starts* and answers all of it, so every read it answers
//! arrived before it began: the index it confirms is at least the commit index
//! at the read's arrival, which is what linearizability needs. Reads arriving
//! during a round wait for the next one. At most [`ROUNDS_IN_FLIGHT`] rounds
//! run at once, so a read that just missed one need not wait for it to end;
//! under load a node runs that many however many reads wait. A leader holding
//! its read lease (`crate::lease`) answers at once with no round.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::ClusterError;
use crate::node::ClusterNode;

type Waiter = oneshot::Sender<Result<u64, ClusterError>>;

/// Read-index rounds of one node running at once.
pub const ROUNDS_IN_FLIGHT: usize = 2;

/// The reads of one node waiting for the next round.
#[derive(Default)]
pub(crate) struct ReadRounds {
    state: Mutex<Waiting>,
    /// Reads that asked for a read index, rounds run, and reads the leader
    /// answered from its lease without a round, since start.
    reads: AtomicU64,
    rounds: AtomicU64,
    leased: AtomicU64,
}

/// What [`ClusterNode::read_index_counts`] reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadIndexCounts {
    /// Reads that asked this node for a read index (its own linearizable
    /// reads, and on the leader the followers' calls).
    pub requests: u64,
    /// Rounds that answered them: a quorum heartbeat on the leader, one call
    /// to the leader on a follower.
    pub rounds: u64,
    /// Requests the leader answered from its read lease, with no round.
    pub leased: u64,
}

#[derive(Default)]
struct Waiting {
    /// Rounds running now, at most [`ROUNDS_IN_FLIGHT`].
    running: usize,
    reads: Vec<Waiter>,
}

impl ReadRounds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ClusterNode {
    /// Read-index requests, rounds and lease answers since the node started.
    pub fn read_index_counts(&self) -> ReadIndexCounts {
        let r = &self.inner.reads;
        ReadIndexCounts {
            requests: r.reads.load(Ordering::Relaxed),
            rounds: r.rounds.load(Ordering::Relaxed),
            leased: r.leased.load(Ordering::Relaxed),
        }
    }

    /// The read index for a read arriving now, from a round that starts after
    /// it; answered by `deadline` or refused as unavailable (retryable).
    pub(crate) async fn shared_read_index(&self, deadline: Instant) -> Result<u64, ClusterError> {
        self.inner.reads.reads.fetch_add(1, Ordering::Relaxed);
        if let Some(index) = self.lease_read_index() {
            self.inner.reads.leased.fetch_add(1, Ordering::Relaxed);
            return Ok(index);
        }
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut w = self.inner.reads.lock();
            w.reads.push(tx);
            let start = w.running < ROUNDS_IN_FLIGHT;
            w.running += usize::from(start);
            start
        };
        if start {
            tokio::spawn(rounds(self.clone()));
        }
        match tokio::time::timeout_at(deadline.into(), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClusterError::Stopped("the node is shutting down".into())),
            Err(_) => Err(ClusterError::unavailable("read index timed out", self.leader_hint())),
        }
    }
}

/// Runs rounds while reads wait; a task that finds none leaves `running`
/// under the same lock a new read takes, so a read is never left unserved.
async fn rounds(node: ClusterNode) {
    loop {
        let reads = {
            let mut w = node.inner.reads.lock();
            if w.reads.is_empty() {
                w.running -= 1;
                return;
            }
            std::mem::take(&mut w.reads)
        };
        node.inner.reads.rounds.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + node.inner.config.write_timeout;
        let result = node.read_index(deadline).await;
        for r in reads {
            let _ = r.send(result.clone());
        }
    }
}
