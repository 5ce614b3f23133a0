//! Autoscaling policies and the pure [`should_scale`].
//!
//! Policies come from the seeds' `scaling_policies` (`trigger: "cpu_utilization
//! > 80"`, `action: scale_up`, `cooldown: "5m"`). The domain knows
//! reservations, not OS load, so `cpu_utilization` is the share of the pool's
//! cpu reserved by placed jobs. Rules:
//! - any scale-up beats any scale-down; among scale-downs the mildest wins;
//! - cooldowns: up after the last up; down after the last change either way;
//! - hysteresis: no scale-down while a scale-up trigger is within 10% of firing,
//!   and a target-value policy acts only outside +-10% of its target;
//! - scale-down only removes idle workers older than `min_worker_lifetime_ms`.

use crate::ids::{PoolId, WorkerId};
use crate::model::WorkerState;
use crate::pool::Pool;
use crate::state::State;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// Reserved cpu / capacity, percent.
    CpuUtilization,
    MemoryUtilization,
    /// The larger of the two, percent.
    AllocationRatio,
    /// Queued jobs this pool could take.
    QueueDepth,
    /// Longest current wait of such a job, seconds.
    PendingWaitS,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub metric: Metric,
    pub cmp: Comparison,
    pub value: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScaleAction {
    ScaleUp,
    ScaleDown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// Add or remove `step` workers while the trigger holds.
    Threshold { trigger: Trigger, action: ScaleAction, step: u32 },
    /// Size the pool so the metric comes to `target` (proportional).
    TargetValue { metric: Metric, target: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    pub name: String,
    pub strategy: Strategy,
    /// Overrides the pool's cooldown for this policy's direction.
    pub cooldown_ms: Option<u64>,
}

impl Metric {
    pub fn parse(s: &str) -> Result<Metric, String> {
        match s {
            "cpu_utilization" => Ok(Metric::CpuUtilization),
            "memory_utilization" => Ok(Metric::MemoryUtilization),
            "allocation_ratio" => Ok(Metric::AllocationRatio),
            "queue_depth" => Ok(Metric::QueueDepth),
            "pending_wait_s" | "pending_wait" => Ok(Metric::PendingWaitS),
            other => Err(format!("unknown metric {other:?}")),
        }
    }
}

impl Metric {
    /// The seeds' name of the metric, as [`Metric::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::CpuUtilization => "cpu_utilization",
            Metric::MemoryUtilization => "memory_utilization",
            Metric::AllocationRatio => "allocation_ratio",
            Metric::QueueDepth => "queue_depth",
            Metric::PendingWaitS => "pending_wait_s",
        }
    }
}

impl std::fmt::Display for Trigger {
    /// The seeds' form, `cpu_utilization > 80`, which [`Trigger::parse`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.cmp {
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        };
        write!(f, "{} {op} {}", self.metric.as_str(), self.value)
    }
}

impl Trigger {
    /// Parses `"<metric> <op> <number>"`, op one of `> >= < <=`.
    pub fn parse(s: &str) -> Result<Trigger, String> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        let [m, op, v] = parts.as_slice() else {
            return Err(format!("trigger {s:?} is not \"<metric> <op> <value>\""));
        };
        let cmp = match *op {
            ">" => Comparison::Gt,
            ">=" => Comparison::Ge,
            "<" => Comparison::Lt,
            "<=" => Comparison::Le,
            other => return Err(format!("unknown comparison {other:?}")),
        };
        let value = v.parse::<u64>().map_err(|_| format!("trigger value {v:?} is not a whole number"))?;
        Ok(Trigger { metric: Metric::parse(m)?, cmp, value })
    }

    pub fn holds(&self, observed: u64) -> bool {
        match self.cmp {
            Comparison::Gt => observed > self.value,
            Comparison::Ge => observed >= self.value,
            Comparison::Lt => observed < self.value,
            Comparison::Le => observed <= self.value,
        }
    }
}

/// Parses `"250ms"`, `"30s"`, `"5m"`, `"1h"` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("duration {s:?} has no number"))?;
    let mult = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("duration {s:?} needs a unit: ms, s, m or h")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("duration {s:?} is too long"))
}

