//! `ScalePool` (manual, with a reason) and `RecordScaling` (the autoscaler's
//! decision). Both set the pool's target size, which a provisioner reconciles,
//! and both go into the pool's scaling history.

use crate::command::{RecordScaling, ScalePool};
use crate::model::WorkerState;
use crate::outcome::{Outcome, Rejection};
use crate::pool::ScalingEvent;
use crate::state::State;

pub(crate) fn manual(state: &mut State, now: u64, c: &ScalePool) -> Outcome {
    let cap = state.settings.retention.scaling_history_len;
    let Some(p) = state.pools.get_mut(&c.id) else {
        return Rejection::not_found(format!("pool {}", c.id));
    };
    if !p.lifecycle.accepts_work() {
        return Rejection::conflict(format!("pool {} is {}", c.id, p.lifecycle.as_str()));
    }
    if c.target_size < p.min_size || c.target_size > p.max_size {
        return Rejection::invalid(format!("target_size must be {}..={}", p.min_size, p.max_size));
    }
    if c.reason.is_empty() || c.reason.len() > 1_024 {
        return Rejection::invalid("a manual scale needs a reason (at most 1024 bytes)");
    }
    let from = p.target_size;
    p.target_size = c.target_size;
    // A manual change also restarts the cooldown, so the autoscaler does not
    // undo it at once.
    if c.target_size > from {
        p.last_scale_up_ms = Some(now);
    } else if c.target_size < from {
        p.last_scale_down_ms = Some(now);
    }
    let event = ScalingEvent { at_ms: now, from, to: c.target_size, reason: c.reason.clone(), automatic: false, policy: None };
    p.record(event, cap);
    Outcome::PoolUpdated(p.clone())
}

pub(crate) fn automatic(state: &mut State, now: u64, c: &RecordScaling) -> Outcome {
    let cap = state.settings.retention.scaling_history_len;
    let Some(p) = state.pools.get(&c.id) else {
        return Rejection::not_found(format!("pool {}", c.id));
    };
    if !p.lifecycle.accepts_work() || !p.auto_scaling_enabled {
        return Rejection::conflict(format!("pool {} does not autoscale now", c.id));
    }
    if p.target_size != c.from {
        return Rejection::conflict(format!("stale decision: pool {} target is {}, not {}", c.id, p.target_size, c.from));
    }
    if c.to < p.min_size || c.to > p.max_size || c.to == c.from {
        return Rejection::invalid(format!("target must differ from {} and be within {}..={}", c.from, p.min_size, p.max_size));
    }
    if let Err(why) = crate::autoscale::cooldown_allows(p, c.to > c.from, c.policy.as_deref(), now) {
        return Rejection::conflict(why);
    }
    let min_life = p.min_worker_lifetime_ms;
    // Never drain a busy or young worker: re-checked here, whatever was proposed.
    for w in &c.drain {
        if let Some(w) = state.workers.get_mut(w) {
            if w.pool == c.id && w.state == WorkerState::Active && w.jobs.is_empty() && now.saturating_sub(w.registered_at_ms) >= min_life {
                w.state = WorkerState::Draining;
            }
        }
    }
    let p = state.pools.get_mut(&c.id).expect("checked");
    p.target_size = c.to;
    if c.to > c.from {
        p.last_scale_up_ms = Some(now);
    } else {
        p.last_scale_down_ms = Some(now);
    }
    let event = ScalingEvent { at_ms: now, from: c.from, to: c.to, reason: c.reason.chars().take(1_024).collect(), automatic: true, policy: c.policy.clone() };
    p.record(event, cap);
    Outcome::PoolUpdated(p.clone())
}
