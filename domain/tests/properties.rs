//! Property tests over random command sequences: after every apply the
//! invariants hold; the same sequence gives the same state hash; backlogged
//! tenants are served within the WFQ bound of their weight share over every
//! window.

use std::collections::BTreeMap;

use hodei_domain::command::*;
use hodei_domain::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Submit { tenant: u8, cpu: u16, mem: u16, prio: i8, retries: u8, pool: u8 },
    Cancel { job: u8 },
    Dispatch,
    Start { job: u8 },
    Finish { job: u8, ok: bool, stale: bool },
    Lost { worker: u8 },
    Register { cpu: u16, mem: u16, pool: u8 },
    Burst { tenant: u8, cpu: u16, mem: u16 },
    DecideBurst { burst: u8, decision: u8 },
    Weight { tenant: u8, weight: u8 },
    SetQuota { tenant: u8, cpu: u16, mem: u16, jobs: u8 },
    Tick { advance_s: u16 },
    Policy { queue: bool, strict: bool, approval: bool },
    CreatePool { pool: u8, dynamic: bool, min: u8, max: u8 },
    ScalePool { pool: u8, target: u8 },
    DeletePool { pool: u8 },
    /// Wait targets per priority for the cluster (`tenant` 3) or a tenant;
    /// a zero target is refused.
    SlaTargets { tenant: u8, prio: i8, ms: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, 1..3000u16, 1..3000u16, -2..3i8, 0..2u8, 0..3u8).prop_map(|(tenant, cpu, mem, prio, retries, pool)| Op::Submit { tenant, cpu, mem, prio, retries, pool }),
        1 => any::<u8>().prop_map(|job| Op::Cancel { job }),
        3 => Just(Op::Dispatch),
        2 => any::<u8>().prop_map(|job| Op::Start { job }),
        2 => (any::<u8>(), any::<bool>(), any::<bool>()).prop_map(|(job, ok, stale)| Op::Finish { job, ok, stale }),
        1 => (0..8u8).prop_map(|worker| Op::Lost { worker }),
        1 => (500..4000u16, 1000..8192u16, 1..3u8).prop_map(|(cpu, mem, pool)| Op::Register { cpu, mem, pool }),
        1 => (0..3u8, 0..3000u16, 0..3000u16).prop_map(|(tenant, cpu, mem)| Op::Burst { tenant, cpu, mem }),
        1 => (any::<u8>(), 0..3u8).prop_map(|(burst, decision)| Op::DecideBurst { burst, decision }),
        1 => (0..3u8, 1..5u8).prop_map(|(tenant, weight)| Op::Weight { tenant, weight }),
        1 => (0..3u8, 500..6000u16, 500..10_000u16, 1..8u8).prop_map(|(tenant, cpu, mem, jobs)| Op::SetQuota { tenant, cpu, mem, jobs }),
        1 => (0..200u16).prop_map(|advance_s| Op::Tick { advance_s }),
        1 => (any::<bool>(), prop::bool::weighted(0.75), any::<bool>()).prop_map(|(queue, strict, approval)| Op::Policy { queue, strict, approval }),
        1 => (1..3u8, any::<bool>(), 0..3u8, 0..6u8).prop_map(|(pool, dynamic, min, max)| Op::CreatePool { pool, dynamic, min, max }),
        1 => (1..3u8, 0..6u8).prop_map(|(pool, target)| Op::ScalePool { pool, target }),
        1 => (1..3u8).prop_map(|pool| Op::DeletePool { pool }),
        1 => (0..4u8, -2..3i8, 0..20_000u16).prop_map(|(tenant, prio, ms)| Op::SlaTargets { tenant, prio, ms }),
    ]
}

/// Pool 1 is "p", 2 is "q"; 0 (for a job) names none.
fn pool_id(p: u8) -> PoolId {
    PoolId(if p % 2 == 1 { "p" } else { "q" }.into())
}

struct Run {
    state: State,
    index: u64,
    now: u64,
    placed: Vec<(JobId, WorkerId, u64)>,
}

impl Run {
    fn new() -> Run {
        Run { state: State::default(), index: 0, now: 1_000_000, placed: Vec::new() }
    }

    /// Applies `command` as the next entry, at the run's clock.
    fn apply(&mut self, command: Command) -> Outcome {
        self.index += 1;
        self.state.apply(self.index, &Proposal { at_ms: self.now, command })
    }
}