impl ScalingPolicy {
    /// A policy from the seeds' config form.
    pub fn from_config(name: &str, trigger: &str, action: &str, cooldown: Option<&str>) -> Result<ScalingPolicy, String> {
        let action = match action {
            "scale_up" => ScaleAction::ScaleUp,
            "scale_down" => ScaleAction::ScaleDown,
            other => return Err(format!("unknown action {other:?}")),
        };
        let trigger = Trigger::parse(trigger)?;
        let cooldown_ms = cooldown.map(parse_duration_ms).transpose()?;
        Ok(ScalingPolicy { name: name.to_string(), strategy: Strategy::Threshold { trigger, action, step: 1 }, cooldown_ms })
    }
}

/// What the autoscaler sees of a pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolMetrics {
    pub live_workers: u32,
    pub idle_workers: u32,
    pub capacity_cpu_m: u64,
    pub reserved_cpu_m: u64,
    pub capacity_memory_mb: u64,
    pub reserved_memory_mb: u64,
    pub queue_depth: u64,
    pub oldest_wait_ms: u64,
}

impl PoolMetrics {
    pub fn value(&self, m: Metric) -> u64 {
        // No capacity but work waiting reads as saturated.
        let pct = |used: u64, cap: u64| match cap {
            0 if self.queue_depth > 0 => 100,
            0 => 0,
            _ => (u128::from(used) * 100 / u128::from(cap)) as u64,
        };
        match m {
            Metric::CpuUtilization => pct(self.reserved_cpu_m, self.capacity_cpu_m),
            Metric::MemoryUtilization => pct(self.reserved_memory_mb, self.capacity_memory_mb),
            Metric::AllocationRatio => self.value(Metric::CpuUtilization).max(self.value(Metric::MemoryUtilization)),
            Metric::QueueDepth => self.queue_depth,
            Metric::PendingWaitS => self.oldest_wait_ms / 1000,
        }
    }
}

