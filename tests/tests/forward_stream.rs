//! A follower forwards writes to the leader on one long-lived stream whose
//! frames carry ids (`cluster/src/forward.rs`): concurrent writes share it and
//! each gets its own answer; after the leader dies, forwards go on a new
//! stream to the new leader. Real nodes over TCP with their own data dirs.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

const WRITES: usize = 40;

/// Submits `WRITES` jobs at once through node `via`, each with its own
/// command, and checks that the job id each client was answered holds that
/// client's command (an answer handed to the wrong waiter names another job).
async fn submit_concurrently(c: &Cluster, via: usize, tenant: u64, tag: &str) {
    let bodies: Vec<_> = (0..WRITES)
        .map(|n| json!({"tenant_id": tenant, "command": ["echo", format!("{tag}-{n}")], "cpu_m": 1, "memory_mb": 1}))
        .collect();
    let replies = join_all(bodies.iter().map(|b| c.post(via, "/api/v1/jobs", b))).await;
    for (n, reply) in replies.into_iter().enumerate() {
        let r = reply.expect("submit through the follower");
        assert_eq!(r.status, 201, "submit {tag}-{n} through node {}: {}", via + 1, r.json);
        let id = r.json["id"].as_u64().expect("job id");
        let job = c.must_get(via, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(job["command"], json!(["echo", format!("{tag}-{n}")]), "job {id}, the answer to {tag}-{n}, is another client's");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_a_follower_share_its_stream_and_each_gets_its_own_answer() {
    // One write per entry and per forward, so many frames are in flight at
    // once (batches would carry them in one frame at a time).
    let opts = ClusterOptions { node_env: vec![("HODEI_RAFT_MAX_BATCH".into(), "1".into())], ..Default::default() };
    let mut c = Cluster::start(opts).await;
    let leader_id = c.wait_for_leader().await;
    let leader = c.index_of(leader_id);
    let tenant = c.must_create_tenant(leader, "acme").await;
    let follower = (0..3).find(|i| *i != leader).expect("a follower");
    let (forwarded, streamed) = ("hodei_forwarded_writes_total", "hodei_forwarded_writes_streamed_total");
    let (forwarded_before, streamed_before) = (c.metric(follower, forwarded).await, c.metric(follower, streamed).await);

    submit_concurrently(&c, follower, tenant, "first").await;
    assert_eq!(c.wait_for_leader().await, leader_id, "leadership moved during the test, so the counts cannot be read");
    let forwarded_now = c.metric(follower, forwarded).await - forwarded_before;
    let streamed_now = c.metric(follower, streamed).await - streamed_before;
    assert_eq!(forwarded_now, WRITES as u64, "the follower forwarded every write");
    assert_eq!(streamed_now, WRITES as u64, "every forwarded write was answered on the stream ({streamed_now} of {WRITES})");

    // The leader dies: the stream to it ends, and the surviving follower's
    // next forwards open a stream to the new leader.
    c.kill(leader);
    let new_leader = wait_for("the survivors to elect a new leader", Duration::from_secs(30), || async {
        let id = c.wait_for_leader().await;
        (id != leader_id).then(|| c.index_of(id))
    })
    .await;
    let survivor = (0..3).find(|i| *i != leader && *i != new_leader).expect("a surviving follower");
    let streamed_before = c.metric(survivor, streamed).await;
    submit_concurrently(&c, survivor, tenant, "second").await;
    let streamed_now = c.metric(survivor, streamed).await - streamed_before;
    assert_eq!(c.index_of(c.wait_for_leader().await), new_leader, "leadership moved again, so the counts cannot be read");
    assert_eq!(streamed_now, WRITES as u64, "after the leader died, writes were answered on a stream to the new leader");

    c.restart(leader);
    c.wait_for_all_ready().await;
    c.wait_for_converged().await;
}
