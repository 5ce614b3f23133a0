//! # hodei-domain
//!
//! The deterministic heart of Hodei: what the cluster replicates and how each
//! committed command changes it. No clock, no I/O, no randomness, no unordered
//! iteration: every node that applies the same log reaches the same state.
//!
//! ```text
//! Proposal { at_ms, Command } --State::apply(index, &proposal)--> Outcome
//! ```
//!
//! - [`ids`]: newtype identifiers.
//! - [`model`]: tenants, quotas, jobs and their states.
//! - [`command`]: the append-only command enum and its payloads.
//! - [`outcome`]: results, including replicated rejections.
//! - [`state`]: the state and `apply`; `apply/` holds one file per command family.
//! - [`snapshot`]: the versioned encoding of the whole state.
//! - [`dispatch`]: the pure planner of placements the leader proposes.

mod apply;
pub mod command;
pub mod dispatch;
pub mod ids;
pub mod model;
pub mod outcome;
pub mod snapshot;
pub mod state;

pub use command::{Command, Proposal};
pub use ids::{JobId, PoolId, TenantId, WorkerId};
pub use model::{Execution, Job, JobSpec, JobState, Placement, Quota, RunEnding, RunUsage, Tenant, Usage, Worker, WorkerState};
pub use outcome::{Outcome, Rejection};
pub use state::State;
