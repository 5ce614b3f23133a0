//! The domain's rules, one test each, named after the rule.

use std::collections::BTreeMap;

use hodei_domain::autoscale::{parse_duration_ms, Trigger};
use hodei_domain::command::*;
use hodei_domain::*;

mod support;

use support::World;

impl World {
    fn tenant(&mut self, name: &str, quota: Quota) -> TenantId {
        match self.apply(Command::CreateTenant(CreateTenant { name: name.into(), email: "a@b.c".into(), quota: Some(quota) })) {
            Outcome::TenantCreated(t) => t.id,
            o => panic!("{o:?}"),
        }
    }

    fn worker(&mut self, pool: &str, cpu_m: u64) -> WorkerId {
        let c = RegisterWorker { pool: PoolId(pool.into()), name: "w".into(), cpu_m, memory_mb: 1 << 20, labels: BTreeMap::new(), logs_addr: String::new() };
        match self.apply(Command::RegisterWorker(c)) {
            Outcome::WorkerRegistered(w) => w.id,
            o => panic!("{o:?}"),
        }
    }

    fn submit(&mut self, tenant: TenantId, cpu_m: u64) -> Outcome {
        let spec = JobSpec { command: vec!["true".into()], cpu_m, memory_mb: 64, ..Default::default() };
        self.apply(Command::SubmitJob(SubmitJob { tenant_id: tenant, spec, idempotency_key: None }))
    }

    fn dispatch(&mut self) -> Vec<(JobId, WorkerId, u64)> {
        let d = dispatch::solve(&self.state, self.now, None, 1000);
        match self.apply(Command::AssignJobs(d.command())) {
            Outcome::JobsAssigned(p) => p,
            o => panic!("{o:?}"),
        }
    }
}

fn big() -> Quota {
    Quota { cpu_m: 1_000_000, memory_mb: 1 << 30, max_concurrent_jobs: 100_000 }
}

#[test]
fn reject_policy_refuses_demand_over_quota_with_the_resource_used_and_limit() {
    let mut w = World::new();
    let t = w.tenant("a", Quota { cpu_m: 1000, memory_mb: 8192, max_concurrent_jobs: 10 });
    assert!(matches!(w.submit(t, 600), Outcome::JobSubmitted(_)));
    let r = w.submit(t, 600);
    assert_eq!(r, Outcome::Rejected(Rejection::QuotaExceeded { resource: "cpu_m".into(), used: 600, requested: 600, limit: 1000 }));
}

#[test]
fn queue_policy_accepts_and_holds_until_the_job_fits() {
    let mut w = World::new();
    w.settings(|s| s.quota_enforcement.violation_policy = ViolationPolicy::Queue);
    let t = w.tenant("a", Quota { cpu_m: 1000, memory_mb: 8192, max_concurrent_jobs: 10 });
    w.worker("p", 10_000);
    assert!(matches!(w.submit(t, 600), Outcome::JobSubmitted(_)));
    assert!(matches!(w.submit(t, 600), Outcome::JobSubmitted(_)));
    assert_eq!(w.dispatch().len(), 1, "only one fits the quota at a time");
    assert!(w.state.running_usage(t).cpu_m <= 1000);
}

#[test]
fn a_job_that_could_never_fit_is_invalid() {
    let mut w = World::new();
    let t = w.tenant("a", Quota { cpu_m: 1000, memory_mb: 8192, max_concurrent_jobs: 10 });
    // quota 1000 + 150% burst = 2500
    assert!(matches!(w.submit(t, 2501), Outcome::Rejected(Rejection::Invalid { .. })));
    assert!(matches!(w.submit(t, 2500), Outcome::Rejected(Rejection::QuotaExceeded { .. })), "fits only with a burst");
}

#[test]
fn the_queued_jobs_bound_keeps_memory_bounded() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: t, max_queued_jobs: Some(2), ..Default::default() }));
    w.submit(t, 1);
    w.submit(t, 1);
    assert!(matches!(w.submit(t, 1), Outcome::Rejected(Rejection::QuotaExceeded { ref resource, .. }) if resource == "queued_jobs"));
}

