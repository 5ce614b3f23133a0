//! The replicated state and its one entry point, [`State::apply`].

use std::collections::{BTreeMap, BTreeSet};

use crate::apply;
use crate::burst::Burst;
use crate::command::{Command, Proposal};
use crate::cost::CostLedger;
use crate::ids::{BurstId, JobId, PoolId, TenantId, WorkerId};
use crate::model::{Job, Tenant, Usage, Worker};
use crate::outcome::Outcome;
use crate::observability::ObservabilitySettings;
use crate::pool::Pool;
use crate::sampling::MetricHistory;
use crate::settings::Settings;
use crate::sla::{PriorityLedger, SlaLedger, SlaTargets};
use crate::table::JobTable;
use crate::wfq::FairQueue;
use serde::{Deserialize, Serialize};

/// Everything Raft replicates. Only ordered maps: iteration order reaches
/// encodings and hashes, so it must not depend on a hasher's seed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub(crate) next_tenant: u64,
    pub(crate) next_job: u64,
    pub(crate) next_worker: u64,
    pub(crate) next_burst: u64,
    /// The latest time of an applied (not rejected) command: the state's notion
    /// of "now" for reads.
    pub(crate) clock_ms: u64,
    pub(crate) settings: Settings,
    pub(crate) tenants: BTreeMap<TenantId, Tenant>,
    pub(crate) tenant_names: BTreeMap<String, TenantId>,
    pub(crate) jobs: JobTable,
    /// (tenant, idempotency key) -> the job the first submission created; lives
    /// as long as that job is retained.
    pub(crate) idempotency: BTreeMap<(TenantId, String), JobId>,
    /// Demand: resources of every non-terminal job per tenant.
    pub(crate) usage: BTreeMap<TenantId, Usage>,
    /// Resources of placed (assigned or running) jobs per tenant.
    pub(crate) running: BTreeMap<TenantId, Usage>,
    /// Pending jobs, per tenant and in fair order.
    pub(crate) queue: FairQueue,
    /// Pending jobs per wanted pool (`None`: any pool), for autoscaling.
    pub(crate) pending_by_pool: BTreeMap<Option<PoolId>, u64>,
    /// (deadline, job) for running jobs with a timeout.
    pub(crate) deadlines: BTreeSet<(u64, JobId)>,
    /// (finished at, job) for retention pruning, oldest first.
    pub(crate) finished: BTreeSet<(u64, JobId)>,
    pub(crate) workers: BTreeMap<WorkerId, Worker>,
    pub(crate) pools: BTreeMap<PoolId, Pool>,
    pub(crate) bursts: BTreeMap<BurstId, Burst>,
    /// The pending or active lease of each tenant that has one.
    pub(crate) live_bursts: BTreeMap<TenantId, BurstId>,
    pub(crate) cost: CostLedger,
    pub(crate) sla: SlaLedger,
    /// Added in snapshot format 3: encoded after the format-2 body (see
    /// [`crate::snapshot`]), so a format-2 snapshot still decodes.
    #[serde(skip)]
    pub(crate) observability: ObservabilitySettings,
    #[serde(skip)]
    pub(crate) history: MetricHistory,
    /// Added in snapshot format 4; 0 until a `SetClusterVersion` is applied
    /// (read it through [`State::cluster_version`]).
    #[serde(skip)]
    pub(crate) cluster_version: u32,
    /// Added in snapshot format 5: wait targets per priority and the
    /// compliance ledger per priority.
    #[serde(skip)]
    pub(crate) sla_targets: SlaTargets,
    #[serde(skip)]
    pub(crate) sla_by_priority: PriorityLedger,
}

impl State {
    /// Applies one committed proposal. `index` is the Raft log index of the entry;
    /// it fences assignments. Pure: the same state and input give the same result.
    pub fn apply(&mut self, index: u64, proposal: &Proposal) -> Outcome {
        self.apply_command(index, proposal.at_ms, &proposal.command)
    }

