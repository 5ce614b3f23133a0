//! Membership changes under load: fresh nodes join (learner, then voter) and
//! nodes leave (`add-remove`, `replace-node`) while the clients run, and every
//! checker must pass, holding the nodes that joined to the final state and no
//! longer the ones removed. In-process (nothing to build beforehand), and with
//! `hodei server` processes joining through `--join`.

mod support;

use hodei_chaos::backend::process::NetChoice;
use hodei_chaos::default_bin;
use hodei_chaos::report::Report;

/// At least one node joined and at least one was removed, per the fault log
/// (`node N joined (voter after M ms), node K removed`).
fn assert_members_changed(report: &Report) {
    let log = report.fault_log.join("\n");
    let joined = report.fault_log.iter().filter(|l| l.contains(" joined (voter after ")).count();
    let removed = report.fault_log.iter().filter(|l| l.contains(" removed")).count();
    println!("membership: {joined} joined, {removed} removed:\n{log}");
    assert!(joined >= 1 && removed >= 1, "no node both joined and left:\n{}", report.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_process_campaign_that_adds_removes_and_replaces_nodes_finds_no_violation() {
    let report = support::must_pass("inprocess", "membership", 25, support::seed(20_261_206), NetChoice::Auto, "transport filter", &["membership"]).await;
    assert_members_changed(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_campaign_where_nodes_join_and_leave_finds_no_violation() {
    let bin = default_bin();
    assert!(bin.exists(), "{} is missing: build it first (cargo build --release -p hodei) or set HODEI_BIN", bin.display());
    let report = support::must_pass("process", "membership", 20, support::seed(20_261_207), NetChoice::Filter, "transport filter", &["membership"]).await;
    assert_members_changed(&report);
}
