//! Cost rules, one test each: the right-size, lower-quota and burst
//! recommendations with their savings (burst: the idle dynamic capacity its
//! runs left); report periods; retention pruning
//! keeps totals equal to the surviving buckets; idle time split at the hour.

use hodei_domain::command::*;
use hodei_domain::cost::{price, HOUR_MS};
use hodei_domain::cost_report::{recommendations, report, Period, RecommendationKind};
use hodei_domain::*;

mod support;

use support::{pool, spec, World};

const MINUTE: u64 = 60_000;
const DAY: u64 = 24 * HOUR_MS;
/// A leader clock of 2027 (an hour boundary): reports look back a week or a
/// month, which the world's default clock near the epoch does not have.
const EPOCH_MS: u64 = 500_000 * HOUR_MS;

/// The recommendations' monthly rate of a saving over the last week.
fn monthly_from_week(nanos: u128) -> u64 {
    u64::try_from(nanos * u128::from(30 * DAY) / u128::from(7 * DAY)).unwrap()
}

/// Finishes every placement after `run_ms`, reporting `used_percent` of the
/// reserved cpu and memory as used.
fn finish_all(w: &mut World, placed: &[(JobId, WorkerId, u64)], run_ms: u64, used_percent: u64) {
    w.now += run_ms;
    for &(job_id, worker_id, token) in placed {
        let s = w.state.job(job_id).unwrap().spec.clone();
        let usage = RunUsage { run_ms, cpu_ms: s.cpu_m * run_ms * used_percent / 100_000, peak_memory_kb: s.memory_mb * 1024 * used_percent / 100 };
        let o = w.apply(Command::FinishJob(FinishJob { job_id, worker_id, token, ending: RunEnding::Succeeded, usage }));
        assert!(matches!(o, Outcome::JobFinished(_)), "{o:?}");
    }
}

/// A tenant with `quota` that ran ten 1-core, 1000 MiB jobs for an hour,
/// using `used_percent` of what they reserved.
fn ten_jobs(w: &mut World, quota: Quota, used_percent: u64) -> TenantId {
    w.now = EPOCH_MS;
    let t = w.must_tenant("lean", Some(quota));
    w.must_worker("p", 100_000, 1 << 20);
    for _ in 0..10 {
        w.must_submit(t, spec(1000, 1000));
    }
    let placed = w.must_dispatch();
    assert_eq!(placed.len(), 10);
    finish_all(w, &placed, HOUR_MS, used_percent);
    t
}

#[test]
fn jobs_that_use_a_quarter_or_less_of_their_reservation_are_recommended_a_right_size_with_the_unused_cost_as_saving() {
    let mut w = World::new();
    let t = ten_jobs(&mut w, Quota { cpu_m: 10_000, memory_mb: 1 << 20, max_concurrent_jobs: 10 }, 10);
    let recs = recommendations(&w.state, None, w.now);
    let rec = recs.iter().find(|r| matches!(r.kind, RecommendationKind::RightSizeJobs { .. })).unwrap_or_else(|| panic!("{recs:?}"));
    assert_eq!(rec.kind, RecommendationKind::RightSizeJobs { tenant: t, used_cpu_percent: 10, used_memory_percent: 10 });
    let spent = w.state.cost_ledger().job_total_nanos;
    assert_eq!(rec.estimated_monthly_savings_nanos, monthly_from_week(spent * 90 / 100), "the 90 % neither resource used");
    let mut w = World::new();
    ten_jobs(&mut w, Quota { cpu_m: 10_000, memory_mb: 1 << 20, max_concurrent_jobs: 10 }, 30);
    let recs = recommendations(&w.state, None, w.now);
    assert!(!recs.iter().any(|r| matches!(r.kind, RecommendationKind::RightSizeJobs { .. })), "30 % used is not waste: {recs:?}");
}

