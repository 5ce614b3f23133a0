//! A short campaign against real `hodei server` processes: partitions, kills and
//! pauses on 3 nodes for about 20 s, and every checker must pass.
//!
//! The binary is `$HODEI_BIN` or the workspace's `target/release/hodei` (the test
//! command builds the workspace in release first). The campaign's seed is
//! `$HODEI_CHAOS_SEED` or a fixed one; the history and node logs stay in a temp
//! dir that is kept (and printed) when the test fails.

use std::collections::BTreeSet;
use std::time::Duration;

use hodei_chaos::nemesis::parse_nemeses;
use hodei_chaos::{default_bin, CampaignConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_process_campaign_with_partitions_kills_and_pauses_finds_no_violation() {
    let bin = default_bin();
    assert!(bin.exists(), "{} is missing: build it first (cargo build --release -p hodei) or set HODEI_BIN", bin.display());
    let seed = std::env::var("HODEI_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_251_122);
    let out = tempfile::Builder::new().prefix("hodei-chaos-").tempdir().expect("temp dir");
    let cfg = CampaignConfig {
        backend: "process".into(),
        nemeses: parse_nemeses("partition,kill,pause").unwrap(),
        nodes: 3,
        duration: Duration::from_secs(20),
        seed,
        bin,
        out: out.path().to_path_buf(),
        clients: 4,
        progress: true,
    };
    // The campaign bounds every wait itself (30 s per recovery and convergence);
    // this outer deadline only keeps a wedged run from hanging CI.
    let report = tokio::time::timeout(Duration::from_secs(240), hodei_chaos::run(&cfg))
        .await
        .expect("the campaign finished within 240 s")
        .expect("the campaign ran");
    println!("{}", report.text());

    let kept = if report.ok { None } else { Some(out.keep()) };
    let applied: BTreeSet<&str> = report.faults.keys().map(String::as_str).collect();
    let kinds = [
        ("partition", &["isolate-leader", "split-halves", "one-way-cut"][..]),
        ("kill", &["kill-restart", "kill-loop"][..]),
        ("pause", &["pause-resume"][..]),
    ];
    for (group, names) in kinds {
        assert!(names.iter().any(|n| applied.contains(n)), "no {group} fault was applied: {applied:?}");
    }
    let submits_ok = report.operations.get("submit").and_then(|m| m.get("ok")).copied().unwrap_or(0);
    let lin_reads_ok = report.operations.get("read-linearizable").and_then(|m| m.get("ok")).copied().unwrap_or(0);
    println!(
        "measured: {} operations, {submits_ok} acknowledged submits, {lin_reads_ok} linearizable reads, {} faults, recoveries {:?} ms",
        report.total_operations,
        report.faults.values().sum::<u64>(),
        report.recoveries_ms
    );
    assert!(submits_ok >= 50 && lin_reads_ok >= 50, "too little traffic to mean anything: {:?}", report.operations);
    assert!(report.ok, "violations (seed {seed}; history and logs kept in {:?}):\n{}", kept, report.text());
}
