//! What the campaign tests share: a configuration, a bounded run, and the
//! assertions every campaign must pass (each named fault group applied, none
//! failed to apply, enough traffic to mean something, every checker passes).

use std::collections::BTreeSet;
use std::time::Duration;

use hodei_chaos::backend::process::NetChoice;
use hodei_chaos::nemesis::{parse_nemeses, Fault};
use hodei_chaos::report::Report;
use hodei_chaos::{default_bin, CampaignConfig};

/// `$HODEI_CHAOS_SEED`, else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("HODEI_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn config(backend: &str, nemesis: &str, seconds: u64, seed: u64, net: NetChoice, out: &std::path::Path) -> CampaignConfig {
    let nemeses = parse_nemeses(nemesis).expect("known nemeses");
    // As the CLI does: with the upgrade nemesis the nodes start one protocol
    // version back, so the first roll is a real N-1 to N upgrade.
    let from_protocol = nemeses.contains(&Fault::RollingRestart).then_some(hodei_domain::OLDEST_PROTOCOL_VERSION);
    CampaignConfig {
        backend: backend.into(),
        nemeses,
        nodes: 3,
        duration: Duration::from_secs(seconds),
        seed,
        bin: default_bin(),
        out: out.to_path_buf(),
        clients: 4,
        progress: true,
        net,
        // Real workers where the backend can start them, so the log replay sees
        // assignments, fencing tokens and reports.
        workers: if backend == "process" { 2 } else { 0 },
        image: "hodei:dev".into(),
        from_protocol,
    }
}

/// Runs a 3-node campaign of `backend` and asserts what every campaign must
/// show: network faults made as `network` says, a fault of each of `groups`
/// applied, every kind of call made, enough traffic, and no violation. The
/// output dir is kept (and named in the failure) when a checker fails. Returns
/// the report for further checks.
pub async fn must_pass(backend: &str, nemesis: &str, seconds: u64, seed: u64, net: NetChoice, network: &str, groups: &[&str]) -> Report {
    let out = out_dir();
    let cfg = config(backend, nemesis, seconds, seed, net, out.path());
    let report = must_run(&cfg).await;
    assert!(report.network.starts_with(network), "network faults by {:?}, expected {network:?}", report.network);
    assert_faults_applied(&report, groups);
    assert_every_kind_of_call(&report, backend == "process");
    let kept = keep_if_failed(out, &report);
    assert_passes(&report, kept.as_deref());
    report
}

/// Runs the campaign. It bounds every wait itself (30 s per recovery and for
/// convergence); this outer deadline only keeps a wedged run from hanging CI.
async fn must_run(cfg: &CampaignConfig) -> Report {
    let report = tokio::time::timeout(Duration::from_secs(240), hodei_chaos::run(cfg))
        .await
        .expect("the campaign finished within 240 s")
        .expect("the campaign ran");
    println!("{}", report.text());
    report
}

/// The count of `outcome` answers to calls labelled `kind` (`submit`, `quota-set`, `submit-grpc`, ...).
fn count(report: &Report, kind: &str, outcome: &str) -> u64 {
    report.operations.get(kind).and_then(|m| m.get(outcome)).copied().unwrap_or(0)
}

/// Some of every kind of call were acknowledged: the operator's quota edges and
/// bursts (client 0 spends about one turn in 12 on them), and, where the
/// backend serves gRPC (`grpc`), submits and linearizable reads through it.
fn assert_every_kind_of_call(report: &Report, grpc: bool) {
    let mut least = vec![("quota-read", 2), ("quota-set", 4), ("burst-request", 1)];
    if grpc {
        least.extend([("submit-grpc", 20), ("read-linearizable-grpc", 20)]);
    }
    for (kind, least) in least {
        assert!(count(report, kind, "ok") >= least, "fewer than {least} {kind} calls acknowledged: {:?}", report.operations);
    }
}

/// Every group of `groups` had a fault applied, and none failed to apply.
fn assert_faults_applied(report: &Report, groups: &[&str]) {
    let applied: BTreeSet<&str> = report.faults.keys().map(String::as_str).collect();
    for group in groups {
        let names: Vec<&str> = Fault::ALL.iter().filter(|f| f.group() == *group).map(|f| f.name()).collect();
        assert!(names.iter().any(|n| applied.contains(n)), "no {group} fault was applied: {applied:?}\n{}", report.text());
    }
    assert!(report.faults_failed.is_empty(), "faults failed to apply: {:?}\n{}", report.faults_failed, report.text());
}

/// Enough acknowledged traffic to mean something, and no violation.
fn assert_passes(report: &Report, kept: Option<&std::path::Path>) {
    let (submits_ok, lin_reads_ok) = (count(report, "submit", "ok"), count(report, "read-linearizable", "ok"));
    println!(
        "measured: {} operations, {submits_ok} acknowledged submits, {lin_reads_ok} linearizable reads, faults {:?}, recoveries {:?} ms",
        report.total_operations, report.faults, report.recoveries_ms
    );
    assert!(submits_ok >= 50 && lin_reads_ok >= 50, "too little traffic to mean anything: {:?}", report.operations);
    if report.workers > 0 {
        // The replay must have seen the workers' placements and reports, or it proved nothing.
        let checked = |name: &str| report.verdicts.iter().find(|v| v.checker == name).map_or(0, |v| v.checked);
        assert!(checked("one-worker-per-job") >= 50, "the log replay saw too few placements and reports:\n{}", report.text());
        assert!(checked("running-within-quota-and-burst") >= 20, "the log replay saw too few admissions:\n{}", report.text());
    }
    assert!(report.ok, "violations (seed {}; history and logs kept in {kept:?}):\n{}", report.seed, report.text());
}

/// A temp dir for the campaign's output, kept (and its path returned) when the
/// campaign found a violation.
fn out_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("hodei-chaos-").tempdir().expect("temp dir")
}

fn keep_if_failed(out: tempfile::TempDir, report: &Report) -> Option<std::path::PathBuf> {
    if report.ok {
        None
    } else {
        Some(out.keep())
    }
}