#[test]
fn a_quota_ten_times_the_mean_reservation_is_recommended_lower_with_the_unused_cpu_as_saving() {
    let mut w = World::new();
    let quota = Quota { cpu_m: 64_000, memory_mb: 1 << 20, max_concurrent_jobs: 10 };
    let t = ten_jobs(&mut w, quota, 100);
    // Ten core-hours over a week: a mean of 59 cpu_m.
    let mean = 10 * 1000 * HOUR_MS / (7 * DAY);
    assert_eq!(mean, 59);
    let recs = recommendations(&w.state, None, w.now);
    let rec = recs.iter().find(|r| matches!(r.kind, RecommendationKind::LowerQuota { .. })).unwrap_or_else(|| panic!("{recs:?}"));
    assert_eq!(rec.kind, RecommendationKind::LowerQuota { tenant: t, cpu_m: 1000, memory_mb: quota.memory_mb }, "twice the mean, at least a core");
    let rate = w.state.settings().cost_tracking.hourly_rate_cpu_nanos;
    assert_eq!(rec.estimated_monthly_savings_nanos, price(quota.cpu_m - 2 * mean, 0, 30 * DAY, rate, 0));
    assert!(!recs.iter().any(|r| matches!(r.kind, RecommendationKind::RightSizeJobs { .. })), "fully used jobs need no right-size");
}

#[test]
fn a_tenant_that_runs_half_its_jobs_on_a_burst_lease_is_recommended_a_higher_quota() {
    let mut w = World::new();
    w.now = EPOCH_MS;
    let mut dynamic = pool("dyn", PoolKind::Dynamic, 0, 4);
    dynamic.worker_hourly_cost_nanos = Some(HOUR_MS); // one nano-dollar per idle ms
    w.must_pool(dynamic);
    let t = w.must_tenant("bursty", Some(Quota { cpu_m: 1000, memory_mb: 1 << 20, max_concurrent_jobs: 100 }));
    w.must_worker("dyn", 100_000, 1 << 20);
    let lease = RequestBurst { tenant_id: t, cpu_m: 1000, memory_mb: 0, duration_minutes: 60, reason: "season".into() };
    assert!(matches!(w.apply(Command::RequestBurst(lease)), Outcome::BurstUpdated(_)));
    for _ in 0..5 {
        w.must_submit(t, spec(1000, 64));
        w.must_submit(t, spec(1000, 64));
        let placed = w.must_dispatch();
        let under_burst: Vec<bool> = placed.iter().map(|p| w.state.job(p.0).unwrap().execution.placement.unwrap().under_burst).collect();
        assert_eq!(under_burst, vec![false, true], "one within the base quota, one on the lease");
        finish_all(&mut w, &placed, 10 * MINUTE, 100);
    }
    w.now = EPOCH_MS + 59 * MINUTE;
    w.apply(Command::Tick(Tick {}));
    let recs = recommendations(&w.state, None, w.now);
    let rec = recs.iter().find(|r| matches!(r.kind, RecommendationKind::RaiseQuotaInsteadOfBurst { .. })).unwrap_or_else(|| panic!("{recs:?}"));
    assert_eq!(rec.kind, RecommendationKind::RaiseQuotaInsteadOfBurst { tenant: t, burst_percent: 50 });
    // The dynamic pool's idle cost that hour, half of it: half its runs were
    // this tenant's burst runs.
    let idle = w.state.cost_ledger().idle[&(EPOCH_MS, PoolId("dyn".into()))].cost_nanos;
    assert!(idle > 0);
    assert_eq!(rec.estimated_monthly_savings_nanos, monthly_from_week(u128::from(idle) / 2));
}

/// One 1-core, 1 GiB job that runs a minute, finished at the world's clock.
fn one_job(w: &mut World, t: TenantId, worker: WorkerId) -> u128 {
    let before = w.state.cost_ledger().job_total_nanos;
    w.must_submit(t, spec(1000, 1024));
    let placed = w.must_dispatch();
    let (job_id, _, token) = placed[0];
    assert!(matches!(w.apply(Command::StartJob(StartJob { job_id, worker_id: worker, token })), Outcome::JobStarted(_)));
    finish_all(w, &placed, MINUTE, 100);
    w.state.cost_ledger().job_total_nanos - before
}

