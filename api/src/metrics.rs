//! Prometheus metrics of one node, served as text by `GET /metrics`.
//!
//! ```text
//!   raft.metrics() watch ──watch_raft──▶ hodei_raft_* gauges and counters
//!   REST requests ──track (axum middleware)──▶ hodei_http_request_duration_seconds
//!   gRPC requests ──instrument_grpc(routes)──▶ hodei_grpc_request_duration_seconds
//!   Raft log writer rounds ──watch_storage──▶ hodei_raft_log_{append,fsync}_duration_seconds
//!   snapshots built / installed ──watch_storage──▶ hodei_raft_snapshot_{duration_seconds,size_bytes}
//!   ClusterNode::forwarded_writes, forwards_streamed ──render──▶ hodei_forwarded_writes_{total,streamed_total}
//!   ClusterNode::presend_counts ──render──▶ hodei_raft_presends_{total,used_total,streamed_total}
//!   render(node) ──under the State's read lock──▶ sample::DomainSample ──gauges──▶ hodei_jobs, hodei_pool_*, ...
//!                                              └─▶ ledger::LedgerCounters ──▶ *_dollars_total, hodei_sla_*_total, hodei_dispatch_wait_seconds, ...
//!   StateMachineStore::assignments_applied ──render──▶ hodei_dispatch_assignments_total
//! ```
//!
//! Wiring (done by the node binary):
//!
//! ```ignore
//! let metrics = Metrics::new(per_tenant_labels);
//! let _watch = metrics.watch_raft(node.clone());
//! metrics.watch_storage(&node);
//! let rest = rest::router(app, max_body)
//!     .merge(metrics.router(node.clone()))
//!     .layer(axum::middleware::from_fn_with_state(metrics.clone(), metrics::track));
//! tonic::transport::Server::builder().add_routes(metrics.instrument_grpc(grpc::routes(app)));
//! ```
//!
//! Conventions: every name starts with `hodei_`, durations are in seconds,
//! counters end in `_total`, no job id is ever a label, and the `tenant` label
//! appears only on gauges and only while `per_tenant_labels` is on. Every metric
//! is documented in `docs/observability.md`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hodei_cluster::ClusterNode;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::task::JoinHandle;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Latency buckets in seconds, for API requests: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Storage latency buckets in seconds: 50 µs to 1 s (an fdatasync on an SSD is
/// well under a millisecond; seconds mean a sick disk).
const STORAGE_BUCKETS: &[f64] = &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// Snapshot build and install buckets in seconds: 1 ms (an empty state) to
/// 2 minutes (hundreds of MB written and synced).
const SNAPSHOT_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// The `operation` values of `hodei_raft_snapshot_duration_seconds`.
pub const SNAPSHOT_OPERATIONS: &[&str] = &["build", "install"];

mod gauges;
mod ledger;
mod raft;
mod requests;
mod sample;
mod wait;

use gauges::DomainGauges;
use ledger::LedgerCounters;
use requests::{grpc_code_label, method_label, SUBMIT_JOB_METHOD};
pub use raft::RaftSample;
pub use requests::{track, track_grpc};
pub use sample::{DomainSample, PoolSample, SlaSample, TenantSample, ANY_POOL};

/// The quota resources of `hodei_tenant_quota_utilization_ratio{resource}`.
pub const QUOTA_RESOURCES: &[&str] = &["cpu", "memory", "jobs"];

/// The metrics of one node. Cheap to clone; every clone shares one registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    per_tenant_labels: bool,
    // Raft.
    raft_term: IntGauge,
    raft_is_leader: IntGauge,
    raft_leader_changes: IntCounter,
    raft_last_log_index: IntGauge,
    raft_committed_index: IntGauge,
    raft_applied_index: IntGauge,
    raft_apply_lag: IntGauge,
    raft_snapshot_index: IntGauge,
    raft_members: IntGauge,
    raft_voters: IntGauge,
    /// The (term, leader) last seen, to count leader changes once each.
    last_leadership: Mutex<Option<(u64, u64)>>,
    // API.
    http_duration: HistogramVec,
    grpc_duration: HistogramVec,
    forwarded_writes: IntCounter,
    forwards_streamed: IntCounter,
    presends: IntCounter,
    presends_used: IntCounter,
    presends_streamed: IntCounter,
    read_index_requests: IntCounter,
    read_index_rounds: IntCounter,
    read_index_leased: IntCounter,
    // Dispatch: placements in the entries this node applied (the wait
    // histogram is a ledger counter).
    dispatch_assignments: IntCounter,
    // Raft log storage, fed by the log writer's round observer.
    log_append: Histogram,
    log_fsync: Histogram,
    // Replication, fed by the network's AppendEntries observer (leader only).
    peer_append: HistogramVec,
    // Snapshots, fed by the state machine store's observer (size also at scrape).
    snapshot_duration: HistogramVec,
    snapshot_size: IntGauge,
    // Domain, refreshed at scrape time.
    domain: DomainGauges,
    ledgers: LedgerCounters,
    /// Serialises refresh-then-gather so concurrent scrapes see whole snapshots.
    scrape: Mutex<()>,
}