    /// One command of an entry. A batch applies its commands in order, each
    /// exactly as if it were an entry of its own at the same index and time,
    /// and answers their outcomes in order; see [`Command::batchable`].
    fn apply_command(&mut self, index: u64, now: u64, command: &Command) -> Outcome {
        let outcome = match command {
            Command::Batch(commands) => {
                let outcomes = commands
                    .iter()
                    .map(|c| match c.batchable() {
                        true => self.apply_command(index, now, c),
                        false => crate::outcome::Rejection::invalid(format!("{} cannot be part of a batch", c.kind())),
                    })
                    .collect();
                return Outcome::Batch(outcomes);
            }
            Command::CreateTenant(c) => apply::tenant::create(self, now, c),
            Command::SetQuota(c) => apply::tenant::set_quota(self, c),
            Command::SubmitJob(c) => apply::job::submit(self, now, c, None),
            Command::CancelJob(c) => apply::job::cancel(self, now, c),
            Command::RegisterWorker(c) => apply::worker::register(self, now, c),
            Command::AssignJobs(c) => apply::assign::assign(self, index, now, c),
            Command::StartJob(c) => apply::report::start(self, now, c),
            Command::FinishJob(c) => apply::report::finish(self, now, c),
            Command::MarkWorkerLost(c) => apply::worker::lost(self, now, c),
            Command::DrainWorker(c) => apply::worker::drain(self, c),
            Command::SetSettings(c) => apply::settings::set(self, c),
            Command::UpdateTenant(c) => apply::tenant::update(self, c),
            Command::DeleteTenant(c) => apply::tenant::delete(self, c),
            Command::SubmitJobWithOptions(c) => apply::job::submit(self, now, &c.submit, Some(&c.options)),
            Command::RequestBurst(c) => apply::burst::request(self, now, c),
            Command::DecideBurst(c) => apply::burst::decide(self, now, c),
            Command::CreatePool(c) => apply::pool::create(self, now, c),
            Command::UpdatePool(c) => apply::pool::update(self, c),
            Command::DeletePool(c) => apply::pool::delete(self, c),
            Command::ScalePool(c) => apply::scale::manual(self, now, c),
            Command::RecordScaling(c) => apply::scale::automatic(self, now, c),
            Command::DeregisterWorker(c) => apply::worker::deregister(self, now, c),
            Command::Tick(_) => apply::tick::tick(self, now),
            Command::SetObservability(c) => apply::observability::set(self, c),
            Command::RecordSamples(c) => apply::observability::record(self, now, c),
            Command::SetClusterVersion(c) => apply::version::set(self, c),
            Command::SetSlaTargets(c) => apply::sla::set(self, c),
        };
        // A rejected command leaves the state exactly as it was, clock included.
        if !matches!(outcome, Outcome::Rejected(_)) {
            self.clock_ms = self.clock_ms.max(now);
        }
        outcome
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
        self.jobs.get(id)
    }

