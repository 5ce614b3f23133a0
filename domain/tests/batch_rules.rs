//! A `Batch` entry applies its commands exactly as consecutive entries at the
//! same index and time would: same state, same outcomes, in order.

use hodei_domain::command::*;
use hodei_domain::*;

const AT: u64 = 1_763_800_000_000;

fn submit(tenant: u64, key: &str, cpu_m: u64) -> Command {
    let spec = JobSpec { command: vec!["true".into()], cpu_m, memory_mb: 64, ..Default::default() };
    Command::SubmitJob(SubmitJob { tenant_id: TenantId(tenant), spec, idempotency_key: Some(key.into()) })
}

/// A tenant with room for two 500 m jobs, then a mix of commands: admissions,
/// a repeat of a key, one over quota (refused), a cancel, an unknown job.
fn setup_and_mix() -> (State, Vec<Command>) {
    let mut s = State::default();
    let quota = Quota { cpu_m: 1000, memory_mb: 1 << 20, max_concurrent_jobs: 10 };
    s.apply(1, &Proposal { at_ms: AT, command: Command::CreateTenant(CreateTenant { name: "t".into(), email: "a@b.c".into(), quota: Some(quota) }) });
    let mix = vec![
        submit(1, "a", 500),
        submit(1, "a", 500),
        submit(1, "b", 500),
        submit(1, "c", 500),
        Command::CancelJob(CancelJob { job_id: JobId(1), tenant_id: Some(TenantId(1)) }),
        submit(1, "d", 500),
        Command::CancelJob(CancelJob { job_id: JobId(99), tenant_id: None }),
        Command::Tick(Tick {}),
    ];
    (s, mix)
}

#[test]
fn a_batch_applies_like_its_commands_one_by_one() {
    let (mut one_by_one, mix) = setup_and_mix();
    let mut batched = one_by_one.clone();
    let singles: Vec<Outcome> = mix.iter().map(|c| one_by_one.apply(2, &Proposal { at_ms: AT + 1000, command: c.clone() })).collect();
    let out = batched.apply(2, &Proposal { at_ms: AT + 1000, command: Command::Batch(mix) });
    assert_eq!(out, Outcome::Batch(singles.clone()));
    assert_eq!(batched, one_by_one);
    assert_eq!(batched.state_hash(), one_by_one.state_hash());
    assert!(matches!(singles[3], Outcome::Rejected(Rejection::QuotaExceeded { .. })), "{:?}", singles[3]);
    assert_eq!(singles[0], singles[1], "a repeated key answers the first job");
}

#[test]
fn assignments_nested_batches_and_version_raises_are_refused_inside_a_batch() {
    let (mut s, _) = setup_and_mix();
    let before = s.clone();
    let out = s.apply(2, &Proposal {
        at_ms: AT + 1000,
        command: Command::Batch(vec![
            Command::AssignJobs(AssignJobs { assignments: vec![] }),
            Command::Batch(vec![]),
            Command::SetClusterVersion(SetClusterVersion { version: 3 }),
        ]),
    });
    let Outcome::Batch(outcomes) = out else { panic!("{out:?}") };
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|o| matches!(o, Outcome::Rejected(Rejection::Invalid { .. }))), "{outcomes:?}");
    assert_eq!(s, before, "refusals change nothing, the clock included");
}