#[test]
fn a_burst_lease_extends_the_quota_until_its_end_time() {
    let mut w = World::new();
    let t = w.tenant("a", Quota { cpu_m: 1000, memory_mb: 8192, max_concurrent_jobs: 10 });
    let b = w.apply(Command::RequestBurst(RequestBurst { tenant_id: t, cpu_m: 1000, memory_mb: 0, duration_minutes: 1, reason: "spike".into() }));
    assert!(matches!(b, Outcome::BurstUpdated(ref b) if b.state == BurstState::Active));
    assert!(matches!(w.submit(t, 1500), Outcome::JobSubmitted(_)));
    w.now += 61_000;
    assert!(matches!(w.submit(t, 100), Outcome::Rejected(Rejection::QuotaExceeded { .. })), "the lease ended by itself");
    assert!(matches!(w.apply(Command::Tick(Tick {})), Outcome::Ticked(ref r) if r.bursts_expired == 1));
}

#[test]
fn a_burst_beyond_max_overage_is_invalid_and_approval_is_required_when_configured() {
    let mut w = World::new();
    w.settings(|s| s.burst_capacity.require_approval = true);
    let t = w.tenant("a", Quota { cpu_m: 1000, memory_mb: 1000, max_concurrent_jobs: 10 });
    let too_big = RequestBurst { tenant_id: t, cpu_m: 1501, memory_mb: 0, duration_minutes: 10, reason: "x".into() };
    assert!(matches!(w.apply(Command::RequestBurst(too_big)), Outcome::Rejected(Rejection::Invalid { .. })));
    let ok = RequestBurst { tenant_id: t, cpu_m: 1500, memory_mb: 0, duration_minutes: 10, reason: "x".into() };
    let Outcome::BurstUpdated(b) = w.apply(Command::RequestBurst(ok)) else { panic!() };
    assert_eq!(b.state, BurstState::Pending);
    assert_eq!(w.state.burst_allowance(t, w.now), (0, 0));
    w.apply(Command::DecideBurst(DecideBurst { burst_id: b.id, decision: BurstDecision::Approve }));
    assert_eq!(w.state.burst_allowance(t, w.now), (1500, 0));
    w.apply(Command::DecideBurst(DecideBurst { burst_id: b.id, decision: BurstDecision::Revoke { reason: "abuse".into() } }));
    assert_eq!(w.state.burst_allowance(t, w.now), (0, 0));
}

#[test]
fn a_tenant_with_running_jobs_cannot_be_deleted() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    w.submit(t, 1);
    assert!(matches!(w.apply(Command::DeleteTenant(DeleteTenant { tenant_id: t })), Outcome::Rejected(Rejection::Conflict { .. })));
    let j = w.state.jobs().next().unwrap().id;
    w.apply(Command::CancelJob(CancelJob { job_id: j, tenant_id: None }));
    assert_eq!(w.apply(Command::DeleteTenant(DeleteTenant { tenant_id: t })), Outcome::TenantDeleted(t));
    assert!(w.state.tenant_by_name("a").is_none());
}

#[test]
fn weighted_fair_queuing_serves_tenants_in_proportion_to_weight() {
    let mut w = World::new();
    let a = w.tenant("a", big());
    let b = w.tenant("b", big());
    w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: a, weight: Some(3), ..Default::default() }));
    for _ in 0..40 {
        w.submit(a, 1000);
        w.submit(b, 1000);
    }
    w.worker("p", 8_000);
    let placed = w.dispatch();
    let of = |t: TenantId| placed.iter().filter(|(j, _, _)| w.state.job(*j).unwrap().tenant_id == t).count();
    assert_eq!((of(a), of(b)), (6, 2), "8 slots split 3:1");
}

#[test]
fn priorities_go_first_within_a_tenant_and_fifo_within_a_priority() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    let mk = |p| JobSpec { command: vec!["x".into()], cpu_m: 1000, memory_mb: 1, priority: p, ..Default::default() };
    let mut ids = Vec::new();
    for p in [0, 5, 0] {
        let Outcome::JobSubmitted(j) = w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec: mk(p), idempotency_key: None })) else { panic!() };
        ids.push(j.id);
    }
    w.worker("p", 2000);
    let placed: Vec<_> = w.dispatch().into_iter().map(|p| p.0).collect();
    assert_eq!(placed, vec![ids[1], ids[0]]);
}

#[test]
fn static_pools_are_preferred_to_dynamic_ones() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    let mk = |id: &str, kind| CreatePool { id: PoolId(id.into()), name: id.into(), kind, min_size: 1, max_size: 5, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: false, policies: vec![] };
    w.apply(Command::CreatePool(mk("a-dyn", PoolKind::Dynamic)));
    w.apply(Command::CreatePool(mk("z-static", PoolKind::Static)));
    w.worker("a-dyn", 1000);
    let s = w.worker("z-static", 1000);
    w.submit(t, 500);
    assert_eq!(w.dispatch()[0].1, s);
}

