//! Resource pools: named groups of workers with a size range, labels and an
//! hourly worker cost.
//!
//! Lifecycle: `Creating` until it has `min_size` live workers, then `Active`;
//! `DeletePool` makes it `Draining` (its workers take no new jobs) and it becomes
//! `Deleted` once no worker remains. A worker that registers into a pool nobody
//! declared creates it implicitly (static, `min_size` 0), so agents started
//! before the operator's configuration still work.

use std::collections::BTreeMap;

use crate::autoscale::ScalingPolicy;
use crate::ids::PoolId;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PoolKind {
    /// Keeps `min_size` warm workers; preferred by dispatch.
    Static,
    /// Grows and shrinks between `min_size` and `max_size` through a provisioner.
    Dynamic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolLifecycle {
    Creating,
    Active,
    Draining,
    Deleted,
}

impl PoolLifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolLifecycle::Creating => "CREATING",
            PoolLifecycle::Active => "ACTIVE",
            PoolLifecycle::Draining => "DRAINING",
            PoolLifecycle::Deleted => "DELETED",
        }
    }

    /// May this pool's workers take new jobs?
    pub fn accepts_work(self) -> bool {
        matches!(self, PoolLifecycle::Creating | PoolLifecycle::Active)
    }
}

/// The size of the workers a pool provisions; a job larger than every declared
/// shape could never run and is refused at submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerShape {
    pub cpu_m: u64,
    pub memory_mb: u64,
}

/// One scaling decision, automatic or manual.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingEvent {
    pub at_ms: u64,
    pub from: u32,
    pub to: u32,
    pub reason: String,
    pub automatic: bool,
    /// The policy that fired, for automatic decisions.
    pub policy: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub id: PoolId,
    pub name: String,
    pub kind: PoolKind,
    pub min_size: u32,
    pub max_size: u32,
    /// The size the provisioner reconciles to; within `min_size..=max_size`.
    pub target_size: u32,
    /// Labels every worker of the pool carries (matched by job selectors).
    pub labels: BTreeMap<String, String>,
    pub worker_shape: Option<WorkerShape>,
    /// Price of one worker for one hour, nano-dollars; `None` prices idle time
    /// by the worker's capacity at the `cost_tracking` rates.
    pub worker_hourly_cost_nanos: Option<u64>,
    pub auto_scaling_enabled: bool,
    pub policies: Vec<ScalingPolicy>,
    pub scale_up_cooldown_ms: u64,
    pub scale_down_cooldown_ms: u64,
    /// A worker younger than this is never chosen for scale-down.
    pub min_worker_lifetime_ms: u64,
    pub lifecycle: PoolLifecycle,
    pub created_at_ms: u64,
    pub last_scale_up_ms: Option<u64>,
    pub last_scale_down_ms: Option<u64>,
    /// Newest last, bounded by `retention.scaling_history_len`.
    pub history: Vec<ScalingEvent>,
    /// Created by a worker's registration rather than by `CreatePool`.
    pub implicit: bool,
}

impl Pool {
    /// The pool a worker's registration creates when nobody declared it.
    pub fn implicit(id: PoolId, now_ms: u64) -> Pool {
        Pool {
            name: id.0.clone(),
            id,
            kind: PoolKind::Static,
            min_size: 0,
            max_size: u32::MAX,
            target_size: 0,
            labels: BTreeMap::new(),
            worker_shape: None,
            worker_hourly_cost_nanos: None,
            auto_scaling_enabled: false,
            policies: Vec::new(),
            scale_up_cooldown_ms: 300_000,
            scale_down_cooldown_ms: 600_000,
            min_worker_lifetime_ms: 600_000,
            lifecycle: PoolLifecycle::Active,
            created_at_ms: now_ms,
            last_scale_up_ms: None,
            last_scale_down_ms: None,
            history: Vec::new(),
            implicit: true,
        }
    }

    /// Appends to the history, dropping the oldest beyond `cap`.
    pub(crate) fn record(&mut self, event: ScalingEvent, cap: u32) {
        self.history.push(event);
        let cap = cap.max(1) as usize;
        if self.history.len() > cap {
            let extra = self.history.len() - cap;
            self.history.drain(..extra);
        }
    }
}