fn to_command(r: &Run, op: &Op) -> Option<Command> {
    let tenant = |t: u8| TenantId(u64::from(t) + 1);
    let nth_job = |k: u8| {
        let n = r.state.jobs().count();
        (n > 0).then(|| r.state.jobs().nth(k as usize % n).unwrap().id)
    };
    Some(match *op {
        Op::Submit { tenant: t, cpu, mem, prio, retries, pool } => {
            let pool = (pool > 0).then(|| pool_id(pool));
            let spec = JobSpec { command: vec!["x".into()], cpu_m: u64::from(cpu), memory_mb: u64::from(mem), pool, priority: i32::from(prio), max_retries: u32::from(retries), timeout_s: Some(30), ..Default::default() };
            Command::SubmitJob(SubmitJob { tenant_id: tenant(t), spec, idempotency_key: None })
        }
        Op::Cancel { job } => Command::CancelJob(CancelJob { job_id: nth_job(job)?, tenant_id: None }),
        Op::Dispatch => Command::AssignJobs(dispatch::solve(&r.state, r.now, None, 50).command()),
        Op::Start { job } => {
            let (j, w, token) = *r.placed.get(job as usize % r.placed.len().max(1))?;
            Command::StartJob(StartJob { job_id: j, worker_id: w, token })
        }
        Op::Finish { job, ok, stale } => {
            let (j, w, token) = *r.placed.get(job as usize % r.placed.len().max(1))?;
            let ending = if ok { RunEnding::Succeeded } else { RunEnding::Failed { exit_code: Some(1) } };
            let token = if stale { token.wrapping_add(1) } else { token };
            Command::FinishJob(FinishJob { job_id: j, worker_id: w, token, ending, usage: RunUsage { run_ms: 5_000, cpu_ms: 1_000, peak_memory_kb: 2048 } })
        }
        Op::Lost { worker } => Command::MarkWorkerLost(MarkWorkerLost { worker_id: WorkerId(u64::from(worker) + 1) }),
        Op::Register { cpu, mem, pool } => Command::RegisterWorker(RegisterWorker { pool: pool_id(pool), name: "w".into(), cpu_m: u64::from(cpu), memory_mb: u64::from(mem), labels: BTreeMap::new(), logs_addr: String::new() }),
        Op::Burst { tenant: t, cpu, mem } => Command::RequestBurst(RequestBurst { tenant_id: tenant(t), cpu_m: u64::from(cpu), memory_mb: u64::from(mem), duration_minutes: 1, reason: "p".into() }),
        Op::DecideBurst { burst, decision } => {
            let n = r.state.bursts().count();
            let burst_id = (n > 0).then(|| r.state.bursts().nth(burst as usize % n).unwrap().id)?;
            let decision = match decision {
                0 => BurstDecision::Approve,
                1 => BurstDecision::Deny { reason: "no".into() },
                _ => BurstDecision::Revoke { reason: "enough".into() },
            };
            Command::DecideBurst(DecideBurst { burst_id, decision })
        }
        Op::SetQuota { tenant: t, cpu, mem, jobs } => Command::SetQuota(SetQuota { tenant_id: tenant(t), quota: Quota { cpu_m: u64::from(cpu), memory_mb: u64::from(mem), max_concurrent_jobs: u32::from(jobs) } }),
        Op::CreatePool { pool, dynamic, min, max } => {
            let kind = if dynamic { PoolKind::Dynamic } else { PoolKind::Static };
            let id = pool_id(pool);
            Command::CreatePool(CreatePool { name: id.0.clone(), id, kind, min_size: u32::from(min), max_size: u32::from(max), labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: None, auto_scaling_enabled: false, policies: vec![] })
        }
        Op::ScalePool { pool, target } => Command::ScalePool(ScalePool { id: pool_id(pool), target_size: u32::from(target), reason: "p".into() }),
        Op::DeletePool { pool } => Command::DeletePool(DeletePool { id: pool_id(pool) }),
        Op::Weight { tenant: t, weight } => Command::UpdateTenant(UpdateTenant { tenant_id: tenant(t), weight: Some(u32::from(weight)), ..Default::default() }),
        Op::Tick { .. } => Command::Tick(Tick {}),
        Op::SlaTargets { tenant: t, prio, ms } => {
            let tenant_id = (t < 3).then(|| tenant(t));
            Command::SetSlaTargets(SetSlaTargets { tenant_id, by_priority: BTreeMap::from([(i32::from(prio), u64::from(ms))]) })
        }
        Op::Policy { queue, strict, approval } => {
            let mut s = *r.state.settings();
            s.quota_enforcement.violation_policy = if queue { ViolationPolicy::Queue } else { ViolationPolicy::Reject };
            s.quota_enforcement.strict_mode = strict;
            s.burst_capacity.require_approval = approval;
            Command::SetSettings(SetSettings { settings: s })
        }
    })
}

