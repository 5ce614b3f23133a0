//! Dispatch and admission rules, one test each: a previous decision keeps its
//! workers; the terminal LOST state; jobs no pool's worker could hold are
//! invalid; pools become active at min_size; the default tenant quota; jobs
//! placed under a burst lease outlive it; burst is the last tier of a round.

use hodei_domain::command::*;
use hodei_domain::*;

mod support;

use support::{big, pool, spec, World};

#[test]
fn dispatch_keeps_a_jobs_previous_worker_while_it_still_fits() {
    let mut w = World::new();
    let t = w.must_tenant("a", Some(big()));
    let first = w.must_worker("p", 2000, 4096);
    let second = w.must_worker("p", 2000, 4096);
    let small = w.must_worker("p", 500, 4096);
    let job = w.must_submit(t, spec(1000, 64));
    let fresh = dispatch::solve(&w.state, w.now, None, 10);
    assert_eq!(fresh.assignments, vec![(job.id, first)], "first fit without a previous decision");
    let previous = Decision { assignments: vec![(job.id, second)], at_ms: w.now };
    let again = dispatch::solve(&w.state, w.now, Some(&previous), 10);
    assert_eq!(again.assignments, vec![(job.id, second)], "the previous worker still fits: no churn");
    let misfit = Decision { assignments: vec![(job.id, small)], at_ms: w.now };
    let moved = dispatch::solve(&w.state, w.now, Some(&misfit), 10);
    assert_eq!(moved.assignments, vec![(job.id, first)], "a previous worker that no longer fits is not forced");
}

#[test]
fn a_job_lost_with_its_worker_past_the_grace_is_terminally_lost() {
    let mut w = World::new();
    let t = w.must_tenant("a", Some(big()));
    let job = w.must_submit(t, spec(100, 64));
    for attempt in 1..=(LOST_WORKER_GRACE + 1) {
        let worker = w.must_worker("p", 1000, 1024);
        assert_eq!(w.must_dispatch().len(), 1, "attempt {attempt} is placed");
        let out = w.apply(Command::MarkWorkerLost(MarkWorkerLost { worker_id: worker }));
        let expected = if attempt <= LOST_WORKER_GRACE {
            Outcome::WorkerLost { requeued: vec![job.id], lost: vec![] }
        } else {
            Outcome::WorkerLost { requeued: vec![], lost: vec![job.id] }
        };
        assert_eq!(out, expected, "attempt {attempt} of a job with max_retries 0");
    }
    assert_eq!(w.state.job(job.id).unwrap().state, JobState::Lost);
    assert_eq!(w.state.usage(t), Usage::default(), "a lost job no longer counts against its quota");
    assert_eq!(w.state.queued_jobs(), 0);
    w.must_worker("p", 1000, 1024);
    assert!(w.must_dispatch().is_empty(), "LOST is terminal: never placed again");
    let cancel = w.apply(Command::CancelJob(CancelJob { job_id: job.id, tenant_id: None }));
    assert!(matches!(cancel, Outcome::Rejected(Rejection::Conflict { .. })), "{cancel:?}");
}

#[test]
fn a_job_bigger_than_any_pools_worker_is_invalid() {
    let mut w = World::new();
    let t = w.must_tenant("a", Some(big()));
    let mut shaped = pool("shaped", PoolKind::Dynamic, 0, 4);
    shaped.worker_shape = Some(WorkerShape { cpu_m: 2000, memory_mb: 4096 });
    w.must_pool(shaped);
    let too_big = w.submit_spec(t, spec(3000, 64));
    assert!(matches!(too_big, Outcome::Rejected(Rejection::Invalid { ref message }) if message.contains("any pool")), "{too_big:?}");
    let named = JobSpec { pool: Some(PoolId("shaped".into())), ..spec(2000, 8192) };
    let o = w.submit_spec(t, named);
    assert!(matches!(o, Outcome::Rejected(Rejection::Invalid { ref message }) if message.contains("pool shaped")), "{o:?}");
    assert!(matches!(w.submit_spec(t, spec(2000, 4096)), Outcome::JobSubmitted(_)), "the shape's own size fits");
    // A pool without a declared shape could hold anything: no longer invalid.
    w.must_pool(pool("open", PoolKind::Static, 0, 4));
    assert!(matches!(w.submit_spec(t, spec(3000, 64)), Outcome::JobSubmitted(_)));
}

#[test]
fn a_pool_is_creating_until_min_size_workers_are_live_then_active() {
    let mut w = World::new();
    let id = w.must_pool(pool("p", PoolKind::Static, 2, 4));
    assert_eq!(w.state.pool(&id).unwrap().lifecycle, PoolLifecycle::Creating);
    w.must_worker("p", 1000, 1024);
    assert_eq!(w.state.pool(&id).unwrap().lifecycle, PoolLifecycle::Creating, "one of two");
    w.must_worker("p", 1000, 1024);
    assert_eq!(w.state.pool(&id).unwrap().lifecycle, PoolLifecycle::Active);
}

