//! A short campaign against real `hodei server` processes: partitions and
//! packet delay (through the nodes' transport filter, which works anywhere),
//! kills and pauses on 3 nodes for about 20 s, with clients on REST and gRPC and
//! the operator's quota edges and bursts; every checker must pass.
//!
//! The binary is `$HODEI_BIN` or the workspace's `target/release/hodei` (the test
//! command builds the workspace in release first). The campaign's seed is
//! `$HODEI_CHAOS_SEED` or a fixed one; the history and node logs stay in a temp
//! dir that is kept (and printed) when the test fails.

mod support;

use hodei_chaos::backend::process::NetChoice;
use hodei_chaos::default_bin;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_process_campaign_with_partitions_delays_kills_and_pauses_finds_no_violation() {
    let bin = default_bin();
    assert!(bin.exists(), "{} is missing: build it first (cargo build --release -p hodei) or set HODEI_BIN", bin.display());
    let groups = ["partition", "delay", "kill", "pause"];
    support::must_pass("process", &groups.join(","), 20, support::seed(20_251_122), NetChoice::Filter, "transport filter", &groups).await;
}
