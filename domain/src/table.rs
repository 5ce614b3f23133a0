//! [`JobTable`]: jobs by id in a dense ring, because ids are handed out in order.
//!
//! A `BTreeMap<JobId, Job>` filled in ascending order leaves its nodes half
//! full and stores the whole record inline: twice the bytes per queued job. Here
//! a job costs one pointer slot plus its record. Pruned jobs leave `None`
//! holes; holes at the front are released, so memory follows the retention
//! bound (finished jobs are pruned oldest first).
//!
//! Records are shared (`Arc`) and copied on write: a snapshot clones the state
//! so that applies go on while it is encoded, and with a million queued jobs a
//! deep copy held the apply lock for most of a second and doubled the node's
//! memory; now the clone copies pointers, and a job changed while a snapshot
//! holds it is copied alone. The encoding is the record's, as it was boxed.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::ids::JobId;
use crate::model::Job;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTable {
    /// Id of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<Arc<Job>>>,
    live: u64,
}

impl JobTable {
    fn slot(&self, id: JobId) -> Option<usize> {
        let i = id.0.checked_sub(self.base)?;
        usize::try_from(i).ok().filter(|i| *i < self.slots.len())
    }

    pub fn get(&self, id: JobId) -> Option<&Job> {
        self.slot(id).and_then(|i| self.slots[i].as_deref())
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut Job> {
        let i = self.slot(id)?;
        self.slots[i].as_mut().map(Arc::make_mut)
    }

    pub fn contains(&self, id: JobId) -> bool {
        self.get(id).is_some()
    }

    /// Stores a new job; ids must come in increasing order (gaps are holes).
    pub fn insert(&mut self, job: Job) {
        if self.slots.is_empty() && self.live == 0 {
            self.base = job.id.0;
        }
        let Some(i) = job.id.0.checked_sub(self.base) else { return };
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        if i == usize::MAX || i > self.slots.len() + 1_000_000 {
            return;
        }
        while self.slots.len() <= i {
            self.slots.push_back(None);
        }
        if self.slots[i].is_none() {
            self.live += 1;
        }
        self.slots[i] = Some(Arc::new(job));
    }

    pub fn remove(&mut self, id: JobId) -> Option<Job> {
        let i = self.slot(id)?;
        let job = self.slots[i].take()?;
        self.live -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        Some(Arc::unwrap_or_clone(job))
    }

    pub fn len(&self) -> u64 {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Job> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// Jobs with an id at or above `from`, in id order.
    pub fn iter_from(&self, from: JobId) -> impl Iterator<Item = &Job> {
        let skip = from.0.saturating_sub(self.base);
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        self.slots.iter().skip(skip).filter_map(|s| s.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;
    use crate::model::{Execution, JobSpec, JobState};

    fn job(id: u64) -> Job {
        Job {
            id: JobId(id),
            tenant_id: TenantId(1),
            spec: JobSpec { command: vec!["true".into()], cpu_m: 1, memory_mb: 1, ..Default::default() },
            state: JobState::Pending,
            idempotency_key: None,
            submitted_at_ms: 0,
            updated_at_ms: 0,
            execution: Execution::default(),
            options: None,
        }
    }

    #[test]
    fn a_clone_keeps_what_it_saw_while_the_original_changes() {
        let mut table = JobTable::default();
        for id in 10..13 {
            table.insert(job(id));
        }
        let snapshot = table.clone();
        if let Some(j) = table.get_mut(JobId(11)) {
            j.state = JobState::Cancelled;
        }
        table.remove(JobId(10));
        table.insert(job(13));
        assert_eq!(snapshot.get(JobId(11)).map(|j| j.state), Some(JobState::Pending));
        assert!(snapshot.contains(JobId(10)) && !snapshot.contains(JobId(13)));
        assert_eq!(snapshot.len(), 3);
        assert_eq!(table.get(JobId(11)).map(|j| j.state), Some(JobState::Cancelled));
        assert_eq!(table.iter().map(|j| j.id.0).collect::<Vec<_>>(), [11, 12, 13]);
        // Unshared records are changed in place, not copied.
        let before = table.get(JobId(12)).map(|j| j as *const Job);
        drop(snapshot);
        if let Some(j) = table.get_mut(JobId(12)) {
            j.updated_at_ms = 5;
        }
        assert_eq!(table.get(JobId(12)).map(|j| j as *const Job), before);
    }
}
