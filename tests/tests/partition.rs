//! A leader cut off by the transport filter: the minority accepts no write, the
//! majority elects and continues, and after healing every node converges.

use std::time::Duration;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_accepts_no_write_and_the_majority_continues() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let old_leader = c.wait_for_leader().await;
    let li = c.index_of(old_leader);
    let others: Vec<usize> = (0..3).filter(|i| *i != li).collect();
    let other_ids: Vec<u64> = others.iter().map(|i| c.nodes[*i].spec.id).collect();

    // Cut both directions of every link to the leader.
    c.cut(li, &other_ids).await;
    for &i in &others {
        c.cut(i, &[old_leader]).await;
    }

    // The majority elects a new leader among itself.
    let new_leader = wait_for("the majority to elect a new leader", Duration::from_secs(20), || async {
        let r = c.get(others[0], "/api/v1/cluster?consistency=stale").await.ok()?;
        r.json["leader_id"].as_u64().filter(|id| *id != old_leader)
    })
    .await;
    let r = c.submit(others[0], tenant, "majority-1").await.expect("submit on majority");
    assert_eq!(r.status, 201, "majority write: {}", r.json);
    let majority_job = r.json["id"].as_u64().unwrap();
    // The old leader still believes it leads, but its read lease ran out long
    // before the majority could elect: a linearizable read of the majority's
    // job there must fail, not answer "not found" from the old state.
    let leased = c.metric(li, "hodei_read_index_lease_reads_total").await;
    let r = c.get(li, &format!("/api/v1/jobs/{majority_job}")).await.expect("read on the old leader");
    assert_eq!(r.status, 503, "the old leader served a linearizable read after a new leader wrote: {}", r.json);
    assert_eq!(c.metric(li, "hodei_read_index_lease_reads_total").await, leased, "the cut-off leader still used its lease");

    // The minority side refuses: 503 (unavailable or maybe-committed), never 2xx.
    let r = c.submit(li, tenant, "minority-1").await.expect("submit on minority");
    assert_eq!(r.status, 503, "minority write must fail: {}", r.json);
    let code = r.json["error"]["code"].as_str().unwrap_or_default().to_string();
    assert!(code == "unavailable" || code == "maybe_committed", "error code {code}");
    // A linearizable read on the minority cannot be served either.
    let r = c.get(li, &format!("/api/v1/jobs/{majority_job}")).await.expect("read on minority");
    assert_eq!(r.status, 503, "minority linearizable read: {}", r.json);

    // Heal: the old leader rejoins as a follower and everyone converges.
    for i in 0..3 {
        c.cut(i, &[]).await;
    }
    assert_eq!(c.wait_for_leader().await, new_leader);
    let (index, hash) = c.wait_for_converged().await;
    println!("converged at applied index {index} with state hash {hash:#x}");
    let r = c.get(li, &format!("/api/v1/jobs/{majority_job}")).await.expect("read");
    assert_eq!(r.status, 200, "{}", r.json);
    // The minority's write never became a job: re-using its idempotency key now
    // creates a job newer than a probe submitted after the heal.
    let probe = c.submit(others[0], tenant, "probe").await.expect("probe");
    let probe_id = probe.json["id"].as_u64().expect("probe id");
    let r = c.submit(others[0], tenant, "minority-1").await.expect("resubmit");
    assert_eq!(r.status, 201, "{}", r.json);
    assert!(r.json["id"].as_u64().unwrap() > probe_id, "the minority's write was applied: {}", r.json);
}
