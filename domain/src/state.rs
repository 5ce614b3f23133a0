//! The replicated state and its one entry point, [`State::apply`].

use crate::apply;
use crate::command::{Command, Proposal};
use std::collections::BTreeSet;

use crate::ids::{JobId, TenantId, WorkerId};
use crate::model::{Job, Tenant, Usage, Worker};
use crate::outcome::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything Raft replicates. Only ordered maps: iteration order reaches
/// encodings and hashes, so it must not depend on a hasher's seed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) next_tenant: u64,
    pub(crate) next_job: u64,
    pub(crate) tenants: BTreeMap<TenantId, Tenant>,
    pub(crate) tenant_names: BTreeMap<String, TenantId>,
    pub(crate) jobs: BTreeMap<JobId, Job>,
    /// (tenant, idempotency key) -> the job the first submission created.
    pub(crate) idempotency: BTreeMap<(TenantId, String), JobId>,
    /// Admitted (non-terminal) jobs' resources per tenant.
    pub(crate) usage: BTreeMap<TenantId, Usage>,
    pub(crate) next_worker: u64,
    pub(crate) workers: BTreeMap<WorkerId, Worker>,
    /// Jobs waiting for a worker, in submission order.
    pub(crate) pending: BTreeSet<JobId>,
}

impl State {
    /// Applies one committed proposal. `index` is the Raft log index of the entry;
    /// it fences assignments. Pure: the same state and input give the same result.
    pub fn apply(&mut self, index: u64, proposal: &Proposal) -> Outcome {
        let now = proposal.at_ms;
        match &proposal.command {
            Command::CreateTenant(c) => apply::tenant::create(self, now, c),
            Command::SetQuota(c) => apply::tenant::set_quota(self, c),
            Command::SubmitJob(c) => apply::job::submit(self, now, c),
            Command::CancelJob(c) => apply::job::cancel(self, now, c),
            Command::RegisterWorker(c) => apply::worker::register(self, now, c),
            Command::AssignJobs(c) => apply::worker::assign(self, index, now, c),
            Command::StartJob(c) => apply::worker::start(self, now, c),
            Command::FinishJob(c) => apply::worker::finish(self, now, c),
            Command::MarkWorkerLost(c) => apply::worker::lost(self, now, c),
            Command::DrainWorker(c) => apply::worker::drain(self, c),
        }
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenants.get(&id)
    }

    pub fn tenant_by_name(&self, name: &str) -> Option<&Tenant> {
        self.tenant_names.get(name).and_then(|id| self.tenants.get(id))
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs.get(&id)
    }

    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    pub fn worker(&self, id: WorkerId) -> Option<&Worker> {
        self.workers.get(&id)
    }

    pub fn workers(&self) -> impl Iterator<Item = &Worker> {
        self.workers.values()
    }

    /// Jobs waiting for a worker, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Job> {
        self.pending.iter().filter_map(|id| self.jobs.get(id))
    }

    /// Jobs after `after` in id order (for paginated listing).
    pub fn jobs_after(&self, after: Option<JobId>) -> impl Iterator<Item = &Job> {
        let start = after.map(|a| a.0.saturating_add(1)).unwrap_or(0);
        self.jobs.range(JobId(start)..).map(|(_, j)| j)
    }

    pub fn usage(&self, id: TenantId) -> Usage {
        self.usage.get(&id).copied().unwrap_or_default()
    }

    /// A 64-bit FNV-1a digest of the canonical encoding: equal states give equal
    /// hashes on every node and every build of the same format version.
    pub fn state_hash(&self) -> u64 {
        let bytes = crate::snapshot::encode_body(self);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
}
