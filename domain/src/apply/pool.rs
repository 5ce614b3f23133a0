//! `CreatePool`, `UpdatePool`, `DeletePool`, and the lifecycle transitions
//! (creating -> active once `min_size` workers are live; draining -> deleted
//! once none remain).

use crate::command::{CreatePool, DeletePool, UpdatePool};
use crate::ids::PoolId;
use crate::outcome::{Outcome, Rejection};
use crate::pool::{Pool, PoolKind, PoolLifecycle};
use crate::state::State;

/// Most pools, policies per pool and pool labels accepted.
pub const MAX_POOLS: usize = 1_000;
pub const MAX_POLICIES: usize = 32;

fn check_sizes(_kind: PoolKind, min: u32, max: u32) -> Result<(), Outcome> {
    if min > max || max == 0 || max > 100_000 {
        return Err(Rejection::invalid("pool sizes need min_size <= max_size, 1 <= max_size <= 100000"));
    }
    Ok(())
}

pub(crate) fn create(state: &mut State, now: u64, c: &CreatePool) -> Outcome {
    if c.id.0.is_empty() || c.id.0.len() > 63 || c.name.len() > 253 || c.labels.len() > 64 || c.policies.len() > MAX_POLICIES {
        return Rejection::invalid("pool id 1..=63 bytes, name <= 253, at most 64 labels and 32 policies");
    }
    if let Err(o) = check_sizes(c.kind, c.min_size, c.max_size) {
        return o;
    }
    if c.worker_shape.is_some_and(|s| s.cpu_m == 0 || s.memory_mb == 0) {
        return Rejection::invalid("worker_shape must be positive");
    }
    match state.pools.get(&c.id) {
        // Declaring a pool that workers created implicitly adopts it.
        Some(p) if !p.implicit && p.lifecycle != PoolLifecycle::Deleted => {
            return Rejection::conflict(format!("pool {} already exists", c.id));
        }
        _ => {}
    }
    if state.pools.len() >= MAX_POOLS && !state.pools.contains_key(&c.id) {
        return Rejection::conflict("too many pools");
    }
    let mut pool = Pool::implicit(c.id.clone(), now);
    pool.name = c.name.clone();
    pool.kind = c.kind;
    pool.min_size = c.min_size;
    pool.max_size = c.max_size;
    pool.target_size = c.min_size;
    pool.labels = c.labels.clone();
    pool.worker_shape = c.worker_shape;
    pool.worker_hourly_cost_nanos = c.worker_hourly_cost_nanos;
    pool.auto_scaling_enabled = c.auto_scaling_enabled;
    pool.policies = c.policies.clone();
    pool.lifecycle = PoolLifecycle::Creating;
    pool.implicit = false;
    state.pools.insert(c.id.clone(), pool);
    refresh_lifecycle(state, &c.id);
    Outcome::PoolUpdated(state.pools[&c.id].clone())
}

pub(crate) fn update(state: &mut State, c: &UpdatePool) -> Outcome {
    let Some(p) = state.pools.get(&c.id) else {
        return Rejection::not_found(format!("pool {}", c.id));
    };
    if !p.lifecycle.accepts_work() {
        return Rejection::conflict(format!("pool {} is {}", c.id, p.lifecycle.as_str()));
    }
    let (min, max) = (c.min_size.unwrap_or(p.min_size), c.max_size.unwrap_or(p.max_size));
    if let Err(o) = check_sizes(p.kind, min, max) {
        return o;
    }
    if c.policies.as_ref().is_some_and(|v| v.len() > MAX_POLICIES) || c.labels.as_ref().is_some_and(|l| l.len() > 64) {
        return Rejection::invalid("at most 32 policies and 64 labels");
    }
    let p = state.pools.get_mut(&c.id).expect("checked");
    p.min_size = min;
    p.max_size = max;
    p.target_size = p.target_size.clamp(min, max);
    if let Some(n) = &c.name {
        p.name = n.clone();
    }
    if let Some(l) = &c.labels {
        p.labels = l.clone();
    }
    if let Some(h) = c.worker_hourly_cost_nanos {
        p.worker_hourly_cost_nanos = h;
    }
    if let Some(a) = c.auto_scaling_enabled {
        p.auto_scaling_enabled = a;
    }
    if let Some(v) = &c.policies {
        p.policies = v.clone();
    }
    if let Some(v) = c.scale_up_cooldown_ms {
        p.scale_up_cooldown_ms = v;
    }
    if let Some(v) = c.scale_down_cooldown_ms {
        p.scale_down_cooldown_ms = v;
    }
    if let Some(v) = c.min_worker_lifetime_ms {
        p.min_worker_lifetime_ms = v;
    }
    p.implicit = false;
    Outcome::PoolUpdated(p.clone())
}

/// Starts draining: the pool's workers take no new jobs, finish what they run,
/// and the pool is deleted when the last one deregisters or is lost. Queued
/// jobs that name the pool wait (and can be cancelled).
pub(crate) fn delete(state: &mut State, c: &DeletePool) -> Outcome {
    let Some(p) = state.pools.get_mut(&c.id) else {
        return Rejection::not_found(format!("pool {}", c.id));
    };
    if !p.lifecycle.accepts_work() {
        return Rejection::conflict(format!("pool {} is already {}", c.id, p.lifecycle.as_str()));
    }
    p.lifecycle = PoolLifecycle::Draining;
    p.target_size = 0;
    refresh_lifecycle(state, &c.id);
    Outcome::PoolUpdated(state.pools[&c.id].clone())
}

/// Applies the lifecycle rules after a pool's workers changed.
pub(crate) fn refresh_lifecycle(state: &mut State, id: &PoolId) {
    let live = super::worker::live_workers(state, id);
    let Some(p) = state.pools.get_mut(id) else { return };
    match p.lifecycle {
        PoolLifecycle::Creating if live >= p.min_size as usize => p.lifecycle = PoolLifecycle::Active,
        PoolLifecycle::Draining if live == 0 => p.lifecycle = PoolLifecycle::Deleted,
        _ => {}
    }
}
