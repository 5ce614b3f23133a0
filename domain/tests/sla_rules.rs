//! SLA wait targets per priority: which target a job has, compliance read per
//! priority, the dispatch boost honouring a priority's target, and the
//! targets' lifecycle (replaced per scope, dropped with their tenant, pruned
//! ledger buckets).

use std::collections::BTreeMap;

use hodei_domain::command::{DeleteTenant, SetClusterVersion, SetSlaTargets, StartJob, Tick, UpdateTenant};
use hodei_domain::*;

mod support;

use support::{big, spec, World};

/// A world whose cluster runs protocol 4, where targets per priority exist.
fn world() -> World {
    let mut w = World::new();
    let out = w.apply(Command::SetClusterVersion(SetClusterVersion { version: SLA_TARGETS_GATE }));
    assert_eq!(out, Outcome::ClusterVersionSet(SLA_TARGETS_GATE));
    w
}

fn set_targets(w: &mut World, tenant_id: Option<TenantId>, targets: &[(i32, u64)]) {
    let by_priority: BTreeMap<i32, u64> = targets.iter().copied().collect();
    let out = w.apply(Command::SetSlaTargets(SetSlaTargets { tenant_id, by_priority }));
    assert!(matches!(out, Outcome::SlaTargetsSet { .. }), "{out:?}");
}

fn prio(priority: i32) -> JobSpec {
    JobSpec { priority, ..spec(10, 16) }
}

#[test]
fn the_target_is_the_tenants_for_the_priority_then_the_tenants_then_the_clusters_for_the_priority_then_the_default() {
    let mut w = world();
    let (a, b) = (w.must_tenant("a", Some(big())), w.must_tenant("b", Some(big())));
    w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: a, sla_wait_ms: Some(Some(50_000)), ..Default::default() }));
    set_targets(&mut w, Some(a), &[(5, 2_000)]);
    set_targets(&mut w, None, &[(5, 10_000), (7, 20_000)]);
    let target = |w: &mut World, t: TenantId, p: i32| {
        let job = w.must_submit(t, prio(p));
        sla::target_ms(&w.state, &job)
    };
    assert_eq!(target(&mut w, a, 5), 2_000, "the tenant's target for the priority");
    assert_eq!(target(&mut w, a, 7), 50_000, "the tenant's own target beats the cluster's for the priority");
    assert_eq!(target(&mut w, b, 7), 20_000, "the cluster's target for the priority");
    assert_eq!(target(&mut w, b, 5), 10_000);
    assert_eq!(target(&mut w, b, 0), 30_000, "the cluster default");
    assert_eq!(sla::smallest_target_ms(&w.state), 2_000);
}

#[test]
fn compliance_per_priority_counts_the_starts_of_priorities_with_a_target() {
    let mut w = world();
    let t = w.must_tenant("a", Some(big()));
    let wk = w.must_worker("p", 10_000, 10_000);
    set_targets(&mut w, None, &[(5, 5_000)]);
    w.must_submit(t, prio(5));
    w.must_submit(t, prio(5));
    w.must_submit(t, prio(0));
    let placed = w.must_dispatch();
    assert_eq!(placed.len(), 3);
    let start = |w: &mut World, (job_id, _, token): (JobId, WorkerId, u64)| {
        assert!(matches!(w.apply(Command::StartJob(StartJob { job_id, worker_id: wk, token })), Outcome::JobStarted(_)));
    };
    start(&mut w, placed[0]);
    w.now += 20_000;
    start(&mut w, placed[1]);
    start(&mut w, placed[2]);
    let p5 = sla::report(&w.state, Some(t), Some(5), 0, u64::MAX, w.now);
    assert_eq!((p5.started, p5.met, p5.violations), (2, 1, 1), "one priority-5 job started within 5 s, one after 20 s");
    assert_eq!(sla::report(&w.state, None, Some(0), 0, u64::MAX, w.now).started, 0, "priority 0 has no target: not in the priority ledger");
    let all = sla::report(&w.state, Some(t), None, 0, u64::MAX, w.now);
    assert_eq!((all.started, all.met), (3, 2), "the priority-0 job met the 30 s default");
    let other = w.must_tenant("b", Some(big()));
    assert_eq!(sla::report(&w.state, Some(other), Some(5), 0, u64::MAX, w.now).started, 0, "filtered by tenant too");
}