#[test]
fn a_selector_only_matches_workers_or_pools_with_those_labels() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    w.worker("cpu", 1000);
    let spec = JobSpec { command: vec!["x".into()], cpu_m: 10, memory_mb: 1, ..Default::default() };
    let options = JobOptions { selector: BTreeMap::from([("gpu".into(), "a100".into())]), estimated_duration_s: None };
    w.apply(Command::SubmitJobWithOptions(SubmitJobWithOptions { submit: SubmitJob { tenant_id: t, spec, idempotency_key: None }, options }));
    assert!(w.dispatch().is_empty());
    let j = w.state.jobs().next().unwrap().id;
    assert!(matches!(why_pending(&w.state, j, w.now).unwrap().reason, PendingReason::NoWorkerFits));
    let c = RegisterWorker { pool: PoolId("gpu".into()), name: "g".into(), cpu_m: 1000, memory_mb: 1000, labels: BTreeMap::from([("gpu".into(), "a100".into())]), logs_addr: String::new() };
    w.apply(Command::RegisterWorker(c));
    assert_eq!(w.dispatch().len(), 1);
}

#[test]
fn a_job_no_worker_fits_waits_for_capacity_when_a_dynamic_pool_could_grow_a_fitting_worker() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    let dynamic = |id: &str, labels: &[(&str, &str)]| CreatePool {
        id: PoolId(id.into()),
        name: id.into(),
        kind: PoolKind::Dynamic,
        min_size: 0,
        max_size: 4,
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        worker_shape: Some(WorkerShape { cpu_m: 2000, memory_mb: 2048 }),
        worker_hourly_cost_nanos: None,
        auto_scaling_enabled: true,
        policies: vec![],
    };
    w.apply(Command::CreatePool(dynamic("plain", &[])));
    let spec = JobSpec { command: vec!["x".into()], cpu_m: 1000, memory_mb: 1, ..Default::default() };
    let options = JobOptions { selector: BTreeMap::from([("gpu".into(), "a100".into())]), estimated_duration_s: None };
    w.apply(Command::SubmitJobWithOptions(SubmitJobWithOptions { submit: SubmitJob { tenant_id: t, spec, idempotency_key: None }, options }));
    let j = w.state.jobs().next().expect("admitted").id;
    assert_eq!(why_pending(&w.state, j, w.now).unwrap().reason, PendingReason::NoWorkerFits, "the only pool that can grow lacks the label");

    w.apply(Command::CreatePool(dynamic("gpu", &[("gpu", "a100")])));
    assert_eq!(why_pending(&w.state, j, w.now).unwrap().reason, PendingReason::WaitingForCapacity, "an empty pool that can grow a fitting worker");
}

#[test]
fn job_timeout_expires_by_command_time() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    let wk = w.worker("p", 1000);
    let spec = JobSpec { command: vec!["x".into()], cpu_m: 10, memory_mb: 1, timeout_s: Some(5), ..Default::default() };
    w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec, idempotency_key: None }));
    let (j, _, token) = w.dispatch()[0];
    w.apply(Command::StartJob(StartJob { job_id: j, worker_id: wk, token }));
    w.apply(Command::Tick(Tick {}));
    assert_eq!(w.state.job(j).unwrap().state, JobState::Running);
    w.now += 40_000;
    let Outcome::Ticked(r) = w.apply(Command::Tick(Tick {})) else { panic!() };
    assert_eq!(r.jobs_timed_out, vec![j]);
    assert_eq!(w.state.job(j).unwrap().state, JobState::TimedOut);
    assert!(w.state.job(j).unwrap().execution.cost_nanos > 0, "charged for its wall time");
}

#[test]
fn cost_is_run_time_times_cores_and_gib_at_the_hourly_rates() {
    // 2 cores and 1 GiB for one hour: 2 x 0.05 + 1 x 0.01 = $0.11
    assert_eq!(cost::price(2000, 1024, 3_600_000, 50_000_000, 10_000_000), 110_000_000);
}

