//! The dispatch solver: a pure function from the state (and the previous
//! round's decision) to placements that the leader proposes as one
//! `AssignJobs`. `apply` re-checks every placement, so a decision made from a
//! slightly old state is safe.
//!
//! Order: tenants are served in ascending finish tag of their head (weighted
//! fair queuing, see [`crate::wfq`]); a tenant whose head has waited past
//! `sla_boost_threshold_percent` of its wait target competes with its tag
//! lowered by at most `sla_boost_cost` (bounded, so it cannot starve others).
//! Within a tenant: priority, then FIFO; if the head fits no free worker, up to
//! `backfill_depth` later jobs may go instead; if the head would take the tenant
//! past quota plus its active burst, the tenant waits this round.
//!
//! The seeds' pool order is "static pool, then dynamic, then burst, else
//! wait". Burst is the last tier: a placement that fits the tenant's base
//! quota is always chosen before one that needs its active burst lease. A
//! tenant whose next placement needs the lease is set aside with its key; once
//! no tenant has a placement within its base quota left, the set-aside tenants
//! compete again, in key order, and may use their leases. Otherwise a tenant
//! ahead in fair order could take on its lease the last free worker that
//! another tenant needed within its own quota.
//!
//! Worker choice: static pools first, then dynamic,
//! then by pool and worker id, first fit; a job placed on a worker in the
//! previous decision goes to the same worker again if it still fits (no churn
//! between rounds). Capacity taken by the decision is accounted as it goes.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::apply::cost_of;
use crate::ids::{JobId, PoolId, TenantId, WorkerId};
use crate::model::{Job, Usage, WorkerState};
use crate::placement::{tenant_room, worker_matches, worker_rank};
use crate::state::State;
use crate::wfq::{queue_key, tag_step, QueueKey, VirtualTime};
use serde::{Deserialize, Serialize};

/// Placements proposed together, with the time they were decided at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub assignments: Vec<(JobId, WorkerId)>,
    pub at_ms: u64,
}

impl Decision {
    /// The command that proposes this decision.
    pub fn command(&self) -> crate::command::AssignJobs {
        crate::command::AssignJobs { assignments: self.assignments.clone() }
    }
}

/// The first placements of a round, at the state's own clock and with no
/// previous decision (kept for callers of the first API).
pub fn plan(state: &State, max: usize) -> Vec<(JobId, WorkerId)> {
    solve(state, state.clock_ms(), None, max).assignments
}

struct Slot {
    id: WorkerId,
    free_cpu: u64,
    free_mem: u64,
}

struct Local {
    start_tag: VirtualTime,
    after: Option<QueueKey>,
    skipped: BTreeSet<QueueKey>,
    running: Usage,
}

type ShapeKey<'a> = (u64, u64, Option<&'a PoolId>, Option<&'a BTreeMap<String, String>>);