fn run(ops: &[Op], check: bool) -> (u64, State) {
    let mut r = Run::new();
    // Protocol 4, so targets per priority are part of the state (format 5).
    r.apply(Command::SetClusterVersion(SetClusterVersion { version: SLA_TARGETS_GATE }));
    for t in 0..3 {
        r.index += 1;
        let q = Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 6 };
        r.state.apply(r.index, &Proposal { at_ms: r.now, command: Command::CreateTenant(CreateTenant { name: format!("t{t}"), email: String::new(), quota: Some(q) }) });
    }
    for op in ops {
        if let Op::Tick { advance_s } = op {
            r.now += u64::from(*advance_s) * 1000;
        }
        r.now += 100;
        let Some(cmd) = to_command(&r, op) else { continue };
        r.index += 1;
        let out = r.state.apply(r.index, &Proposal { at_ms: r.now, command: cmd.clone() });
        if let Outcome::JobsAssigned(p) = &out {
            r.placed.extend(p.iter().copied());
        }
        if check {
            let placed = match &out {
                Outcome::JobsAssigned(p) => p.clone(),
                _ => Vec::new(),
            };
            invariants(&r.state, r.now, &placed);
        }
    }
    (r.state.state_hash(), r.state)
}

/// `placed`: the placements just made. Their workers are active in pools that
/// take work, and (in strict mode) their tenants' placed usage fits quota plus
/// the lease active now, cpu and memory (DESIGN invariant 3). Jobs placed
/// under a lease that has since ended, or before a quota was lowered or strict
/// mode switched on, keep running by policy, so other tenants may be above
/// their quota until those finish.
fn invariants(s: &State, now: u64, placed: &[(JobId, WorkerId, u64)]) {
    let strict = s.settings().quota_enforcement.strict_mode;
    for &(j, w, _) in placed {
        let worker = s.worker(w).unwrap();
        assert_eq!(worker.state, WorkerState::Active, "{j} placed on a {} worker", worker.state.as_str());
        assert!(s.pool(&worker.pool).is_none_or(|p| p.lifecycle.accepts_work()), "{j} placed in a closed pool");
        assert!(s.job(j).unwrap().spec.pool.as_ref().is_none_or(|p| *p == worker.pool), "{j} placed outside its pool");
    }
    let placed: Vec<TenantId> = placed.iter().filter(|_| strict).map(|(j, _, _)| s.job(*j).unwrap().tenant_id).collect();
    let mut demand: BTreeMap<TenantId, Usage> = BTreeMap::new();
    let mut running: BTreeMap<TenantId, Usage> = BTreeMap::new();
    let mut pending = 0;
    for j in s.jobs() {
        let add = |m: &mut BTreeMap<TenantId, Usage>| {
            let u = m.entry(j.tenant_id).or_default();
            u.cpu_m += j.spec.cpu_m;
            u.memory_mb += j.spec.memory_mb;
            u.jobs += 1;
        };
        if !j.state.is_terminal() {
            add(&mut demand);
        }
        match j.state {
            JobState::Pending => pending += 1,
            JobState::Assigned | JobState::Running => {
                add(&mut running);
                let p = j.execution.placement.expect("a placed job has a placement");
                let holders = s.workers().filter(|w| w.jobs.contains(&j.id)).count();
                assert_eq!(holders, 1, "{} is held by {holders} workers", j.id);
                assert!(s.worker(p.worker).unwrap().jobs.contains(&j.id));
            }
            _ => {}
        }
    }
    assert_eq!(s.queued_jobs(), pending, "the fair queue holds exactly the pending jobs");
    for t in s.tenants() {
        assert_eq!(s.usage(t.id), demand.get(&t.id).copied().unwrap_or_default(), "demand of {}", t.id);
        assert_eq!(s.running_usage(t.id), running.get(&t.id).copied().unwrap_or_default(), "running of {}", t.id);
        if placed.contains(&t.id) {
            let (bc, bm) = s.burst_allowance(t.id, now);
            assert!(s.running_usage(t.id).cpu_m <= t.quota.cpu_m + bc, "invariant 3 (cpu) for {}", t.id);
            assert!(s.running_usage(t.id).memory_mb <= t.quota.memory_mb + bm, "invariant 3 (memory) for {}", t.id);
            assert!(s.running_usage(t.id).jobs <= t.quota.max_concurrent_jobs);
        }
    }
    for w in s.workers() {
        let used: u64 = w.jobs.iter().map(|j| s.job(*j).unwrap().spec.cpu_m).sum();
        let used_mem: u64 = w.jobs.iter().map(|j| s.job(*j).unwrap().spec.memory_mb).sum();
        assert_eq!((w.used_cpu_m, w.used_memory_mb), (used, used_mem));
        assert!(w.used_cpu_m <= w.cpu_m && w.used_memory_mb <= w.memory_mb, "{} overfilled", w.id);
    }
    for p in s.pools() {
        if p.lifecycle.accepts_work() {
            assert!(p.min_size <= p.target_size && p.target_size <= p.max_size, "pool {} target {} outside {}..={}", p.id, p.target_size, p.min_size, p.max_size);
        }
        if p.lifecycle == PoolLifecycle::Deleted {
            assert!(!s.workers().any(|w| w.pool == p.id && w.state != WorkerState::Lost), "deleted pool {} has live workers", p.id);
        }
    }
    for t in s.tenants() {
        let live = s.bursts().filter(|b| b.tenant_id == t.id && b.state.is_live()).count();
        assert!(live <= 1, "{} holds {live} live leases", t.id);
    }
    // SLA totals equal their job records: one start recorded per job that ever
    // started (nothing is pruned in these runs), and every bucket's parts add up.
    let sla = s.sla_ledger();
    let started = s.jobs().filter(|j| j.execution.started_at_ms.is_some()).count() as u64;
    assert_eq!(sla.buckets.values().map(|b| b.started).sum::<u64>(), started, "SLA starts equal the started jobs");
    for b in sla.buckets.values() {
        assert!(b.met <= b.started && b.bins.iter().sum::<u64>() == b.started && b.max_wait_ms <= b.wait_ms_sum);
    }
    // The per-priority ledger records a subset of the same starts.
    let by_priority = s.sla_by_priority();
    assert!(by_priority.buckets.values().map(|b| b.started).sum::<u64>() <= started, "per-priority starts are a subset");
    for b in by_priority.buckets.values() {
        assert!(b.met <= b.started && b.bins.iter().sum::<u64>() == b.started);
    }
    for (t, m) in &s.sla_targets().tenants {
        assert!(s.tenant(*t).is_some() && !m.is_empty(), "targets of {t}: a live tenant, never an empty scope");
    }
    let l = s.cost_ledger();
    let buckets: u128 = l.jobs.values().map(|b| u128::from(b.cost_nanos)).sum();
    let jobs: u128 = s.jobs().map(|j| u128::from(j.execution.cost_nanos)).sum();
    assert_eq!(buckets, l.job_total_nanos, "cost buckets sum to the total");
    assert_eq!(jobs, l.job_total_nanos, "job cost records sum to the total");
    let idle: u128 = l.idle.values().map(|b| u128::from(b.cost_nanos)).sum();
    assert_eq!(idle, l.idle_total_nanos);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_apply_and_replay_is_deterministic(ops in proptest::collection::vec(op(), 1..120)) {
        let (h1, s1) = run(&ops, true);
        let (h2, _) = run(&ops, false);
        prop_assert_eq!(h1, h2);
        let decoded = snapshot::decode(&snapshot::encode(&s1)).unwrap();
        prop_assert_eq!(decoded.state_hash(), h1);
    }
}