#[test]
fn cost_totals_equal_the_sum_of_their_records() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    let wk = w.worker("p", 10_000);
    for _ in 0..5 {
        w.submit(t, 1000);
    }
    for (j, _, token) in w.dispatch() {
        w.now += 3_600_000;
        w.apply(Command::FinishJob(FinishJob { job_id: j, worker_id: wk, token, ending: RunEnding::Succeeded, usage: RunUsage { run_ms: 1_800_000, cpu_ms: 100, peak_memory_kb: 1024 } }));
    }
    let jobs: u128 = w.state.jobs().map(|j| u128::from(j.execution.cost_nanos)).sum();
    let ledger = w.state.cost_ledger();
    let buckets: u128 = ledger.jobs.values().map(|b| u128::from(b.cost_nanos)).sum();
    assert_eq!(jobs, ledger.job_total_nanos);
    assert_eq!(buckets, ledger.job_total_nanos);
    assert!(ledger.idle_total_nanos > 0, "the idle worker's time is charged to its pool");
    let report = cost_report::report(&w.state, cost_report::Period::LastDay, Some(t), None, w.now);
    assert_eq!(report.job_cost_nanos, jobs);
    let recs = cost_report::recommendations(&w.state, None, w.now);
    assert!(recs.iter().all(|r| r.reason.len() > 0));
}

#[test]
fn sla_compliance_counts_jobs_started_within_their_wait_target() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: t, sla_wait_ms: Some(Some(5_000)), ..Default::default() }));
    let wk = w.worker("p", 10_000);
    w.submit(t, 10);
    w.submit(t, 10);
    let placed = w.dispatch();
    w.apply(Command::StartJob(StartJob { job_id: placed[0].0, worker_id: wk, token: placed[0].2 }));
    w.now += 60_000;
    w.apply(Command::StartJob(StartJob { job_id: placed[1].0, worker_id: wk, token: placed[1].2 }));
    let r = sla::report(&w.state, Some(t), None, 0, u64::MAX, w.now);
    assert_eq!((r.started, r.met, r.violations), (2, 1, 1));
    assert_eq!(r.compliance_percent, 50.0);
}

#[test]
fn scaling_policies_parse_the_seeds_forms() {
    let p = ScalingPolicy::from_config("cpu-scaling", "cpu_utilization > 80", "scale_up", Some("5m")).unwrap();
    assert_eq!(p.cooldown_ms, Some(300_000));
    assert!(Trigger::parse("cpu_utilization >> 80").is_err());
    assert_eq!(parse_duration_ms("30s"), Ok(30_000));
    assert!(parse_duration_ms("5").is_err());
}

#[test]
fn should_scale_up_on_its_trigger_then_honours_the_cooldown_and_never_drains_a_busy_worker() {
    let mut w = World::new();
    let t = w.tenant("a", big());
    let policy = ScalingPolicy::from_config("depth", "queue_depth > 2", "scale_up", Some("5m")).unwrap();
    let down = ScalingPolicy::from_config("idle", "cpu_utilization < 10", "scale_down", None).unwrap();
    let pool = PoolId("dyn".into());
    w.apply(Command::CreatePool(CreatePool { id: pool.clone(), name: "d".into(), kind: PoolKind::Dynamic, min_size: 1, max_size: 4, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: true, policies: vec![policy, down] }));
    for _ in 0..5 {
        w.submit(t, 10);
    }
    let d = should_scale(&w.state, &pool, w.now);
    assert_eq!((d.from, d.to), (1, 2), "{}", d.reason);
    assert!(matches!(w.apply(Command::RecordScaling(d.command())), Outcome::PoolUpdated(_)));
    let again = should_scale(&w.state, &pool, w.now);
    assert!(!again.is_change() && again.reason.contains("cooldown"), "{}", again.reason);
    assert_eq!(w.state.pool(&pool).unwrap().history.len(), 1);
    // Busy worker: never drained.
    let wk = w.worker("dyn", 100_000);
    w.dispatch();
    w.now += 3_600_000;
    let d = should_scale(&w.state, &pool, w.now);
    assert!(!d.drain.contains(&wk));
}

#[test]
fn a_manual_scale_needs_a_reason_and_is_recorded() {
    let mut w = World::new();
    let pool = PoolId("p".into());
    w.apply(Command::CreatePool(CreatePool { id: pool.clone(), name: "p".into(), kind: PoolKind::Static, min_size: 2, max_size: 20, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: true, policies: vec![] }));
    assert!(matches!(w.apply(Command::ScalePool(ScalePool { id: pool.clone(), target_size: 15, reason: String::new() })), Outcome::Rejected(_)));
    assert!(matches!(w.apply(Command::ScalePool(ScalePool { id: pool.clone(), target_size: 21, reason: "x".into() })), Outcome::Rejected(Rejection::Invalid { .. })));
    w.apply(Command::ScalePool(ScalePool { id: pool.clone(), target_size: 15, reason: "Manual scaling".into() }));
    let p = w.state.pool(&pool).unwrap();
    assert_eq!((p.target_size, p.history[0].reason.as_str(), p.history[0].automatic), (15, "Manual scaling", false));
}

