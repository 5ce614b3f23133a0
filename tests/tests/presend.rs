//! A leader sends each new entry to its followers as its log takes it, while
//! its own sync is still running, and openraft's replication takes the answer
//! (`cluster/src/presend.rs`), on one long-lived append stream per follower.
//! Real nodes over TCP with their own data dirs.

use std::time::Duration;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

const WRITES: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaders_writes_reach_followers_by_presend_and_every_node_holds_them() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader_id = c.wait_for_leader().await;
    let leader = c.index_of(leader_id);
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let tenant = c.must_create_tenant(leader, "acme").await;
    let used_before = c.metric(leader, "hodei_raft_presends_used_total").await;
    let streamed_before = c.metric(leader, "hodei_raft_presends_streamed_total").await;

    let mut ids = Vec::new();
    for n in 0..WRITES {
        let r = c.submit(leader, tenant, &format!("presend-{n}")).await.expect("submit");
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push(r.json["id"].as_u64().expect("job id"));
    }
    assert_eq!(c.wait_for_leader().await, leader_id, "leadership moved during the test, so the counts cannot be read per node");

    // One write at a time, each to two followers that hold the entry before
    // it: nearly every write goes out by presend (40 here when all match).
    // Half a presend per write leaves room for entries the leader's own loops
    // proposed beside them; without presends the count stays at 0.
    let used = c.metric(leader, "hodei_raft_presends_used_total").await - used_before;
    let sent = c.metric(leader, "hodei_raft_presends_total").await;
    assert!(used >= WRITES / 2, "only {used} presend answers were used for {WRITES} writes ({sent} presends sent)");
    assert!(used <= sent, "{used} answers used from {sent} presends");
    // Both followers speak the append stream, so the presends went on it.
    let streamed = c.metric(leader, "hodei_raft_presends_streamed_total").await - streamed_before;
    assert!(streamed >= used, "only {streamed} presends were answered on the append stream, {used} answers used");
    for &f in &followers {
        assert_eq!(c.metric(f, "hodei_raft_presends_total").await, 0, "node {} sent presends as a follower", f + 1);
    }

    // Every acknowledged write is on every node, and the copies agree.
    c.wait_for_converged().await;
    for &f in &followers {
        for id in &ids {
            wait_for("the job on the follower", Duration::from_secs(10), || async {
                let r = c.get(f, &format!("/api/v1/jobs/{id}?consistency=stale")).await.ok()?;
                (r.status == 200).then_some(())
            })
            .await;
        }
    }
}