/// The pool's metrics at `now_ms`. Queue depth counts jobs that name the pool
/// and jobs that name none (any pool could take them).
pub fn pool_metrics(state: &State, pool: &PoolId, now_ms: u64) -> PoolMetrics {
    let mut m = PoolMetrics::default();
    for w in state.workers.values().filter(|w| &w.pool == pool && w.state != WorkerState::Lost) {
        m.live_workers += 1;
        m.idle_workers += u32::from(w.jobs.is_empty());
        m.capacity_cpu_m += w.cpu_m;
        m.reserved_cpu_m += w.used_cpu_m;
        m.capacity_memory_mb += w.memory_mb;
        m.reserved_memory_mb += w.used_memory_mb;
    }
    m.queue_depth = state.pending_for_pool(Some(pool)) + state.pending_for_pool(None);
    let oldest = state
        .queue
        .tenants
        .values()
        .filter_map(|q| q.jobs.iter().take(16).filter_map(|&(_, id)| state.jobs.get(id)).find(|j| j.spec.pool.as_ref().is_none_or(|p| p == pool)))
        .map(|j| j.submitted_at_ms)
        .min();
    m.oldest_wait_ms = oldest.map_or(0, |s| now_ms.saturating_sub(s));
    m
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleDecision {
    pub pool: PoolId,
    /// The pool's committed target when decided (`RecordScaling.from`).
    pub from: u32,
    pub to: u32,
    pub reason: String,
    pub policy: Option<String>,
    /// Idle, old-enough workers to drain when scaling down.
    pub drain: Vec<WorkerId>,
    pub metrics: PoolMetrics,
}

impl ScaleDecision {
    pub fn is_change(&self) -> bool {
        self.from != self.to
    }

    /// The command that records this decision.
    pub fn command(&self) -> crate::command::RecordScaling {
        crate::command::RecordScaling {
            id: self.pool.clone(),
            from: self.from,
            to: self.to,
            reason: self.reason.clone(),
            policy: self.policy.clone(),
            drain: self.drain.clone(),
        }
    }
}

/// May the pool scale in this direction at `now_ms`? `Err` says why not.
pub fn cooldown_allows(pool: &Pool, up: bool, policy: Option<&str>, now_ms: u64) -> Result<(), String> {
    let own = policy.and_then(|n| pool.policies.iter().find(|p| p.name == n)).and_then(|p| p.cooldown_ms);
    let (last, cooldown) = if up {
        (pool.last_scale_up_ms, own.unwrap_or(pool.scale_up_cooldown_ms))
    } else {
        (pool.last_scale_down_ms.max(pool.last_scale_up_ms), own.unwrap_or(pool.scale_down_cooldown_ms))
    };
    match last {
        Some(t) if now_ms.saturating_sub(t) < cooldown => {
            Err(format!("{} cooldown: {} ms left", if up { "scale-up" } else { "scale-down" }, cooldown - now_ms.saturating_sub(t)))
        }
        _ => Ok(()),
    }
}

/// Decides whether `pool` should change size now, and why. Pure: the leader
/// proposes `decision.command()` when `is_change()`.
pub fn should_scale(state: &State, pool_id: &PoolId, now_ms: u64) -> ScaleDecision {
    let metrics = pool_metrics(state, pool_id, now_ms);
    let hold = |from: u32, reason: String| ScaleDecision { pool: pool_id.clone(), from, to: from, reason, policy: None, drain: Vec::new(), metrics };
    let Some(pool) = state.pools.get(pool_id) else { return hold(0, "no such pool".into()) };
    let from = pool.target_size;
    if !pool.lifecycle.accepts_work() {
        return hold(from, format!("pool is {}", pool.lifecycle.as_str()));
    }
    if from < pool.min_size {
        return ScaleDecision { to: pool.min_size, reason: format!("below min_size {}", pool.min_size), ..hold(from, String::new()) };
    }
    if !pool.auto_scaling_enabled {
        return hold(from, "auto scaling disabled".into());
    }
    let live = metrics.live_workers.max(from);
    let (mut up, mut down): (Option<(u32, &ScalingPolicy, String)>, Option<(u32, &ScalingPolicy, String)>) = (None, None);
    let mut near_up = false;
    for p in &pool.policies {
        let (want, why) = match p.strategy {
            Strategy::Threshold { trigger, action, step } => {
                let v = metrics.value(trigger.metric);
                let fires = trigger.holds(v);
                if action == ScaleAction::ScaleUp {
                    let margin = trigger.value / 10;
                    let near = Trigger { value: trigger.value.saturating_sub(margin), ..trigger };
                    near_up |= matches!(trigger.cmp, Comparison::Gt | Comparison::Ge) && near.holds(v);
                }
                if !fires {
                    continue;
                }
                let want = match action {
                    ScaleAction::ScaleUp => live.saturating_add(step.max(1)),
                    ScaleAction::ScaleDown => live.saturating_sub(step.max(1)),
                };
                (want, format!("{}: {:?} {} vs {}", p.name, trigger.metric, v, trigger.value))
            }
            Strategy::TargetValue { metric, target } => {
                let v = metrics.value(metric);
                let target = target.max(1);
                if v * 10 >= target * 9 && v * 10 <= target * 11 {
                    continue;
                }
                let base = u64::from(live.max(1));
                let want = u32::try_from((base * v).div_ceil(target)).unwrap_or(u32::MAX);
                (want, format!("{}: {:?} {} vs target {}", p.name, metric, v, target))
            }
        };
        let want = want.clamp(pool.min_size, pool.max_size);
        if want > from && up.as_ref().is_none_or(|u| want > u.0) {
            up = Some((want, p, why));
        } else if want < from && down.as_ref().is_none_or(|d| want > d.0) {
            down = Some((want, p, why));
        }
    }
    if let Some((to, p, why)) = up {
        return match cooldown_allows(pool, true, Some(&p.name), now_ms) {
            Ok(()) => ScaleDecision { to, reason: why, policy: Some(p.name.clone()), ..hold(from, String::new()) },
            Err(e) => hold(from, format!("{why}; held by {e}")),
        };
    }
    let Some((to, p, why)) = down else { return hold(from, "no policy fires".into()) };
    if near_up {
        return hold(from, format!("{why}; held by hysteresis (a scale-up trigger is within 10%)"));
    }
    if let Err(e) = cooldown_allows(pool, false, Some(&p.name), now_ms) {
        return hold(from, format!("{why}; held by {e}"));
    }
    let mut idle: Vec<_> = state
        .workers
        .values()
        .filter(|w| &w.pool == pool_id && w.state == WorkerState::Active && w.jobs.is_empty())
        .filter(|w| now_ms.saturating_sub(w.registered_at_ms) >= pool.min_worker_lifetime_ms)
        .map(|w| w.id)
        .collect();
    // Youngest idle workers go first (highest id).
    idle.reverse();
    let n = (from - to) as usize;
    idle.truncate(n);
    if idle.is_empty() && metrics.live_workers > to {
        return hold(from, format!("{why}; no idle worker older than the minimum lifetime"));
    }
    let to = if metrics.live_workers > to { from - idle.len() as u32 } else { to };
    ScaleDecision { to, reason: why, policy: Some(p.name.clone()), drain: idle, ..hold(from, String::new()) }
}