    /// Retained jobs in id order.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter()
    }

    pub fn worker(&self, id: WorkerId) -> Option<&Worker> {
        self.workers.get(&id)
    }

    pub fn workers(&self) -> impl Iterator<Item = &Worker> {
        self.workers.values()
    }

    /// Jobs waiting for a worker, oldest first (a scan: for listings, not loops).
    pub fn pending(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter().filter(|j| j.state == crate::model::JobState::Pending)
    }

    /// Jobs after `after` in id order (for paginated listing).
    pub fn jobs_after(&self, after: Option<JobId>) -> impl Iterator<Item = &Job> {
        let start = after.map(|a| a.0.saturating_add(1)).unwrap_or(0);
        self.jobs.iter_from(JobId(start))
    }

    /// Resources of the tenant's non-terminal (queued and placed) jobs.
    pub fn usage(&self, id: TenantId) -> Usage {
        self.usage.get(&id).copied().unwrap_or_default()
    }

    /// Resources of the tenant's placed (assigned and running) jobs.
    pub fn running_usage(&self, id: TenantId) -> Usage {
        self.running.get(&id).copied().unwrap_or_default()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The recorded cluster version (see [`crate::version`]): the oldest
    /// protocol version until one is recorded.
    pub fn cluster_version(&self) -> u32 {
        self.cluster_version.max(crate::version::OLDEST_PROTOCOL_VERSION)
    }

    /// The latest leader time applied (0 before any command).
    pub fn clock_ms(&self) -> u64 {
        self.clock_ms
    }

    pub fn queue(&self) -> &FairQueue {
        &self.queue
    }

    /// Number of queued jobs.
    pub fn queued_jobs(&self) -> u64 {
        self.queue.len()
    }

    pub fn pool(&self, id: &PoolId) -> Option<&Pool> {
        self.pools.get(id)
    }

    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.values()
    }

    pub fn burst(&self, id: BurstId) -> Option<&Burst> {
        self.bursts.get(&id)
    }

    pub fn bursts(&self) -> impl Iterator<Item = &Burst> {
        self.bursts.values()
    }

    /// The tenant's pending or active lease, if any.
    pub fn live_burst(&self, tenant: TenantId) -> Option<&Burst> {
        self.live_bursts.get(&tenant).and_then(|b| self.bursts.get(b))
    }

    /// Extra (cpu_m, memory_mb) the tenant's lease grants at `now_ms`.
    pub fn burst_allowance(&self, tenant: TenantId, now_ms: u64) -> (u64, u64) {
        match self.live_burst(tenant) {
            Some(b) if b.is_active_at(now_ms) => (b.cpu_m, b.memory_mb),
            _ => (0, 0),
        }
    }

    /// Queued jobs that want `pool` specifically (`None`: any pool).
    pub fn pending_for_pool(&self, pool: Option<&PoolId>) -> u64 {
        self.pending_by_pool.get(&pool.cloned()).copied().unwrap_or(0)
    }

    pub fn observability(&self) -> &ObservabilitySettings {
        &self.observability
    }

    /// The replicated metric history (see [`crate::sampling`]).
    pub fn metric_history(&self) -> &MetricHistory {
        &self.history
    }

    /// Is a `RecordSamples` due at `now` (sampling on, the interval elapsed)?
    pub fn sample_due(&self, now_ms: u64) -> bool {
        let h = &self.observability.history;
        h.enabled && self.history.last_sample_ms.is_none_or(|last| now_ms >= last.saturating_add(h.sample_interval_ms))
    }

    pub fn cost_ledger(&self) -> &CostLedger {
        &self.cost
    }

    pub fn sla_ledger(&self) -> &SlaLedger {
        &self.sla
    }

    /// Wait targets per priority, cluster-wide and per tenant.
    pub fn sla_targets(&self) -> &SlaTargets {
        &self.sla_targets
    }

    /// SLA compliance per (hour, priority, tenant), for priorities with a target.
    pub fn sla_by_priority(&self) -> &PriorityLedger {
        &self.sla_by_priority
    }

    /// Retained finished jobs.
    pub fn finished_jobs(&self) -> u64 {
        self.finished.len() as u64
    }

    /// Does time-driven work wait at `now` (see `Tick`)? The leader proposes a
    /// `Tick` when it does, and otherwise only now and then.
    pub fn tick_due(&self, now_ms: u64) -> bool {
        apply::tick::due(self, now_ms)
    }

    /// Would a periodic `Tick` do anything at all (accrue idle cost, prune)?
    pub fn tick_useful(&self) -> bool {
        apply::tick::periodic_useful(self)
    }

    /// A 64-bit FNV-1a digest of the canonical encoding: equal states give equal
    /// hashes on every node and every build of the same format version. The
    /// encoding is streamed through the digest, never held whole in memory.
    pub fn state_hash(&self) -> u64 {
        let mut h = Fnv1a(0xcbf2_9ce4_8422_2325);
        crate::snapshot::write_body(self, &mut h).expect("the digest writer never fails");
        h.0
    }
}

/// FNV-1a over every byte written.
struct Fnv1a(u64);

impl std::io::Write for Fnv1a {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
