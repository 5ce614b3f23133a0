//! More of the domain's rules, one test each: tenant uniqueness, update and
//! delete; burst denial, revocation and expiry; a finished job never changes;
//! advisory quotas without strict mode; young workers are kept on scale-down;
//! hysteresis and target-value scaling; idle-pool recommendations.

use std::collections::BTreeMap;

use hodei_domain::command::*;
use hodei_domain::*;

mod support;

use support::World as W;

impl W {
    fn tenant(&mut self, name: &str, cpu_m: u64) -> TenantId {
        let quota = Quota { cpu_m, memory_mb: 1 << 20, max_concurrent_jobs: 1_000 };
        match self.apply(Command::CreateTenant(CreateTenant { name: name.into(), email: "a@b.c".into(), quota: Some(quota) })) {
            Outcome::TenantCreated(t) => t.id,
            o => panic!("{o:?}"),
        }
    }

    fn burst(&mut self, tenant: TenantId, minutes: u32) -> Burst {
        let c = RequestBurst { tenant_id: tenant, cpu_m: 500, memory_mb: 0, duration_minutes: minutes, reason: "spike".into() };
        match self.apply(Command::RequestBurst(c)) {
            Outcome::BurstUpdated(b) => b,
            o => panic!("{o:?}"),
        }
    }

    fn decide(&mut self, b: &Burst, decision: BurstDecision) -> Outcome {
        self.apply(Command::DecideBurst(DecideBurst { burst_id: b.id, decision }))
    }
}

#[test]
fn tenant_names_are_unique() {
    let mut w = W::new();
    w.tenant("acme", 1000);
    let again = w.apply(Command::CreateTenant(CreateTenant { name: "acme".into(), email: "x@y.z".into(), quota: None }));
    assert!(matches!(again, Outcome::Rejected(Rejection::Conflict { .. })), "{again:?}");
}

#[test]
fn an_idle_tenant_can_be_updated_and_deleted_and_its_name_reused() {
    let mut w = W::new();
    let t = w.tenant("acme", 1000);
    let o = w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: t, weight: Some(5), ..UpdateTenant::default() }));
    assert!(matches!(&o, Outcome::TenantUpdated(x) if x.weight == 5), "{o:?}");
    let o = w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: t, weight: Some(0), ..UpdateTenant::default() }));
    assert!(matches!(o, Outcome::Rejected(_)), "a zero weight is refused: {o:?}");
    assert!(matches!(w.apply(Command::DeleteTenant(DeleteTenant { tenant_id: t })), Outcome::TenantDeleted(_)));
    assert!(w.state.tenant(t).is_none());
    w.tenant("acme", 1000);
}

#[test]
fn a_pending_burst_can_be_denied_and_then_grants_nothing() {
    let mut w = W::new();
    w.settings(|s| s.burst_capacity.require_approval = true);
    let t = w.tenant("acme", 1000);
    let b = w.burst(t, 10);
    assert_eq!(b.state, BurstState::Pending);
    assert_eq!(w.state.burst_allowance(t, w.now), (0, 0), "pending grants nothing");
    let o = w.decide(&b, BurstDecision::Deny { reason: "no".into() });
    assert!(matches!(&o, Outcome::BurstUpdated(x) if x.state == BurstState::Denied), "{o:?}");
    assert!(matches!(w.decide(&b, BurstDecision::Approve), Outcome::Rejected(Rejection::Conflict { .. })), "a denied lease stays denied");
}

#[test]
fn an_active_burst_ends_when_revoked_or_at_its_end_time() {
    let mut w = W::new();
    let t = w.tenant("acme", 1000);
    let b = w.burst(t, 1);
    assert_eq!(b.state, BurstState::Active, "granted at once without require_approval");
    assert_eq!(w.state.burst_allowance(t, w.now), (500, 0));
    assert!(matches!(w.decide(&b, BurstDecision::Revoke { reason: "budget".into() }), Outcome::BurstUpdated(x) if x.state == BurstState::Revoked));
    assert_eq!(w.state.burst_allowance(t, w.now), (0, 0));
    let b = w.burst(t, 1);
    w.now = b.ends_at_ms.unwrap();
    let Outcome::Ticked(report) = w.apply(Command::Tick(Tick {})) else { panic!() };
    assert_eq!(report.bursts_expired, 1);
    assert_eq!(w.state.burst(b.id).unwrap().state, BurstState::Expired);
    assert_eq!(w.state.burst_allowance(t, w.now), (0, 0));
}

