//! Rules of the replicated metric history: what `RecordSamples` computes from
//! the state, what it refuses (changing nothing), how tenant series stay
//! bounded with many tenants, and properties of the downsampling series.

mod support;

use std::collections::BTreeMap;

use hodei_domain::command::*;
use hodei_domain::history::{max_points, Series, FIELDS};
use hodei_domain::observability::ObservabilitySettings;
use hodei_domain::*;
use proptest::prelude::*;
use support::World;

fn pool_default() -> PoolId {
    PoolId("pool-default".into())
}

fn tenant(w: &mut World, name: &str) -> TenantId {
    match w.apply(Command::CreateTenant(CreateTenant { name: name.into(), email: format!("{name}@x.io"), quota: None })) {
        Outcome::TenantCreated(t) => t.id,
        other => panic!("tenant {name}: {other:?}"),
    }
}

fn submit(w: &mut World, t: TenantId, cpu_m: u64) -> JobId {
    let spec = JobSpec { command: vec!["true".into()], cpu_m, memory_mb: 512, ..Default::default() };
    match w.apply(Command::SubmitJob(SubmitJob { tenant_id: t, spec, idempotency_key: None })) {
        Outcome::JobSubmitted(j) => j.id,
        other => panic!("submit: {other:?}"),
    }
}

fn observability(w: &mut World, f: impl FnOnce(&mut ObservabilitySettings)) -> Outcome {
    let mut s = w.state.observability().clone();
    f(&mut s);
    w.apply(Command::SetObservability(SetObservability { settings: s }))
}

fn record(w: &mut World) -> Outcome {
    w.apply(Command::RecordSamples(RecordSamples {}))
}

#[test]
fn a_sample_is_computed_from_the_state() {
    let mut w = World::new();
    w.apply(Command::RegisterWorker(RegisterWorker { pool: pool_default(), name: "w1".into(), cpu_m: 4000, memory_mb: 8192, labels: BTreeMap::new(), logs_addr: String::new() }));
    w.apply(Command::RegisterWorker(RegisterWorker { pool: pool_default(), name: "w2".into(), cpu_m: 4000, memory_mb: 8192, labels: BTreeMap::new(), logs_addr: String::new() }));
    let a = tenant(&mut w, "a");
    let placed = submit(&mut w, a, 2000);
    submit(&mut w, a, 1000);
    submit(&mut w, a, 1000);
    let out = w.apply(Command::AssignJobs(AssignJobs { assignments: vec![(placed, WorkerId(1))] }));
    assert!(matches!(out, Outcome::JobsAssigned(ref p) if p.len() == 1), "{out:?}");
    assert_eq!(record(&mut w), Outcome::SamplesRecorded { pools: 1, tenants: 1 });
    let pool = w.state.metric_history().pool(&pool_default()).expect("the pool has a series");
    let p = pool.raw.back().unwrap();
    // workers, target, busy, idle, queue depth, cpu reserved %
    assert_eq!(p.sum, [2, w.state.pool(&pool_default()).unwrap().target_size as u64, 1, 1, 2, 25]);
    let t = w.state.metric_history().tenant(a).expect("an active tenant has a series");
    // queued, running, cpu_m, memory_mb, quota use % (2000 of 4000 cpu), cost this hour
    assert_eq!(t.series.raw.back().unwrap().sum, [2, 1, 2000, 512, 50, 0]);
    assert_eq!(t.last_active_ms, w.now);
}