/// A tenant of the fairness run: weight, wait target (ms), and the (cores,
/// estimated seconds) of its jobs, submitted in turn.
type FairTenant = (u32, u64, Vec<(u64, u64)>);

/// Jobs each tenant keeps queued: serving one never empties its queue (an
/// emptied queue restarts at the virtual time: no longer backlogged).
const BACKLOG: usize = 3;

fn submit_costed(r: &mut Run, tenant: TenantId, (cores, estimated_s): (u64, u64)) {
    let spec = JobSpec { command: vec!["x".into()], cpu_m: cores * 1000, memory_mb: 64, ..Default::default() };
    let submit = SubmitJob { tenant_id: tenant, spec, idempotency_key: None };
    let options = JobOptions { estimated_duration_s: Some(estimated_s), selector: BTreeMap::new() };
    let out = r.apply(Command::SubmitJobWithOptions(SubmitJobWithOptions { submit, options }));
    assert!(matches!(out, Outcome::JobSubmitted(_)), "{out:?}");
}

/// One dispatch a round, each placed job finished at once and replaced by the
/// tenant's next job; after every round, every pair's service difference
/// over every window so far is checked against the bound.
fn fairness_run(tenants: &[FairTenant], boost: u64, step_ms: u64) -> Result<(), TestCaseError> {
    let mut r = Run::new();
    let mut settings = *r.state.settings();
    settings.scheduling.sla_boost_cost = boost;
    r.apply(Command::SetSettings(SetSettings { settings }));
    let sched = settings.scheduling;
    let step_of = |cpu_m: u64, est: Option<u64>, weight: u32| i128::try_from(wfq::tag_step(wfq::job_cost(cpu_m, 64, est, &sched), weight)).unwrap();
    let q = Quota { cpu_m: 1 << 40, memory_mb: 1 << 40, max_concurrent_jobs: 1 << 30 };
    let (mut ids, mut max_step, mut next) = (Vec::new(), Vec::new(), vec![0usize; tenants.len()]);
    for (k, (weight, target, costs)) in tenants.iter().enumerate() {
        let Outcome::TenantCreated(t) = r.apply(Command::CreateTenant(CreateTenant { name: format!("t{k}"), email: String::new(), quota: Some(q) })) else { panic!("tenant") };
        r.apply(Command::UpdateTenant(UpdateTenant { tenant_id: t.id, weight: Some(*weight), sla_wait_ms: Some(Some(*target)), ..Default::default() }));
        ids.push(t.id);
        max_step.push(costs.iter().map(|&(cores, est)| step_of(cores * 1000, Some(est), *weight)).max().unwrap());
        for _ in 0..BACKLOG {
            submit_costed(&mut r, t.id, costs[next[k] % costs.len()]);
            next[k] += 1;
        }
    }
    r.apply(Command::RegisterWorker(RegisterWorker { pool: PoolId("p".into()), name: "w".into(), cpu_m: 4000, memory_mb: 1 << 20, labels: BTreeMap::new(), logs_addr: String::new() }));
    let n = tenants.len();
    let cap = i128::try_from(wfq::tag_step(boost, 1)).unwrap();
    // Normalized service (sum of cost/w in tag units) and, per ordered pair,
    // the lowest and highest difference seen, the start included.
    let mut service = vec![0i128; n];
    let (mut lo, mut hi) = (vec![vec![0i128; n]; n], vec![vec![0i128; n]; n]);
    for round in 0..40 * n {
        r.now += step_ms;
        let decision = dispatch::solve(&r.state, r.now, None, 1);
        let Outcome::JobsAssigned(p) = r.apply(Command::AssignJobs(decision.command())) else { panic!("assign") };
        prop_assert_eq!(p.len(), 1, "round {} places one job", round);
        let (job_id, worker_id, token) = p[0];
        let job = r.state.job(job_id).unwrap().clone();
        let k = ids.iter().position(|&t| t == job.tenant_id).unwrap();
        service[k] += step_of(job.spec.cpu_m, job.estimated_duration_s(), tenants[k].0);
        r.apply(Command::FinishJob(FinishJob { job_id, worker_id, token, ending: RunEnding::Succeeded, usage: RunUsage::default() }));
        let costs = &tenants[k].2;
        submit_costed(&mut r, ids[k], costs[next[k] % costs.len()]);
        next[k] += 1;
        for a in 0..n {
            for b in (0..n).filter(|&b| b != a) {
                let d = service[a] - service[b];
                lo[a][b] = lo[a][b].min(d);
                hi[a][b] = hi[a][b].max(d);
                let (ca, cb) = (max_step[a], max_step[b]);
                prop_assert!(hi[a][b] - lo[a][b] <= ca + cb + 2 * cap, "round {}: a window of tenants {} and {} differs by {} > {} + {} + 2 x {}", round, a, b, hi[a][b] - lo[a][b], ca, cb, cap);
                prop_assert!(d <= cb + cap, "round {}: since the start, tenant {} leads {} by {} > {} + {}", round, a, b, d, cb, cap);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// docs/scheduling.md, "Fairness bound": for two continuously backlogged
    /// tenants, the normalized service `W/w` of any window differs by at most
    /// `C_i/w_i + C_j/w_j + 2B` (B the SLA boost; `+ B` for windows that start
    /// when their tags are equal, here the first dispatch). Jobs of mixed cost
    /// (size and estimated duration), per-tenant wait targets that switch
    /// boosts on at different times, every window checked.
    #[test]
    fn backlogged_tenants_are_served_within_the_wfq_bound(
        tenants in proptest::collection::vec((1..6u32, 2_000..120_000u64, proptest::collection::vec((1..5u64, 1..400u64), 1..5)), 2..5),
        boost in prop_oneof![Just(0u64), 1..3_000_000u64],
        step_ms in 100..4_000u64,
    ) {
        fairness_run(&tenants, boost, step_ms)?;
    }
}
