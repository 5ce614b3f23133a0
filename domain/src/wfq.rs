//! Weighted fair queuing across tenants (see `docs/scheduling.md`).
//!
//! Each tenant has its own queue ordered by (priority, higher first; then job
//! id, i.e. FIFO). Tags are computed lazily, per tenant rather than per job:
//! when a tenant becomes backlogged its start tag is `S = max(V, F_last)`; the
//! finish tag of its head is `F = S + cost(head) * WEIGHT_UNIT / weight`. When a
//! job is placed, `F_last = S + cost(job)/w`, the tenant's next start tag is
//! `F_last` (it stays backlogged), and the system virtual time `V` advances to
//! the served start tag (start-time fair queuing). Dispatch serves tenants in
//! ascending head finish tag, which an ordered index of tenant heads gives in
//! O(log tenants). Because a tenant's tags advance by exactly `cost/w` per
//! service, two continuously backlogged tenants i and j satisfy
//! `|W_i/w_i - W_j/w_j| <= C_i/w_i + C_j/w_j + 2B` over any window, where C is
//! the largest job cost and B the bounded SLA boost (see the proof in
//! `docs/scheduling.md`).

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{JobId, TenantId};
use crate::settings::SchedulingSettings;
use serde::{Deserialize, Serialize};

/// System virtual time and tags. u128: a tag grows by at most ~10^17 per job, so
/// this never overflows in practice; arithmetic still saturates.
pub type VirtualTime = u128;

/// Tag increments are `cost * WEIGHT_UNIT / weight`, keeping precision for
/// large weights.
pub const WEIGHT_UNIT: u128 = 1_000;

/// A job's place in its tenant's queue: higher priority first, then FIFO.
pub type QueueKey = (i64, JobId);

pub fn queue_key(priority: i32, id: JobId) -> QueueKey {
    (-i64::from(priority), id)
}

/// The cost of a job: its dominant resource share of the reference capacity in
/// parts per million, times its estimated duration in seconds (or the default).
pub fn job_cost(cpu_m: u64, memory_mb: u64, estimated_s: Option<u64>, s: &SchedulingSettings) -> u64 {
    let share = |v: u64, of: u64| (u128::from(v) * 1_000_000 / u128::from(of.max(1))) as u64;
    let dominant = share(cpu_m, s.reference_cpu_m).max(share(memory_mb, s.reference_memory_mb)).max(1);
    let duration = estimated_s.unwrap_or(s.default_estimated_duration_s).clamp(1, 7 * 86_400);
    dominant.saturating_mul(duration)
}

/// The virtual-time advance of one job of `cost` for a tenant of `weight`.
pub fn tag_step(cost: u64, weight: u32) -> VirtualTime {
    u128::from(cost) * WEIGHT_UNIT / u128::from(weight.max(1))
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantQueue {
    pub(crate) jobs: BTreeSet<QueueKey>,
    /// Start tag of the tenant's next service (valid while backlogged).
    pub(crate) start_tag: VirtualTime,
    /// Finish tag of its last served job.
    pub(crate) finish_last: VirtualTime,
    /// Finish tag of the head, as stored in the index.
    pub(crate) head_tag: Option<VirtualTime>,
    /// Submission time of the head, as stored in the age index (derived: not
    /// encoded, rebuilt after a snapshot is decoded).
    #[serde(skip)]
    pub(crate) head_age: Option<u64>,
}

impl TenantQueue {
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &QueueKey> {
        self.jobs.iter()
    }

    pub fn start_tag(&self) -> VirtualTime {
        self.start_tag
    }
}

/// All tenants' queues plus the ordered index of their heads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairQueue {
    pub(crate) virtual_time: VirtualTime,
    pub(crate) tenants: BTreeMap<TenantId, TenantQueue>,
    /// (finish tag of head, tenant) for every backlogged tenant.
    pub(crate) index: BTreeSet<(VirtualTime, TenantId)>,
    /// (submission time of head, tenant) for every backlogged tenant: lets
    /// dispatch find the tenants old enough for an SLA boost without looking
    /// at every tenant. Derived: not encoded, rebuilt after decoding.
    #[serde(skip)]
    pub(crate) ages: BTreeSet<(u64, TenantId)>,
    pub(crate) len: u64,
}

