//! A fourth node joins a cluster whose early log is purged: it catches up by
//! snapshot and serves reads. A removed node leaves the cluster working.

use std::time::Duration;

use reqwest::Method;

use hodei_tests::{wait_for, Cluster, ClusterOptions};

/// Snapshot every 50 entries and keep none behind it, so the log is purged early.
const SMALL_SNAPSHOTS: &str = "raft:\n  snapshot_logs_since_last: 50\n  max_in_snapshot_log_to_keep: 0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_catches_up_by_snapshot_and_a_removed_node_leaves_the_rest_working() {
    let mut c = Cluster::start(ClusterOptions { nodes: 3, config_yaml: SMALL_SNAPSHOTS.into(), ..Default::default() }).await;
    let tenant = c.must_create_tenant(0, "acme").await;
    let mut jobs = Vec::new();
    for n in 0..150 {
        let r = c.submit(n % 3, tenant, &format!("j{n}")).await.expect("submit");
        assert_eq!(r.status, 201, "{}", r.json);
        jobs.push(r.json["id"].as_u64().unwrap());
    }
    // Every node has purged the start of its log: a newcomer can only get it
    // through a snapshot.
    for i in 0..3 {
        wait_for("the log to be purged", Duration::from_secs(30), || async {
            let r = c.get(i, "/api/v1/cluster?consistency=stale").await.ok()?;
            (r.json["purged_index"].as_u64()? > 10).then_some(())
        })
        .await;
    }
    let new = c.spawn_joining(0);
    let new_id = c.nodes[new].spec.id;
    wait_for("the new node to become a voter", Duration::from_secs(60), || async {
        let r = c.get(0, "/api/v1/cluster").await.ok()?;
        r.json["members"].as_array()?.iter().any(|m| m["id"].as_u64() == Some(new_id) && m["voter"] == true).then_some(())
    })
    .await;
    // It serves linearizable reads of entries that only a snapshot could give it.
    for id in [jobs[0], jobs[75], jobs[149]] {
        let r = c.get(new, &format!("/api/v1/jobs/{id}")).await.expect("read on new node");
        assert_eq!(r.status, 200, "job {id} on the new node: {}\n{}", r.json, c.logs());
    }
    let r = c.get(new, "/api/v1/cluster?consistency=stale").await.expect("status of new node");
    assert!(r.json["snapshot_index"].as_u64().is_some(), "the new node holds no snapshot: {}", r.json);
    c.wait_for_converged().await;

    // Remove a founding follower; the remaining three keep accepting writes.
    let leader = c.wait_for_leader().await;
    let victim = (0..3).find(|i| c.nodes[*i].spec.id != leader).unwrap();
    let victim_id = c.nodes[victim].spec.id;
    let asked = (0..3).find(|i| *i != victim && c.nodes[*i].spec.id != leader).unwrap();
    let r = c
        .client
        .call(Method::DELETE, &c.url(asked, &format!("/api/v1/cluster/members/{victim_id}")), Some(&c.admin), None, &[])
        .await
        .expect("remove member");
    assert_eq!(r.status, 200, "remove: {}", r.json);
    let members = r.json["members"].as_array().unwrap();
    assert!(members.iter().all(|m| m["id"].as_u64() != Some(victim_id)), "{}", r.json);
    c.kill(victim);
    let writer = (0..c.nodes.len()).find(|i| *i != victim).unwrap();
    let r = c.submit(writer, tenant, "after-removal").await.expect("submit");
    assert_eq!(r.status, 201, "write after removal: {}", r.json);
    // Removing an unknown member is a clear 404.
    let r = c.client.call(Method::DELETE, &c.url(writer, "/api/v1/cluster/members/99"), Some(&c.admin), None, &[]).await.unwrap();
    assert_eq!(r.status, 404, "{}", r.json);
}

/// Over 100 MB of state: 160 jobs whose command lines are ~0.9 MB each, so the
/// snapshot taken every 50 entries covers at least 100 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_snapshot_reaches_a_new_node_in_one_transfer() {
    let mut c = Cluster::start(ClusterOptions { nodes: 3, config_yaml: SMALL_SNAPSHOTS.into(), ..Default::default() }).await;
    let tenant = c.must_create_tenant(0, "bulk").await;
    let arg = "y".repeat(4000);
    let started = std::time::Instant::now();
    for n in 0..160 {
        let body = serde_json::json!({"tenant_id": tenant, "command": vec![arg.clone(); 230], "cpu_m": 1, "memory_mb": 1});
        let r = c.client.call(Method::POST, &c.url(n % 3, "/api/v1/jobs"), Some(&c.admin), Some(&body), &[]).await.expect("submit");
        assert_eq!(r.status, 201, "{}", r.json);
    }
    println!("wrote ~100 MB of jobs in {:?}", started.elapsed());
    for i in 0..3 {
        wait_for("a snapshot that purged the log", Duration::from_secs(60), || async {
            let r = c.get(i, "/api/v1/cluster?consistency=stale").await.ok()?;
            (r.json["purged_index"].as_u64()? > 120).then_some(())
        })
        .await;
    }
    let snap = std::fs::metadata(c.nodes[0].spec.data_dir.join("snapshots/current.snap")).expect("snapshot file").len();
    assert!(snap > 100_000_000, "snapshot is only {snap} bytes");
    let joined = std::time::Instant::now();
    let new = c.spawn_joining(1);
    let new_id = c.nodes[new].spec.id;
    wait_for("the new node to become a voter", Duration::from_secs(120), || async {
        let r = c.get(0, "/api/v1/cluster").await.ok()?;
        r.json["members"].as_array()?.iter().any(|m| m["id"].as_u64() == Some(new_id) && m["voter"] == true).then_some(())
    })
    .await;
    println!("a {:.1} MB snapshot reached node {new_id}, which became a voter {:?} after start", snap as f64 / 1e6, joined.elapsed());
    c.wait_for_converged().await;
    let log = std::fs::read_to_string(c.nodes[new].spec.data_dir.with_extension("log")).unwrap_or_default();
    let installs = log.matches("snapshot installed").count();
    assert_eq!(installs, 1, "the snapshot was installed {installs} times (a re-send loop):\n{}", c.logs());
}