#[test]
fn a_tenant_sample_holds_the_cost_charged_this_hour() {
    let mut w = World::new();
    w.settings(|s| {
        s.cost_tracking.hourly_rate_cpu_nanos = 1_000_000_000;
        s.cost_tracking.hourly_rate_memory_gb_nanos = 0;
    });
    w.apply(Command::RegisterWorker(RegisterWorker { pool: pool_default(), name: "w1".into(), cpu_m: 4000, memory_mb: 8192, labels: BTreeMap::new(), logs_addr: String::new() }));
    let a = tenant(&mut w, "a");
    let job = submit(&mut w, a, 2000);
    let token = match w.apply(Command::AssignJobs(AssignJobs { assignments: vec![(job, WorkerId(1))] })) {
        Outcome::JobsAssigned(p) => p[0].2,
        other => panic!("assign: {other:?}"),
    };
    w.apply(Command::StartJob(StartJob { job_id: job, worker_id: WorkerId(1), token }));
    w.now += 60_000;
    let usage = RunUsage { run_ms: 60_000, cpu_ms: 1_000, peak_memory_kb: 1_024 };
    let out = w.apply(Command::FinishJob(FinishJob { job_id: job, worker_id: WorkerId(1), token, ending: RunEnding::Succeeded, usage }));
    assert!(matches!(out, Outcome::JobFinished(_)), "{out:?}");
    // An hour bucket of the ledger is the truth the sample must repeat.
    let charged: u64 = w.state.cost_ledger().jobs.iter().filter(|((_, t, _), _)| *t == a).map(|(_, b)| b.cost_nanos).sum();
    assert!(charged > 0, "two cores at $1/h for a minute cost something");
    // The job is done, so the tenant is not active and gets no series...
    record(&mut w);
    assert!(w.state.metric_history().tenant(a).is_none());
    // ...until it has work again; then the hour's cost is in its sample.
    submit(&mut w, a, 100);
    record(&mut w);
    let p = *w.state.metric_history().tenant(a).unwrap().series.raw.back().unwrap();
    assert_eq!(p.sum[5], charged);
    assert_eq!(p.sum[0], 1, "one queued job");
}

#[test]
fn refused_samples_and_settings_change_nothing() {
    let mut w = World::new();
    tenant(&mut w, "a");
    assert!(matches!(record(&mut w), Outcome::SamplesRecorded { .. }));
    let before = w.state.clone();
    // The same instant again, then an earlier one: a deposed leader's late proposal.
    let at = w.now;
    for t in [at, at - 500] {
        let out = w.state.apply(99, &Proposal { at_ms: t, command: Command::RecordSamples(RecordSamples {}) });
        assert!(matches!(out, Outcome::Rejected(Rejection::Conflict { .. })), "{out:?}");
    }
    assert_eq!(w.state, before);
    for bad in [
        |o: &mut ObservabilitySettings| o.history.sample_interval_ms = 10,
        |o: &mut ObservabilitySettings| o.history.retention_hours = 10_000,
        |o: &mut ObservabilitySettings| o.grafana.url = "not a url".into(),
    ] {
        let before = w.state.state_hash();
        let out = observability(&mut w, bad);
        assert!(matches!(out, Outcome::Rejected(Rejection::Invalid { .. })), "{out:?}");
        assert_eq!(w.state.state_hash(), before);
    }
    assert!(matches!(observability(&mut w, |o| o.history.enabled = false), Outcome::ObservabilitySet(_)));
    assert!(!w.state.sample_due(w.now + 1_000_000));
    let before = w.state.state_hash();
    assert!(matches!(record(&mut w), Outcome::Rejected(Rejection::Conflict { .. })));
    assert_eq!(w.state.state_hash(), before);
}

#[test]
fn sample_due_follows_the_replicated_interval() {
    let mut w = World::new();
    assert!(w.state.sample_due(0), "the first sample is due at once");
    assert!(matches!(observability(&mut w, |o| o.history.sample_interval_ms = 30_000), Outcome::ObservabilitySet(_)));
    record(&mut w);
    let last = w.now;
    assert!(!w.state.sample_due(last + 29_999));
    assert!(w.state.sample_due(last + 30_000));
}