#[test]
fn a_finished_job_never_changes_again() {
    let mut w = W::new();
    let t = w.tenant("acme", 10_000);
    let c = RegisterWorker { pool: PoolId("p".into()), name: "w".into(), cpu_m: 4000, memory_mb: 4096, labels: BTreeMap::new(), logs_addr: String::new() };
    let Outcome::WorkerRegistered(worker) = w.apply(Command::RegisterWorker(c)) else { panic!() };
    let spec = JobSpec { command: vec!["true".into()], cpu_m: 100, memory_mb: 64, ..Default::default() };
    let Outcome::JobSubmitted(job) = w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec, idempotency_key: None })) else { panic!() };
    let Outcome::JobsAssigned(placed) = w.apply(Command::AssignJobs(AssignJobs { assignments: vec![(job.id, worker.id)] })) else { panic!() };
    let token = placed[0].2;
    assert!(matches!(w.apply(Command::StartJob(StartJob { job_id: job.id, worker_id: worker.id, token })), Outcome::JobStarted(_)));
    let finish = FinishJob { job_id: job.id, worker_id: worker.id, token, ending: RunEnding::Succeeded, usage: RunUsage::default() };
    assert!(matches!(w.apply(Command::FinishJob(finish.clone())), Outcome::JobFinished(_)));
    let before = w.state.job(job.id).cloned();
    let late = FinishJob { ending: RunEnding::Failed { exit_code: Some(1) }, ..finish };
    assert!(matches!(w.apply(Command::FinishJob(late)), Outcome::Rejected(_)));
    assert!(matches!(w.apply(Command::CancelJob(CancelJob { job_id: job.id, tenant_id: None })), Outcome::Rejected(_)));
    assert!(matches!(w.apply(Command::StartJob(StartJob { job_id: job.id, worker_id: worker.id, token })), Outcome::Rejected(_)));
    assert_eq!(w.state.job(job.id).cloned(), before, "SUCCEEDED stays SUCCEEDED, unchanged");
}

#[test]
fn without_strict_mode_the_quota_is_advisory_and_violations_are_counted() {
    let mut w = W::new();
    w.settings(|s| s.quota_enforcement.strict_mode = false);
    let t = w.tenant("acme", 1000);
    for _ in 0..3 {
        let spec = JobSpec { command: vec!["true".into()], cpu_m: 900, memory_mb: 64, ..Default::default() };
        let o = w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec, idempotency_key: None }));
        assert!(matches!(o, Outcome::JobSubmitted(_)), "{o:?}");
    }
    assert!(w.state.tenant(t).unwrap().quota_violations >= 1, "admissions beyond quota are counted");
}

#[test]
fn scale_down_keeps_workers_younger_than_the_minimum_lifetime() {
    let mut w = W::new();
    let pool = PoolId("dyn".into());
    let down = autoscale::ScalingPolicy::from_config("idle", "cpu_utilization < 10", "scale_down", Some("1s")).unwrap();
    let create = CreatePool { id: pool.clone(), name: "d".into(), kind: PoolKind::Dynamic, min_size: 0, max_size: 4, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: true, policies: vec![down] };
    w.apply(Command::CreatePool(create));
    w.apply(Command::ScalePool(ScalePool { id: pool.clone(), target_size: 1, reason: "warm one".into() }));
    let c = RegisterWorker { pool: pool.clone(), name: "w".into(), cpu_m: 1000, memory_mb: 1024, labels: BTreeMap::new(), logs_addr: String::new() };
    let Outcome::WorkerRegistered(worker) = w.apply(Command::RegisterWorker(c)) else { panic!() };
    // Idle, but registered a moment ago (the default minimum lifetime is 10 minutes).
    let young = should_scale(&w.state, &pool, w.now + 120_000);
    assert!(!young.is_change() && young.reason.contains("lifetime"), "{}", young.reason);
    let old = should_scale(&w.state, &pool, w.now + 3_600_000);
    assert_eq!((old.from, old.to, old.drain.clone()), (1, 0, vec![worker.id]), "{}", old.reason);
}

