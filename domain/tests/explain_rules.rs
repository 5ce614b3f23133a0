//! "Why is my job pending", one test per reason: each names the reason, the
//! job's position in its tenant's queue, the tenants ahead and the estimate.

use hodei_domain::*;

mod support;

use support::{big, spec, World};

/// The default estimated duration: one round of the start estimate.
const ROUND_MS: u64 = 60_000;

#[test]
fn why_pending_says_pool_at_max_when_fitting_workers_are_busy_and_no_pool_can_grow() {
    let mut w = World::new();
    let t = w.must_tenant("a", Some(big()));
    w.must_worker("static", 1000, 4096);
    w.must_submit(t, spec(1000, 64));
    assert_eq!(w.must_dispatch().len(), 1);
    let waiting = w.must_submit(t, spec(1000, 64));
    let e = why_pending(&w.state, waiting.id, w.now).unwrap();
    assert_eq!(e.reason, PendingReason::PoolAtMax { pool: None });
    assert_eq!((e.position_in_tenant, e.tenants_ahead), (0, 0));
    assert_eq!(e.estimated_start_ms, Some(w.now + ROUND_MS), "after the running job's estimated duration");
}

#[test]
fn why_pending_says_behind_own_jobs_with_its_position_in_the_tenants_queue() {
    let mut w = World::new();
    let t = w.must_tenant("a", Some(big()));
    w.must_worker("p", 2000, 4096);
    let jobs: Vec<Job> = (0..3).map(|_| w.must_submit(t, spec(1000, 64))).collect();
    let e = why_pending(&w.state, jobs[2].id, w.now).unwrap();
    assert_eq!(e.reason, PendingReason::BehindOwnJobs { ahead: 2 });
    assert_eq!((e.position_in_tenant, e.tenants_ahead), (2, 0));
    // Two jobs ahead, two fit the worker at once: it starts one round later.
    assert_eq!(e.estimated_start_ms, Some(w.now + ROUND_MS));
    let head = why_pending(&w.state, jobs[0].id, w.now).unwrap();
    assert_eq!((head.reason, head.estimated_start_ms), (PendingReason::BehindFairShare { tenants_ahead: 0 }, Some(w.now)), "the head starts at the next round");
}

#[test]
fn why_pending_says_behind_fair_share_with_the_tenants_ahead() {
    let mut w = World::new();
    let a = w.must_tenant("a", Some(big()));
    let b = w.must_tenant("b", Some(big()));
    w.must_worker("p", 1000, 4096);
    w.must_submit(a, spec(1000, 64));
    let later = w.must_submit(b, spec(1000, 64));
    // Equal tags: the lower tenant id goes first.
    let e = why_pending(&w.state, later.id, w.now).unwrap();
    assert_eq!(e.reason, PendingReason::BehindFairShare { tenants_ahead: 1 });
    assert_eq!((e.position_in_tenant, e.tenants_ahead), (0, 1));
    assert_eq!(e.estimated_start_ms, Some(w.now + ROUND_MS), "one turn ahead on a worker that holds one job");
    assert_eq!(e.waited_ms, 0);
    assert_eq!(why_pending(&w.state, later.id, w.now + 5_000).unwrap().waited_ms, 5_000);
}
