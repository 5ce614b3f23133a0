//! The job lifecycle after admission, rule by rule.

use std::collections::BTreeMap;

use hodei_domain::command::*;
use hodei_domain::*;

struct World {
    state: State,
    index: u64,
}

impl World {
    fn new() -> Self {
        World { state: State::default(), index: 0 }
    }

    fn apply(&mut self, command: Command) -> Outcome {
        self.index += 1;
        self.state.apply(self.index, &Proposal { at_ms: 1_000 * self.index, command })
    }

    fn tenant(&mut self, name: &str, max_jobs: u32) -> TenantId {
        let quota = Some(Quota { cpu_m: 100_000, memory_mb: 100_000, max_concurrent_jobs: max_jobs });
        match self.apply(Command::CreateTenant(CreateTenant { name: name.into(), email: "a@b.c".into(), quota })) {
            Outcome::TenantCreated(t) => t.id,
            o => panic!("{o:?}"),
        }
    }

    fn worker(&mut self, cpu_m: u64) -> WorkerId {
        let c = RegisterWorker { pool: PoolId("default".into()), name: "w".into(), cpu_m, memory_mb: 4096, labels: BTreeMap::new(), logs_addr: String::new() };
        match self.apply(Command::RegisterWorker(c)) {
            Outcome::WorkerRegistered(w) => w.id,
            o => panic!("{o:?}"),
        }
    }

    fn submit(&mut self, tenant: TenantId, cpu_m: u64, max_retries: u32) -> JobId {
        let spec = JobSpec { command: vec!["true".into()], cpu_m, memory_mb: 64, max_retries, ..Default::default() };
        match self.apply(Command::SubmitJob(SubmitJob { tenant_id: tenant, spec, idempotency_key: None })) {
            Outcome::JobSubmitted(j) => j.id,
            o => panic!("{o:?}"),
        }
    }

    /// Plans and applies one dispatch round; returns (job, worker, token).
    fn dispatch(&mut self) -> Vec<(JobId, WorkerId, u64)> {
        let plan = dispatch::plan(&self.state, 1000);
        match self.apply(Command::AssignJobs(AssignJobs { assignments: plan })) {
            Outcome::JobsAssigned(p) => p,
            o => panic!("{o:?}"),
        }
    }

    fn finish(&mut self, (job, worker, token): (JobId, WorkerId, u64), ending: RunEnding) -> Outcome {
        self.apply(Command::FinishJob(FinishJob { job_id: job, worker_id: worker, token, ending, usage: RunUsage { run_ms: 10, cpu_ms: 5, peak_memory_kb: 100 } }))
    }

    fn job(&self, id: JobId) -> &Job {
        self.state.job(id).unwrap()
    }
}

#[test]
fn a_job_is_placed_started_and_finished_with_its_fencing_token() {
    let mut w = World::new();
    let t = w.tenant("a", 10);
    let wk = w.worker(1000);
    let j = w.submit(t, 500, 0);
    let placed = w.dispatch();
    assert_eq!(placed.len(), 1);
    let (_, worker, token) = placed[0];
    assert_eq!(worker, wk);
    assert_eq!(w.job(j).state, JobState::Assigned);
    assert!(matches!(w.apply(Command::StartJob(StartJob { job_id: j, worker_id: wk, token })), Outcome::JobStarted(_)));
    assert!(matches!(w.finish(placed[0], RunEnding::Succeeded), Outcome::JobFinished(ref job) if job.state == JobState::Succeeded));
    assert_eq!(w.state.usage(t), Usage::default(), "a finished job frees its tenant's quota");
    assert_eq!(w.state.worker(wk).unwrap().used_cpu_m, 0, "and its worker's capacity");
}

#[test]
fn a_report_with_a_stale_token_is_refused() {
    let mut w = World::new();
    let t = w.tenant("a", 10);
    let wk = w.worker(1000);
    let j = w.submit(t, 500, 0);
    let (_, _, token) = w.dispatch()[0];
    let stale = w.apply(Command::StartJob(StartJob { job_id: j, worker_id: wk, token: token + 7 }));
    assert!(matches!(stale, Outcome::Rejected(Rejection::Conflict { .. })), "{stale:?}");
    assert_eq!(w.job(j).state, JobState::Assigned, "a refused report changes nothing");
}

#[test]
fn a_lost_workers_jobs_go_back_to_the_queue_and_its_late_report_is_refused() {
    let mut w = World::new();
    let t = w.tenant("a", 10);
    let dead = w.worker(1000);
    let j = w.submit(t, 500, 0);
    let first = w.dispatch()[0];
    let lost = w.apply(Command::MarkWorkerLost(MarkWorkerLost { worker_id: dead }));
    assert_eq!(lost, Outcome::WorkerLost { requeued: vec![j], lost: vec![] });
    assert_eq!(w.job(j).state, JobState::Pending);
    let alive = w.worker(1000);
    let second = w.dispatch()[0];
    assert_eq!(second.1, alive, "never placed on the lost worker again");
    let late = w.finish(first, RunEnding::Succeeded);
    assert!(matches!(late, Outcome::Rejected(Rejection::Conflict { .. })), "{late:?}");
    assert!(matches!(w.finish(second, RunEnding::Succeeded), Outcome::JobFinished(_)));
}

#[test]
fn a_failed_run_is_retried_up_to_max_retries() {
    let mut w = World::new();
    let t = w.tenant("a", 10);
    w.worker(1000);
    let j = w.submit(t, 500, 1);
    let p = w.dispatch()[0];
    w.finish(p, RunEnding::Failed { exit_code: Some(1) });
    assert_eq!(w.job(j).state, JobState::Pending, "first failure: retried");
    let p = w.dispatch()[0];
    w.finish(p, RunEnding::Failed { exit_code: Some(1) });
    assert_eq!(w.job(j).state, JobState::Failed, "out of retries");
    assert_eq!(w.job(j).execution.attempts, 2);
}

#[test]
fn workers_are_never_overfilled_and_tenants_take_turns() {
    let mut w = World::new();
    let a = w.tenant("a", 100);
    let b = w.tenant("b", 100);
    w.worker(1000);
    for _ in 0..6 {
        w.submit(a, 250, 0);
    }
    let bj = w.submit(b, 250, 0);
    let placed = w.dispatch();
    assert_eq!(placed.len(), 4, "1000 cpu_m fits four 250 cpu_m jobs");
    assert!(placed.iter().any(|(j, _, _)| *j == bj), "tenant b's only job got a turn: {placed:?}");
    assert!(w.dispatch().is_empty(), "a full worker takes nothing more");
}

#[test]
fn a_cancelled_running_job_frees_its_worker_and_refuses_the_late_report() {
    let mut w = World::new();
    let t = w.tenant("a", 10);
    let wk = w.worker(1000);
    let j = w.submit(t, 500, 0);
    let p = w.dispatch()[0];
    w.apply(Command::StartJob(StartJob { job_id: j, worker_id: wk, token: p.2 }));
    assert!(matches!(w.apply(Command::CancelJob(CancelJob { job_id: j, tenant_id: None })), Outcome::JobCancelled(_)));
    assert_eq!(w.state.worker(wk).unwrap().used_cpu_m, 0);
    assert!(matches!(w.finish(p, RunEnding::Cancelled), Outcome::Rejected(_)));
    assert_eq!(w.job(j).state, JobState::Cancelled);
}
