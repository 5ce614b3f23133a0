//! Golden bytes for every command kind, as it sits in a Raft log entry: the
//! bincode-2 (standard config) encoding of a `Proposal`. The log keeps entries
//! written by older builds, so a kind's bytes must never change; a new kind
//! is appended to the enum and to a new `commands-vN.bin` for the protocol
//! version that adds it (`HODEI_BLESS=1` writes the newest); the files of
//! older versions are never rewritten and must still match their kinds. `one_of_each` matches without a
//! wildcard, so a new variant does not compile until it is listed here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hodei_domain::command::*;
use hodei_domain::*;

fn spec() -> JobSpec {
    JobSpec { command: vec!["echo".into(), "hi".into()], cpu_m: 500, memory_mb: 256, priority: 2, ..Default::default() }
}

/// One command of every kind, in enum order.
fn one_of_each() -> Vec<Command> {
    let pool = PoolId("pool-a".into());
    let all = vec![
        Command::CreateTenant(CreateTenant { name: "t".into(), email: "a@t.io".into(), quota: Some(Quota { cpu_m: 4000, memory_mb: 8192, max_concurrent_jobs: 4 }) }),
        Command::SetQuota(SetQuota { tenant_id: TenantId(1), quota: Quota { cpu_m: 1, memory_mb: 2, max_concurrent_jobs: 3 } }),
        Command::SubmitJob(SubmitJob { tenant_id: TenantId(1), spec: spec(), idempotency_key: Some("k".into()) }),
        Command::CancelJob(CancelJob { job_id: JobId(7), tenant_id: Some(TenantId(1)) }),
        Command::RegisterWorker(RegisterWorker { pool: pool.clone(), name: "w".into(), cpu_m: 2000, memory_mb: 1024, labels: BTreeMap::from([("gpu".into(), "no".into())]), logs_addr: "127.0.0.1:7070".into() }),
        Command::AssignJobs(AssignJobs { assignments: vec![(JobId(7), WorkerId(2)), (JobId(8), WorkerId(3))] }),
        Command::StartJob(StartJob { job_id: JobId(7), worker_id: WorkerId(2), token: 41 }),
        Command::FinishJob(FinishJob { job_id: JobId(7), worker_id: WorkerId(2), token: 41, ending: RunEnding::Failed { exit_code: Some(3) }, usage: RunUsage { run_ms: 10, cpu_ms: 5, peak_memory_kb: 900 } }),
        Command::MarkWorkerLost(MarkWorkerLost { worker_id: WorkerId(2) }),
        Command::DrainWorker(DrainWorker { worker_id: WorkerId(3) }),
        Command::SetSettings(SetSettings { settings: Settings::default() }),
        Command::UpdateTenant(UpdateTenant { tenant_id: TenantId(1), weight: Some(3), sla_wait_ms: Some(None), ..Default::default() }),
        Command::DeleteTenant(DeleteTenant { tenant_id: TenantId(9) }),
        Command::SubmitJobWithOptions(SubmitJobWithOptions { submit: SubmitJob { tenant_id: TenantId(1), spec: spec(), idempotency_key: None }, options: JobOptions::default() }),
        Command::RequestBurst(RequestBurst { tenant_id: TenantId(1), cpu_m: 100, memory_mb: 200, duration_minutes: 30, reason: "spike".into() }),
        Command::DecideBurst(DecideBurst { burst_id: BurstId(1), decision: BurstDecision::Deny { reason: "no".into() } }),
        Command::CreatePool(CreatePool { id: pool.clone(), name: "A".into(), kind: PoolKind::Dynamic, min_size: 0, max_size: 4, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: Some(5), auto_scaling_enabled: true, policies: vec![] }),
        Command::UpdatePool(UpdatePool { id: pool.clone(), max_size: Some(8), worker_hourly_cost_nanos: Some(None), ..Default::default() }),
        Command::DeletePool(DeletePool { id: pool.clone() }),
        Command::ScalePool(ScalePool { id: pool.clone(), target_size: 2, reason: "manual".into() }),
        Command::RecordScaling(RecordScaling { id: pool.clone(), from: 2, to: 1, reason: "idle".into(), policy: Some("p".into()), drain: vec![WorkerId(3)] }),
        Command::DeregisterWorker(DeregisterWorker { worker_id: WorkerId(3) }),
        Command::Tick(Tick {}),
        Command::SetObservability(SetObservability { settings: observability::ObservabilitySettings::default() }),
        Command::RecordSamples(RecordSamples {}),
        Command::SetClusterVersion(SetClusterVersion { version: 3 }),
        Command::Batch(vec![Command::Tick(Tick {}), Command::CancelJob(CancelJob { job_id: JobId(7), tenant_id: None })]),
        Command::SetSlaTargets(SetSlaTargets { tenant_id: Some(TenantId(1)), by_priority: BTreeMap::from([(-5, 60_000), (10, 5_000)]) }),
    ];
    for (i, c) in all.iter().enumerate() {
        let position = match c {
            Command::CreateTenant(_) => 0,
            Command::SetQuota(_) => 1,
            Command::SubmitJob(_) => 2,
            Command::CancelJob(_) => 3,
            Command::RegisterWorker(_) => 4,
            Command::AssignJobs(_) => 5,
            Command::StartJob(_) => 6,
            Command::FinishJob(_) => 7,
            Command::MarkWorkerLost(_) => 8,
            Command::DrainWorker(_) => 9,
            Command::SetSettings(_) => 10,
            Command::UpdateTenant(_) => 11,
            Command::DeleteTenant(_) => 12,
            Command::SubmitJobWithOptions(_) => 13,
            Command::RequestBurst(_) => 14,
            Command::DecideBurst(_) => 15,
            Command::CreatePool(_) => 16,
            Command::UpdatePool(_) => 17,
            Command::DeletePool(_) => 18,
            Command::ScalePool(_) => 19,
            Command::RecordScaling(_) => 20,
            Command::DeregisterWorker(_) => 21,
            Command::Tick(_) => 22,
            Command::SetObservability(_) => 23,
            Command::RecordSamples(_) => 24,
            Command::SetClusterVersion(_) => 25,
            Command::Batch(_) => 26,
            Command::SetSlaTargets(_) => 27,
        };
        assert_eq!(position, i, "{} is listed out of enum order", c.kind());
    }
    all
}