/// Chooses up to `limit` placements at `now_ms`.
pub fn solve(state: &State, now_ms: u64, previous: Option<&Decision>, limit: usize) -> Decision {
    let mut out = Decision { assignments: Vec::new(), at_ms: now_ms };
    let mut workers: Vec<_> = state
        .workers
        .values()
        .filter(|w| w.state == WorkerState::Active && state.pools.get(&w.pool).is_none_or(|p| p.lifecycle.accepts_work()))
        .collect();
    if workers.is_empty() || limit == 0 {
        return out;
    }
    workers.sort_by_cached_key(|w| worker_rank(state, w));
    let mut slots: Vec<Slot> = workers
        .iter()
        .map(|w| Slot { id: w.id, free_cpu: w.cpu_m.saturating_sub(w.used_cpu_m), free_mem: w.memory_mb.saturating_sub(w.used_memory_mb) })
        .collect();
    let position: BTreeMap<WorkerId, usize> = workers.iter().enumerate().map(|(i, w)| (w.id, i)).collect();
    let before: BTreeMap<JobId, WorkerId> = previous.map(|d| d.assignments.iter().copied().collect()).unwrap_or_default();
    let mut cursors: BTreeMap<ShapeKey, usize> = BTreeMap::new();
    let sched = &state.settings.scheduling;
    let boost_cap = tag_step(sched.sla_boost_cost, 1);
    let boost = |job: &Job| -> VirtualTime {
        let target = crate::sla::target_ms(state, job);
        let waited = now_ms.saturating_sub(job.submitted_at_ms);
        let due = u128::from(target) * u128::from(sched.sla_boost_threshold_percent) / 100;
        if u128::from(waited) >= due { boost_cap } else { 0 }
    };
    let mut heap: BTreeSet<(VirtualTime, TenantId)> = BTreeSet::new();
    let mut locals: BTreeMap<TenantId, Local> = BTreeMap::new();
    let pull = |t: TenantId, key: VirtualTime, heap: &mut BTreeSet<(VirtualTime, TenantId)>, locals: &mut BTreeMap<TenantId, Local>| {
        let Some(q) = state.queue.tenant(t) else { return };
        heap.insert((key, t));
        locals.insert(t, Local { start_tag: q.start_tag, after: None, skipped: BTreeSet::new(), running: state.running_usage(t) });
    };
    // Keys are `tag + cap - boost`. Only a head that has waited at least the
    // smallest `due` of any tenant can carry a boost: those tenants (found by
    // the head age index, usually none) are pulled first with their exact key.
    // Every other tenant's key is exactly `tag + cap`, so the tag index yields
    // them in key order and they are pulled only when they could win a turn.
    let min_due = u128::from(crate::sla::smallest_target_ms(state)) * u128::from(sched.sla_boost_threshold_percent) / 100;
    let oldest_boostable = u64::try_from(u128::from(now_ms).saturating_sub(min_due)).unwrap_or(0);
    for &(_, t) in state.queue.ages.range(..=(oldest_boostable, TenantId(u64::MAX))) {
        let (Some(q), true) = (state.queue.tenant(t), boost_cap > 0) else { continue };
        let (Some(tag), Some(head)) = (q.head_tag, q.jobs.first().and_then(|&(_, id)| state.jobs.get(id))) else { continue };
        pull(t, tag.saturating_add(boost_cap - boost(head)), &mut heap, &mut locals);
    }
    let mut index = state.queue.index.iter().peekable();
    // The burst tier: tenants whose next placement needs their lease wait,
    // with their key, until every placement within a base quota is made.
    let mut deferred: Vec<(VirtualTime, TenantId)> = Vec::new();
    let mut burst_tier = false;
    loop {
        if out.assignments.len() >= limit {
            break;
        }
        if heap.is_empty() && index.peek().is_none() {
            if burst_tier || deferred.is_empty() {
                break;
            }
            burst_tier = true;
            heap.extend(deferred.drain(..));
        }
        while let Some(&&(tag, t)) = index.peek() {
            let key = tag.saturating_add(boost_cap);
            if heap.first().is_some_and(|&(e, _)| key > e) {
                break;
            }
            index.next();
            if !locals.contains_key(&t) {
                pull(t, key, &mut heap, &mut locals);
            }
        }
        let Some((turn, t)) = heap.pop_first() else { continue };
        let (Some(tenant), Some(q), Some(local)) = (state.tenants.get(&t), state.queue.tenant(t), locals.get_mut(&t)) else { continue };
        let lower = local.after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut candidates = q.jobs.range((lower, Bound::Unbounded)).filter(|k| !local.skipped.contains(k));
        let mut chosen = None;
        for (n, &key) in candidates.by_ref().take(sched.backfill_depth as usize).enumerate() {
            let Some(job) = state.jobs.get(key.1) else { continue };
            match tenant_room(state, tenant, local.running, job, now_ms) {
                Err(_) => break,
                Ok(true) if !burst_tier => {
                    deferred.push((turn, t));
                    break;
                }
                Ok(_) => {}
            }
            if let Some(slot) = find_worker(state, &workers, &mut slots, &position, &mut cursors, &before, job) {
                chosen = Some((n == 0, key, job, slot));
                break;
            }
        }
        let Some((was_head, key, job, slot)) = chosen else { continue };
        let s = &mut slots[slot];
        s.free_cpu -= job.spec.cpu_m;
        s.free_mem -= job.spec.memory_mb;
        out.assignments.push((job.id, s.id));
        local.running.cpu_m = local.running.cpu_m.saturating_add(job.spec.cpu_m);
        local.running.memory_mb = local.running.memory_mb.saturating_add(job.spec.memory_mb);
        local.running.jobs = local.running.jobs.saturating_add(1);
        local.start_tag = local.start_tag.saturating_add(tag_step(cost_of(state, job), tenant.weight));
        if was_head {
            local.after = Some(key);
        } else {
            local.skipped.insert(key);
        }
        let lower = local.after.map_or(Bound::Unbounded, Bound::Excluded);
        let next = q.jobs.range((lower, Bound::Unbounded)).find(|k| !local.skipped.contains(k));
        if let Some(job) = next.and_then(|k| state.jobs.get(k.1)) {
            let tag = local.start_tag.saturating_add(tag_step(cost_of(state, job), tenant.weight));
            heap.insert((tag.saturating_add(boost_cap - boost(job)), t));
        }
    }
    out
}

/// The slot of the first worker (in preference order) that takes `job`.
fn find_worker<'a>(
    state: &State,
    workers: &[&'a crate::model::Worker],
    slots: &mut [Slot],
    position: &BTreeMap<WorkerId, usize>,
    cursors: &mut BTreeMap<ShapeKey<'a>, usize>,
    before: &BTreeMap<JobId, WorkerId>,
    job: &'a Job,
) -> Option<usize> {
    let fits = |i: usize, slots: &[Slot]| {
        let (w, s) = (workers[i], &slots[i]);
        job.spec.cpu_m <= s.free_cpu
            && job.spec.memory_mb <= s.free_mem
            && job.spec.pool.as_ref().is_none_or(|p| *p == w.pool)
            && worker_matches(state, w, job)
    };
    if let Some(&i) = before.get(&job.id).and_then(|w| position.get(w)) {
        if fits(i, slots) {
            return Some(i);
        }
    }
    // Capacity only shrinks during a round: a worker that could not take this
    // shape earlier cannot take it later, so each shape scans forward once.
    let shape = (job.spec.cpu_m, job.spec.memory_mb, job.spec.pool.as_ref(), job.selector());
    let start = cursors.get(&shape).copied().unwrap_or(0);
    let found = (start..workers.len()).find(|&i| fits(i, slots));
    cursors.insert(shape, found.unwrap_or(workers.len()));
    found
}

/// The queue key of a job (for callers that walk tenant queues).
pub fn key_of(job: &Job) -> QueueKey {
    queue_key(job.spec.priority, job.id)
}