#[test]
fn pending_jobs_past_a_priority_target_are_counted_for_that_priority() {
    let mut w = world();
    let t = w.must_tenant("a", Some(big()));
    set_targets(&mut w, None, &[(9, 1_000)]);
    w.must_submit(t, prio(9));
    w.must_submit(t, prio(0));
    let now = w.now + 5_000;
    assert_eq!(sla::report(&w.state, None, Some(9), 0, now, now).pending_over_target, 1);
    assert_eq!(sla::report(&w.state, None, Some(0), 0, now, now).pending_over_target, 0, "5 s is within the 30 s default");
}

#[test]
fn a_priority_target_brings_the_sla_boost_forward() {
    let mut w = world();
    let (a, b) = (w.must_tenant("a", Some(big())), w.must_tenant("b", Some(big())));
    w.must_worker("p", 1_000_000, 1 << 30);
    // `a` is served once, so its next job's tag is one step behind `b`'s.
    w.must_submit(a, spec(1000, 16));
    assert_eq!(w.must_dispatch().len(), 1);
    let urgent = w.must_submit(a, JobSpec { priority: 9, ..spec(1000, 16) });
    let b1 = w.must_submit(b, spec(1000, 16));
    let first = |s: &State, now: u64| dispatch::solve(s, now, None, 1).assignments[0].0;
    let at = urgent.submitted_at_ms + 5_000;
    assert_eq!(first(&w.state, at), b1.id, "5 s is under 80 % of the 30 s default: plain fair order");
    set_targets(&mut w, None, &[(9, 5_000)]);
    assert_eq!(first(&w.state, at), urgent.id, "5 s is past 80 % of the priority's 5 s target: boosted");
    let decoded = snapshot::decode(&snapshot::encode(&w.state)).unwrap();
    assert_eq!(first(&decoded, at), urgent.id, "the targets survive a snapshot");
}

#[test]
fn targets_are_refused_below_cluster_version_4_where_a_snapshot_could_not_carry_them() {
    let mut w = World::new();
    let before = w.state.clone();
    let set = SetSlaTargets { tenant_id: None, by_priority: BTreeMap::from([(1, 1_000)]) };
    assert!(matches!(w.apply(Command::SetSlaTargets(set)), Outcome::Rejected(Rejection::Conflict { .. })));
    assert_eq!(w.state, before);
}

#[test]
fn a_deleted_tenant_takes_its_targets_with_it() {
    let mut w = world();
    let t = w.must_tenant("a", Some(big()));
    set_targets(&mut w, Some(t), &[(1, 1_000)]);
    assert!(w.state.sla_targets().tenants.contains_key(&t));
    assert!(matches!(w.apply(Command::DeleteTenant(DeleteTenant { tenant_id: t })), Outcome::TenantDeleted(_)));
    assert!(w.state.sla_targets().tenants.is_empty());
}

#[test]
fn priority_buckets_are_pruned_after_the_retention_period() {
    let mut w = world();
    let t = w.must_tenant("a", Some(big()));
    let wk = w.must_worker("p", 10_000, 10_000);
    set_targets(&mut w, None, &[(5, 5_000)]);
    w.must_submit(t, prio(5));
    let (job_id, _, token) = w.must_dispatch()[0];
    w.apply(Command::StartJob(StartJob { job_id, worker_id: wk, token }));
    assert_eq!(w.state.sla_ledger().buckets.len(), 1);
    assert_eq!(sla::report(&w.state, None, Some(5), 0, u64::MAX, w.now).started, 1);
    w.now += (u64::from(w.state.settings().cost_tracking.retention_days) + 1) * 86_400_000;
    assert!(matches!(w.apply(Command::Tick(Tick {})), Outcome::Ticked(_)));
    assert!(w.state.sla_ledger().buckets.is_empty());
    assert_eq!(sla::report(&w.state, None, Some(5), 0, u64::MAX, w.now).started, 0, "the per-priority bucket went too");
}
