//! The test world the rule files drive: a state, the log index and the
//! leader's clock, advanced by one second a command, with `must_*` helpers
//! that panic with the outcome when a step a test relies on is refused.
#![allow(dead_code)]

use std::collections::BTreeMap;

use hodei_domain::command::{CreatePool, CreateTenant, RegisterWorker, SetSettings, SubmitJob, SubmitJobWithOptions};
use hodei_domain::{Command, Job, JobId, JobOptions, JobSpec, Outcome, PoolId, PoolKind, Proposal, Quota, Settings, State, TenantId, WorkerId};

pub struct World {
    pub state: State,
    pub index: u64,
    pub now: u64,
}

impl World {
    pub fn new() -> Self {
        World { state: State::default(), index: 0, now: 1_000_000 }
    }

    pub fn apply(&mut self, command: Command) -> Outcome {
        self.index += 1;
        self.now += 1_000;
        self.state.apply(self.index, &Proposal { at_ms: self.now, command })
    }

    pub fn settings(&mut self, f: impl FnOnce(&mut Settings)) {
        let mut s = *self.state.settings();
        f(&mut s);
        assert!(matches!(self.apply(Command::SetSettings(SetSettings { settings: s })), Outcome::SettingsSet(_)));
    }

    /// A tenant with `quota` (`None`: the cluster's default quota).
    pub fn must_tenant(&mut self, name: &str, quota: Option<Quota>) -> TenantId {
        match self.apply(Command::CreateTenant(CreateTenant { name: name.into(), email: "a@b.c".into(), quota })) {
            Outcome::TenantCreated(t) => t.id,
            o => panic!("create tenant {name}: {o:?}"),
        }
    }

    pub fn must_worker(&mut self, pool: &str, cpu_m: u64, memory_mb: u64) -> WorkerId {
        let c = RegisterWorker { pool: PoolId(pool.into()), name: "w".into(), cpu_m, memory_mb, labels: BTreeMap::new(), logs_addr: String::new() };
        match self.apply(Command::RegisterWorker(c)) {
            Outcome::WorkerRegistered(w) => w.id,
            o => panic!("register worker in {pool}: {o:?}"),
        }
    }

    pub fn must_pool(&mut self, c: CreatePool) -> PoolId {
        let id = c.id.clone();
        match self.apply(Command::CreatePool(c)) {
            Outcome::PoolUpdated(_) => id,
            o => panic!("create pool {id}: {o:?}"),
        }
    }

    pub fn submit_spec(&mut self, tenant: TenantId, spec: JobSpec) -> Outcome {
        self.apply(Command::SubmitJob(SubmitJob { tenant_id: tenant, spec, idempotency_key: None }))
    }

    pub fn must_submit(&mut self, tenant: TenantId, spec: JobSpec) -> Job {
        match self.submit_spec(tenant, spec) {
            Outcome::JobSubmitted(j) => j,
            o => panic!("submit for {tenant}: {o:?}"),
        }
    }

    /// A job with an estimated duration (it sets the fair-queuing cost).
    pub fn must_submit_estimated(&mut self, tenant: TenantId, spec: JobSpec, estimated_s: u64) -> Job {
        let options = JobOptions { estimated_duration_s: Some(estimated_s), selector: BTreeMap::new() };
        let submit = SubmitJob { tenant_id: tenant, spec, idempotency_key: None };
        match self.apply(Command::SubmitJobWithOptions(SubmitJobWithOptions { submit, options })) {
            Outcome::JobSubmitted(j) => j,
            o => panic!("submit for {tenant}: {o:?}"),
        }
    }

    /// Solves one dispatch round at the world's clock and applies it.
    pub fn must_dispatch(&mut self) -> Vec<(JobId, WorkerId, u64)> {
        let d = hodei_domain::dispatch::solve(&self.state, self.now + 1_000, None, 1_000);
        match self.apply(Command::AssignJobs(d.command())) {
            Outcome::JobsAssigned(p) => p,
            o => panic!("assign: {o:?}"),
        }
    }
}

/// A quota no test reaches.
pub fn big() -> Quota {
    Quota { cpu_m: 1_000_000, memory_mb: 1 << 30, max_concurrent_jobs: 100_000 }
}

/// A job that runs `true` with `cpu_m` and `memory_mb`.
pub fn spec(cpu_m: u64, memory_mb: u64) -> JobSpec {
    JobSpec { command: vec!["true".into()], cpu_m, memory_mb, ..Default::default() }
}

/// A pool declaration without labels, shape or policies.
pub fn pool(id: &str, kind: PoolKind, min_size: u32, max_size: u32) -> CreatePool {
    CreatePool {
        id: PoolId(id.into()),
        name: id.into(),
        kind,
        min_size,
        max_size,
        labels: BTreeMap::new(),
        worker_shape: None,
        worker_hourly_cost_nanos: None,
        auto_scaling_enabled: false,
        policies: vec![],
    }
}
