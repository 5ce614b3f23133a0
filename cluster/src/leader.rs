//! The leader's loops. They run on every node but act only while it leads, and
//! they only propose: `apply` re-checks every placement, loss, scale decision
//! and expiry, so a deposed leader's late proposal is harmless.
//!
//! - dispatch: on every applied change (or every 100 ms) the domain's solver
//!   picks placements from the local state, given the previous round's decision
//!   so results stay stable, and proposes them as one `AssignJobs`;
//! - worker leases: a worker silent for [`WORKER_LEASE`] is proposed lost,
//!   never within a term's first [`WORKER_FAILOVER_LEASE`];
//! - time: a `Tick` when something is due (checked every [`TICK_EVERY`]) and at
//!   least every [`TICK_AT_LEAST_EVERY`] ends burst leases, times out jobs,
//!   accrues idle cost and prunes by retention;
//! - autoscaling: every [`AUTOSCALE_EVERY`] each pool's `should_scale` runs and
//!   a change is proposed with its reason;
//! - history: a `RecordSamples` whenever the replicated state says one is due
//!   (`history.sample_interval_ms` of the observability settings, checked every
//!   [`SAMPLE_CHECK_EVERY`]); `apply` computes the samples and refuses a time
//!   not after the last one;
//! - cluster version: every [`VERSION_CHECK_EVERY`], while it is below this
//!   node's protocol version, the members are asked theirs and a raise is
//!   proposed once all speak a newer one;
//! - bootstrap: once per term, the commands the configuration still needs
//!   ([`hodei_domain::Bootstrap`]).

use std::time::{Duration, Instant};

use hodei_domain::command::{MarkWorkerLost, RecordSamples, Tick};
use hodei_domain::dispatch::{self, Decision};
use hodei_domain::{autoscale, Command, Outcome, PoolId, WorkerId, WorkerState};

use crate::node::ClusterNode;

/// How long a worker may stay silent before the leader proposes it lost.
pub const WORKER_LEASE: Duration = Duration::from_secs(5);
/// How long a new leader waits before it proposes any worker lost: workers
/// whose node died with the old leader need time to find another.
pub const WORKER_FAILOVER_LEASE: Duration = Duration::from_secs(10);
/// How often the leader checks whether time-driven work (`Tick`) is due.
pub const TICK_EVERY: Duration = Duration::from_secs(1);
/// A `Tick` at least this often even when nothing is urgent (idle cost
/// accrual, ledger pruning), so an idle cluster writes almost nothing.
pub const TICK_AT_LEAST_EVERY: Duration = Duration::from_secs(60);
/// How often every pool's scaling policies are evaluated.
pub const AUTOSCALE_EVERY: Duration = Duration::from_secs(5);
/// How often the leader checks whether a history sample is due.
pub const SAMPLE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often the leader asks the members which protocol version they speak
/// (only while the cluster version is below its own).
pub const VERSION_CHECK_EVERY: Duration = Duration::from_secs(1);
/// Placements per proposal.
const DISPATCH_BATCH: usize = 256;
const WAKE: Duration = Duration::from_millis(100);

/// What the loops remember between rounds; reset when leadership is lost.
#[derive(Default)]
struct Rounds {
    term: Option<u64>,
    previous: Option<Decision>,
    last_tick: Option<Instant>,
    last_tick_proposed: Option<Instant>,
    last_autoscale: Option<Instant>,
    last_sample_check: Option<Instant>,
    last_version_check: Option<Instant>,
}

