//! Golden bytes for the state snapshot (formats 2, 3, 4 and 5). Each fixture was
//! written from the scenarios below by the build of its format;
//! `HODEI_BLESS=1` rewrites the current format's fixture (only when the format
//! version bumps, keeping a decoder for the old one). The format-2 fixture is
//! never rewritten: it is what an upgraded node finds on disk.

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

/// The format-2 scenario, then what format 3 added: observability settings
/// and three history samples.
fn scenario_v3() -> State {
    let mut s = scenario();
    let mut settings = observability::ObservabilitySettings::default();
    settings.history.sample_interval_ms = 10_000;
    settings.grafana.url = "https://grafana.example:3000".into();
    let start = 1_763_800_000_000 + 11 * 30_000;
    s.apply(11, &Proposal { at_ms: start, command: Command::SetObservability(SetObservability { settings }) });
    for i in 0..3u64 {
        s.apply(12 + i, &Proposal { at_ms: start + (i + 1) * 10_000, command: Command::RecordSamples(RecordSamples {}) });
    }
    s
}

/// The format-3 scenario in a cluster that recorded version 3: format 4.
fn scenario_v4() -> State {
    let mut s = scenario_v3();
    let at = 1_763_800_000_000 + 20 * 30_000;
    let out = s.apply(15, &Proposal { at_ms: at, command: Command::SetClusterVersion(SetClusterVersion { version: 3 }) });
    assert_eq!(out, Outcome::ClusterVersionSet(3));
    s
}

/// The format-4 scenario in a cluster at version 4 (format 5): wait targets
/// per priority, cluster-wide and for the tenant, and a priority-3 job that
/// started under the tenant's target (a per-priority ledger bucket).
fn scenario_v5() -> State {
    let mut s = scenario_v4();
    let at = 1_763_800_000_000 + 21 * 30_000;
    let mut apply = |index: u64, command: Command| s.apply(index, &Proposal { at_ms: at + index * 1_000, command });
    assert_eq!(apply(16, Command::SetClusterVersion(SetClusterVersion { version: 4 })), Outcome::ClusterVersionSet(4));
    let cluster = BTreeMap::from([(5, 20_000), (-1, 600_000)]);
    assert!(matches!(apply(17, Command::SetSlaTargets(SetSlaTargets { tenant_id: None, by_priority: cluster })), Outcome::SlaTargetsSet { .. }));
    let tenant = BTreeMap::from([(3, 10_000)]);
    assert!(matches!(apply(18, Command::SetSlaTargets(SetSlaTargets { tenant_id: Some(TenantId(1)), by_priority: tenant })), Outcome::SlaTargetsSet { .. }));
    let spec = JobSpec { command: vec!["make".into()], cpu_m: 250, memory_mb: 128, priority: 3, ..Default::default() };
    assert!(matches!(apply(19, Command::SubmitJob(SubmitJob { tenant_id: TenantId(1), spec, idempotency_key: None })), Outcome::JobSubmitted(_)));
    assert!(matches!(apply(20, Command::AssignJobs(AssignJobs { assignments: vec![(JobId(3), WorkerId(1))] })), Outcome::JobsAssigned(_)));
    assert!(matches!(apply(21, Command::StartJob(StartJob { job_id: JobId(3), worker_id: WorkerId(1), token: 20 })), Outcome::JobStarted(_)));
    s
}

fn fixture(name: &str) -> (PathBuf, Option<Vec<u8>>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    let bytes = std::fs::read(&path).ok();
    (path, bytes)
}

