//! What a provisioner should do for one pool: a pure function of the committed
//! state and the spawns still waiting to register.
//!
//! - Workers counted: the pool's ACTIVE workers (draining and lost ones are on
//!   their way out) plus spawns not yet registered.
//! - The target: a dynamic pool's committed `target_size`; a static pool's
//!   `min_size` (its warm floor: a lost or drained worker is replaced).
//! - Fewer than the target: start the difference.
//! - More ACTIVE workers than a dynamic pool's target: drain the excess,
//!   youngest idle first. A busy worker is never chosen: the pool shrinks as
//!   work ends. A static pool's extra workers are the operator's and stay.

use hodei_domain::{PoolId, PoolKind, State, WorkerId, WorkerState};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub start: u32,
    pub drain: Vec<WorkerId>,
}

pub fn plan(state: &State, pool: &PoolId, pending_spawns: u32) -> Plan {
    let Some(p) = state.pool(pool) else { return Plan::default() };
    let wanted = match p.kind {
        PoolKind::Dynamic => p.target_size,
        PoolKind::Static => p.min_size,
    };
    let target = if p.lifecycle.accepts_work() { wanted } else { 0 };
    let active: Vec<_> = state.workers().filter(|w| &w.pool == pool && w.state == WorkerState::Active).collect();
    let have = active.len() as u32 + pending_spawns;
    let start = target.saturating_sub(have);
    let excess = match p.kind {
        PoolKind::Dynamic => (active.len() as u32).saturating_sub(target) as usize,
        PoolKind::Static => 0,
    };
    // Highest id first: the youngest workers go.
    let drain = active.iter().rev().filter(|w| w.jobs.is_empty()).take(excess).map(|w| w.id).collect();
    Plan { start, drain }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hodei_domain::command::{CreatePool, RegisterWorker, ScalePool};
    use hodei_domain::{Command, PoolKind, Proposal};

    fn state_with(workers: u32, target: u32) -> State {
        state_of(PoolKind::Dynamic, 0, workers, target)
    }

    fn state_of(kind: PoolKind, min_size: u32, workers: u32, target: u32) -> State {
        let mut s = State::default();
        let mut i = 0;
        let mut apply = |s: &mut State, command: Command| {
            i += 1;
            s.apply(i, &Proposal { at_ms: 1_000 + i, command })
        };
        apply(&mut s, Command::CreatePool(CreatePool {
            id: PoolId("dyn".into()),
            name: "dyn".into(),
            kind,
            min_size,
            max_size: 10,
            labels: Default::default(),
            worker_shape: None,
            worker_hourly_cost_nanos: None,
            auto_scaling_enabled: false,
            policies: Vec::new(),
        }));
        for n in 0..workers {
            let reg = RegisterWorker { pool: PoolId("dyn".into()), name: format!("w{n}"), cpu_m: 1000, memory_mb: 1024, labels: Default::default(), logs_addr: String::new() };
            apply(&mut s, Command::RegisterWorker(reg));
        }
        apply(&mut s, Command::ScalePool(ScalePool { id: PoolId("dyn".into()), target_size: target, reason: "test".into() }));
        s
    }

    #[test]
    fn a_pool_below_its_target_starts_the_difference_counting_pending_spawns() {
        let s = state_with(1, 4);
        assert_eq!(plan(&s, &PoolId("dyn".into()), 0).start, 3);
        assert_eq!(plan(&s, &PoolId("dyn".into()), 2).start, 1, "spawns on their way count");
        assert_eq!(plan(&s, &PoolId("dyn".into()), 5).start, 0);
    }

    #[test]
    fn a_pool_above_its_target_drains_the_youngest_idle_workers_only() {
        let s = state_with(3, 1);
        let p = plan(&s, &PoolId("dyn".into()), 0);
        assert_eq!(p.start, 0);
        let ids: Vec<u64> = p.drain.iter().map(|w| w.0).collect();
        let mut all: Vec<u64> = s.workers().map(|w| w.id.0).collect();
        all.sort_unstable();
        assert_eq!(ids, vec![all[2], all[1]], "two youngest of three");
    }

    #[test]
    fn a_static_pool_is_kept_at_its_min_size_and_never_drained() {
        let s = state_of(PoolKind::Static, 2, 1, 0);
        assert_eq!(plan(&s, &PoolId("dyn".into()), 0), Plan { start: 1, drain: vec![] }, "a lost worker is replaced");
        assert_eq!(plan(&s, &PoolId("dyn".into()), 1).start, 0, "a spawn on its way counts");
        let s = state_of(PoolKind::Static, 1, 3, 0);
        assert_eq!(plan(&s, &PoolId("dyn".into()), 0), Plan::default(), "extra static workers are the operator's");
    }

    #[test]
    fn an_unknown_pool_needs_nothing() {
        assert_eq!(plan(&State::default(), &PoolId("nope".into()), 0), Plan::default());
    }
}
