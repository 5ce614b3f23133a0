//! A short campaign against `hodei server` processes on their own loopback
//! addresses, with network faults made by iptables: partitions (isolation,
//! halves, one-way cuts, bridges) and packet loss, plus rolling restarts, and
//! packet delay by `tc netem` on `lo` where the kernel has it; every checker
//! must pass, and no rule or qdisc may be left behind.
//!
//! Skipped, saying why, only when iptables cannot be used here (not installed,
//! not root, no netfilter). Without netem the delay group is left out, and the
//! report must say why.

mod support;

use hodei_chaos::backend::iptables::Iptables;
use hodei_chaos::backend::netem;
use hodei_chaos::backend::process::NetChoice;

fn campaign_chains() -> Vec<String> {
    let out = std::process::Command::new("iptables").args(["-w", "-S"]).output().expect("iptables ran a moment ago");
    let me = format!("HODEI-CHAOS-{}", std::process::id());
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&me)).map(str::to_string).collect()
}

fn lo_qdiscs() -> String {
    let out = std::process::Command::new("tc").args(["qdisc", "show", "dev", "lo"]).output().expect("tc ran a moment ago");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_iptables_campaign_with_cuts_loss_delay_and_rolling_restarts_finds_no_violation() {
    if let Err(why) = Iptables::start() {
        eprintln!("SKIPPED: iptables is not usable here: {why}");
        return;
    }
    let no_netem = netem::unusable();
    let mut groups = vec!["partition", "loss", "upgrade"];
    if no_netem.is_none() {
        groups.push("delay");
    }
    let nemesis = "partition,loss,upgrade,delay";
    let report = support::must_pass("process", nemesis, 25, support::seed(20_251_129), NetChoice::Iptables, "iptables", &groups).await;
    if let Some(why) = no_netem {
        eprintln!("delay not applied: {why}");
        assert!(report.skipped.iter().any(|s| s.starts_with("packet-delay: ") && s.contains("netem")), "the skip names netem: {:?}", report.skipped);
    }
    assert_eq!(campaign_chains(), Vec::<String>::new(), "the campaign's chain and jump are removed when it ends");
    assert!(!lo_qdiscs().contains("qdisc prio 4843:"), "the campaign's qdisc is removed from lo: {}", lo_qdiscs());
}