/// Each proposal as `u32` length (little-endian) then its bytes.
fn encode_all(commands: &[Command]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        let proposal = Proposal { at_ms: 1_763_800_000_000 + i as u64, command: command.clone() };
        let bytes = bincode::serde::encode_to_vec(&proposal, bincode::config::standard()).unwrap();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

#[test]
fn every_command_kind_keeps_its_bytes_and_decodes() {
    let commands = one_of_each();
    let bytes = encode_all(&commands);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/commands-v4.bin");
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run once with HODEI_BLESS=1)", path.display()));
    assert_eq!(bytes, golden, "a command's log encoding changed: entries already in logs would misread");
    let mut rest = &golden[..];
    for (i, command) in commands.iter().enumerate() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let (proposal, used): (Proposal, usize) =
            bincode::serde::decode_from_slice(&rest[4..4 + len], bincode::config::standard()).unwrap();
        assert_eq!(used, len);
        assert_eq!(proposal.command, *command, "entry {i}");
        rest = &rest[4 + len..];
    }
    assert!(rest.is_empty());
}

/// The kinds protocol 3 knew keep the exact bytes the version-3 build wrote.
#[test]
fn the_kinds_of_protocol_3_keep_their_v3_bytes() {
    let v3: Vec<Command> = one_of_each().into_iter().filter(|c| c.min_version() <= 3).collect();
    assert_eq!(v3.len(), 27);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/commands-v3.bin");
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(encode_all(&v3), golden);
}

#[test]
fn command_kinds_name_the_protocol_version_that_introduced_them() {
    for c in one_of_each() {
        let v = c.min_version();
        assert!((OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v), "{}: {v}", c.kind());
        let expected = match c {
            Command::SetClusterVersion(_) | Command::Batch(_) => 3,
            Command::SetSlaTargets(_) => 4,
            _ => 2,
        };
        assert_eq!(v, expected, "{}", c.kind());
    }
    assert_eq!(Command::SetClusterVersion(SetClusterVersion { version: 4 }).min_version(), 4);
}