#[test]
fn a_tenant_created_without_a_quota_gets_the_default_tenant_quota() {
    let mut w = World::new();
    let seeds = w.must_tenant("a", None);
    assert_eq!(w.state.tenant(seeds).unwrap().quota, Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 10 }, "the seeds' default");
    let custom = Quota { cpu_m: 1234, memory_mb: 5678, max_concurrent_jobs: 3 };
    w.settings(|s| s.default_tenant_quota = custom);
    let t = w.must_tenant("b", None);
    assert_eq!(w.state.tenant(t).unwrap().quota, custom);
}

#[test]
fn jobs_placed_under_a_burst_lease_keep_running_after_it_ends_but_new_admissions_beyond_quota_stop() {
    let mut w = World::new();
    let t = w.must_tenant("a", Some(Quota { cpu_m: 1000, memory_mb: 1 << 20, max_concurrent_jobs: 10 }));
    let worker = w.must_worker("p", 10_000, 1 << 20);
    let lease = RequestBurst { tenant_id: t, cpu_m: 1000, memory_mb: 0, duration_minutes: 1, reason: "spike".into() };
    let Outcome::BurstUpdated(b) = w.apply(Command::RequestBurst(lease)) else { panic!("burst refused") };
    let big_job = w.must_submit(t, spec(1500, 64));
    let (j, _, token) = w.must_dispatch()[0];
    assert_eq!(j, big_job.id);
    assert!(w.state.job(j).unwrap().execution.placement.unwrap().under_burst);
    assert!(matches!(w.apply(Command::StartJob(StartJob { job_id: j, worker_id: worker, token })), Outcome::JobStarted(_)));
    let waiting = w.must_submit(t, spec(400, 64));
    w.now = b.ends_at_ms.unwrap();
    assert!(matches!(w.apply(Command::Tick(Tick {})), Outcome::Ticked(ref r) if r.bursts_expired == 1));
    assert_eq!(w.state.job(j).unwrap().state, JobState::Running, "the lease's job runs on");
    let refused = w.submit_spec(t, spec(100, 64));
    assert!(matches!(refused, Outcome::Rejected(Rejection::QuotaExceeded { ref resource, .. }) if resource == "cpu_m"), "{refused:?}");
    assert!(w.must_dispatch().is_empty(), "no placement beyond the base quota once the lease ended");
    assert!(matches!(why_pending(&w.state, waiting.id, w.now).unwrap().reason, PendingReason::Quota { .. }));
    let finish = FinishJob { job_id: j, worker_id: worker, token, ending: RunEnding::Succeeded, usage: RunUsage::default() };
    assert!(matches!(w.apply(Command::FinishJob(finish)), Outcome::JobFinished(ref x) if x.state == JobState::Succeeded));
    assert_eq!(w.must_dispatch().iter().map(|p| p.0).collect::<Vec<_>>(), vec![waiting.id], "within base quota again");
}

#[test]
fn placements_within_base_quota_go_before_placements_that_need_a_burst_lease() {
    let mut w = World::new();
    let a = w.must_tenant("a", Some(Quota { cpu_m: 1000, memory_mb: 1 << 20, max_concurrent_jobs: 10 }));
    let b = w.must_tenant("b", Some(big()));
    // `a` weighs ten times `b`: in fair order both its jobs come before b's.
    assert!(matches!(w.apply(Command::UpdateTenant(UpdateTenant { tenant_id: a, weight: Some(10), ..Default::default() })), Outcome::TenantUpdated(_)));
    let lease = RequestBurst { tenant_id: a, cpu_m: 1000, memory_mb: 0, duration_minutes: 60, reason: "spike".into() };
    assert!(matches!(w.apply(Command::RequestBurst(lease)), Outcome::BurstUpdated(_)));
    let (a1, a2, b1) = (w.must_submit(a, spec(1000, 64)).id, w.must_submit(a, spec(1000, 64)).id, w.must_submit(b, spec(1000, 64)).id);
    w.must_worker("p", 2000, 4096);
    let jobs = |d: Decision| d.assignments.into_iter().map(|(j, _)| j).collect::<Vec<_>>();
    assert_eq!(jobs(dispatch::solve(&w.state, w.now, None, 10)), vec![a1, b1], "a2 needs the lease: b1, within b's quota, takes the last room first");
    w.must_worker("p", 1000, 4096);
    assert_eq!(jobs(dispatch::solve(&w.state, w.now, None, 10)), vec![a1, b1, a2], "with room left, the lease is used last");
    let placed = w.must_dispatch();
    let under_burst = |j: JobId| w.state.job(j).unwrap().execution.placement.unwrap().under_burst;
    assert_eq!(placed.len(), 3);
    assert_eq!((under_burst(a1), under_burst(b1), under_burst(a2)), (false, false, true));
}