impl FairQueue {
    pub fn virtual_time(&self) -> VirtualTime {
        self.virtual_time
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn tenant(&self, t: TenantId) -> Option<&TenantQueue> {
        self.tenants.get(&t)
    }

    /// Backlogged tenants in service order (ascending head finish tag).
    pub fn heads(&self) -> impl Iterator<Item = &(VirtualTime, TenantId)> {
        self.index.iter()
    }

    /// Adds a job; returns true if the tenant's head changed (the caller then
    /// calls [`FairQueue::refresh_head`]).
    pub(crate) fn push(&mut self, t: TenantId, key: QueueKey) -> bool {
        let v = self.virtual_time;
        let q = self.tenants.entry(t).or_default();
        if q.jobs.is_empty() {
            q.start_tag = v.max(q.finish_last);
        }
        let new_head = q.jobs.first().is_none_or(|h| key < *h);
        if q.jobs.insert(key) {
            self.len += 1;
        }
        new_head
    }

    /// Removes a job (placed, cancelled, tenant gone); true if it was the head.
    pub(crate) fn remove(&mut self, t: TenantId, key: QueueKey) -> bool {
        let Some(q) = self.tenants.get_mut(&t) else { return false };
        let was_head = q.jobs.first() == Some(&key);
        if q.jobs.remove(&key) {
            self.len -= 1;
        }
        was_head
    }

    /// Records that tenant `t` was served a job of `step` (= cost/w): its tags
    /// advance and the virtual time moves to the served start tag.
    pub(crate) fn served(&mut self, t: TenantId, step: VirtualTime) {
        let v = self.virtual_time;
        let Some(q) = self.tenants.get_mut(&t) else { return };
        let start = q.start_tag;
        q.finish_last = start.saturating_add(step);
        q.start_tag = q.finish_last;
        self.virtual_time = v.max(start);
    }

    /// Re-indexes tenant `t`'s head; `head` is cost/w and the submission time
    /// of the current head.
    pub(crate) fn refresh_head(&mut self, t: TenantId, head: Option<(VirtualTime, u64)>) {
        let Some(q) = self.tenants.get_mut(&t) else { return };
        if let Some(old) = q.head_tag.take() {
            self.index.remove(&(old, t));
        }
        if let Some(old) = q.head_age.take() {
            self.ages.remove(&(old, t));
        }
        if q.jobs.is_empty() {
            return;
        }
        if let Some((step, submitted)) = head {
            let tag = q.start_tag.saturating_add(step);
            q.head_tag = Some(tag);
            self.index.insert((tag, t));
            q.head_age = Some(submitted);
            self.ages.insert((submitted, t));
        }
    }

    /// Forgets a tenant entirely (it must have no queued jobs).
    pub(crate) fn drop_tenant(&mut self, t: TenantId) {
        self.refresh_head(t, None);
        if let Some(q) = self.tenants.remove(&t) {
            self.len -= q.jobs.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn cost_is_dominant_share_times_estimated_duration() {
        let s = Settings::default().scheduling;
        // 1 core of 64 is 15,625 ppm; memory 1 GiB of 256 GiB is 3,906 ppm.
        assert_eq!(job_cost(1000, 1024, Some(10), &s), 156_250);
        assert_eq!(job_cost(1000, 1024, None, &s), 15_625 * 60);
        assert_eq!(job_cost(0, 0, Some(0), &s), 1, "never zero: every service advances the tags");
    }

    #[test]
    fn a_newly_backlogged_tenant_starts_at_the_virtual_time() {
        let mut q = FairQueue::default();
        q.virtual_time = 500;
        q.push(TenantId(1), queue_key(0, JobId(1)));
        assert_eq!(q.tenant(TenantId(1)).unwrap().start_tag, 500);
        q.refresh_head(TenantId(1), Some((100, 7)));
        assert_eq!(q.ages.first(), Some(&(7, TenantId(1))));
        assert_eq!(q.heads().next(), Some(&(600, TenantId(1))));
    }

    #[test]
    fn higher_priority_jobs_lead_their_tenants_queue() {
        let mut q = FairQueue::default();
        assert!(q.push(TenantId(1), queue_key(0, JobId(1))));
        assert!(!q.push(TenantId(1), queue_key(0, JobId(2))), "FIFO within a priority");
        assert!(q.push(TenantId(1), queue_key(5, JobId(3))), "a higher priority job becomes the head");
    }
}
