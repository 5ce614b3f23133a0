//! The batcher: many concurrent writes on one node become one Raft entry.
//!
//! Each node runs one. A write joins its queue; the batcher takes the first
//! waiting write, waits for one of [`IN_FLIGHT`] proposal slots (while it
//! waits, more writes queue up), drains what is queued (at most the node's
//! `max_batch`) and routes the lot as one `Command::Batch` (one command alone
//! goes as itself): proposed here on the leader, or forwarded in one call by a
//! follower. Nothing waits for a window, so a lone client pays no delay; under
//! load the slots are busy and batches grow by themselves (group commit).
//!
//! A write that finds the queue empty and a slot free is a batch of one
//! whatever it does, so it commits itself in its caller's task: no hand-off to
//! the batcher and back, which is most of what a lone client would pay for the
//! queue.
//!
//! A batch succeeds or fails as one entry: every write of it gets the entry's
//! index and its own outcome, or the same error (a `MaybeCommitted` for one
//! is a `MaybeCommitted` for all). Batches are proposed only once the cluster
//! version is 3 (see [`crate::version`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hodei_domain::{Command, Outcome};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::error::ClusterError;
use crate::node::ClusterNode;
use crate::write::Written;

/// Batches of one node in flight at once.
pub const IN_FLIGHT: usize = 2;
/// The default bound on commands per batch (`raft.max_batch`).
pub const DEFAULT_MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Written, ClusterError>>;

pub(crate) struct Pending {
    command: Command,
    /// The client's request id, carried to the leader with the batch.
    request_id: Option<String>,
    deadline: Instant,
    reply: Reply,
}

/// The queue into a node's batcher, and the proposal slots its batches and
/// lone writes share.
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Pending>,
    /// Writes sent to the queue and not yet taken from it by the batcher.
    queued: Arc<AtomicUsize>,
    slots: Arc<Semaphore>,
}

/// The batcher's end of the queue.
pub(crate) struct Queue {
    rx: mpsc::UnboundedReceiver<Pending>,
    queued: Arc<AtomicUsize>,
    slots: Arc<Semaphore>,
}

impl Queue {
    fn take(&mut self, p: Pending) -> Pending {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        p
    }
}

impl Batcher {
    pub(crate) fn new() -> (Batcher, Queue) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        (Batcher { tx, queued: queued.clone(), slots: slots.clone() }, Queue { rx, queued, slots })
    }
}

impl ClusterNode {
    /// Commits `command` as part of whatever batch it joins.
    pub(crate) async fn write_batched(&self, command: Command, deadline: Instant) -> Result<Written, ClusterError> {
        let batcher = &self.inner.batcher;
        if batcher.queued.load(Ordering::Acquire) == 0 {
            if let Ok(_slot) = batcher.slots.clone().try_acquire_owned() {
                // Already in the request's id scope: routed as the batcher would.
                return self.write_routed(command, deadline).await;
            }
        }
        let (reply, answer) = oneshot::channel();
        let request_id = crate::request_id::current();
        batcher.queued.fetch_add(1, Ordering::AcqRel);
        if batcher.tx.send(Pending { command, request_id, deadline, reply }).is_err() {
            return Err(ClusterError::Stopped("the node is shutting down".into()));
        }
        match tokio::time::timeout_at(deadline.into(), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClusterError::Stopped("the node is shutting down".into())),
            // It may have been proposed with its batch.
            Err(_) => Err(ClusterError::MaybeCommitted),
        }
    }
}

/// The batcher's loop; ends when the node (and with it the queue) goes away.
pub(crate) async fn run(node: std::sync::Weak<crate::node::Inner>, mut queue: Queue, max_batch: usize) {
    while let Some(first) = queue.rx.recv().await {
        let Ok(slot) = queue.slots.clone().acquire_owned().await else { return };
        let mut batch = vec![queue.take(first)];
        while batch.len() < max_batch {
            match queue.rx.try_recv() {
                Ok(p) => batch.push(queue.take(p)),
                Err(_) => break,
            }
        }
        let Some(inner) = node.upgrade() else { return };
        let node = ClusterNode { inner };
        tokio::spawn(async move {
            node.commit(batch).await;
            drop(slot);
        });
    }
}

impl ClusterNode {
    /// Routes the batch inside the scope of its writes' request ids, so a
    /// follower's forward carries them to the leader's log.
    async fn commit(&self, batch: Vec<Pending>) {
        match crate::request_id::join(batch.iter().filter_map(|p| p.request_id.as_deref())) {
            Some(ids) => crate::request_id::scope(ids, self.commit_in_scope(batch)).await,
            None => self.commit_in_scope(batch).await,
        }
    }

    async fn commit_in_scope(&self, mut batch: Vec<Pending>) {
        let deadline = batch.iter().map(|p| p.deadline).min().unwrap_or_else(Instant::now);
        if batch.len() == 1 {
            let p = batch.pop().expect("one write");
            let _ = p.reply.send(self.write_routed(p.command, deadline).await);
            return;
        }
        let (commands, replies): (Vec<Command>, Vec<Reply>) = batch.into_iter().map(|p| (p.command, p.reply)).unzip();
        let n = commands.len();
        match self.write_routed(Command::Batch(commands), deadline).await {
            Ok(Written { index, outcome: Outcome::Batch(outcomes) }) if outcomes.len() == n => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(Written { index, outcome }));
                }
            }
            Ok(other) => {
                let e = ClusterError::Stopped(format!("a batch of {n} was answered with {:?}", other.outcome));
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