#[test]
fn tenant_series_stay_bounded_with_many_tenants() {
    let mut w = World::new();
    assert!(matches!(observability(&mut w, |o| o.history.max_tenant_series = 5), Outcome::ObservabilitySet(_)));
    let tenants: Vec<TenantId> = (0..40).map(|i| tenant(&mut w, &format!("t{i}"))).collect();
    // Ten active tenants: only five get a series, the lowest ids first.
    let mut jobs = Vec::new();
    for &t in &tenants[..10] {
        jobs.push(submit(&mut w, t, 100));
    }
    record(&mut w);
    let tracked: Vec<TenantId> = w.state.metric_history().tenants.keys().copied().collect();
    assert_eq!(tracked, tenants[..5].to_vec());
    // The first three go idle; three newly active tenants take their slots.
    for &j in &jobs[..3] {
        w.apply(Command::CancelJob(CancelJob { job_id: j, tenant_id: None }));
    }
    for &j in &jobs[5..10] {
        w.apply(Command::CancelJob(CancelJob { job_id: j, tenant_id: None }));
    }
    for &t in &tenants[20..23] {
        submit(&mut w, t, 100);
    }
    record(&mut w);
    let tracked: Vec<TenantId> = w.state.metric_history().tenants.keys().copied().collect();
    let mut expected = tenants[3..5].to_vec();
    expected.extend_from_slice(&tenants[20..23]);
    assert_eq!(tracked, expected, "idle tenants were evicted for active ones");
    // A lower cap evicts down to it; zero turns tenant series off.
    assert!(matches!(observability(&mut w, |o| o.history.max_tenant_series = 0), Outcome::ObservabilitySet(_)));
    record(&mut w);
    assert!(w.state.metric_history().tenants.is_empty());
    assert_eq!(w.state.metric_history().pools.len(), w.state.pools().take(hodei_domain::observability::MAX_POOL_SERIES).count());
}

#[test]
fn a_deleted_tenant_loses_its_series() {
    let mut w = World::new();
    let a = tenant(&mut w, "a");
    let j = submit(&mut w, a, 100);
    record(&mut w);
    assert!(w.state.metric_history().tenant(a).is_some());
    w.apply(Command::CancelJob(CancelJob { job_id: j, tenant_id: None }));
    assert!(matches!(w.apply(Command::DeleteTenant(DeleteTenant { tenant_id: a })), Outcome::TenantDeleted(_)));
    record(&mut w);
    assert!(w.state.metric_history().tenant(a).is_none());
}

proptest! {
    /// Whatever the timing: the series is bounded, every tier is in time order,
    /// the tiers do not overlap, and no sample is lost inside the retention.
    #[test]
    fn series_are_bounded_ordered_and_lose_nothing_within_retention(
        gaps in proptest::collection::vec(1u64..400_000, 1..3000),
        value in 0u64..1_000,
    ) {
        let retention = 720 * 3_600_000;
        let mut s = Series::default();
        let mut at = 0u64;
        let mut max_seen = 0;
        for (i, g) in gaps.iter().enumerate() {
            at += g;
            let v = value + i as u64;
            max_seen = max_seen.max(v);
            s.record(at, [v; FIELDS], retention);
            prop_assert!(s.len() <= max_points());
        }
        let times: Vec<u64> = s.points().map(|p| p.at_ms).collect();
        prop_assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        let samples: u64 = s.points().map(|p| u64::from(p.samples)).sum();
        prop_assert_eq!(samples, gaps.len() as u64, "the span is within retention: nothing dropped");
        let sum: u64 = s.points().map(|p| p.sum[0]).sum();
        prop_assert_eq!(sum, (0..gaps.len() as u64).map(|i| value + i).sum::<u64>());
        prop_assert_eq!(s.points().map(|p| p.max[0]).max(), Some(max_seen));
        let q = s.query(0, at + 1, 3_600_000);
        prop_assert_eq!(q.iter().map(|p| u64::from(p.samples)).sum::<u64>(), samples);
    }
}