#[test]
fn a_deleted_pool_drains_then_is_deleted_when_its_last_worker_leaves() {
    let mut w = World::new();
    let wk = w.worker("p", 1000);
    let pool = PoolId("p".into());
    w.apply(Command::DeletePool(DeletePool { id: pool.clone() }));
    assert_eq!(w.state.pool(&pool).unwrap().lifecycle, PoolLifecycle::Draining);
    w.apply(Command::DeregisterWorker(DeregisterWorker { worker_id: wk }));
    assert_eq!(w.state.pool(&pool).unwrap().lifecycle, PoolLifecycle::Deleted);
}

#[test]
fn finished_jobs_are_pruned_beyond_the_retention_bound_with_their_idempotency_keys() {
    let mut w = World::new();
    w.settings(|s| s.retention.max_finished_jobs = 2);
    let t = w.tenant("a", big());
    for i in 0..4 {
        let spec = JobSpec { command: vec!["x".into()], cpu_m: 1, memory_mb: 1, ..Default::default() };
        let Outcome::JobSubmitted(j) = w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec, idempotency_key: Some(format!("k{i}")) })) else { panic!() };
        w.apply(Command::CancelJob(CancelJob { job_id: j.id, tenant_id: None }));
    }
    assert_eq!(w.state.finished_jobs(), 2);
    assert_eq!(w.state.jobs().count(), 2);
}

#[test]
fn why_pending_names_the_quota_that_holds_a_job() {
    let mut w = World::new();
    w.settings(|s| s.quota_enforcement.violation_policy = ViolationPolicy::Queue);
    let t = w.tenant("a", Quota { cpu_m: 1000, memory_mb: 8192, max_concurrent_jobs: 10 });
    w.worker("p", 10_000);
    w.submit(t, 800);
    let Outcome::JobSubmitted(j) = w.submit(t, 800) else { panic!() };
    w.dispatch();
    let e = why_pending(&w.state, j.id, w.now).unwrap();
    assert!(matches!(e.reason, PendingReason::Quota { ref resource, .. } if resource == "cpu_m"), "{e:?}");
}

#[test]
fn tick_is_due_only_when_time_driven_work_waits() {
    let mut s = State::default();
    assert!(!s.tick_due(1_000), "an empty state has nothing due");
    s.apply(1, &Proposal { at_ms: 1_000, command: Command::CreateTenant(CreateTenant { name: "t".into(), email: "t@x.io".into(), quota: None }) });
    let t = s.tenants().next().unwrap().id;
    s.apply(2, &Proposal { at_ms: 1_000, command: Command::RequestBurst(RequestBurst { tenant_id: t, cpu_m: 100, memory_mb: 0, duration_minutes: 1, reason: "r".into() }) });
    assert!(!s.tick_due(30_000), "the lease has 30 s left");
    assert!(s.tick_due(61_000), "the lease is due to end");
}

#[test]
fn a_head_waiting_past_its_sla_threshold_is_boosted_ahead_of_a_tenant_behind_in_virtual_time() {
    let mut w = World::new();
    let big = Quota { cpu_m: 1_000_000, memory_mb: 1 << 30, max_concurrent_jobs: 100_000 };
    let (a, b) = (w.tenant("a", big), w.tenant("b", big));
    w.worker("p", 1_000_000);
    // `a` is served once, so its next job's tag is one job's step ahead of `b`'s.
    w.submit(a, 1000);
    assert_eq!(w.dispatch().len(), 1);
    let Outcome::JobSubmitted(a2) = w.submit(a, 1000) else { panic!() };
    w.now += 10_000;
    let Outcome::JobSubmitted(b1) = w.submit(b, 1000) else { panic!() };
    let first = |now: u64, s: &State| dispatch::solve(s, now, None, 1).assignments[0].0;
    // Neither has waited 80 % of the 30 s target: plain fair order, `b` first.
    assert_eq!(first(a2.submitted_at_ms + 12_000, &w.state), b1.id);
    // `a`'s head has waited 25 s (boosted by sla_boost_cost, more than one
    // step), `b`'s only 15 s: `a` goes first.
    let later = a2.submitted_at_ms + 25_000;
    assert_eq!(first(later, &w.state), a2.id);
    // A snapshot round trip rebuilds the derived head-age index: same decisions.
    let decoded = snapshot::decode(&snapshot::encode(&w.state)).unwrap();
    assert_eq!(dispatch::solve(&decoded, later, None, 1000), dispatch::solve(&w.state, later, None, 1000));
    assert_eq!(first(later, &decoded), a2.id);
}
