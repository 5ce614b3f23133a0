//! # hodei-domain
//!
//! The deterministic heart of Hodei: what the cluster replicates and how each
//! committed command changes it. No clock, no I/O, no randomness, no unordered
//! iteration: every node that applies the same log reaches the same state.
//!
//! ```text
//!  Proposal { at_ms, Command } --State::apply(index, &proposal)--> Outcome
//!
//!  leader loops (pure reads, then proposals):
//!    dispatch::solve(&state, now, previous, n) -> Decision  -> AssignJobs
//!    autoscale::should_scale(&state, pool, now) -> ScaleDecision -> RecordScaling
//!    every second or so                                      -> Tick
//!    every history.sample_interval_ms (state.sample_due)     -> RecordSamples
//!
//!  SubmitJob -> admission (valid? queued bound? quota+burst?) -> fair queue
//!    -> AssignJobs (fencing token = log index) -> StartJob -> FinishJob
//!       (stale token refused)       lost worker -> requeue / LOST
//!    -> cost buckets (hour, tenant, pool), SLA buckets (hour, tenant)
//! ```
//!
//! - [`ids`]: newtype identifiers.
//! - [`model`]: tenants, quotas, jobs, workers and their states.
//! - [`settings`]: cluster-wide settings (the seeds' config keys).
//! - [`command`]: the append-only command enum and its payloads.
//! - [`outcome`]: results, including replicated rejections.
//! - [`state`]: the state and `apply`; `apply/` holds one file per command family.
//! - [`wfq`]: weighted fair queuing tags and the per-tenant queues.
//! - [`placement`]: the rules a placement must satisfy (shared by solver and apply).
//! - [`planted`]: deliberate bugs for proving the chaos checkers fail; compiled
//!   away unless the test-only `planted-bugs` feature is on.
//! - [`dispatch`]: the pure solver of placements the leader proposes.
//! - [`burst`], [`pool`]: burst leases and resource pools.
//! - [`autoscale`]: scaling policies and the pure `should_scale`.
//! - [`cost`], [`cost_report`]: cost ledger, reports and recommendations.
//! - [`sla`]: wait targets and compliance; [`explain`]: why a job is pending.
//! - [`bootstrap`]: the commands that seed a cluster from its configuration.
//! - [`table`]: the job store; [`snapshot`]: the versioned encoding of the state.
//! - [`observability`]: replicated observability settings (history sampler,
//!   Grafana, alerting); [`sampling`]: what `RecordSamples` records per pool and
//!   tenant; [`history`]: the bounded, downsampled series it records into.
//! - [`version`]: protocol versions and the replicated cluster version that
//!   gates new command kinds and formats during a rolling upgrade.

mod apply;
pub mod autoscale;
pub mod bootstrap;
pub mod burst;
pub mod command;
pub mod cost;
pub mod cost_report;
pub mod dispatch;
pub mod explain;
pub mod history;
pub mod ids;
pub mod model;
pub mod observability;
pub mod outcome;
pub mod placement;
pub mod planted;
pub mod pool;
pub mod sampling;
pub mod settings;
pub mod sla;
pub mod snapshot;
pub mod state;
pub mod table;
pub mod version;
pub mod wfq;

pub use apply::job::{MAX_COMMAND_ARGS, MAX_SELECTOR_LABELS};
pub use apply::tick::MAX_PER_TICK;
pub use apply::worker::LOST_WORKER_GRACE;
pub use autoscale::{should_scale, PoolMetrics, ScaleDecision, ScalingPolicy};
pub use bootstrap::Bootstrap;
pub use burst::{Burst, BurstState};
pub use command::{Command, Proposal};
pub use version::{BATCH_AND_VERSION_GATE, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, SLA_TARGETS_GATE};
pub use dispatch::Decision;
pub use explain::{why_pending, PendingExplanation, PendingReason};
pub use ids::{BurstId, JobId, PoolId, TenantId, WorkerId};
pub use model::{Execution, Job, JobOptions, JobSpec, JobState, Placement, Quota, RunEnding, RunUsage, Tenant, Usage, Worker, WorkerState};
pub use outcome::{Outcome, Rejection, TickReport};
pub use pool::{Pool, PoolKind, PoolLifecycle, ScalingEvent, WorkerShape};
pub use settings::{Settings, ViolationPolicy};
pub use state::State;
