//! Writes through any node, linearizable reads on every node, and leader
//! failover by SIGKILL with no acknowledged write lost.

use std::time::{Duration, Instant};

use hodei_tests::{wait_for, Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_each_follower_is_read_linearizably_through_every_other_node() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let leader = c.wait_for_leader().await;
    let tenant = c.must_create_tenant(0, "acme").await;
    for writer in (0..3).filter(|i| c.nodes[*i].spec.id != leader) {
        let r = c.submit(writer, tenant, &format!("via-{writer}")).await.expect("submit");
        assert_eq!(r.status, 201, "submit through follower {}: {}", writer + 1, r.json);
        assert_eq!(r.json["state"], "PENDING");
        let id = r.json["id"].as_u64().expect("job id");
        let index: u64 = r.header("x-hodei-index").expect("index header").parse().unwrap();
        for reader in (0..3).filter(|i| *i != writer) {
            // Linearizable by default: no waiting, the read must see the write.
            let r = c.get(reader, &format!("/api/v1/jobs/{id}")).await.expect("read");
            assert_eq!(r.status, 200, "read job {id} on node {}: {}", reader + 1, r.json);
            assert_eq!(r.json["id"].as_u64(), Some(id));
            let seen: u64 = r.header("x-hodei-index").expect("index header").parse().unwrap();
            assert!(seen >= index, "node {} served index {seen} < write index {index}", reader + 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_leader_loses_no_acknowledged_job_and_a_new_leader_takes_writes() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let leader = c.wait_for_leader().await;
    let survivor = (0..3).find(|i| c.nodes[*i].spec.id != leader).unwrap();
    let mut acked = Vec::new();
    for n in 0..20 {
        let r = c.submit(survivor, tenant, &format!("before-{n}")).await.expect("submit");
        assert_eq!(r.status, 201, "{}", r.json);
        acked.push(r.json["id"].as_u64().unwrap());
    }
    let killed_at = Instant::now();
    c.kill(c.index_of(leader));
    // Keep writing through a survivor until the new leader acknowledges one.
    let mut n = 0;
    let first = wait_for("a write acknowledged after the leader died", Duration::from_secs(20), || {
        n += 1;
        let key = format!("after-{n}");
        let c = &c;
        async move {
            let r = c.submit(survivor, tenant, &key).await.ok()?;
            (r.status == 201).then(|| r.json["id"].as_u64().unwrap())
        }
    })
    .await;
    let failover = killed_at.elapsed();
    println!("failover: first acknowledged write {failover:?} after SIGKILL of leader {leader}");
    acked.push(first);
    let new_leader = c.wait_for_leader().await;
    assert_ne!(new_leader, leader);
    for i in c.running() {
        for id in &acked {
            let r = c.get(i, &format!("/api/v1/jobs/{id}")).await.expect("read");
            assert_eq!(r.status, 200, "job {id} missing on node {}: {}", i + 1, r.json);
        }
    }
    // The old leader comes back as a follower with everything.
    let old = c.index_of(leader);
    c.restart(old);
    c.wait_for_all_ready().await;
    for id in &acked {
        let r = c.get(old, &format!("/api/v1/jobs/{id}?consistency=linearizable")).await.expect("read");
        assert_eq!(r.status, 200, "job {id} missing on restarted node: {}", r.json);
    }
    c.wait_for_converged().await;
}