impl Metrics {
    /// A registry with every Hodei metric, process metrics and `hodei_build_info`.
    /// `per_tenant_labels: false` drops every series with a `tenant` label (for
    /// very large tenant counts); the cluster-wide and per-pool series remain.
    pub fn new(per_tenant_labels: bool) -> Metrics {
        Metrics::try_new(per_tenant_labels).expect("the metric definitions are valid and distinct")
    }

    fn try_new(per_tenant_labels: bool) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntGaugeVec> {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> prometheus::Result<IntCounter> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let bucketed = |name: &str, help: &str, buckets: &[f64], labels: &[&str]| -> prometheus::Result<HistogramVec> {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| bucketed(name, help, LATENCY_BUCKETS, labels);

        let storage_histogram = |name: &str, help: &str| -> prometheus::Result<Histogram> {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(STORAGE_BUCKETS.to_vec()))?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };

        let build_info = gauge_vec("hodei_build_info", "Build of this node; always 1.", &["version"])?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;

        let inner = Inner {
            raft_term: gauge("hodei_raft_term", "Current Raft term of this node.")?,
            raft_is_leader: gauge("hodei_raft_is_leader", "1 if this node is the Raft leader, else 0.")?,
            raft_leader_changes: counter(
                "hodei_raft_leader_changes_total",
                "Leaderships (term, leader) this node has seen, the first included.",
            )?,
            raft_last_log_index: gauge("hodei_raft_last_log_index", "Index of the last entry in this node's log.")?,
            raft_committed_index: gauge(
                "hodei_raft_committed_index",
                "Last log index this node knows to be committed (saved by Raft before applying; a follower's trails the leader's).",
            )?,
            raft_applied_index: gauge(
                "hodei_raft_applied_index",
                "Index of the last entry applied to this node's state machine.",
            )?,
            raft_apply_lag: gauge(
                "hodei_raft_apply_lag",
                "Entries in this node's log not yet applied (last log index - applied index).",
            )?,
            raft_snapshot_index: gauge(
                "hodei_raft_snapshot_index",
                "Last log index covered by this node's snapshot (0: none).",
            )?,
            raft_members: gauge("hodei_raft_members", "Voters and learners in the membership this node uses.")?,
            raft_voters: gauge("hodei_raft_voters", "Voters in the membership this node uses.")?,
            last_leadership: Mutex::new(None),
            http_duration: histogram(
                "hodei_http_request_duration_seconds",
                "REST request duration in seconds, by route template, method and status.",
                &["route", "method", "status"],
            )?,
            grpc_duration: histogram(
                "hodei_grpc_request_duration_seconds",
                "gRPC request duration in seconds (to response headers), by method and status code.",
                &["method", "code"],
            )?,
            forwarded_writes: counter(
                "hodei_forwarded_writes_total",
                "Writes this node forwarded to the leader as a follower (each counted once, when its forward reached the leader or timed out).",
            )?,
            forwards_streamed: counter(
                "hodei_forwarded_writes_streamed_total",
                "Forwarded writes answered on the stream to the leader (not a unary call; each counted once, a batch as the writes it carries).",
            )?,
            presends: counter(
                "hodei_raft_presends_total",
                "AppendEntries this node sent as leader as its log took the entries, before its own sync returned.",
            )?,
            presends_used: counter(
                "hodei_raft_presends_used_total",
                "Presend answers the leader's replication took in place of a call of its own.",
            )?,
            presends_streamed: counter(
                "hodei_raft_presends_streamed_total",
                "Presends answered on the follower's append stream (not a unary call).",
            )?,
            read_index_requests: counter(
                "hodei_read_index_requests_total",
                "Read-index requests on this node: its linearizable reads, and on the leader the followers' read-index calls.",
            )?,
            read_index_rounds: counter(
                "hodei_read_index_rounds_total",
                "Read-index rounds this node ran, each answering every request waiting when it began (leader: a quorum heartbeat; follower: one call to the leader).",
            )?,
            read_index_leased: counter(
                "hodei_read_index_lease_reads_total",
                "Read-index requests the leader answered from its read lease (a quorum acknowledged it within half the minimum election timeout), with no round.",
            )?,
            dispatch_assignments: counter(
                "hodei_dispatch_assignments_total",
                "Job placements in the AssignJobs entries this node applied (entries committed before it started are not counted).",
            )?,
            log_append: storage_histogram(
                "hodei_raft_log_append_duration_seconds",
                "Raft log write rounds: from taking the first queued write to its acknowledgement (write plus fdatasync).",
            )?,
            log_fsync: storage_histogram("hodei_raft_log_fsync_duration_seconds", "fdatasync calls of the Raft log writer.")?,
            peer_append: bucketed(
                "hodei_raft_peer_append_duration_seconds",
                "AppendEntries calls this node made as leader that the follower answered (heartbeats included): encoding, both network legs, the follower's log append and fsync.",
                STORAGE_BUCKETS,
                &["to"],
            )?,
            snapshot_duration: {
                let h = bucketed(
                    "hodei_raft_snapshot_duration_seconds",
                    "Snapshots this node built (state copied, encoded, written and synced) or installed from the leader (decoded, written, swapped in).",
                    SNAPSHOT_BUCKETS,
                    &["operation"],
                )?;
                for op in SNAPSHOT_OPERATIONS {
                    h.with_label_values(&[op]);
                }
                h
            },
            snapshot_size: gauge("hodei_raft_snapshot_size_bytes", "Size of this node's latest snapshot file in bytes (0: none).")?,
            domain: DomainGauges::register(&registry, per_tenant_labels)?,
            ledgers: LedgerCounters::register(&registry, per_tenant_labels)?,
            scrape: Mutex::new(()),
            registry,
            per_tenant_labels,
        };
        // Every node exports the families the shipped alerts read, at zero
        // until the first call (HodeiQuotaRefusals reads refused submits).
        inner.grpc_duration.with_label_values(&[SUBMIT_JOB_METHOD, grpc_code_label(tonic::Code::ResourceExhausted)]);
        Ok(Metrics { inner: Arc::new(inner) })
    }