#[test]
fn reports_cover_the_last_day_week_month_or_a_range_and_retention_prunes_old_buckets_from_the_totals() {
    let mut w = World::new();
    let t = w.must_tenant("a", None);
    let worker = w.must_worker("p", 4000, 8192);
    let start = w.now;
    let c = one_job(&mut w, t, worker);
    assert!(c > 0);
    for days in [20, 17, 3] {
        w.now += days * DAY;
        assert_eq!(one_job(&mut w, t, worker), c, "every run costs the same");
    }
    // Runs ended 40, 20, 3 and 0 days ago.
    let total = |w: &World, period| report(&w.state, period, None, None, w.now).job_cost_nanos;
    assert_eq!(total(&w, Period::LastDay), c);
    assert_eq!(total(&w, Period::LastWeek), 2 * c);
    assert_eq!(total(&w, Period::LastMonth), 3 * c);
    let first_hour = start - start % HOUR_MS;
    assert_eq!(total(&w, Period::Range { from_ms: first_hour, to_ms: first_hour + HOUR_MS }), c, "the oldest run's hour");
    assert_eq!(total(&w, Period::Range { from_ms: 0, to_ms: u64::MAX }), 4 * c);
    assert_eq!(report(&w.state, Period::LastMonth, Some(t), None, w.now).by_tenant[&t], 3 * c);

    w.settings(|s| s.cost_tracking.retention_days = 30);
    assert!(matches!(w.apply(Command::Tick(Tick {})), Outcome::Ticked(ref r) if r.buckets_pruned > 0));
    let l = w.state.cost_ledger();
    assert_eq!(l.job_total_nanos, 3 * c, "the 40-day-old run is pruned");
    assert_eq!(l.job_total_nanos, l.jobs.values().map(|b| u128::from(b.cost_nanos)).sum::<u128>(), "totals equal the surviving buckets");
    assert_eq!(l.idle_total_nanos, l.idle.values().map(|b| u128::from(b.cost_nanos)).sum::<u128>());
    let horizon = w.now - 30 * DAY;
    assert!(l.jobs.keys().all(|k| k.0 + HOUR_MS > horizon) && l.idle.keys().all(|k| k.0 + HOUR_MS > horizon));
    assert!(w.state.sla_ledger().buckets.keys().all(|k| k.0 + HOUR_MS > horizon), "SLA buckets are pruned with cost");
    assert_eq!(w.state.sla_ledger().buckets.values().map(|b| b.started).sum::<u64>(), 3);
    assert_eq!(total(&w, Period::Range { from_ms: 0, to_ms: u64::MAX }), 3 * c);
}

#[test]
fn idle_time_is_split_at_the_hour_boundary_into_each_hours_bucket() {
    let mut w = World::new();
    let mut p = pool("warm", PoolKind::Static, 0, 4);
    p.worker_hourly_cost_nanos = Some(4 * HOUR_MS);
    let id = w.must_pool(p);
    w.now = 10 * HOUR_MS + 30 * MINUTE - 1_000;
    w.must_worker("warm", 1000, 1024); // registered at 10:30
    w.now = 11 * HOUR_MS + 15 * MINUTE - 1_000;
    w.apply(Command::Tick(Tick {})); // charged at 11:15
    let idle = &w.state.cost_ledger().idle;
    let at = |h: u64| idle.get(&(h * HOUR_MS, id.clone())).map(|b| (b.idle_ms, b.cost_nanos));
    assert_eq!(at(10), Some((30 * MINUTE, 2 * HOUR_MS)), "half an hour: half the hourly cost of 4 x HOUR_MS");
    assert_eq!(at(11), Some((15 * MINUTE, HOUR_MS)));
    assert_eq!(idle.len(), 2);
}
