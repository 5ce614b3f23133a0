//! [`JobTable`]: jobs by id in a dense ring, because ids are handed out in order.
//!
//! A `BTreeMap<JobId, Job>` filled in ascending order leaves its nodes half
//! full and stores the whole record inline: twice the bytes per queued job. Here
//! a job costs one pointer slot plus its boxed record. Pruned jobs leave `None`
//! holes; holes at the front are released, so memory follows the retention
//! bound (finished jobs are pruned oldest first).

use std::collections::VecDeque;

use crate::ids::JobId;
use crate::model::Job;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTable {
    /// Id of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<Box<Job>>>,
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
        self.slots[i].as_deref_mut()
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
        self.slots[i] = Some(Box::new(job));
    }

    pub fn remove(&mut self, id: JobId) -> Option<Job> {
        let i = self.slot(id)?;
        let job = self.slots[i].take()?;
        self.live -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        Some(*job)
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
