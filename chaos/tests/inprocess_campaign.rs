//! A short campaign against nodes inside the test process (the cluster crate's
//! `ClusterNode` and REST router, cut through their transport filters):
//! partitions, clean stops and restarts, and rolling restarts on 3 nodes for
//! about 20 s; every checker must pass. Needs nothing built beforehand.

mod support;

use hodei_chaos::backend::process::NetChoice;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_in_process_campaign_with_partitions_stops_and_rolls_finds_no_violation() {
    let groups = ["partition", "kill", "upgrade"];
    support::must_pass("inprocess", &groups.join(","), 20, support::seed(20_251_131), NetChoice::Auto, "transport filter", &groups).await;
}
