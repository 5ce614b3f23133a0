//! Autoscaling rules, one test each: the pending-wait and allocation-ratio
//! triggers, cooldowns (a policy's own, and up and down apart), and the
//! apply-time re-check that never drains a busy or young worker.

use hodei_domain::autoscale::{cooldown_allows, ScalingPolicy};
use hodei_domain::command::*;
use hodei_domain::*;

mod support;

use support::{pool, spec, World};

const MINUTE: u64 = 60_000;

/// An autoscaled dynamic pool "dyn" (0 to 4) with `policies`, scaled by hand
/// to `target` (which restarts its cooldowns now).
fn dynamic(w: &mut World, policies: Vec<ScalingPolicy>, target: u32) -> PoolId {
    let mut c = pool("dyn", PoolKind::Dynamic, 0, 4);
    c.auto_scaling_enabled = true;
    c.policies = policies;
    let id = w.must_pool(c);
    if target > 0 {
        let o = w.apply(Command::ScalePool(ScalePool { id: id.clone(), target_size: target, reason: "start".into() }));
        assert!(matches!(o, Outcome::PoolUpdated(_)), "{o:?}");
    }
    id
}

#[test]
fn pending_wait_triggers_a_scale_up_once_the_oldest_job_waited_past_it() {
    let mut w = World::new();
    let t = w.must_tenant("a", None);
    let up = ScalingPolicy::from_config("slow", "pending_wait_s > 60", "scale_up", Some("1s")).unwrap();
    let p = dynamic(&mut w, vec![up], 1);
    let job = w.must_submit(t, spec(100, 64));
    let early = should_scale(&w.state, &p, job.submitted_at_ms + 30_000);
    assert_eq!(early.metrics.oldest_wait_ms, 30_000);
    assert!(!early.is_change(), "{}", early.reason);
    let late = should_scale(&w.state, &p, job.submitted_at_ms + 61_000);
    assert_eq!((late.from, late.to, late.policy.as_deref()), (1, 2, Some("slow")), "{}", late.reason);
}

#[test]
fn allocation_ratio_triggers_on_the_larger_of_cpu_and_memory_reservations() {
    let mut w = World::new();
    let t = w.must_tenant("a", None);
    let cpu = ScalingPolicy::from_config("cpu", "cpu_utilization > 80", "scale_up", None).unwrap();
    let alloc = ScalingPolicy::from_config("alloc", "allocation_ratio > 80", "scale_up", None).unwrap();
    let p = dynamic(&mut w, vec![cpu, alloc], 1);
    let worker = w.must_worker("dyn", 1000, 1000);
    // 10 % of the cpu, 90 % of the memory.
    let job = w.must_submit(t, JobSpec { pool: Some(p.clone()), ..spec(100, 900) });
    let placed = w.apply(Command::AssignJobs(AssignJobs { assignments: vec![(job.id, worker)] }));
    assert!(matches!(placed, Outcome::JobsAssigned(ref x) if x.len() == 1), "{placed:?}");
    let d = should_scale(&w.state, &p, w.now + 3_600_000);
    assert_eq!((d.metrics.reserved_cpu_m, d.metrics.reserved_memory_mb), (100, 900));
    assert_eq!((d.from, d.to, d.policy.as_deref()), (1, 2, Some("alloc")), "{}", d.reason);
}

#[test]
fn a_scale_down_is_held_by_its_policys_own_cooldown() {
    let mut w = World::new();
    let down = ScalingPolicy::from_config("idle", "cpu_utilization < 10", "scale_down", Some("1h")).unwrap();
    let p = dynamic(&mut w, vec![down], 2);
    let scaled_at = w.now;
    w.must_worker("dyn", 1000, 1024);
    let youngest = w.must_worker("dyn", 1000, 1024);
    // Past the pool's 10-minute scale-down cooldown and the workers' minimum
    // lifetime, within the policy's hour.
    let held = should_scale(&w.state, &p, scaled_at + 20 * MINUTE);
    assert!(!held.is_change() && held.reason.contains("scale-down cooldown"), "{}", held.reason);
    let after = should_scale(&w.state, &p, scaled_at + 61 * MINUTE);
    assert_eq!((after.from, after.to, after.drain.clone()), (2, 1, vec![youngest]), "{}", after.reason);
}

#[test]
fn up_and_down_cooldowns_are_counted_apart() {
    let mut p = Pool::implicit(PoolId("p".into()), 0);
    p.scale_up_cooldown_ms = 5 * MINUTE;
    p.scale_down_cooldown_ms = 10 * MINUTE;
    let t = 100 * MINUTE;
    p.last_scale_down_ms = Some(t);
    assert_eq!(cooldown_allows(&p, true, None, t + 1), Ok(()), "a scale-down does not hold a scale-up");
    assert!(cooldown_allows(&p, false, None, t + 1).is_err());
    assert_eq!(cooldown_allows(&p, false, None, t + 10 * MINUTE), Ok(()));
    p.last_scale_up_ms = Some(t + 20 * MINUTE);
    let up = t + 20 * MINUTE;
    assert!(cooldown_allows(&p, true, None, up + 5 * MINUTE - 1).is_err(), "the up cooldown is 5 minutes");
    assert_eq!(cooldown_allows(&p, true, None, up + 5 * MINUTE), Ok(()));
    assert!(cooldown_allows(&p, false, None, up + 5 * MINUTE).is_err(), "a scale-down waits its own 10 minutes after any change");
    assert_eq!(cooldown_allows(&p, false, None, up + 10 * MINUTE), Ok(()));
}

#[test]
fn recording_a_scale_down_never_drains_a_busy_or_young_worker_whatever_was_proposed() {
    let mut w = World::new();
    let t = w.must_tenant("a", None);
    let p = dynamic(&mut w, vec![], 3);
    let busy = w.must_worker("dyn", 1000, 1024);
    let idle = w.must_worker("dyn", 1000, 1024);
    w.now += 3_600_000;
    let young = w.must_worker("dyn", 1000, 1024);
    let job = w.must_submit(t, JobSpec { pool: Some(p.clone()), ..spec(100, 64) });
    let placed = w.apply(Command::AssignJobs(AssignJobs { assignments: vec![(job.id, busy)] }));
    assert!(matches!(placed, Outcome::JobsAssigned(ref x) if x.len() == 1), "{placed:?}");
    let c = RecordScaling { id: p.clone(), from: 3, to: 1, reason: "stale plan".into(), policy: None, drain: vec![busy, idle, young] };
    assert!(matches!(w.apply(Command::RecordScaling(c)), Outcome::PoolUpdated(ref x) if x.target_size == 1));
    let state_of = |id| w.state.worker(id).unwrap().state;
    assert_eq!((state_of(busy), state_of(idle), state_of(young)), (WorkerState::Active, WorkerState::Draining, WorkerState::Active));
    assert_eq!(w.state.job(job.id).unwrap().state, JobState::Assigned, "the busy worker keeps its job");
    let last = w.state.pool(&p).unwrap().history.last().cloned().unwrap();
    assert!(last.automatic && last.to == 1);
}
