//! The batcher: many concurrent writes on one node become one Raft entry.
//!
//! Each node runs one. A write joins its queue; the batcher takes the first
//! waiting write, waits for a free proposal slot (there are [`IN_FLIGHT`];
//! while it waits, more writes queue up), drains what is queued (at most the node's
//! `max_batch`) and routes the lot as one `Command::Batch` (one command alone
//! goes as itself): proposed here on the leader, or forwarded in one call by a
//! follower. Nothing waits for a window, so a lone client pays no delay; under
//! load the slots are busy and batches grow by themselves (group commit).
//!
//! A write that finds the queue empty and the slot free is a batch of one
//! whatever it does, so it commits itself in its caller's task: no hand-off to
//! the batcher and back, which is most of what a lone client would pay for the
//! queue.
//!
//! On the leader, batches that followers forward join its queue too (see
//! [`ClusterNode::write_forwarded`]): their commands are spread into the
//! leader's next batch, so the cluster has at most [`IN_FLIGHT`] entries of
//! client writes in flight however many nodes take writes. Fewer, larger
//! entries commit faster here than more, smaller ones: openraft 0.9 keeps one
//! AppendEntries in flight per follower, and every entry costs the leader's
//! core, log, replication and apply work of its own (see
//! `docs/performance.md`). A forwarded write is proposed only while this node
//! leads: the leader never forwards again.
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

/// Batches of one node in flight at once. One: with followers' batches
/// joining the leader's, one entry of client writes in flight at a time
/// committed more writes per second than two (see `docs/performance.md`).
pub const IN_FLIGHT: usize = 1;
/// The default bound on commands per batch (`raft.max_batch`).
pub const DEFAULT_MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Written, ClusterError>>;

pub(crate) struct Pending {
    command: Command,
    /// The client's request id, carried to the leader with the batch.
    request_id: Option<String>,
    deadline: Instant,
    /// Forwarded by a follower: proposed only while this node leads.
    forwarded: bool,
    reply: Reply,
}

/// The client writes `command` carries: a batch its commands, anything else
/// one. What a queued write adds to a batch, and what a forward counts.
pub(crate) fn weight(command: &Command) -> usize {
    match command {
        Command::Batch(commands) => commands.len(),
        _ => 1,
    }
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
    /// Whether `command` goes through the batcher: batching is on
    /// (`max_batch` above 1), the command may share an entry (a forwarded
    /// batch may), and the cluster version allows batches.
    pub(crate) fn joins_batches(&self, command: &Command) -> bool {
        let joins = matches!(command, Command::Batch(_)) || command.batchable();
        self.inner.config.max_batch > 1 && joins && self.cluster_version() >= hodei_domain::BATCH_AND_VERSION_GATE
    }

    /// Commits `command` as part of whatever batch it joins.
    pub(crate) async fn write_batched(&self, command: Command, deadline: Instant) -> Result<Written, ClusterError> {
        self.enqueue(command, deadline, false).await
    }

    /// On the leader: commits a write (or a batch of them) a follower
    /// forwarded, in the leader's next batch. Refused as unavailable (safe to
    /// route again) if this node no longer leads when its batch is proposed.
    pub(crate) async fn write_forwarded(&self, command: Command, deadline: Instant) -> Result<Written, ClusterError> {
        if self.joins_batches(&command) {
            return self.enqueue(command, deadline, true).await;
        }
        self.write_as_leader(command, deadline).await
    }

    async fn enqueue(&self, command: Command, deadline: Instant, forwarded: bool) -> Result<Written, ClusterError> {
        let batcher = &self.inner.batcher;
        if batcher.queued.load(Ordering::Acquire) == 0 {
            if let Ok(_slot) = batcher.slots.clone().try_acquire_owned() {
                // Already in the request's id scope: routed as the batcher would.
                return self.route(command, deadline, forwarded).await;
            }
        }
        let (reply, answer) = oneshot::channel();
        let request_id = crate::request_id::current();
        batcher.queued.fetch_add(1, Ordering::AcqRel);
        if batcher.tx.send(Pending { command, request_id, deadline, forwarded, reply }).is_err() {
            return Err(ClusterError::Stopped("the node is shutting down".into()));
        }
        match tokio::time::timeout_at(deadline.into(), answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClusterError::Stopped("the node is shutting down".into())),
            // It may have been proposed with its batch.
            Err(_) => Err(ClusterError::MaybeCommitted),
        }
    }

    /// Proposes here if `forwarded` (and this node leads), else routes to the leader.
    async fn route(&self, command: Command, deadline: Instant, forwarded: bool) -> Result<Written, ClusterError> {
        if !forwarded {
            return self.write_routed(command, deadline).await;
        }
        if !self.is_leader() {
            return Err(ClusterError::unavailable("not the leader", self.leader_hint()));
        }
        self.write_as_leader(command, deadline).await
    }
}

/// The batcher's loop; ends when the node (and with it the queue) goes away.
pub(crate) async fn run(node: std::sync::Weak<crate::node::Inner>, mut queue: Queue, max_batch: usize) {
    // A write taken from the queue that would have made the last batch too big.
    let mut held: Option<Pending> = None;
    loop {
        let first = match held.take() {
            Some(p) => p,
            None => match queue.rx.recv().await {
                Some(p) => queue.take(p),
                None => return,
            },
        };
        let Ok(slot) = queue.slots.clone().acquire_owned().await else { return };
        let mut size = weight(&first.command);
        let mut batch = vec![first];
        while size < max_batch {
            let Ok(p) = queue.rx.try_recv() else { break };
            let p = queue.take(p);
            let w = weight(&p.command);
            if size + w > max_batch {
                held = Some(p);
                break;
            }
            size += w;
            batch.push(p);
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
        if !self.is_leader() && batch.iter().any(|p| p.forwarded) {
            // Leadership moved while they queued: the followers route them again.
            let (forwarded, own): (Vec<Pending>, Vec<Pending>) = batch.into_iter().partition(|p| p.forwarded);
            for p in forwarded {
                let _ = p.reply.send(Err(ClusterError::unavailable("not the leader", self.leader_hint())));
            }
            batch = own;
        }
        let forwarded = batch.iter().any(|p| p.forwarded);
        if batch.len() <= 1 {
            if let Some(p) = batch.pop() {
                let _ = p.reply.send(self.route(p.command, deadline, p.forwarded).await);
            }
            return;
        }
        // One entry: forwarded batches are spread into it and taken back out of
        // its outcomes by their lengths.
        let mut commands = Vec::new();
        let mut parts: Vec<(Reply, Option<usize>)> = Vec::with_capacity(batch.len());
        for p in batch {
            match p.command {
                Command::Batch(inner) => {
                    parts.push((p.reply, Some(inner.len())));
                    commands.extend(inner);
                }
                single => {
                    parts.push((p.reply, None));
                    commands.push(single);
                }
            }
        }
        let n = commands.len();
        match self.route(Command::Batch(commands), deadline, forwarded).await {
            Ok(Written { index, outcome: Outcome::Batch(outcomes) }) if outcomes.len() == n => {
                let mut outcomes = outcomes.into_iter();
                for (reply, len) in parts {
                    let outcome = match len {
                        Some(len) => Outcome::Batch(outcomes.by_ref().take(len).collect()),
                        None => outcomes.next().expect("one outcome per command"),
                    };
                    let _ = reply.send(Ok(Written { index, outcome }));
                }
            }
            Ok(other) => {
                let e = ClusterError::Stopped(format!("a batch of {n} was answered with {:?}", other.outcome));
                for (reply, _) in parts {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                for (reply, _) in parts {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
