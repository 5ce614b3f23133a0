//! A short campaign against `hodei server` processes on their own loopback
//! addresses, with network faults made by iptables: partitions (isolation,
//! halves, one-way cuts, bridges) and packet loss, plus rolling restarts; every
//! checker must pass, and no rule may be left behind.
//!
//! Skipped, saying why, only when iptables cannot be used here (not installed,
//! not root, no netfilter).

mod support;

use hodei_chaos::backend::iptables::Iptables;
use hodei_chaos::backend::process::NetChoice;

fn campaign_chains() -> Vec<String> {
    let out = std::process::Command::new("iptables").args(["-w", "-S"]).output().expect("iptables ran a moment ago");
    let me = format!("HODEI-CHAOS-{}", std::process::id());
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&me)).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_iptables_campaign_with_cuts_loss_and_rolling_restarts_finds_no_violation() {
    if let Err(why) = Iptables::start() {
        eprintln!("SKIPPED: iptables is not usable here: {why}");
        return;
    }
    let groups = ["partition", "loss", "upgrade"];
    support::must_pass("process", &groups.join(","), 25, support::seed(20_251_129), NetChoice::Iptables, "iptables", &groups).await;
    assert_eq!(campaign_chains(), Vec::<String>::new(), "the campaign's chain and jump are removed when it ends");
}