pub(crate) async fn run(node: ClusterNode) {
    let mut metrics = node.raft().metrics();
    let mut rounds = Rounds::default();
    loop {
        // Wake on any applied change (a submit, a finish) or on the timer.
        let _ = tokio::time::timeout(WAKE, metrics.changed()).await;
        if !node.is_leader() {
            rounds = Rounds::default();
            continue;
        }
        let term = node.raft().metrics().borrow().current_term;
        if rounds.term != Some(term) {
            rounds = Rounds { term: Some(term), ..Rounds::default() };
            bootstrap(&node).await;
        }
        expire_workers(&node, term).await;
        if due(&mut rounds.last_tick, TICK_EVERY) {
            let (urgent, useful) = node.state_machine().read(|s| (s.tick_due(crate::node::now_ms()), s.tick_useful()));
            if urgent || (useful && due(&mut rounds.last_tick_proposed, TICK_AT_LEAST_EVERY)) {
                rounds.last_tick_proposed = Some(Instant::now());
                propose(&node, Command::Tick(Tick {}), "tick").await;
            }
        }
        if due(&mut rounds.last_autoscale, AUTOSCALE_EVERY) {
            autoscale_round(&node).await;
        }
        if due(&mut rounds.last_sample_check, SAMPLE_CHECK_EVERY)
            && node.state_machine().read(|s| s.sample_due(crate::node::now_ms()))
        {
            propose(&node, Command::RecordSamples(RecordSamples {}), "history sample").await;
        }
        if due(&mut rounds.last_version_check, VERSION_CHECK_EVERY) {
            node.raise_cluster_version().await;
        }
        dispatch_round(&node, &mut rounds.previous).await;
    }
}

fn due(last: &mut Option<Instant>, every: Duration) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < every) {
        return false;
    }
    *last = Some(now);
    true
}

async fn propose(node: &ClusterNode, command: Command, what: &'static str) -> Option<Outcome> {
    match node.write(command).await {
        Ok(w) => {
            if let Outcome::Rejected(r) = &w.outcome {
                tracing::debug!(what, rejection = ?r, "leader proposal refused by apply");
            }
            Some(w.outcome)
        }
        Err(e) => {
            tracing::debug!(what, error = %e, "leader proposal failed");
            None
        }
    }
}

async fn bootstrap(node: &ClusterNode) {
    let pending = node.state_machine().read(|s| node.inner.config.bootstrap.pending(s));
    for command in pending {
        tracing::info!(kind = command.kind(), "proposing what the configuration declares");
        propose(node, command, "bootstrap").await;
    }
}

async fn dispatch_round(node: &ClusterNode, previous: &mut Option<Decision>) {
    let now = crate::node::now_ms();
    let decision = node.state_machine().read(|s| dispatch::solve(s, now, previous.as_ref(), DISPATCH_BATCH));
    if decision.assignments.is_empty() {
        return;
    }
    if let Some(Outcome::JobsAssigned(p)) = propose(node, Command::AssignJobs(decision.command()), "dispatch").await {
        tracing::debug!(placed = p.len(), proposed = decision.assignments.len(), "dispatched");
    }
    *previous = Some(decision);
}

async fn autoscale_round(node: &ClusterNode) {
    let now = crate::node::now_ms();
    let decisions: Vec<_> = node.state_machine().read(|s| {
        let pools: Vec<PoolId> = s.pools().map(|p| p.id.clone()).collect();
        pools.iter().map(|p| autoscale::should_scale(s, p, now)).filter(|d| d.is_change()).collect()
    });
    for d in decisions {
        tracing::info!(pool = %d.pool.0, from = d.from, to = d.to, reason = %d.reason, "autoscaler decision");
        propose(node, Command::RecordScaling(d.command()), "autoscale").await;
    }
}

async fn expire_workers(node: &ClusterNode, term: u64) {
    let registered: Vec<WorkerId> =
        node.state_machine().read(|s| s.workers().filter(|w| w.state != WorkerState::Lost).map(|w| w.id).collect());
    for worker_id in node.inner.liveness.expired(term, &registered, WORKER_LEASE, WORKER_FAILOVER_LEASE) {
        tracing::warn!(%worker_id, "worker lease expired; proposing it lost");
        propose(node, Command::MarkWorkerLost(MarkWorkerLost { worker_id }), "worker lost").await;
    }
}