#[test]
fn snapshot_v5_bytes_are_stable_decode_and_re_encode_identically() {
    let state = scenario_v5();
    assert_eq!(snapshot::format_for(&state), snapshot::FORMAT_VERSION);
    let bytes = snapshot::encode(&state);
    let (path, golden) = fixture("state-v5.snap");
    if std::env::var("HODEI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = golden.or_else(|| std::fs::read(&path).ok()).unwrap_or_else(|| panic!("{}: missing (run once with HODEI_BLESS=1)", path.display()));
    assert_eq!(bytes, golden, "the state encoding changed: bump FORMAT_VERSION and keep a decoder for 5");
    let decoded = snapshot::decode(&golden).unwrap();
    assert_eq!(snapshot::encode(&decoded), golden);
    assert_eq!(decoded, state);
    assert_eq!(decoded.cluster_version(), 4);
    assert_eq!(decoded.sla_targets().tenants[&TenantId(1)], BTreeMap::from([(3, 10_000)]));
    assert_eq!(decoded.sla_targets().cluster.len(), 2);
    let at = decoded.clock_ms();
    let by_priority = sla::report(&decoded, None, Some(3), 0, at + 1, at);
    assert_eq!((by_priority.started, by_priority.met), (1, 1), "the priority-3 start is in the per-priority ledger");
}

/// Until the cluster version is 4 a snapshot is written in format 4, byte for
/// byte what the previous release wrote, so version-3 members can still read it.
#[test]
fn below_cluster_version_4_snapshots_keep_format_4_bytes() {
    let state = scenario_v4();
    assert_eq!((state.cluster_version(), snapshot::format_for(&state)), (3, 4));
    let bytes = snapshot::encode(&state);
    let (path, golden) = fixture("state-v4.snap");
    let golden = golden.unwrap_or_else(|| panic!("{} is missing", path.display()));
    assert_eq!(bytes, golden, "a cluster at version 3 must keep writing format 4");
    let decoded = snapshot::decode(&golden).unwrap();
    assert_eq!(decoded, state);
    assert_eq!(decoded.cluster_version(), 3);
}

/// Until the cluster version is 3 a snapshot is written in format 3, byte for
/// byte what the previous release wrote, so older members can still read it.
#[test]
fn below_cluster_version_3_snapshots_keep_format_3_bytes() {
    let state = scenario_v3();
    assert_eq!(state.cluster_version(), 2);
    assert_eq!(state.metric_history().pool(&PoolId("pool-default".into())).map(|s| s.len()), Some(3));
    let bytes = snapshot::encode(&state);
    let (path, golden) = fixture("state-v3.snap");
    let golden = golden.unwrap_or_else(|| panic!("{} is missing", path.display()));
    assert_eq!(bytes, golden, "a cluster at version 2 must keep writing format 3");
    let decoded = snapshot::decode(&golden).unwrap();
    assert_eq!(decoded, state);
    assert_eq!(decoded.observability().history.sample_interval_ms, 10_000);
}

#[test]
fn a_format_2_snapshot_from_an_older_build_still_loads() {
    let (path, golden) = fixture("state-v2.snap");
    let golden = golden.unwrap_or_else(|| panic!("{} is missing", path.display()));
    assert_eq!(u32::from_le_bytes([golden[8], golden[9], golden[10], golden[11]]), 2);
    let decoded = snapshot::decode(&golden).unwrap();
    assert_eq!(decoded, scenario(), "the old body decodes to the same state, with default additions");
    assert_eq!(*decoded.observability(), observability::ObservabilitySettings::default());
    assert_eq!(decoded.metric_history().points(), 0);
    assert_eq!(decoded.job(JobId(2)).unwrap().state, JobState::Succeeded);
    // Re-encoded, it is written in the current format and reads back the same.
    let upgraded = snapshot::encode(&decoded);
    assert_eq!(u32::from_le_bytes([upgraded[8], upgraded[9], upgraded[10], upgraded[11]]), snapshot::format_for(&decoded));
    assert_eq!(snapshot::decode(&upgraded).unwrap(), decoded);
}

#[test]
fn an_older_or_newer_format_is_refused_clearly() {
    let mut bytes = snapshot::encode(&State::default());
    bytes[8] = 1;
    assert_eq!(snapshot::decode(&bytes), Err(snapshot::DecodeError::UnsupportedVersion(1)));
    bytes[8] = 6;
    assert_eq!(snapshot::decode(&bytes), Err(snapshot::DecodeError::UnsupportedVersion(6)));
    assert_eq!(snapshot::decode(b"nope"), Err(snapshot::DecodeError::BadMagic));
}

/// Members of different builds compare state hashes (convergence checks, the
/// chaos checker, rolling upgrades), so the hash is pinned to the golden bytes:
/// FNV-1a over the snapshot body, whichever way the build computes it.
#[test]
fn the_state_hash_is_fnv1a_of_the_golden_snapshot_body() {
    for (state, name) in [(scenario_v3(), "state-v3.snap"), (scenario_v4(), "state-v4.snap"), (scenario_v5(), "state-v5.snap")] {
        let (path, golden) = fixture(name);
        let golden = golden.unwrap_or_else(|| panic!("{} is missing", path.display()));
        let fnv = golden[12..].iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
        assert_eq!(state.state_hash(), fnv, "{name}");
    }
}