/// A pool "dyn" (dynamic, 0 to 4, target `target`) with `policies`, one worker
/// of 1000 millicores, and a job of `cpu_m` placed on it.
fn busy_pool(w: &mut W, policies: Vec<autoscale::ScalingPolicy>, target: u32, cpu_m: u64) -> PoolId {
    let pool = PoolId("dyn".into());
    let create = CreatePool { id: pool.clone(), name: "d".into(), kind: PoolKind::Dynamic, min_size: 0, max_size: 4, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: true, policies };
    w.apply(Command::CreatePool(create));
    w.apply(Command::ScalePool(ScalePool { id: pool.clone(), target_size: target, reason: "start".into() }));
    let c = RegisterWorker { pool: pool.clone(), name: "w".into(), cpu_m: 1000, memory_mb: 1 << 20, labels: BTreeMap::new(), logs_addr: String::new() };
    let Outcome::WorkerRegistered(worker) = w.apply(Command::RegisterWorker(c)) else { panic!() };
    let t = w.tenant("acme", 100_000);
    let spec = JobSpec { command: vec!["true".into()], cpu_m, memory_mb: 64, pool: Some(pool.clone()), ..Default::default() };
    let Outcome::JobSubmitted(job) = w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec, idempotency_key: None })) else { panic!() };
    let placed = w.apply(Command::AssignJobs(AssignJobs { assignments: vec![(job.id, worker.id)] }));
    assert!(matches!(placed, Outcome::JobsAssigned(ref p) if p.len() == 1), "{placed:?}");
    pool
}

#[test]
fn hysteresis_holds_a_scale_down_while_a_scale_up_trigger_is_within_ten_percent() {
    let mut w = W::new();
    let up = autoscale::ScalingPolicy::from_config("hot", "cpu_utilization > 80", "scale_up", None).unwrap();
    let down = autoscale::ScalingPolicy::from_config("empty", "queue_depth < 1", "scale_down", Some("1s")).unwrap();
    // 750 of 1000 millicores reserved: 75 %, within 10 % of the 80 % trigger.
    let pool = busy_pool(&mut w, vec![up, down], 2, 750);
    let d = should_scale(&w.state, &pool, w.now + 3_600_000);
    assert!(!d.is_change() && d.reason.contains("hysteresis"), "{}", d.reason);
}

#[test]
fn a_target_value_policy_sizes_the_pool_in_proportion() {
    let mut w = W::new();
    let tv = autoscale::ScalingPolicy {
        name: "half".into(),
        strategy: autoscale::Strategy::TargetValue { metric: autoscale::Metric::CpuUtilization, target: 50 },
        cooldown_ms: None,
    };
    // One worker fully reserved (100 %) against a 50 % target: two workers.
    let pool = busy_pool(&mut w, vec![tv], 1, 1000);
    let d = should_scale(&w.state, &pool, w.now + 3_600_000);
    assert_eq!((d.from, d.to), (1, 2), "{}", d.reason);
}

#[test]
fn an_idle_pool_is_recommended_a_lower_min_size_with_its_saving() {
    let mut w = W::new();
    let pool = PoolId("warm".into());
    let create = CreatePool { id: pool.clone(), name: "w".into(), kind: PoolKind::Static, min_size: 2, max_size: 4, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: Some(1_000_000_000), auto_scaling_enabled: false, policies: vec![] };
    w.apply(Command::CreatePool(create));
    let c = RegisterWorker { pool: pool.clone(), name: "w".into(), cpu_m: 1000, memory_mb: 1024, labels: BTreeMap::new(), logs_addr: String::new() };
    w.apply(Command::RegisterWorker(c));
    // Two idle hours, charged to the pool by the next tick.
    w.now += 2 * 3_600_000;
    w.apply(Command::Tick(Tick {}));
    let recs = cost_report::recommendations(&w.state, Some(&pool), w.now);
    let rec = recs.iter().find(|r| matches!(&r.kind, cost_report::RecommendationKind::LowerPoolMinSize { pool: p, to: 1 } if *p == pool));
    let rec = rec.unwrap_or_else(|| panic!("no min-size recommendation: {recs:?}"));
    assert!(rec.estimated_monthly_savings_nanos > 0, "{rec:?}");
}
