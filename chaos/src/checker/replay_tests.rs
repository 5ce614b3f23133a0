//! The replay checkers on a log built through `domain`'s own apply (it passes),
//! on logs the replay cannot trust (gaps, nodes that disagree), and their two
//! invariants on hand-made bad data.

use std::collections::BTreeMap;

use hodei_domain::command::{AssignJobs, Command, CreateTenant, FinishJob, Proposal, RegisterWorker, StartJob, SubmitJob};
use hodei_domain::ids::{JobId, PoolId, WorkerId};
use hodei_domain::model::{JobSpec, Quota, RunEnding, RunUsage, Usage};
use hodei_domain::outcome::Outcome;
use hodei_domain::state::State;

use super::replay::{check, holding_problems, over_limit};
use crate::committed::{CommittedEntry, CommittedLog};

/// Appends commands as committed entries, applying them to learn the ids.
struct Log {
    state: State,
    entries: Vec<CommittedEntry>,
}

impl Log {
    fn new() -> Self {
        Log { state: State::default(), entries: Vec::new() }
    }

    fn push(&mut self, command: Command) -> (u64, Outcome) {
        let index = self.entries.len() as u64 + 1;
        let proposal = Proposal { at_ms: 1_000 + index, command };
        let outcome = self.state.apply(index, &proposal);
        self.entries.push(CommittedEntry { index, term: 1, proposal: Some(proposal) });
        (index, outcome)
    }

    fn committed(self) -> CommittedLog {
        CommittedLog { node: 1, entries: self.entries, disagreements: Vec::new() }
    }
}

fn spec() -> JobSpec {
    JobSpec { command: vec!["true".into()], cpu_m: 100, memory_mb: 100, ..JobSpec::default() }
}

/// A tenant with room for two jobs, one worker, three jobs: two placed, a stale
/// report refused, one run to the end, the third placed after it.
fn worked_log() -> CommittedLog {
    worked_log_with(false)
}

/// The same, with the stale report, the start and the finish in one batch
/// entry when `batched`.
fn worked_log_with(batched: bool) -> CommittedLog {
    let mut log = Log::new();
    let quota = Quota { cpu_m: 1_000, memory_mb: 1_000, max_concurrent_jobs: 2 };
    let create = CreateTenant { name: "t".into(), email: "t@example.com".into(), quota: Some(quota) };
    let Outcome::TenantCreated(tenant) = log.push(Command::CreateTenant(create)).1 else { panic!("tenant") };
    let register = RegisterWorker {
        pool: PoolId("pool-default".into()),
        name: "w".into(),
        cpu_m: 4_000,
        memory_mb: 4_000,
        labels: BTreeMap::new(),
        logs_addr: "127.0.0.1:1".into(),
    };
    let Outcome::WorkerRegistered(worker) = log.push(Command::RegisterWorker(register)).1 else { panic!("worker") };
    let mut jobs = Vec::new();
    for key in ["a", "b"] {
        let submit = SubmitJob { tenant_id: tenant.id, spec: spec(), idempotency_key: Some(key.into()) };
        let Outcome::JobSubmitted(j) = log.push(Command::SubmitJob(submit)).1 else { panic!("submit {key}") };
        jobs.push(j.id);
    }
    let (token, placed) = log.push(Command::AssignJobs(AssignJobs { assignments: jobs.iter().map(|&j| (j, worker.id)).collect() }));
    assert!(matches!(placed, Outcome::JobsAssigned(ref p) if p.len() == 2), "{placed:?}");
    let usage = RunUsage { run_ms: 5, cpu_ms: 1, peak_memory_kb: 10 };
    let reports = vec![
        Command::StartJob(StartJob { job_id: jobs[0], worker_id: worker.id, token: token - 1 }),
        Command::StartJob(StartJob { job_id: jobs[0], worker_id: worker.id, token }),
        Command::FinishJob(FinishJob { job_id: jobs[0], worker_id: worker.id, token, ending: RunEnding::Succeeded, usage }),
    ];
    let outcomes = match batched {
        true => match log.push(Command::Batch(reports)).1 {
            Outcome::Batch(o) => o,
            other => panic!("{other:?}"),
        },
        false => reports.into_iter().map(|r| log.push(r).1).collect(),
    };
    assert!(matches!(outcomes[0], Outcome::Rejected(_)), "the stale report: {outcomes:?}");
    let submit = SubmitJob { tenant_id: tenant.id, spec: spec(), idempotency_key: Some("c".into()) };
    let Outcome::JobSubmitted(third) = log.push(Command::SubmitJob(submit)).1 else { panic!("submit c") };
    let placed = log.push(Command::AssignJobs(AssignJobs { assignments: vec![(third.id, worker.id)] })).1;
    assert!(matches!(placed, Outcome::JobsAssigned(ref p) if p.len() == 1), "{placed:?}");
    log.committed()
}