    /// The registry, for callers that add their own collectors.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn per_tenant_labels(&self) -> bool {
        self.inner.per_tenant_labels
    }

    /// Sets the Raft gauges from one reading; counts a leader change when the
    /// (term, leader) pair differs from the last one seen.
    pub fn observe_raft(&self, s: RaftSample) {
        let i = &self.inner;
        i.raft_term.set(clamp(s.term));
        i.raft_is_leader.set(i64::from(s.leader == Some(s.id)));
        i.raft_last_log_index.set(clamp(s.last_log_index));
        i.raft_committed_index.set(clamp(s.committed_index));
        i.raft_applied_index.set(clamp(s.applied_index));
        i.raft_apply_lag.set(clamp(s.last_log_index.saturating_sub(s.applied_index)));
        i.raft_snapshot_index.set(clamp(s.snapshot_index));
        i.raft_members.set(clamp(s.members));
        i.raft_voters.set(clamp(s.voters));
        if let Some(leader) = s.leader {
            let mut last = i.last_leadership.lock().unwrap_or_else(|e| e.into_inner());
            if *last != Some((s.term, leader)) {
                *last = Some((s.term, leader));
                i.raft_leader_changes.inc();
            }
        }
    }

    /// Follows the node's Raft metrics and updates the Raft gauges on every
    /// change. The task ends when Raft shuts down; abort the handle to stop sooner.
    pub fn watch_raft(&self, node: ClusterNode) -> JoinHandle<()> {
        let metrics = self.clone();
        let mut rx = node.raft().metrics();
        tokio::spawn(async move {
            loop {
                rx.borrow_and_update();
                metrics.observe_raft(RaftSample::of(&node));
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    /// Records one REST request. `route` must be a route template
    /// (`/api/v1/jobs/{id}`), never a raw path.
    pub fn observe_http(&self, route: &str, method: &http::Method, status: u16, elapsed: Duration) {
        self.inner
            .http_duration
            .with_label_values(&[route, method_label(method), &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one gRPC call. `method` is the full path (`/hodei.v1.JobService/GetJob`).
    pub fn observe_grpc(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        // An unknown method answers Unimplemented: its path is client-chosen, so it
        // must not become a label value.
        let method = if code == tonic::Code::Unimplemented { "unknown" } else { method };
        self.inner
            .grpc_duration
            .with_label_values(&[method, grpc_code_label(code)])
            .observe(elapsed.as_secs_f64());
    }

    /// Feeds the Raft log writer's rounds of `node` into
    /// `hodei_raft_log_append_duration_seconds` and `hodei_raft_log_fsync_duration_seconds`,
    /// its AppendEntries round trips as leader into
    /// `hodei_raft_peer_append_duration_seconds{to}`, and its snapshots into
    /// `hodei_raft_snapshot_duration_seconds{operation}` and
    /// `hodei_raft_snapshot_size_bytes`. Returns false when the log, the
    /// network or the state machine already has an observer (one registry per node).
    pub fn watch_storage(&self, node: &ClusterNode) -> bool {
        let (append, fsync) = (self.inner.log_append.clone(), self.inner.log_fsync.clone());
        let log = node.observe_log_rounds(Box::new(move |round| {
            append.observe(round.append.as_secs_f64());
            if let Some(sync) = round.sync {
                fsync.observe(sync.as_secs_f64());
            }
        }));
        let peer_append = self.inner.peer_append.clone();
        let peers = node.observe_peer_appends(Box::new(move |to, took| {
            peer_append.with_label_values(&[&to.to_string()]).observe(took.as_secs_f64());
        }));
        let metrics = self.clone();
        let snapshots = node.observe_snapshots(Box::new(move |done| metrics.observe_snapshot(done)));
        log && peers && snapshots
    }

    /// Records one snapshot built or installed.
    pub fn observe_snapshot(&self, done: hodei_cluster::SnapshotDone) {
        let op = match done.op {
            hodei_cluster::SnapshotOp::Build => "build",
            hodei_cluster::SnapshotOp::Install => "install",
        };
        self.inner.snapshot_duration.with_label_values(&[op]).observe(done.took.as_secs_f64());
        self.inner.snapshot_size.set(clamp(done.bytes));
    }

    /// Everything in Prometheus text format, with the Raft gauges, the ledger
    /// counters and the domain gauges refreshed from `node`'s replicated copy,
    /// read under its lock.
    pub fn render(&self, node: &ClusterNode) -> String {
        self.observe_raft(RaftSample::of(node));
        let reads = node.read_index_counts();
        catch_up(&self.inner.read_index_requests, reads.requests);
        catch_up(&self.inner.read_index_rounds, reads.rounds);
        catch_up(&self.inner.read_index_leased, reads.leased);
        catch_up(&self.inner.forwarded_writes, node.forwarded_writes());
        catch_up(&self.inner.forwards_streamed, node.forwards_streamed());
        let presends = node.presend_counts();
        catch_up(&self.inner.presends, presends.sent);
        catch_up(&self.inner.presends_used, presends.used);
        catch_up(&self.inner.presends_streamed, presends.streamed);
        self.inner.snapshot_size.set(clamp(node.state_machine().snapshot_size()));
        catch_up(&self.inner.dispatch_assignments, node.state_machine().assignments_applied());
        let _guard = self.inner.scrape.lock().unwrap_or_else(|e| e.into_inner());
        let domain = node.state_machine().read(|state| {
            self.inner.ledgers.observe(state);
            DomainSample::of(state)
        });
        self.inner.domain.set(&domain);
        self.encode()
    }

    /// Everything in Prometheus text format, with the ledger counters and the
    /// domain gauges refreshed from `state` (the Raft gauges as last observed).
    pub fn render_state(&self, state: &hodei_domain::State) -> String {
        let _guard = self.inner.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.ledgers.observe(state);
        self.inner.domain.set(&DomainSample::of(state));
        self.encode()
    }

    /// Everything in Prometheus text format, with the domain gauges set from
    /// `domain` (the Raft gauges and ledger counters as last observed).
    pub fn render_with(&self, domain: &DomainSample) -> String {
        let _guard = self.inner.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.domain.set(domain);
        self.encode()
    }

    fn encode(&self) -> String {
        let families = self.inner.registry.gather();
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// `GET /metrics` for `node`, to merge into the REST router.
    pub fn router(&self, node: ClusterNode) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let body = metrics.render(&node);
                async move { ([(http::header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response() }
            }),
        )
    }

    /// The gRPC routes with every call timed into `hodei_grpc_request_duration_seconds`.
    pub fn instrument_grpc(&self, routes: tonic::service::Routes) -> tonic::service::Routes {
        let router = routes.into_axum_router().layer(axum::middleware::from_fn_with_state(self.clone(), track_grpc));
        tonic::service::Routes::from(router)
    }
}

/// Raises a counter that mirrors a running total kept elsewhere to that total.
fn catch_up(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

#[cfg(test)]
mod tests;

pub(crate) fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
