//! Golden bytes for the state snapshot (format 2). The fixture was written by
//! this code from the scenario below; `HODEI_BLESS=1` rewrites it (only when the
//! format version bumps, keeping a decoder for the old one).

use std::collections::BTreeMap;
use std::path::PathBuf;

use hodei_domain::command::*;
use hodei_domain::*;

fn scenario() -> State {
    let mut s = State::default();
    let cmds = vec![
        Command::CreateTenant(CreateTenant { name: "tenant-a".into(), email: "admin@tenant-a.com".into(), quota: None }),
        Command::CreatePool(CreatePool { id: PoolId("pool-default".into()), name: "Default Pool".into(), kind: PoolKind::Static, min_size: 1, max_size: 20, labels: BTreeMap::new(), worker_shape: None, worker_hourly_cost_nanos: Some(100_000_000), auto_scaling_enabled: true, policies: vec![ScalingPolicy::from_config("cpu-scaling", "cpu_utilization > 80", "scale_up", Some("5m")).unwrap()] }),
        Command::RegisterWorker(RegisterWorker { pool: PoolId("pool-default".into()), name: "w1".into(), cpu_m: 4000, memory_mb: 8192, labels: BTreeMap::new(), logs_addr: "10.0.0.9:7070".into() }),
        Command::SubmitJob(SubmitJob { tenant_id: TenantId(1), spec: JobSpec { command: vec!["echo".into(), "hi".into()], cpu_m: 500, memory_mb: 256, ..Default::default() }, idempotency_key: Some("k-1".into()) }),
        Command::SubmitJob(SubmitJob { tenant_id: TenantId(1), spec: JobSpec { command: vec!["sleep".into()], cpu_m: 250, memory_mb: 128, priority: 3, ..Default::default() }, idempotency_key: None }),
        Command::RequestBurst(RequestBurst { tenant_id: TenantId(1), cpu_m: 2000, memory_mb: 4096, duration_minutes: 60, reason: "Batch processing spike".into() }),
        Command::AssignJobs(AssignJobs { assignments: vec![(JobId(2), WorkerId(1))] }),
        Command::StartJob(StartJob { job_id: JobId(2), worker_id: WorkerId(1), token: 7 }),
        Command::FinishJob(FinishJob { job_id: JobId(2), worker_id: WorkerId(1), token: 7, ending: RunEnding::Succeeded, usage: RunUsage { run_ms: 60_000, cpu_ms: 30_000, peak_memory_kb: 65_536 } }),
        Command::Tick(Tick {}),
    ];
    for (i, c) in cmds.into_iter().enumerate() {
        let i = i as u64 + 1;
        s.apply(i, &Proposal { at_ms: 1_763_800_000_000 + i * 30_000, command: c });
    }
    s
}

#[test]
fn snapshot_v2_bytes_are_stable_decode_and_re_encode_identically() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/state-v2.snap");
    let bytes = snapshot::encode(&scenario());
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run once with HODEI_BLESS=1)", path.display()));
    assert_eq!(bytes, golden, "the state encoding changed: bump FORMAT_VERSION and keep a decoder for 2");
    let decoded = snapshot::decode(&golden).unwrap();
    assert_eq!(snapshot::encode(&decoded), golden);
    assert_eq!(decoded, scenario());
    assert_eq!(decoded.job(JobId(2)).unwrap().state, JobState::Succeeded);
}

#[test]
fn an_older_or_newer_format_is_refused_clearly() {
    let mut bytes = snapshot::encode(&State::default());
    bytes[8] = 1;
    assert_eq!(snapshot::decode(&bytes), Err(snapshot::DecodeError::UnsupportedVersion(1)));
    assert_eq!(snapshot::decode(b"nope"), Err(snapshot::DecodeError::BadMagic));
}