#[test]
fn a_log_built_by_apply_keeps_fencing_and_quota() {
    let verdicts = check(Some(&worked_log()));
    assert_eq!(verdicts.len(), 2);
    for v in &verdicts {
        assert!(v.ok, "{}: {:?}", v.checker, v.violations);
    }
    // Three placements and the two reports that were applied; two admissions.
    assert_eq!((verdicts[0].checked, verdicts[1].checked), (5, 2));
}

#[test]
fn reports_inside_a_batch_entry_are_checked_one_by_one() {
    let verdicts = check(Some(&worked_log_with(true)));
    assert!(verdicts.iter().all(|v| v.ok), "{verdicts:?}");
    assert_eq!((verdicts[0].checked, verdicts[1].checked), (5, 2));
}

#[test]
fn no_log_collected_gives_no_verdict_rather_than_a_pass() {
    assert!(check(None).is_empty());
}

#[test]
fn a_gap_or_a_disagreement_in_the_log_fails_both_checkers() {
    let mut gap = worked_log();
    gap.entries.remove(3);
    let mut from_zero = worked_log();
    from_zero.entries.insert(0, CommittedEntry { index: 0, term: 0, proposal: None });
    assert!(check(Some(&from_zero)).iter().all(|v| v.ok), "a log may start with openraft's entry 0");
    let v = check(Some(&gap));
    assert!(v.iter().all(|v| !v.ok && v.violations[0].contains("the replay stops")), "{v:?}");
    let mut split = worked_log();
    split.disagreements.push("index 4: node 1 committed ..., node 2 committed ...".into());
    assert!(check(Some(&split)).iter().all(|v| !v.ok));
}

#[test]
fn a_job_on_two_live_workers_or_on_one_it_is_not_placed_on_is_found() {
    let (w1, w2, j) = (WorkerId(1), WorkerId(2), JobId(7));
    assert!(holding_problems([(w1, j, Some(w1))].into_iter()).is_empty());
    let twice = holding_problems([(w1, j, Some(w1)), (w2, j, Some(w1))].into_iter());
    assert_eq!(twice.len(), 1);
    assert!(twice[0].1.contains("live workers"), "{twice:?}");
    let elsewhere = holding_problems([(w2, j, Some(w1))].into_iter());
    assert!(elsewhere[0].1.contains("placed on"), "{elsewhere:?}");
}

#[test]
fn running_past_quota_plus_burst_is_found_and_burst_extends_cpu_and_memory_only() {
    let quota = Quota { cpu_m: 1_000, memory_mb: 1_000, max_concurrent_jobs: 2 };
    let within = Usage { cpu_m: 1_000, memory_mb: 1_000, jobs: 2 };
    assert!(over_limit(within, &quota, (0, 0)).is_empty());
    let bursting = Usage { cpu_m: 1_500, memory_mb: 1_200, jobs: 2 };
    assert_eq!(over_limit(bursting, &quota, (0, 0)).len(), 2);
    assert!(over_limit(bursting, &quota, (500, 200)).is_empty());
    let too_many = Usage { cpu_m: 10, memory_mb: 10, jobs: 3 };
    assert_eq!(over_limit(too_many, &quota, (5_000, 5_000)), vec!["runs 3 running jobs, over its quota plus burst of 2".to_string()]);
}
